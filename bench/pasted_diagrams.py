"""BPMN diagrams pasted as pictures into Russian text pages, against the same picture scanned on its own page
(issue 17).

    .venv/bin/python bench/pasted_diagrams.py [--out-dir /tmp/pasted_diagrams] [--limit N] [--dpi 150 200]
        [--ocr-dpi 200] [--seed 17] [--testdata ../shared/testdata]

The set. Each Russian twin of the miwg vector diagrams (``bench/bpmn_russian.py``'s ``make_twin``) is cropped to
the drawing's extent and rasterised to a PNG at ``--dpi`` (150 and 200: a picture pasted into Word). Each
(diagram, dpi) gives one A4 page built with PyMuPDF: a heading, 1-3 paragraphs of Russian body text (real
sentences from the text layer of ``ru-typst-g7-32/databases-lab_reference.pdf``), the picture (at its natural size
or fitted to the text width, then 75-100% of that; a landscape page for wide diagrams; 12-55% of the page where
the text width allows), a caption "Рисунок N – Схема процесса ..." under it and maybe more text; sizes, fonts and
placement drawn from a fixed seed (``--seed``). Its control, the "same diagram scanned on its own page", holds the same
picture in the same rectangle of a page of the same size, and nothing else (no text layer). The truth is the twin's
``.bpmn`` with its DI mapped to the page's points (twin transform, then crop offset and scale into the picture's
rectangle), written as ``<variant>.truth.bpmn`` (read it with ``parse_bpmn`` and no transform); ``check/`` holds
each page with its truth boxes drawn.

The pipeline's libraries then run on each page as the assets chain them: ``render_document`` with the ``auto``
policy's ``render_dpi``, ``ocr_document`` (Tesseract rus+eng, policy ``auto``, the pipeline's ``PageCache`` under
``<out-dir>/ocr-cache``, so a rerun only OCRs images it has not seen), ``find_diagrams`` on the rendered and OCR
rows. Whatever the code does at the time is measured, so the same command gives the before and after figures.

Per page, pasted vs own-page scan:
  (a) diagram words in the page text: the truth labels' words (lower case, ё as е, letters only, 2+ letters)
      that are not also words of the page's heading, body or caption, and the share of them found among the words
      of ``ocr_pages.text`` (same word set for the page and its control);
  (b) diagrams found, shapes F1, flows F1, labels exact (``bench/bpmn_eval.py``'s scorer; a page where nothing is
      found scores as an empty diagram);
  (c) body-text labels: predicted labels holding a word (3+ letters) that is in the page's heading, body or caption
      and in no truth label.
A Markdown table is printed (totals per picture dpi, all pages, and the pages whose labels are at least
``LEGIBLE_PT`` on the page: B.2.0 shrinks to about 2.4 pt, which OCR cannot read even on its own page);
``<out-dir>/results.json`` holds the figures and the per-page details (missing words, body-text labels).

``build_page`` builds one such page (with its truth) for a test, and ``evaluate`` measures it.

The code measured is the one imported: this checkout's ``pdf_ocr_pipeline`` (``sys.path`` starts at the folder
above ``bench/``). To measure a committed state beside uncommitted work, run this file from an export, e.g.
``git archive HEAD | tar -x -C /tmp/head && cp bench/pasted_diagrams.py /tmp/head/bench/`` and
``cd /tmp/head && /work/main/.venv/bin/python bench/pasted_diagrams.py --testdata /work/shared/testdata ...``.
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import re
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import bpmn_eval as ev  # noqa: E402
from bench import bpmn_russian as br  # noqa: E402
from pdf_ocr_pipeline.bpmn import geometry as g  # noqa: E402
from pdf_ocr_pipeline.bpmn.parse_truth import parse_bpmn  # noqa: E402

TESTDATA = ROOT.parent / "shared" / "testdata"
BODY_PDF = "ru-typst-g7-32/databases-lab_reference.pdf"
FONTS = Path("/usr/share/fonts/truetype/dejavu")
SERIF, SANS_BOLD = FONTS / "DejaVuSerif.ttf", FONTS / "DejaVuSans-Bold.ttf"
A4 = (595.28, 841.89)
MARGINS = (85.0, 56.7, 42.5, 56.7)  # left, top, right, bottom (GOST 7.32: 30, 20, 15, 20 mm)
MAX_COVERAGE = 0.55
MIN_COVERAGE = 0.12  # (where the text width and MAX_UPSCALE allow)
MAX_UPSCALE = 1.3  # a small picture stretched towards the text width at most this much
CROP_MARGIN = 6.0  # points around the drawing's extent
LEGIBLE_PT = 4.0  # a total row of the pages whose labels are at least this size (B.2.0 shrinks to about 2.4 pt)
OCR_DPI = 200  # the pipeline's default (OcrEngineResource.dpi)
MAX_PIXELS = 40_000_000
MODEL_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"

HEADINGS = ["{a}.{b} Описание процесса", "{a}.{b} Порядок выполнения работ", "{a}.{b} Схема взаимодействия",
            "{a} Организация процесса", "{a}.{b} Последовательность действий участников",
            "{a}.{b} Регламент обработки обращений", "{a}.{b}.{c} Описание подпроцесса"]
PROCESSES = ["обработки входящих документов", "согласования договора", "рассмотрения обращения",
             "регистрации заявки", "подготовки отчётности", "закупки материалов", "приёма на работу",
             "предоставления доступа к информационной системе"]


# ---------------------------------------------------------------- the text

@functools.lru_cache(maxsize=4)
def body_sentences(pdf: Path) -> tuple[str, ...]:
    """Whole Russian sentences of the reference report's text layer: no headings, figure references, lists of
    sources or table of contents."""
    import pymupdf
    out = []
    with pymupdf.open(pdf) as doc:
        for page in list(doc)[2:]:  # after the title page and the list of authors
            t = re.sub(r"\n\d+\s*$", "", page.get_text("text").strip())  # the page number
            if t.startswith("СПИСОК ИСПОЛЬЗОВАННЫХ ИСТОЧНИКОВ"):
                break
            t = re.sub(r"\s+", " ", re.sub(r"(\w)-\n(\w)", r"\1\2", t)).strip()
            for s in re.split(r"(?<=[.!?])\s+(?=[А-ЯЁA-Z])", t):
                s = re.sub(r"^[А-ЯЁ]{4,} (?=[А-ЯЁ][а-яё ])", "", s)  # a section title ("ВВЕДЕНИЕ") before it
                letters = [c for c in s if c.isalpha()]
                cyr = sum(c.lower() in "абвгдеёжзийклмнопрстуфхцчшщъыьэюя" for c in letters)
                if 50 <= len(s) <= 300 and s[0] in "АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЭЮЯ" and s[-1] == "." \
                        and ".." not in s and "рисун" not in s.lower() and letters and cyr / len(letters) > 0.8 \
                        and not re.search(r"[\[\]]|\d\.\d+ [А-Я]|[А-ЯЁ]{4,} [А-ЯЁ]{2,}", s):
                    # (no references, no section heading or upper-case title run into the sentence)
                    out.append(s)
    return tuple(out)


def words(text: str, min_len: int = 2) -> set[str]:
    """Normalised words of ``text``: lower case, ё as е, letters only; a word broken across lines at a hyphen
    counts both joined and as its two halves."""
    t = text.lower().replace("ё", "е").replace("\u00ad", "")
    out = set()
    for v in (t, re.sub(r"(?<=\w)-\s*\n\s*(?=\w)", "", t)):
        out |= {w for w in re.findall(r"[^\W\d_]+", v) if len(w) >= min_len}
    return out


# ---------------------------------------------------------------- the pages

@dataclass
class Variant:
    """One pasted page and its control, with everything the scoring needs."""

    name: str
    stem: str
    dpi: int
    pdf: str  # the text page with the pasted picture
    control_pdf: str | None  # the picture alone on a page of the same size (no text layer)
    truth: str  # the truth .bpmn in this page's points
    transform: tuple  # DI of the twin's .bpmn -> page points (sx, sy, tx, ty)
    page_size: tuple
    picture: tuple  # the picture's rectangle on the page (points)
    picture_px: tuple  # its pixels (width, height)
    coverage: float  # picture area / page area
    scale: float  # page points per twin point (1: the diagram's natural size)
    label_pt: float  # the median label's font size on the page (the twin's, times ``scale``)
    landscape: bool
    heading: str
    paragraphs: list = field(default_factory=list)
    caption: str = ""
    paragraphs_before: int = 0

    @property
    def surrounding_text(self) -> str:
        return "\n".join([self.heading, *self.paragraphs, self.caption])


def diagram_clip(page, truth, dpi: float):
    """The twin page's drawing extent (truth shapes, flows and label boxes, the drawings and text lines touching
    them) plus ``CROP_MARGIN``, snapped to whole pixels at ``dpi``."""
    import pymupdf
    pts = []
    for e in truth.shapes + truth.flows:
        pts += [e.box[:2], e.box[2:]]
        if e.label_box:
            pts += [e.label_box[:2], e.label_box[2:]]
    ext = pymupdf.Rect(g.box_of(pts))
    near = ext + (-5, -5, 5, 5)
    area = pymupdf.Rect(ext)
    for d in page.get_drawings():
        if pymupdf.Rect(d["rect"]).intersects(near):
            area |= d["rect"]
    for ln in br.text_lines(page):
        if pymupdf.Rect(ln.box).intersects(near):
            area |= ln.box
    area = (area + (-CROP_MARGIN, -CROP_MARGIN, CROP_MARGIN, CROP_MARGIN)) & page.rect
    m = dpi / 72
    return pymupdf.Rect(int(area.x0 * m) / m, int(area.y0 * m) / m, -int(-area.x1 * m) / m, -int(-area.y1 * m) / m)


def picture_of(twin_pdf: Path, twin_bpmn: Path, transform, dpi: int) -> tuple[bytes, object, tuple[int, int], float]:
    """The twin's diagram as a PNG at ``dpi``: (PNG, the clip in twin points, pixel size, median label size)."""
    import statistics

    import pymupdf
    with pymupdf.open(twin_pdf) as doc:
        page = doc[0]
        clip = diagram_clip(page, parse_bpmn(twin_bpmn, transform=transform), dpi)
        pix = page.get_pixmap(matrix=pymupdf.Matrix(dpi / 72, dpi / 72), clip=clip, alpha=False,
                              colorspace=pymupdf.csRGB)
        # the clip is pixel-aligned, so the pixels cover it exactly (up to MuPDF's rounding: keep its size)
        clip = pymupdf.Rect(clip.x0, clip.y0, clip.x0 + pix.width * 72 / dpi, clip.y0 + pix.height * 72 / dpi)
        size = statistics.median(ln.size for ln in br.text_lines(page))
        return pix.tobytes("png"), clip, (pix.width, pix.height), size


