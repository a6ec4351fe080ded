"""Pictures on a document's pages as figures: where each is, what kind it is, and the text read from it. No Dagster.

A figure is a picture region of ``rendered_pages.picture_regions`` (``pdf.regions``). Its text is the words OCR put
inside its box (``ocr_pages.blocks``: a region OCR'd on a text-layer page, or the page's own OCR); its kind comes
from what else the pipeline knows (a BPMN diagram found over it, the same picture on many pages) and, failing
that, from a cheap look at its pixels.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pymupdf


KINDS = ("diagram", "chart", "table", "photo", "logo", "other")

#: A picture whose content appears on this many pages of one document is a logo, stamp or running header.
LOGO_MIN_PAGES = 3
#: A BPMN diagram is the figure when this share of its shapes' centres lies inside the picture.
DIAGRAM_SHAPES_INSIDE = 0.6
#: Pictures are looked at this coarsely to judge their kind (cheap; enough for lines, colours and tones).
LOOK_DPI = 50
#: Photos have many tones: with colours quantised to 4 bits a channel, at least this many distinct colours, and
#: ...
PHOTO_MIN_COLOURS = 300
#: ... at least this share of pixels that are neither paper (near white) nor ink (near black). Screenshots,
#: charts and diagrams are mostly paper; their colours are few and flat.
PHOTO_MIN_MIDTONE_SHARE = 0.45
#: A table shows ruled lines: a pixel row (column) is a rule when this share of it is ink ...
RULE_INK_SHARE = 0.6
#: ... and a table has at least this many horizontal and this many vertical rules (after joining neighbours).
TABLE_MIN_RULES = 3
#: A chart shows saturated colour (bars, series) on paper: at least this share of pixels with saturation over
#: ``CHART_MIN_SATURATION`` (0..255), and fewer words than a screenshot of text would have.
CHART_MIN_COLOUR_SHARE = 0.03
CHART_MIN_SATURATION = 80
CHART_MAX_WORDS = 80


@dataclass(frozen=True)
class PictureLook:
    """What the pixels of a picture show, measured once (``look_at``)."""

    colours: int
    midtone_share: float
    colour_share: float
    horizontal_rules: int
    vertical_rules: int


def look_at(rgb: np.ndarray) -> PictureLook:
    """Measure an RGB picture (height x width x 3, uint8) for ``classify``."""
    if rgb.size == 0:
        return PictureLook(0, 0.0, 0.0, 0, 0)
    quantised = (rgb >> 4).astype(np.uint32)
    colours = len(np.unique((quantised[..., 0] << 8) | (quantised[..., 1] << 4) | quantised[..., 2]))
    grey = rgb.mean(axis=2)
    midtone = float(((grey > 40) & (grey < 215)).mean())
    spread = rgb.max(axis=2).astype(np.int16) - rgb.min(axis=2).astype(np.int16)
    colour = float((spread > CHART_MIN_SATURATION).mean())
    ink = grey < 160
    return PictureLook(colours, midtone, colour, _rules(ink.mean(axis=1)), _rules(ink.mean(axis=0)))


def _rules(ink_share: np.ndarray) -> int:
    """Runs of pixel rows (or columns) that are mostly ink: ruled lines, a thick rule counted once."""
    is_rule = ink_share >= RULE_INK_SHARE
    return int(np.count_nonzero(is_rule[1:] & ~is_rule[:-1]) + (1 if is_rule.size and is_rule[0] else 0))


def classify(look: PictureLook | None, words: int, is_diagram: bool, repeated: bool) -> str:
    """The figure's kind (one of ``KINDS``): what the pipeline knows first (a diagram found over it, the same
    picture on ``LOGO_MIN_PAGES`` pages), then its pixels; ``other`` (screenshots, text, drawings) otherwise."""
    if is_diagram:
        return "diagram"
    if repeated:
        return "logo"
    if look is None:
        return "other"
    if look.colours >= PHOTO_MIN_COLOURS and look.midtone_share >= PHOTO_MIN_MIDTONE_SHARE:
        return "photo"
    if look.horizontal_rules >= TABLE_MIN_RULES and look.vertical_rules >= TABLE_MIN_RULES:
        return "table"
    if look.colour_share >= CHART_MIN_COLOUR_SHARE and words <= CHART_MAX_WORDS:
        return "chart"
    return "other"


def picture_pixels(page: pymupdf.Page, box: Sequence[float], dpi: float = LOOK_DPI) -> np.ndarray:
    """The picture's box on the displayed page as an RGB array at ``dpi``. Raises what MuPDF raises."""
    pix = page.get_pixmap(matrix=pymupdf.Matrix(dpi / 72, dpi / 72), clip=pymupdf.Rect(box), alpha=False,
                          colorspace=pymupdf.csRGB)
    return np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width, 3)


