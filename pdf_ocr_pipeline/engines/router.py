"""The page policy: which pages read their text layer and which go to an OCR engine, streamed in page order."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Literal

from .base import OcrEngine, OcrPage, PageImage
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
            text_layer_usable, error), consumed lazily.
        engine: the OCR engine for pages that need OCR.
        policy: ``auto``, ``ocr`` or ``text``.
        cache: the page cache; pages found there are not OCR'd again.
        ocr_dpi: pages not rendered or rendered below this resolution (pages read from their text layer when
            rendered, now that the policy asks for OCR) are rendered at it before OCR.
        max_pixels: cap on pixels of such a page.
    Yields:
        One ``OcrPage`` per row. Memory is bounded: the engine pulls images as it has room; text-layer pages
        are read when their turn to be yielded comes.
    """
    identity = engine.cache_identity()
    # Each entry is how to produce the page when its turn comes: ("ocr", key) waits for the engine,
    # ("text", page_no) reads the text layer, ("cached", key, page_no), ("failed", page_no, error).
    plan: deque[tuple] = deque()

    def images() -> Iterator[PageImage]:
        for row in rendered:
            no = row["page_no"]
            if not row.get("error") and not wants_ocr(policy, bool(row.get("text_layer_usable"))):
                plan.append(("text", no))
                continue
            if ocr_dpi and not row.get("error") and (row.get("png") is None or row["dpi"] < 0.95 * ocr_dpi):
                # a page read from its text layer when rendered (no image, or a preview); the policy now asks
                # for OCR: render it at the OCR resolution
                row = _rerender(text_layer.page(no), row, ocr_dpi, max_pixels)
            if row.get("error") or row.get("png") is None:
                plan.append(("failed", no, row.get("error") or "page was not rendered"))
            else:
                key = PageCache.key(row["image_sha256"], identity)
                if cache is not None and cache.has(key):
                    plan.append(("cached", key, no))
                else:
                    plan.append(("ocr", key))
                    yield PageImage(doc_id, no, row["png"], row["dpi"], row["width_pt"], row["height_pt"],
                                    row["image_sha256"])

    with TextLayerEngine(pdf_path, doc_id) as text_layer:
        # images() runs inside the engine's pulls, within this block, so text_layer is open whenever it runs.

        def drain_ready() -> Iterator[OcrPage]:
            while plan and plan[0][0] != "ocr":
                yield _produce(plan.popleft(), doc_id, text_layer, cache)

        for result in engine.ocr_pages(images()):
            yield from drain_ready()
            entry = plan.popleft()
            assert entry[0] == "ocr", "engine results must come back in input order"
            if cache is not None:
                cache.put(entry[1], result)
            yield result
        yield from drain_ready()


def _rerender(page, row: dict, dpi: float, max_pixels: int) -> dict:
    from ..pdf.render import effective_dpi, render_page

    if row.get("png") is not None and \
            effective_dpi(row["width_pt"], row["height_pt"], dpi, max_pixels) <= row["dpi"] * 1.05:
        return row  # capped by max_pixels already: nothing sharper to be had
    fresh = render_page(page, dpi, max_pixels)
    return {**row, "png": fresh.png, "dpi": fresh.dpi, "image_sha256": fresh.image_sha256, "error": fresh.error}


def _produce(entry: tuple, doc_id: str, text_layer: TextLayerEngine, cache: PageCache | None) -> OcrPage:
    kind = entry[0]
    if kind == "text":
        return text_layer.read_page(entry[1])
    if kind == "cached":
        page = cache.get(entry[1], doc_id, entry[2]) if cache is not None else None
        if page is not None:
            return page
        return OcrPage(doc_id, entry[2], "none", "", error="cached result vanished; re-run the document")
    _, no, error = entry
    return OcrPage(doc_id, no, "none", "", error=error)