def write_truth(twin_bpmn: Path, transform, out: Path) -> None:
    """The twin's .bpmn with every DI coordinate mapped by ``transform`` (``x_pt = sx * X + tx``)."""
    from lxml import etree
    sx, sy, tx, ty = transform
    tree = etree.parse(str(twin_bpmn))
    for el in tree.iter():
        if not isinstance(el.tag, str):
            continue
        name = etree.QName(el).localname
        if name in ("Bounds", "waypoint"):
            x, y = float(el.get("x")), float(el.get("y"))
            el.set("x", f"{sx * x + tx:.3f}")
            el.set("y", f"{sy * y + ty:.3f}")
            if name == "Bounds":
                el.set("width", f"{sx * float(el.get('width')):.3f}")
                el.set("height", f"{sy * float(el.get('height')):.3f}")
    tree.write(str(out), xml_declaration=True, encoding="UTF-8")


def ensure_twin(stem: str, work: Path, testdata: Path = TESTDATA) -> tuple[Path, Path, tuple]:
    """The Russian twin of ``stem`` (``bpmn_russian.make_twin``) under ``work/twins``: (pdf, bpmn, transform)."""
    tf = dict(ev.MIWG_VECTOR)[stem]
    ref = testdata / "miwg-reference"
    pdf, bpmn = work / "twins" / f"{stem}-ru.pdf", work / "twins" / f"{stem}-ru.bpmn"
    if not (pdf.exists() and bpmn.exists()):
        br.make_twin(ref / f"{stem}.pdf", ref / f"{stem}.bpmn", tf, pdf, bpmn, br.load_glossary())
    return pdf, bpmn, tf


