"""A document's diagrams: which pages hold one, their models, and the XML rows and files. No Dagster here."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections import deque
from dataclasses import dataclass
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np
import pymupdf

from ..engines.base import Block
from ..pdf.inspect import PdfPages
from ..pdf.pool import map_pages
from ..storage import write_text_atomic
from . import extract_diagram, to_bpmn_xml
from .glance import compose, glance_plan, grey_pixels
from .model import BpmnDiagram, BpmnElement
from .rows import looks_like_prose
from .vector.usable import one_path_reason

#: The raster search's thresholds are set at this resolution, and it misses diagrams at others (C.1.1: found at
#: 150 dpi, nothing at 120, 175 or 200), so a page rendered at another dpi (OCR renders at 200) is rendered again.
RASTER_DPI = 150.0
#: A diagram needs graphics: a raster image (scan, picture) or at least this many vector drawing commands.
MIN_DRAWINGS = 10
#: Pictures are looked at this coarsely before the raster search (which works at 150 dpi) ...
GLANCE_DPI = 75
#: ... and searched only when their ink encloses at least this many outlines of a flow node's size (the raster
#: search finds events, activities and gateways as such enclosed holes, and a diagram has at least 3 of them; 2
#: leaves a margin for outlines that a coarse look merges or breaks). Screenshots, photos and charts show 0-1.
MIN_GLANCE_OUTLINES = 2
MIN_OUTLINE_PT = 9.0
T = TypeVar("T")

#: Threads that look at pictures beside the page reading (OpenCV and zlib decode without the GIL) ...
LOOK_THREADS = min(2, os.cpu_count() or 1)
#: ... and pages read ahead of the oldest look still running: enough to keep the threads busy, few rows held.
LOOKS_AHEAD = 8


def pictures_may_hold_diagram(page: pymupdf.Page, decode: bool = True) -> bool:
    """A cheap look at a page's pictures before the expensive raster search: do they enclose outlines?

    The area the page's images cover is rendered in grey at ``GLANCE_DPI``, binarised as the raster search
    does it, and the holes in the ink (closed outlines) of at least ``MIN_OUTLINE_PT`` points a side are
    counted. A diagram's events, tasks and gateways are such holes; a screenshot's flat widgets, a photo or a
    text scan's letters mostly are not. About 10x cheaper than the search itself. Pages with vector drawings
    are not judged here (``find_diagrams`` searches them as before).

    Where it draws the same image, the pictures are decoded by OpenCV rather than MuPDF (``glance.glance_plan``,
    ``decode``); MuPDF decides where a picture's data turns out broken.
    """
    verdict = picture_look(page, decode=decode)()
    return verdict if verdict is not None else picture_look(page, decode=False)()


def picture_look(page: pymupdf.Page, words: list[tuple[float, float, float, float]] | None = None,
                 decode: bool = True, drawings: list[dict] | None = None) -> Callable[[], bool | None]:
    """``pictures_may_hold_diagram`` in two parts: what needs MuPDF is done now; the rest (decoding and scaling
    the pictures, counting outlines: OpenCV, which releases the GIL) is returned, to run in any thread. It
    answers ``None`` where a picture's data turns out broken: ask MuPDF (``decode=False``) then."""
    infos = page.get_image_info()
    area = pictures_area(page, infos)
    if area.is_empty:
        return lambda: False
    plan = glance_plan(page, infos, area, GLANCE_DPI, words, drawings) if decode else None
    if plan is not None:
        return partial(_look_at_plan, plan)
    return partial(_encloses_outlines, grey_pixels(page.get_pixmap(dpi=GLANCE_DPI, clip=area,
                                                                  colorspace=pymupdf.csGRAY, alpha=False)))


