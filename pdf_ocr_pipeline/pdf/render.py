"""Render pages to PNG, one page at a time (memory stays flat in page count)."""

from __future__ import annotations

import hashlib
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pymupdf

from .inspect import TextLayerInfo, text_layer_info
from .pool import map_pages

if TYPE_CHECKING:
    from .regions import PictureRegion


@dataclass(frozen=True)
class RenderedPage:
    page_no: int
    width_pt: float
    height_pt: float
    rotation: int
    dpi: float | None
    width_px: int | None
    height_px: int | None
    png: bytes | None
    image_sha256: str | None
    render_s: float
    text_layer: TextLayerInfo | None
    error: str | None = None
    #: pictures that may hold text the text layer lacks (``regions.picture_regions``)
    picture_regions: tuple["PictureRegion", ...] = ()


def effective_dpi(width_pt: float, height_pt: float, dpi: float, max_pixels: int) -> float:
    """The resolution to render at: ``dpi``, lowered so the image stays within ``max_pixels``.

    >>> round(effective_dpi(14400, 14400, 150, 40_000_000), 1)   # a 200 x 200 inch page
    31.6
    """
    pixels = (width_pt * dpi / 72) * (height_pt * dpi / 72)
    if pixels <= max_pixels or pixels <= 0:
        return float(dpi)
    return dpi * math.sqrt(max_pixels / pixels) * 0.999


def render_page(page: pymupdf.Page, dpi: float, max_pixels: int,
                choose_dpi: Callable[[TextLayerInfo], float | None] | None = None,
                languages: str = "rus+eng") -> RenderedPage:
    """Render one page (as displayed: /Rotate applied) to an RGB PNG. Errors become ``RenderedPage.error``.

    ``choose_dpi`` may pick the resolution from what the text layer holds, or ``None`` to leave the page
    unrendered (a page read from its text layer needs no image: ``png``, ``dpi`` and the pixel sizes are then
    ``None``, and ``error`` too); otherwise ``dpi`` is used. ``languages``: the document's (Tesseract codes), that
    its text layer is judged against (``inspect.text_layer_info``).
    """
    from .regions import picture_regions

    started = time.perf_counter()
    rect = page.rect
    try:
        info = text_layer_info(page, languages)
        regions = tuple(picture_regions(page)) if info.image_coverage else ()
        if choose_dpi is not None:
            dpi = choose_dpi(info)
        if dpi is None:
            return RenderedPage(
                page_no=page.number + 1, width_pt=rect.width, height_pt=rect.height, rotation=page.rotation,
                dpi=None, width_px=None, height_px=None, png=None, image_sha256=None,
                render_s=time.perf_counter() - started, text_layer=info, picture_regions=regions,
            )
        eff = effective_dpi(rect.width, rect.height, dpi, max_pixels)
        pix = page.get_pixmap(dpi=None, matrix=pymupdf.Matrix(eff / 72, eff / 72), alpha=False,
                              colorspace=pymupdf.csRGB)
        png = pix.tobytes("png")
        return RenderedPage(
            page_no=page.number + 1, width_pt=rect.width, height_pt=rect.height, rotation=page.rotation,
            dpi=eff, width_px=pix.width, height_px=pix.height, png=png,
            image_sha256=hashlib.sha256(png).hexdigest(), render_s=time.perf_counter() - started,
            text_layer=info, picture_regions=regions,
        )
    except Exception as e:  # one bad page must not stop the document
        return RenderedPage(
            page_no=page.number + 1, width_pt=rect.width, height_pt=rect.height, rotation=page.rotation,
            dpi=float(dpi) if dpi else None, width_px=0, height_px=0, png=None, image_sha256=None,
            render_s=time.perf_counter() - started, text_layer=None, error=f"render failed: {e}",
        )


def render_document(path: str | os.PathLike, dpi: float = 200, max_pixels: int = 40_000_000,
                    pages: Iterable[int] | None = None,
                    choose_dpi: Callable[[TextLayerInfo], float | None] | None = None,
                    workers: int = 1, languages: str = "rus+eng") -> Iterator[RenderedPage]:
    """Render a document's pages one by one.

    Args:
        path: the PDF.
        dpi: resolution to render at.
        max_pixels: cap on pixels per page; larger pages render at a lower resolution.
        pages: 1-based page numbers; all pages when None.
        choose_dpi: picks each page's resolution from its text layer, or ``None``: not rendered (``render_page``);
            picklable (a module-level function or a ``functools.partial`` of one) when ``workers`` > 1.
        workers: processes the pages are spread over (``pool.map_pages``).
        languages: the document's languages, its text layer judged against them (``inspect.text_layer_info``).
    Yields:
        One ``RenderedPage`` per page, in order.
    Raises:
        InputPdfError, EncryptedPdfError: the file cannot be opened.
    """
    args = (dpi, max_pixels, choose_dpi, languages)
    items = ((lambda count: ((no, args) for no in range(1, count + 1))) if pages is None
             else ((no, args) for no in pages))
    yield from map_pages(_render, path, items, workers)


def _render(page: pymupdf.Page, args: tuple) -> RenderedPage:
    return render_page(page, *args)