def _paragraphs(rng: random.Random, sentences: tuple[str, ...], n: int) -> list[list[str]]:
    """``n`` paragraphs (lists of sentences) of 2-4 sentences each: runs of the text from random places, no
    sentence twice."""
    order = list(range(len(sentences)))
    rng.shuffle(order)
    out, used = [], set()
    for i in order:
        if len(out) == n:
            break
        run = [j % len(sentences) for j in range(i, i + rng.randint(2, 4))]
        if used.isdisjoint(run):
            used.update(run)
            out.append([sentences[j] for j in run])
    return out


def _text_height(text: str, width: float, fontfile: Path, size: float, lineheight: float, align: int) -> float:
    import pymupdf
    doc = pymupdf.open()
    page = doc.new_page(width=width + 10, height=3000)
    rc = page.insert_textbox(pymupdf.Rect(0, 0, width, 3000), text, fontname="f", fontfile=str(fontfile),
                             fontsize=size, lineheight=lineheight, align=align)
    doc.close()
    return 3000 - rc


def text_page(picture: bytes, natural: tuple[float, float], rng: random.Random, testdata: Path | None = None,
              figure_no: int | None = None, dash: str | None = None):
    """A PyMuPDF document of one A4 page of Russian text with ``picture`` (whose natural size is ``natural``
    points) pasted in: a heading, 0-2 paragraphs before it, the picture (natural size or fitted to the text width,
    then 75-100 % of that; 12-55 % of the page; a landscape page for wide pictures), the caption
    "Рисунок N — Схема процесса ..." under it, the rest of the paragraphs after. The rules, fonts and sentences
    shared by ``build_page`` and the corpus's ``pasted`` variant (``bench.bpmn_corpus.variants``). Returns (doc, picture rect, info)."""
    import pymupdf

    testdata = Path(testdata) if testdata is not None else TESTDATA
    w0, h0 = natural
    aspect = w0 / h0
    port_tw = A4[0] - MARGINS[0] - MARGINS[2]
    landscape = aspect >= 1.8 or w0 > 2 * port_tw or (aspect >= 1.3 and rng.random() < 0.5)
    pw_pt, ph_pt = (A4[1], A4[0]) if landscape else A4
    left, top = MARGINS[0], MARGINS[1]
    tw, bottom = pw_pt - MARGINS[0] - MARGINS[2], ph_pt - MARGINS[3]
    body_size = rng.choice([12.0, 13.0, 14.0])
    lineheight = rng.choice([1.15, 1.3, 1.5])
    justify = pymupdf.TEXT_ALIGN_JUSTIFY
    heading = rng.choice(HEADINGS).format(a=rng.randint(1, 6), b=rng.randint(1, 5), c=rng.randint(1, 4))
    head_h = _text_height(heading, tw, SANS_BOLD, 14, 1.2, pymupdf.TEXT_ALIGN_LEFT)
    drawn_no = rng.randint(1, 12)
    figure_no = figure_no if figure_no is not None else drawn_no
    dash = dash if dash is not None else rng.choice(["—", "–"])  # drawn only when not given
    caption = f"Рисунок {figure_no} {dash} Схема процесса {rng.choice(PROCESSES)}"
    cap_h = _text_height(caption, tw, SERIF, body_size, 1.2, pymupdf.TEXT_ALIGN_CENTER)
    base = tw if (w0 > tw or rng.random() < 0.5) else w0
    w = min(base * rng.uniform(0.75, 1.0), MAX_UPSCALE * w0)
    w = max(w, min(tw, MAX_UPSCALE * w0, (MIN_COVERAGE * pw_pt * ph_pt * aspect) ** 0.5))
    room = bottom - top - head_h - 12 - cap_h - 2 * 10 - 4 * body_size * lineheight - 8
    w = min(w, room * aspect, (MAX_COVERAGE * pw_pt * ph_pt * aspect) ** 0.5, tw)
    h = w / aspect
    sentences = body_sentences(testdata / BODY_PDF)
    n_par = rng.randint(1, 3)
    paras = _paragraphs(rng, sentences, n_par + 1)

    def fit(sents, free):
        for n in range(len(sents), 0, -1):
            text = " ".join(sents[:n])
            height = _text_height(text, tw, SERIF, body_size, lineheight, justify)
            if height <= free:
                return text, height
        return None

    free = bottom - (top + head_h + 12) - (10 + h + 6 + cap_h + 10)
    before, after = [], []
    n_before = min(rng.randint(0, 2), n_par)
    for k, sents in enumerate(paras[:n_par + (rng.random() < 0.5)]):
        got = fit(sents, free)
        if got is None:
            break
        (before if k < n_before else after).append(got[0])
        free -= got[1] + 8
    if not before and not after:
        got = fit([min(sentences, key=len)], free)
        if got is not None:
            after.append(got[0])
    x = left + (tw - w) / 2 if rng.random() < 0.7 else left
    doc = pymupdf.open()
    page = doc.new_page(width=pw_pt, height=ph_pt)
    page.insert_font(fontname="serif", fontfile=str(SERIF))
    page.insert_font(fontname="sansb", fontfile=str(SANS_BOLD))

    def text(rect, s, font, size, lh, align):
        rc = page.insert_textbox(rect, s, fontname=font, fontsize=size, lineheight=lh, align=align)
        if rc < 0:
            raise RuntimeError(f"text does not fit: {s[:40]!r}")
        return rect.height - rc

    y = top + text(pymupdf.Rect(left, top, left + tw, bottom), heading, "sansb", 14, 1.2,
                   pymupdf.TEXT_ALIGN_LEFT) + 12
    for para in before:
        y += text(pymupdf.Rect(left, y, left + tw, bottom), para, "serif", body_size, lineheight, justify) + 8
    y += 10
    rect = pymupdf.Rect(x, y, x + w, y + h)
    page.insert_image(rect, stream=picture, keep_proportion=False)
    y = rect.y1 + 6
    y += text(pymupdf.Rect(left, y, left + tw, bottom), caption, "serif", body_size, 1.2,
              pymupdf.TEXT_ALIGN_CENTER) + 10
    for para in after:
        y += text(pymupdf.Rect(left, y, left + tw, bottom), para, "serif", body_size, lineheight, justify) + 8
    info = {"landscape": landscape, "heading": heading, "caption": caption, "paragraphs_before": len(before),
            "paragraphs_after": len(after), "picture": [rect.x0, rect.y0, rect.x1, rect.y1],
            "paragraphs": before + after, "page_size": [pw_pt, ph_pt]}
    return doc, (rect.x0, rect.y0, rect.x1, rect.y1), info


