"""The text layer as an engine: words and boxes straight from the PDF, no OCR at all."""

from __future__ import annotations

import time

import pymupdf

from ..pdf.text import page_text, page_words, text_page
from .base import Block, OcrPage

NAME = "text_layer"


def version() -> str:
    return f"pymupdf {pymupdf.__version__}"


def read_page(page: pymupdf.Page, doc_id: str) -> OcrPage:
    """One page's text and words from its text layer. Module-level, so ``pdf.pool.map_pages`` can run it in
    worker processes."""
    started = time.perf_counter()
    try:
        textpage = text_page(page)  # one extraction for both the words and the text
        blocks = tuple(Block("word", w.text, w.x0, w.y0, w.x1, w.y1, None) for w in page_words(page, textpage))
        text = page_text(page, textpage)
        error = None
    except Exception as e:  # a damaged page content stream: record it, keep the document going
        blocks, text, error = (), "", f"text layer unreadable: {e}"
    return OcrPage(
        doc_id=doc_id, page_no=page.number + 1, source="text_layer" if error is None else "none",
        engine=NAME, engine_version=version(), text=text, blocks=blocks,
        latency_s=time.perf_counter() - started, error=error,
    )