#: MuPDF's warnings that say a picture's data is damaged (it then draws what it could decode, or nothing).
_DAMAGE_WORDS = ("image", "jpeg", "jpx", "jbig2", "png", "decode", "flate", "lzw", "ccitt", "colorspace", "inflate")


def _look(page: pymupdf.Page, box: Sequence[float]) -> tuple[PictureLook, str | None]:
    """The picture's look, and what MuPDF said of its data if it is damaged (a truncated or broken stream, an
    unknown colour space): the figure records it as its error."""
    pymupdf.TOOLS.mupdf_warnings(reset=True)
    look = look_at(picture_pixels(page, box))
    said = [line for line in pymupdf.TOOLS.mupdf_warnings(reset=True).splitlines()
            if any(w in line.lower() for w in _DAMAGE_WORDS)]
    return look, (f"picture damaged: {'; '.join(dict.fromkeys(said))[:300]}" if said else None)


def words_inside(blocks: Iterable[dict], box: Sequence[float]) -> list[dict]:
    """The blocks whose centre lies in ``box``."""
    x0, y0, x1, y1 = box
    return [b for b in blocks if x0 <= (b["x0"] + b["x1"]) / 2 <= x1 and y0 <= (b["y0"] + b["y1"]) / 2 <= y1]


def text_of(blocks: Sequence[dict]) -> str:
    """Words (block dicts) as lines of text in reading order (``engines.text_layer.lines_of``)."""
    from .engines.base import Block
    from .engines.text_layer import lines_of

    return lines_of([Block("word", b["text"], b["x0"], b["y0"], b["x1"], b["y1"]) for b in blocks if b.get("text")])


def diagram_over(box: Sequence[float], shape_boxes: Sequence[Sequence[float]]) -> bool:
    """Whether a diagram whose shapes are ``shape_boxes`` lies on the picture (``DIAGRAM_SHAPES_INSIDE``)."""
    if not shape_boxes:
        return False
    x0, y0, x1, y1 = box
    inside = sum(1 for b in shape_boxes if x0 <= (b[0] + b[2]) / 2 <= x1 and y0 <= (b[1] + b[3]) / 2 <= y1)
    return inside / len(shape_boxes) >= DIAGRAM_SHAPES_INSIDE


def repeated_contents(regions_by_page: Iterable[Sequence[dict]]) -> set[str]:
    """Picture contents that appear on at least ``LOGO_MIN_PAGES`` pages."""
    pages = Counter()
    for regions in regions_by_page:
        pages.update({r["content"] for r in regions or ()})
    return {content for content, n in pages.items() if n >= LOGO_MIN_PAGES}


#: Figures of these kinds are described by a model engine's figure prompt; diagrams have the BPMN stage, logos
#: their words.
DESCRIBED_KINDS = frozenset({"chart", "table", "photo", "other"})


def document_figures(doc_id: str, pdf_path, pages: Iterable[dict], repeated: set[str],
                     diagram_shapes: dict[int, list[tuple[float, float, float, float]]]) -> Iterator[dict]:
    """The ``figures`` rows of a document, page by page.

    Args:
        doc_id: the document key.
        pdf_path: the PDF (pictures are looked at from it).
        pages: per page, ``page_no``, ``picture_regions`` (``rendered_pages``), ``blocks``, ``regions`` and
            ``engine`` (``ocr_pages``).
        repeated: picture contents on ``LOGO_MIN_PAGES`` pages or more (``repeated_contents``).
        diagram_shapes: page number -> boxes of the shapes of the BPMN diagram found there.
    Yields:
        One row per picture (``schemas.FIGURES``); a picture MuPDF cannot draw gets its ``error``, never raises.
    """
    from .pdf.inspect import PdfPages

    looks: dict[tuple, tuple[PictureLook, str | None]] = {}
    with PdfPages(pdf_path) as doc:
        for page in pages:
            no = page["page_no"]
            reads = {(r["content"], round(r["x0"]), round(r["y0"])): r for r in page.get("regions") or ()}
            for figure_no, region in enumerate(page.get("picture_regions") or (), 1):
                box = (region["x0"], region["y0"], region["x1"], region["y1"])
                inside = words_inside(page.get("blocks") or (), box)
                read = reads.get((region["content"], round(region["x0"]), round(region["y0"])))
                error = read["error"] if read else None
                key = (region["content"], round(box[2] - box[0]), round(box[3] - box[1]))
                try:
                    if key not in looks:  # the same picture again (a logo): looked at once
                        looks[key] = _look(doc.page(no), box)
                    look, damage = looks[key]
                    error = error or damage
                except Exception as e:  # noqa: BLE001 - a broken picture: recorded, the others go on
                    look, error = None, error or f"picture could not be drawn: {e}"
                if read:
                    engine = read["engine"] or None
                elif inside:  # words of the page's own reading: its OCR, or a text layer over the picture
                    engine = "text_layer" if {b.get("source") for b in inside} == {"text_layer"} else page.get("engine")
                else:
                    engine = None
                on_diagram = diagram_over(box, diagram_shapes.get(no, ()))
                yield {
                    "doc_id": doc_id, "page_no": no, "figure_no": figure_no, "x0": box[0], "y0": box[1],
                    "x1": box[2], "y1": box[3], "kind": classify(look, len(inside), on_diagram,
                                                                region["content"] in repeated),
                    "text": text_of(inside), "words": len(inside), "engine": engine, "prompt_version": None,
                    "content": region["content"], "bpmn_page": on_diagram, "error": error,
                }