def build_page(out_pdf: Path, stem: str = "A.1.0", dpi: int = 150, seed: int | str = 17, *,
               work: Path | None = None, testdata: Path = TESTDATA, control: bool = True,
               figure_no: int | None = None) -> Variant:
    """Build one text page with the Russian twin of ``stem`` pasted as a ``dpi`` picture, and its truth.

    Writes ``out_pdf`` (heading, 1-3 paragraphs, the picture, its caption, maybe more text), the truth
    ``<out_pdf stem>.truth.bpmn`` in the page's points (``parse_bpmn`` without a transform) and, with ``control``,
    ``<out_pdf stem>-scan.pdf``: the same picture in the same rectangle of a page of the same size, nothing else.
    The twin goes to ``work/twins`` (default: ``out_pdf``'s folder). Layout, fonts and text come from
    ``random.Random(f"{seed}-{stem}-{dpi}")``. Needs ``testdata`` (miwg-reference, ru-typst-g7-32). One page:
    about a second for A.1.0.
    """
    import pymupdf
    out_pdf = Path(out_pdf)
    work = Path(work) if work is not None else out_pdf.parent
    out_pdf.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"{seed}-{stem}-{dpi}")
    twin_pdf, twin_bpmn, tf = ensure_twin(stem, work, testdata)
    png, clip, (pw, ph), label_size = picture_of(twin_pdf, twin_bpmn, tf, dpi)
    w0, h0 = clip.width, clip.height
    doc, (x0, y0, x1, y1), info = text_page(png, (w0, h0), rng, testdata, figure_no, dash="–")
    rect = pymupdf.Rect(x0, y0, x1, y1)
    pw_pt, ph_pt = info["page_size"]
    landscape, heading, caption = info["landscape"], info["heading"], info["caption"]
    w = rect.width
    doc.save(out_pdf, garbage=3, deflate=True)
    doc.close()
    # the truth: twin DI -> twin points (tf) -> page points (crop offset, scale into the picture's rectangle)
    k = w / w0
    transform = (tf[0] * k, tf[1] * k, rect.x0 + (tf[2] - clip.x0) * k, rect.y0 + (tf[3] - clip.y0) * k)
    truth = out_pdf.with_suffix(".truth.bpmn")
    write_truth(twin_bpmn, transform, truth)
    control_pdf = None
    if control:
        control_pdf = out_pdf.with_name(out_pdf.stem + "-scan.pdf")
        doc = pymupdf.open()
        doc.new_page(width=pw_pt, height=ph_pt).insert_image(rect, stream=png, keep_proportion=False)
        doc.save(control_pdf, garbage=3, deflate=True)
        doc.close()
    return Variant(name=out_pdf.stem, stem=stem, dpi=dpi, pdf=str(out_pdf),
                   control_pdf=str(control_pdf) if control_pdf else None, truth=str(truth), transform=transform,
                   page_size=(pw_pt, ph_pt), picture=tuple(rect), picture_px=(pw, ph),
                   coverage=rect.width * rect.height / (pw_pt * ph_pt), scale=k, label_pt=label_size * k,
                   landscape=landscape,
                   heading=heading, paragraphs=info["paragraphs"], caption=caption,
                   paragraphs_before=info["paragraphs_before"])