def pictures_area(page: pymupdf.Page, infos: list[dict]) -> pymupdf.Rect:
    """The part of the displayed page its pictures (``page.get_image_info()``) cover, as one rectangle."""
    area = pymupdf.Rect()
    for info in infos:  # boxes of the unrotated page: turn them into the displayed frame
        area |= (pymupdf.Rect(info["bbox"]) * page.rotation_matrix) & page.rect
    return area


def _look_at_plan(plan) -> bool | None:
    gray = compose(plan)
    return _encloses_outlines(gray) if gray is not None else None


def _encloses_outlines(gray: np.ndarray) -> bool:
    """Whether the ink of ``gray`` (a look at ``GLANCE_DPI``) encloses ``MIN_GLANCE_OUTLINES`` flow-node-sized holes."""
    import cv2

    from .raster.ink import binarize

    if min(gray.shape) < 3:
        return False
    contours, hierarchy = cv2.findContours(binarize(gray), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    side = MIN_OUTLINE_PT * GLANCE_DPI / 72
    holes = 0
    for contour, (_, _, _, parent) in zip(contours, hierarchy[0] if hierarchy is not None else ()):
        if parent >= 0:  # a hole inside an ink component
            _, _, w, h = cv2.boundingRect(contour)
            holes += w >= side and h >= side
            if holes >= MIN_GLANCE_OUTLINES:
                return True
    return False


@dataclass(frozen=True)
class PageFailure:
    """A page the search failed on (a damaged page, an image the search cannot handle): the rest go on."""

    page_no: int
    error: str

    @classmethod
    def of(cls, page_no: int, error: Exception) -> "PageFailure":
        return cls(page_no, f"{type(error).__name__}: {error}")


def find_diagrams(pdf_path: str | os.PathLike, pages: Iterable[dict], workers: int = 1,
                  on_error: Callable[[PageFailure], None] | None = None) -> Iterator[BpmnDiagram]:
    """The BPMN diagram of every page that holds one, page by page.

    Args:
        pdf_path: the document.
        pages: per page, a dict with ``page_no``, ``png``, ``dpi`` (``rendered_pages``) and ``blocks``
            (``ocr_pages``: the words of the page, from its text layer or OCR), consumed lazily.
        workers: processes the pages are spread over (``pdf.pool.map_pages``, documents of
            ``MIN_PAGES_FOR_WORKERS`` pages or more); otherwise this process reads the pages and threads beside
            it look at their pictures (``page_check``, ``picture_look``).
        on_error: told of each page the search fails on, and the other pages go on; None: the first failure
            raises ``RuntimeError``.
    Yields:
        One ``BpmnDiagram`` per diagram page, in page order (``page_diagram``).
    """
    items = ((row["page_no"], row) for row in pages)
    for diagram in map_pages(_guarded_page_diagram, pdf_path, items, workers, in_process=_diagrams_in_process):
        if isinstance(diagram, PageFailure):
            if on_error is None:
                raise RuntimeError(f"BPMN search, page {diagram.page_no}: {diagram.error}")
            on_error(diagram)
        elif diagram is not None:
            yield diagram


def page_diagram(page: pymupdf.Page, row: dict) -> BpmnDiagram | None:
    """The diagram of one page (``row`` as ``find_diagrams`` takes it), or ``None``; all in this thread."""
    check = page_check(page, row)
    return _search_if(page, row, check() if callable(check) else check)


def _search_if(page: pymupdf.Page, row: dict, check: bool | None) -> BpmnDiagram | None:
    """``search_page`` where ``check`` (``page_check``'s answer) lets the page through; ``None``: a picture's
    data was broken, and MuPDF's look decides."""
    if check is None:
        check = pictures_may_hold_diagram(page, decode=False)
    return search_page(page, row) if check else None


def _guarded(page_no: int, work: Callable[[], T]) -> T | PageFailure:
    try:
        return work()
    except Exception as e:  # noqa: BLE001 - one page must not cost the document its other diagrams
        return PageFailure.of(page_no, e)


def _guarded_page_diagram(page: pymupdf.Page, row: dict) -> BpmnDiagram | PageFailure | None:
    return _guarded(row["page_no"], lambda: page_diagram(page, row))


def page_check(page: pymupdf.Page, row: dict) -> bool | Callable[[], bool | None]:
    """Whether the page may hold a diagram: known at once, or the look at its pictures still to run
    (``picture_look``'s second part, thread-safe).

    Pages without graphics, prose pages (most words in long lines), and pages whose only graphics are pictures
    without closed outlines (``pictures_may_hold_diagram``) are not searched: the raster search is expensive and
    finds nothing there.
    """
    if _searches_pictures(page, row):  # a text page with pictures pasted in: each picture looked at alone
        regions = row["picture_regions"]
        known = [_OUTLINE_VERDICTS.get(_picture_key(r)) for r in regions]
        if any(known):
            return True
        todo = [(_picture_key(r), _grey_region(page, r, GLANCE_DPI)) for r, v in zip(regions, known) if v is None]
        return partial(_any_encloses_outlines, todo) if todo else False
    # a diagram needs graphics: a raster image (scan, picture) or enough vector drawings, or a few that hold a
    # whole diagram flattened into one path (``extract_diagram`` reads that as a picture); the drawings are read
    # once, and only where pictures do not already answer that
    has_pictures = bool(page.get_images(full=False))
    drawings = None if has_pictures else page.get_cdrawings()
    one_path = drawings is not None and 0 < len(drawings) < MIN_DRAWINGS and one_path_reason(drawings) is not None
    if not has_pictures and len(drawings) < MIN_DRAWINGS and not one_path:
        return False
    words = _words(row)
    if looks_like_prose(words, page.rect.width):
        return False
    if drawings is None:
        drawings = page.get_cdrawings()
    if len(drawings) >= MIN_DRAWINGS or one_path:
        return True
    return picture_look(page, _word_boxes(row, words), drawings=drawings)


def search_page(page: pymupdf.Page, row: dict) -> BpmnDiagram | None:
    """The raster or vector search on a page ``page_check`` let through."""
    if _searches_pictures(page, row):
        return picture_diagram(page, row)
    png = row.get("png") if row.get("dpi") == RASTER_DPI else None
    return extract_diagram(page, row["page_no"], png=png, dpi=RASTER_DPI, words=_words(row) or None)


def _searches_pictures(page: pymupdf.Page, row: dict) -> bool:
    """Whether the page's diagram is looked for in its pictures one by one (``picture_diagram``): a page with
    picture regions (``rendered_pages.picture_regions``: pictures on a page that also holds text) and not drawn
    in vector graphics (a vector diagram with a logo keeps the vector search)."""
    return bool(row.get("picture_regions")) and len(page.get_cdrawings()) < MIN_DRAWINGS


def picture_diagram(page: pymupdf.Page, row: dict) -> BpmnDiagram | None:
    """The diagram in one of the page's pictures, largest first, in points of the page.

    Each picture that encloses outlines (``_encloses_outlines``) is searched on its own, at ``RASTER_DPI``, with
    only the words inside it: the body text around a pasted diagram neither makes the page look like prose nor
    lends its lines and the caption to the diagram as labels.
    """
    from . import words_from_blocks
    from .detect import is_diagram
    from .raster.detector.extract import extract_picture
    from .raster.scan_words import read_as_text, search_again

    words = _words(row)
    for region in row["picture_regions"]:
        x0, y0, x1, y1 = (region[k] for k in ("x0", "y0", "x1", "y1"))
        if not _region_encloses_outlines(page, region):
            continue
        inside = words_in_region(words, (x0, y0, x1, y1))
        clip = pymupdf.Rect(x0, y0, x1, y1)
        png = page.get_pixmap(matrix=pymupdf.Matrix(RASTER_DPI / 72, RASTER_DPI / 72), clip=clip,
                              alpha=False).tobytes("png")

        def search(ws, png=png, w=x1 - x0, h=y1 - y0):
            return extract_picture(png, ws, page_no=row["page_no"], dpi=RASTER_DPI, width=w, height=h)
        found = search(words_from_blocks(inside))
        if is_diagram(found) and read_as_text(words):  # a scan read as text: its labels read again as a picture's
            found = search_again(found, page, inside, search, clip)
        if is_diagram(found):
            return BpmnDiagram(page_no=row["page_no"], width=page.rect.width, height=page.rect.height,
                               elements=tuple(shift_element(e, x0, y0) for e in found.elements),
                               method=found.method)
    return None


def words_in_region(words: list[Block], region: tuple[float, float, float, float]) -> list[Block]:
    """The words whose centres lie in ``region`` (page points), moved to its frame (its top left at 0, 0)."""
    x0, y0, x1, y1 = region
    return [Block(w.label, w.text, w.x0 - x0, w.y0 - y0, w.x1 - x0, w.y1 - y0, w.confidence)
            for w in words if x0 <= (w.x0 + w.x1) / 2 <= x1 and y0 <= (w.y0 + w.y1) / 2 <= y1]


def shift_element(element: BpmnElement, dx: float, dy: float) -> BpmnElement:
    """The element moved by ``(dx, dy)`` points: its box, waypoints and label box."""
    x0, y0, x1, y1 = element.box
    label = element.label_box
    return element.with_(box=(x0 + dx, y0 + dy, x1 + dx, y1 + dy),
                         waypoints=tuple((x + dx, y + dy) for x, y in element.waypoints),
                         label_box=(label[0] + dx, label[1] + dy, label[2] + dx, label[3] + dy) if label else None)


def _grey_region(page: pymupdf.Page, region: dict, dpi: float) -> np.ndarray:
    clip = pymupdf.Rect(region["x0"], region["y0"], region["x1"], region["y1"])
    return grey_pixels(page.get_pixmap(dpi=dpi, clip=clip, colorspace=pymupdf.csGRAY, alpha=False))


#: What the coarse look said of pictures already seen, by content and size (``_picture_key``): a logo on every
#: page, or the same picture in another document, is looked at once. Bounded: cleared when full.
_OUTLINE_VERDICTS: dict[tuple, bool] = {}
PICTURE_VERDICTS_KEPT = 4096


def _picture_key(region: dict) -> tuple:
    return (region["content"], round(region["x1"] - region["x0"]), round(region["y1"] - region["y0"]))


def _remember_verdict(key: tuple, verdict: bool) -> bool:
    if len(_OUTLINE_VERDICTS) >= PICTURE_VERDICTS_KEPT:
        _OUTLINE_VERDICTS.clear()
    _OUTLINE_VERDICTS[key] = verdict
    return verdict


def _region_encloses_outlines(page: pymupdf.Page, region: dict) -> bool:
    key = _picture_key(region)
    verdict = _OUTLINE_VERDICTS.get(key)
    if verdict is None:
        verdict = _remember_verdict(key, _encloses_outlines(_grey_region(page, region, GLANCE_DPI)))
    return verdict


def _any_encloses_outlines(looks: list[tuple[tuple, np.ndarray]]) -> bool:
    """Whether any of the pictures' coarse looks encloses outlines; each verdict is remembered (thread-safe: one
    dict assignment each)."""
    return any([_remember_verdict(key, _encloses_outlines(grey)) for key, grey in looks])


def _words(row: dict) -> list[Block]:
    return [Block(**b) for b in row.get("blocks") or ()]


def _word_boxes(row: dict, words: list[Block] | None = None) -> list[tuple[float, float, float, float]] | None:
    words = _words(row) if words is None else words
    return [(w.x0, w.y0, w.x1, w.y1) for w in words] if words else None


def _diagrams_in_process(doc: PdfPages, items: Iterable[tuple[int, dict]]
                         ) -> Iterator[BpmnDiagram | PageFailure | None]:
    """``_guarded_page_diagram`` of every page in this process, the looks at pictures in threads while MuPDF
    (which holds the GIL) reads the next pages; results in page order, at most ``LOOKS_AHEAD`` pages held."""
    queue: deque[tuple[dict, bool | Future | PageFailure]] = deque()
    with ThreadPoolExecutor(LOOK_THREADS, thread_name_prefix="picture-look") as looks:

        def settle() -> BpmnDiagram | PageFailure | None:
            row, check = queue.popleft()
            if isinstance(check, PageFailure):
                return check
            return _guarded(row["page_no"], lambda: _search_if(
                doc.page(row["page_no"]), row, check.result() if isinstance(check, Future) else check))

        for page_no, row in items:
            check = _guarded(page_no, lambda: page_check(doc.page(page_no), row))
            queue.append((row, looks.submit(check) if callable(check) else check))
            while queue and (len(queue) > LOOKS_AHEAD or not isinstance(queue[0][1], Future) or queue[0][1].done()):
                yield settle()
        while queue:
            yield settle()


def model_row(diagram: BpmnDiagram, doc_id: str, xml_path: Path) -> dict:
    """The ``bpmn_models`` row of a diagram, its XML written to ``xml_path`` atomically."""
    row = {"doc_id": doc_id, "page_no": diagram.page_no, "method": diagram.method, "xml_path": str(xml_path),
           "shapes": len(diagram.shapes), "flows": len(diagram.flows),
           "unresolved_flows": sum(1 for f in diagram.flows if not (f.source_id and f.target_id)),
           "counts_json": json.dumps(diagram.counts(), sort_keys=True), "error": None,
           "vector_note": diagram.vector_note}
    try:
        xml = to_bpmn_xml(diagram, name=f"{doc_id} page {diagram.page_no}")
        row["xml"] = xml
        row["xml_valid"] = xml_is_consistent(xml)
        write_text_atomic(xml_path, xml)
    except Exception as e:  # one page's export must not lose the document's other diagrams
        row.update(xml=None, xml_valid=False, error=f"BPMN export failed: {e}")
    return row


def vector_notes(pdf_path: str | os.PathLike, page_nos: Iterable[int]) -> dict[int, str]:
    """Why each of these pages' drawings could not carry the vector path (``vector.usable``), for the pages where
    they could not: ``extract_diagram`` sent those to the raster path. ``bpmn_models`` rebuilds diagrams from
    ``bpmn_elements`` rows, which do not keep the note, so it asks again (a look at the drawings, milliseconds a
    page). A document that cannot be opened gives no notes."""
    from .vector.usable import page_unusable_reason

    page_nos = list(page_nos)
    if not page_nos:
        return {}
    try:
        doc = pymupdf.open(str(pdf_path))
    except Exception:  # noqa: BLE001 - the notes are a courtesy; the models stand without them
        return {}
    notes = {}
    with doc:
        for page_no in page_nos:
            if 1 <= page_no <= doc.page_count:
                note = page_unusable_reason(doc[page_no - 1])
                if note:
                    notes[page_no] = note
    return notes


def xml_is_consistent(xml: str) -> bool:
    """The XML parses, and every flow's sourceRef/targetRef names an element of the model."""
    try:
        root = ET.fromstring(xml.encode("utf-8"))
    except ET.ParseError:
        return False
    ids = {el.get("id") for el in root.iter() if el.get("id")}
    for el in root.iter():
        for ref in ("sourceRef", "targetRef"):
            value = el.get(ref)
            if value is not None and value not in ids:
                return False
    return True


def clear_stale_files(folder: Path, keep: set[Path]) -> None:
    """Remove page files of an earlier run that are no longer diagrams."""
    if folder.is_dir():
        for path in folder.glob("page-*.bpmn"):
            if path not in keep:
                path.unlink(missing_ok=True)
