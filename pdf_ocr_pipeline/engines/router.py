"""The page policy: which pages read their text layer and which go to an OCR engine, streamed in page order."""

from __future__ import annotations

import os
from collections import OrderedDict, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from ..pdf.inspect import PdfPages
from ..pdf.regions import PictureRegion, render_region
from .base import OcrEngine, OcrPage, PageImage, RegionRead
from .cache import PageCache
from .text_layer import TextLayerEngine

PagePolicy = Literal["auto", "ocr", "text"]


def wants_ocr(policy: PagePolicy, text_layer_usable: bool) -> bool:
    """``auto``: OCR only pages without a usable text layer; ``ocr``: every page; ``text``: none."""
    if policy == "ocr":
        return True
    if policy == "text":
        return False
    return not text_layer_usable


def render_dpi(policy: PagePolicy, dpi: float, preview_dpi: float, text_layer) -> float | None:
    """The resolution ``rendered_pages`` renders a page at, from its ``TextLayerInfo``: ``dpi`` for a page the
    policy sends to OCR; none for a page read from its text layer (rendering is most of that stage's cost, and
    overlays and the BPMN search render such a page from the PDF when they need it), or a preview at
    ``preview_dpi`` when that is set. Module-level, so ``functools.partial`` of it goes to worker processes."""
    if wants_ocr(policy, text_layer.usable):
        return dpi
    return min(dpi, preview_dpi) if preview_dpi else None


#: Pictures are cropped for OCR at their own resolution as placed (a picture pasted at 150 ppi and shrunk to half
#: its size holds 300 ppi of detail), no lower than the page's OCR dpi and no higher than this: labels in pasted
#: diagrams are often 2-6 pt on the page, too small for Tesseract at 200 dpi, while upscaling a coarse picture
#: only blurs it. bench/pasted_diagrams.py (14 Russian diagrams pasted into text pages; BENCHMARKS.md): diagram
#: words in the page text 52% cropped at 200 dpi, 70% at 300, 82% at 400.
REGION_MAX_DPI = 400.0
#: Region results of one document kept in memory, so a picture repeated on many pages (a logo, a stamp) is read
#: once even before its first result reaches the page cache, which keeps them across documents.
REGIONS_REMEMBERED = 512


@dataclass
class _RegionWait:
    """A picture of a text page on its way: what OCR read (None while due), or why its crop failed."""

    region: PictureRegion
    read: OcrPage | None = None
    crop_error: str | None = None

    def done(self) -> bool:
        return self.read is not None or self.crop_error is not None


@dataclass
class _Slot:
    """A page on its way out, in page order. ``kind``: "text" (its text layer, plus its pictures' regions),
    "ocr" (waits for the engine), "cached" or "failed"."""

    page_no: int
    kind: str
    key: str | None = None
    error: str | None = None
    result: OcrPage | None = None
    regions: list[_RegionWait] = field(default_factory=list)  # text pages: their pictures

    def ready(self) -> bool:
        if self.kind == "ocr":
            return self.result is not None
        return all(r.done() for r in self.regions)