def draw_truth(pdf: Path, truth_bpmn: Path, out_png: Path, dpi: int = 100) -> None:
    """``pdf``'s page with the truth's shape boxes (red), label boxes (blue) and flows (green) drawn on it."""
    import pymupdf
    truth = parse_bpmn(truth_bpmn)
    with pymupdf.open(pdf) as doc:
        page = doc[0]
        for e in truth.shapes:
            page.draw_rect(e.box, color=(1, 0, 0), width=0.6)
            if e.label_box:
                page.draw_rect(e.label_box, color=(0, 0, 1), width=0.4)
        for f in truth.flows:
            if len(f.waypoints) >= 2:
                page.draw_polyline(f.waypoints, color=(0, 0.7, 0), width=0.6)
        page.get_pixmap(dpi=dpi).save(out_png)


def build_set(out: Path, dpis=(150, 200), seed: int | str = 17, testdata: Path = TESTDATA,
              limit: int | None = None) -> list[Variant]:
    """Every (miwg vector diagram, dpi) page and its control under ``out/pages``; the first ``limit``."""
    variants = []
    combos = [(stem, dpi) for stem, _ in ev.MIWG_VECTOR for dpi in dpis]
    for i, (stem, dpi) in enumerate(combos[:limit]):
        variants.append(build_page(out / "pages" / f"{stem}-{dpi}dpi.pdf", stem, dpi, seed, work=out,
                                   testdata=testdata, figure_no=i + 1))
    return variants