def describe_figures(rows: list[dict], pdf_path, engine, cache=None, dpi: float = 200.0,
                     max_pixels: int = 40_000_000) -> list[dict]:
    """``rows`` with the figures of ``DESCRIBED_KINDS`` described by ``engine``'s figure prompt, where the engine
    has one (DeepSeek-OCR: ``prompts["figure"]``); unchanged otherwise (Tesseract: their words are their text).

    Crops go to the engine as ``PageImage(kind="figure")`` in one batch; results are cached by the picture's
    content and size (``engines.router.region_key`` with the prompt's version). A figure the engine fails on
    keeps its words and records the error.
    """
    prompt = (getattr(engine, "prompts", None) or {}).get("figure")
    todo = [i for i, r in enumerate(rows) if r["kind"] in DESCRIBED_KINDS and not r["error"]]
    if prompt is None or not todo:
        return rows
    from .engines.base import PageImage
    from .engines.router import region_key
    from .pdf.inspect import PdfPages
    from .pdf.regions import PictureRegion, render_region

    identity = f"{engine.cache_identity()} figure:{prompt.version}"
    rows = [dict(r) for r in rows]
    keys: dict[int, str] = {}
    sent: list[int] = []  # the rows whose crops went to the engine, in order
    with PdfPages(pdf_path) as doc:

        def images():
            for i in todo:
                r = rows[i]
                region = PictureRegion(r["x0"], r["y0"], r["x1"], r["y1"], r["content"])
                keys[i] = key = region_key(region, dpi, max_pixels, identity)
                hit = cache.get(key, r["doc_id"], r["page_no"]) if cache is not None else None
                if hit is not None:
                    rows[i].update(text=hit.text, engine=hit.engine, prompt_version=prompt.version)
                    continue
                try:
                    crop = render_region(doc.page(r["page_no"]), region, dpi, max_pixels)
                except Exception as e:  # noqa: BLE001
                    rows[i]["error"] = f"picture could not be drawn: {e}"
                    continue
                sent.append(i)
                yield PageImage(r["doc_id"], r["page_no"], crop.png, crop.dpi, crop.width_pt, crop.height_pt,
                                crop.sha256, kind="figure")

        for n, result in enumerate(engine.ocr_pages(images())):
            i = sent[n]
            if result.error is None:
                rows[i].update(text=result.text, engine=result.engine, prompt_version=prompt.version)
                if cache is not None:
                    cache.put(keys[i], result)
            else:
                rows[i]["error"] = f"figure prompt failed: {result.error}"
    return rows


def figure_thumbnail(pdf_path, page_no: int, box: Sequence[float], max_side: int = 240) -> bytes | None:
    """A small PNG of a figure as it sits on its page (for the UI and reports); None where it cannot be drawn."""
    from .pdf.inspect import open_pdf

    width, height = box[2] - box[0], box[3] - box[1]
    if width <= 0 or height <= 0:
        return None
    zoom = min(4.0, max_side / max(width, height))
    try:
        with open_pdf(pdf_path) as doc:
            pix = doc[page_no - 1].get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), clip=pymupdf.Rect(box),
                                              alpha=False, colorspace=pymupdf.csRGB)
            return pix.tobytes("png")
    except Exception:  # noqa: BLE001 - a preview only
        return None