def ocr_document(
    doc_id: str,
    pdf_path: str | os.PathLike,
    rendered: Iterable[dict],
    engine: OcrEngine,
    policy: PagePolicy = "auto",
    cache: PageCache | None = None,
    ocr_dpi: float | None = None,
    max_pixels: int = 40_000_000,
) -> Iterator[OcrPage]:
    """Text for every page of a document, in page order.

    Args:
        doc_id: the document key.
        pdf_path: the PDF (for its text layer).
        rendered: ``rendered_pages`` rows (page_no, png, dpi, width_pt, height_pt, image_sha256,
            text_layer_usable, picture_regions, error), consumed lazily.
        engine: the OCR engine for pages that need OCR.
        policy: ``auto``, ``ocr`` or ``text``. Under ``auto`` the pictures of a page read from its text layer
            (``picture_regions``) are OCR'd as regions and their words merged into the page
            (``TextLayerEngine.read_page``); a picture met before (same content and size, in this document or
            in the cache) is not read again.
        cache: the page cache (pages and regions); what is found there is not OCR'd again.
        ocr_dpi: pages not rendered or rendered below this resolution (pages read from their text layer when
            rendered, now that the policy asks for OCR) are rendered at it before OCR; regions are cropped at it
            (200 when None).
        max_pixels: cap on pixels of such a page or region.
    Yields:
        One ``OcrPage`` per row. Memory is bounded: the engine pulls images as it has room; text-layer pages
        are read when their turn to be yielded comes.
    """
    identity = engine.cache_identity()
    page_dpi = ocr_dpi or 200.0
    plan: deque[_Slot] = deque()  # pages in page order, each produced when ready and its turn comes
    sent: deque[_Slot | str] = deque()  # what went to the engine, in order: a page's slot, or a region's key
    waiting: dict[str, list[_RegionWait]] = {}  # region key -> the region entries of slots waiting for its result
    known: OrderedDict[str, OcrPage] = OrderedDict()  # region results of this document, newest last
    crops: PdfPages | None = None  # a handle of its own for cropping regions (the text layer's is not shared)

    def region_images(slot: _Slot, regions: list[dict]) -> Iterator[PageImage]:
        nonlocal crops
        for r in regions:
            region = PictureRegion(**{k: r.get(k) or 0.0 for k in ("x0", "y0", "x1", "y1", "ppi")},
                                   content=r["content"])
            dpi = region_dpi(region, page_dpi)
            key = region_key(region, dpi, max_pixels, identity)
            entry = _RegionWait(region)
            slot.regions.append(entry)
            if key in known:
                entry.read = known[key].with_(cached=True)
            elif key in waiting:
                waiting[key].append(entry)
            elif cache is not None and (hit := cache.get(key, doc_id, slot.page_no)) is not None:
                entry.read = _remember(known, key, hit)
            else:
                try:
                    crops = crops or PdfPages(pdf_path)
                    crop = render_region(crops.page(slot.page_no), region, dpi, max_pixels)
                except Exception as e:  # noqa: BLE001 - a picture MuPDF cannot draw: the page keeps its text
                    entry.crop_error = f"picture could not be drawn: {e}"
                    continue
                waiting[key] = [entry]
                sent.append(key)
                yield PageImage(doc_id, slot.page_no, crop.png, crop.dpi, crop.width_pt, crop.height_pt,
                                crop.sha256, kind="region")

    def images() -> Iterator[PageImage]:
        for row in rendered:
            no = row["page_no"]
            if not row.get("error") and not wants_ocr(policy, bool(row.get("text_layer_usable"))):
                slot = _Slot(no, "text")
                plan.append(slot)
                if policy == "auto" and row.get("picture_regions"):
                    yield from region_images(slot, row["picture_regions"])
                continue
            if ocr_dpi and not row.get("error") and (row.get("png") is None or row["dpi"] < 0.95 * ocr_dpi):
                # a page read from its text layer when rendered (no image, or a preview); the policy now asks
                # for OCR: render it at the OCR resolution
                row = _rerender(text_layer.page(no), row, ocr_dpi, max_pixels)
            if row.get("error") or row.get("png") is None:
                plan.append(_Slot(no, "failed", error=row.get("error") or "page was not rendered"))
            else:
                key = PageCache.key(row["image_sha256"], identity)
                if cache is not None and cache.has(key):
                    plan.append(_Slot(no, "cached", key=key))
                else:
                    slot = _Slot(no, "ocr", key=key)
                    plan.append(slot)
                    sent.append(slot)
                    yield PageImage(doc_id, no, row["png"], row["dpi"], row["width_pt"], row["height_pt"],
                                    row["image_sha256"])

    def receive(result: OcrPage) -> None:
        target = sent.popleft()
        if isinstance(target, _Slot):
            target.result = result
            if cache is not None:
                cache.put(target.key, result)
            return
        if cache is not None:
            cache.put(target, result)
        if result.error is None:
            _remember(known, target, result)
        for i, entry in enumerate(waiting.pop(target)):
            # the others were not read again (cached); a failure is passed on as it is, not as a reused result
            entry.read = result if i == 0 or result.error is not None else result.with_(cached=True)

    try:
        with TextLayerEngine(pdf_path, doc_id) as text_layer:
            # images() runs inside the engine's pulls, within this block, so text_layer is open whenever it runs.

            def drain_ready() -> Iterator[OcrPage]:
                while plan and plan[0].ready():
                    yield _produce(plan.popleft(), doc_id, text_layer, cache)

            for result in engine.ocr_pages(images()):
                receive(result)
                yield from drain_ready()
            yield from drain_ready()
            assert not plan, "every page must be produced once the engine is done"
    finally:
        if crops is not None:
            crops.close()


def region_dpi(region: PictureRegion, page_dpi: float) -> float:
    """The resolution a picture region is OCR'd at: its own (``region.ppi``) within [``page_dpi``,
    ``REGION_MAX_DPI``]."""
    return min(max(region.ppi, page_dpi), max(REGION_MAX_DPI, page_dpi))


def region_key(region: PictureRegion, dpi: float, max_pixels: int, identity: str) -> str:
    """The cache key of a picture region: its pictures' content and the size it is read at (the same logo drawn
    larger is another image to OCR), with the engine's identity."""
    from ..pdf.render import effective_dpi

    eff = effective_dpi(region.width, region.height, dpi, max_pixels)
    size = f"{round(region.width * eff / 72)}x{round(region.height * eff / 72)}"
    return PageCache.key(f"region {region.content} {size}", identity)


def _remember(known: OrderedDict, key: str, result: OcrPage) -> OcrPage:
    known[key] = result
    known.move_to_end(key)
    while len(known) > REGIONS_REMEMBERED:
        known.popitem(last=False)
    return result


def _rerender(page, row: dict, dpi: float, max_pixels: int) -> dict:
    from ..pdf.render import effective_dpi, render_page

    if row.get("png") is not None and \
            effective_dpi(row["width_pt"], row["height_pt"], dpi, max_pixels) <= row["dpi"] * 1.05:
        return row  # capped by max_pixels already: nothing sharper to be had
    fresh = render_page(page, dpi, max_pixels)
    return {**row, "png": fresh.png, "dpi": fresh.dpi, "image_sha256": fresh.image_sha256, "error": fresh.error}


def _produce(slot: _Slot, doc_id: str, text_layer: TextLayerEngine, cache: PageCache | None) -> OcrPage:
    if slot.kind == "text":
        pictures = []
        for wait in slot.regions:
            region, read = wait.region, wait.read
            error = wait.crop_error or (read.error if read is not None else None)
            pictures.append((RegionRead(region.x0, region.y0, region.x1, region.y1, region.content, region.ppi,
                                        engine=read.engine if read is not None else "",
                                        words=len(read.blocks) if read is not None and error is None else 0,
                                        cached=bool(read is not None and read.cached), error=error),
                             read if error is None else None))
        return text_layer.read_page(slot.page_no, pictures)
    if slot.kind == "ocr":
        return slot.result
    if slot.kind == "cached":
        page = cache.get(slot.key, doc_id, slot.page_no) if cache is not None else None
        if page is not None:
            return page
        return OcrPage(doc_id, slot.page_no, "none", "", error="cached result vanished; re-run the document")
    return OcrPage(doc_id, slot.page_no, "none", "", error=slot.error)