# ---------------------------------------------------------------- the pipeline, as the assets chain it

def pipeline_ocr(pdf: Path, doc_id: str, engine, cache, ocr_dpi: float = OCR_DPI) -> tuple[list[dict], list[dict]]:
    """rendered_pages -> ocr_pages on one document, as the assets chain them: their rows."""
    from pdf_ocr_pipeline.assets.ocr import RENDERED_COLUMNS
    from pdf_ocr_pipeline.assets.pages import _row
    from pdf_ocr_pipeline.engines.router import ocr_document, render_dpi
    from pdf_ocr_pipeline.pdf.render import render_document
    choose = functools.partial(render_dpi, "auto", ocr_dpi, 0)
    rendered = [_row(doc_id, p) for p in render_document(pdf, dpi=ocr_dpi, max_pixels=MAX_PIXELS,
                                                         choose_dpi=choose)]
    ocr_rows = [p.to_row() for p in ocr_document(doc_id, pdf, ({k: r[k] for k in RENDERED_COLUMNS} for r in rendered),
                                                 engine, policy="auto", cache=cache, ocr_dpi=ocr_dpi,
                                                 max_pixels=MAX_PIXELS)]
    return rendered, ocr_rows


def run_pipeline(pdf: Path, doc_id: str, engine, cache, ocr_dpi: float = OCR_DPI) -> dict:
    """rendered_pages -> ocr_pages -> find_diagrams on one document, with the assets' rows."""
    from pdf_ocr_pipeline.assets import bpmn as bpmn_asset
    from pdf_ocr_pipeline.bpmn.document import find_diagrams
    t0 = time.time()
    rendered, ocr_rows = pipeline_ocr(pdf, doc_id, engine, cache, ocr_dpi)
    t2 = time.time()
    failures = []
    pages = ({**{k: r[k] for k in bpmn_asset.RENDERED_COLUMNS}, "blocks": o["blocks"]}
             for r, o in zip(rendered, ocr_rows))
    diagrams = list(find_diagrams(pdf, pages, workers=1, on_error=failures.append))
    return {"rendered": rendered, "ocr": ocr_rows, "diagrams": diagrams, "failures": failures,
            "seconds": {"render_ocr": t2 - t0, "bpmn": time.time() - t2}}


def measure(v: Variant, pdf: Path, res: dict) -> dict:
    """The figures of one page (the pasted page or its control) from ``run_pipeline``'s result."""
    from pdf_ocr_pipeline.bpmn.model import BpmnDiagram
    truth = parse_bpmn(Path(v.truth))
    labels = [e.label for e in truth.shapes + truth.flows if e.label.strip()]
    label_words = set().union(*(words(t) for t in labels)) if labels else set()
    around = words(v.surrounding_text)
    diagram_words = label_words - around
    body_only = {w for w in around - label_words if len(w) >= 3}
    text = "\n".join(r["text"] or "" for r in res["ocr"])
    found = diagram_words & words(text)
    pred = res["diagrams"][0] if res["diagrams"] else BpmnDiagram(1, *v.page_size)
    s = ev.score(pred, truth)
    pred_labels = [e.label for e in pred.shapes + pred.flows if e.label.strip()]
    body = [t for t in pred_labels if words(t, 3) & body_only]
    r0 = res["ocr"][0]
    return {"pdf": str(pdf), "source": r0["source"], "ocr_error": r0["error"], "cached": r0["cached"],
            "text_chars": len(text), "diagram_words": len(diagram_words), "diagram_words_in_text": len(found),
            "missing_words": sorted(diagram_words - found),
            "diagrams": len(res["diagrams"]), "method": pred.method if res["diagrams"] else None,
            "failures": [f"page {f.page_no}: {f.error}" for f in res["failures"]],
            "score": {"tp": dict(s.tp), "fp": dict(s.fp), "fn": dict(s.fn), "labels": s.labels, "exact": s.exact,
                      "cer_sum": s.cer_sum},
            "shapes_f1": s.prf(ev.SHAPE_CLASSES)[2], "flows_f1": s.prf(ev.FLOW_CLASSES)[2],
            "labels_exact": f"{s.exact}/{s.labels}", "predicted_labels": len(pred_labels),
            "body_text_labels": body, "seconds": res["seconds"]}


def evaluate(v: Variant, engine, cache=None, ocr_dpi: float = OCR_DPI, control: bool = False) -> dict:
    """``measure`` of ``v``'s pasted page (its control with ``control``) after ``run_pipeline``: the figures of one
    page, for a test (``engine``: e.g. ``engines.make_engine("tesseract", {"languages": "rus+eng"})``)."""
    pdf = Path(v.control_pdf if control else v.pdf)
    doc_id = f"{v.name}-{'scan' if control else 'pasted'}"
    return measure(v, pdf, run_pipeline(pdf, doc_id, engine, cache, ocr_dpi))


def _score_of(d: dict) -> ev.Score:
    s = ev.Score()
    for k in ("tp", "fp", "fn"):
        for c, n in d["score"][k].items():
            getattr(s, k)[c] += n
    s.labels, s.exact, s.cer_sum = d["score"]["labels"], d["score"]["exact"], d["score"]["cer_sum"]
    return s


def totals(rows: list[dict]) -> dict:
    s = ev.Score()
    for r in rows:
        s.add(_score_of(r))
    dw = sum(r["diagram_words"] for r in rows)
    found = sum(r["diagram_words_in_text"] for r in rows)
    return {"pages": len(rows), "diagram_words": dw, "diagram_words_in_text": found,
            "diagram_words_share": found / dw if dw else float("nan"),
            "pages_ocr": sum(r["source"] != "text_layer" for r in rows),
            "diagrams_found": sum(r["diagrams"] > 0 for r in rows),
            "shapes_f1": s.prf(ev.SHAPE_CLASSES)[2], "flows_f1": s.prf(ev.FLOW_CLASSES)[2],
            "labels": s.labels, "labels_exact": s.exact,
            "labels_exact_share": s.exact / s.labels if s.labels else float("nan"),
            "label_cer": s.cer_sum / s.labels if s.labels else float("nan"),
            "predicted_labels": sum(r["predicted_labels"] for r in rows),
            "body_text_labels": sum(len(r["body_text_labels"]) for r in rows),
            "seconds": sum(sum(r["seconds"].values()) for r in rows)}


def table(groups: list[tuple[str, dict]]) -> str:
    lines = ["| variant | pages | diagram words in page text | whole pages OCR'd | diagrams found | shapes F1 | "
             "flows F1 | labels exact | label CER | body-text labels / predicted labels | s |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, t in groups:
        lines.append(f"| {name} | {t['pages']} | {t['diagram_words_in_text']}/{t['diagram_words']} "
                     f"({t['diagram_words_share']:.1%}) | {t['pages_ocr']} | {t['diagrams_found']}/{t['pages']} | "
                     f"{t['shapes_f1']:.3f} | {t['flows_f1']:.3f} | {t['labels_exact']}/{t['labels']} "
                     f"({t['labels_exact_share']:.1%}) | {t['label_cer']:.3f} | {t['body_text_labels']}/"
                     f"{t['predicted_labels']} | {t['seconds']:.0f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", type=Path, default=Path("/tmp/pasted_diagrams"))
    ap.add_argument("--limit", type=int, default=None, help="only the first N pasted pages (each with its control)")
    ap.add_argument("--dpi", type=int, nargs="+", default=[150, 200], help="resolution(s) of the pasted pictures")
    ap.add_argument("--ocr-dpi", type=int, default=OCR_DPI, help="the pipeline's render resolution for OCR")
    ap.add_argument("--seed", default="17")
    ap.add_argument("--testdata", type=Path, default=TESTDATA)
    ap.add_argument("--workers", type=int, default=1, help="Tesseract workers (the pipeline: one per core)")
    args = ap.parse_args(argv)
    from pdf_ocr_pipeline.engines import make_engine
    from pdf_ocr_pipeline.engines.cache import PageCache
    out = args.out_dir
    out.mkdir(parents=True, exist_ok=True)
    (out / "check").mkdir(exist_ok=True)
    t0 = time.time()
    variants = build_set(out, tuple(args.dpi), args.seed, args.testdata, args.limit)
    for v in variants:
        draw_truth(Path(v.pdf), Path(v.truth), out / "check" / f"{v.name}.png")
    print(f"built {len(variants)} pages and their controls in {time.time() - t0:.1f} s under {out}/pages "
          f"(truth drawn on them: {out}/check)")
    engine = make_engine("tesseract", {"languages": "rus+eng", "workers": args.workers})
    cache = PageCache(out / "ocr-cache")
    per_page = []
    try:
        for v in variants:
            row = {"variant": asdict(v)}
            for kind in ("pasted", "scan"):
                row[kind] = evaluate(v, engine, cache, args.ocr_dpi, control=kind == "scan")
            per_page.append(row)
            p, c = row["pasted"], row["scan"]
            print(f"- {v.name} ({'landscape' if v.landscape else 'portrait'}, picture {v.coverage:.0%} of the page, "
                  f"scale {v.scale:.2f}, labels {v.label_pt:.1f} pt, {len(v.paragraphs)} paragraphs): "
                  f"pasted [{p['source']}] words {p['diagram_words_in_text']}/{p['diagram_words']}, diagrams "
                  f"{p['diagrams']}, shapes {p['shapes_f1']:.2f}, flows {p['flows_f1']:.2f}, labels {p['labels_exact']}, "
                  f"body labels {len(p['body_text_labels'])}; scan [{c['source']}] words {c['diagram_words_in_text']}/"
                  f"{c['diagram_words']}, diagrams {c['diagrams']}, shapes {c['shapes_f1']:.2f}, flows "
                  f"{c['flows_f1']:.2f}, labels {c['labels_exact']}", flush=True)
    finally:
        engine.close()
    groups = []
    for kind, name in (("pasted", "pasted into a text page"), ("scan", "own-page scan (control)")):
        for dpi in args.dpi:
            rows = [r[kind] for r in per_page if r["variant"]["dpi"] == dpi]
            if rows:
                groups.append((f"{name}, picture {dpi} dpi", totals(rows)))
        groups.append((f"**{name}, all**", totals([r[kind] for r in per_page])))
        legible = [r[kind] for r in per_page if r["variant"]["label_pt"] >= LEGIBLE_PT]
        if legible and len(legible) < len(per_page):
            groups.append((f"{name}, labels >= {LEGIBLE_PT:g} pt on the page", totals(legible)))
    print()
    print(table(groups))
    body = [(r["variant"]["name"], t) for r in per_page for t in r["pasted"]["body_text_labels"]]
    if body:
        print("\nbody-text labels (pasted pages):")
        for name, t in body:
            print(f"  {name}: {t!r}")
    result = {"command": " ".join(sys.argv), "date": time.strftime("%Y-%m-%d %H:%M"), "ocr_dpi": args.ocr_dpi,
              "picture_dpis": args.dpi, "seed": args.seed, "totals": dict(groups), "pages": per_page}
    (out / "results.json").write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    print(f"\nfigures: {out / 'results.json'} ({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
