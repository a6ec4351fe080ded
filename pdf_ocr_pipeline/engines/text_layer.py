"""The text layer as an engine: words and boxes straight from the PDF, no OCR at all."""

from __future__ import annotations

import os
import time

import pymupdf

from ..pdf.inspect import PdfPages
from ..pdf.text import page_text, page_words, text_page
from .base import Block, OcrPage


class TextLayerEngine:
    """Reads pages' text layers. Not an image engine: it takes the PDF and page numbers. Not thread-safe."""

    name = "text_layer"

    def __init__(self, pdf_path: str | os.PathLike, doc_id: str):
        self.doc_id = doc_id
        self._pages = PdfPages(pdf_path)

    def version(self) -> str:
        return f"pymupdf {pymupdf.__version__}"

    def read_page(self, page_no: int) -> OcrPage:
        started = time.perf_counter()
        try:
            page = self._pages.page(page_no)
            textpage = text_page(page)  # one extraction for both the words and the text
            blocks = tuple(Block("word", w.text, w.x0, w.y0, w.x1, w.y1, None) for w in page_words(page, textpage))
            text = page_text(page, textpage)
            error = None
        except Exception as e:  # a damaged page content stream: record it, keep the document going
            blocks, text, error = (), "", f"text layer unreadable: {e}"
        return OcrPage(
            doc_id=self.doc_id, page_no=page_no, source="text_layer" if error is None else "none",
            engine=self.name, engine_version=self.version(), text=text, blocks=blocks,
            latency_s=time.perf_counter() - started, error=error,
        )

    def page(self, page_no: int) -> pymupdf.Page:
        """Page ``page_no``, valid until the next ``page`` or ``read_page`` call."""
        return self._pages.page(page_no)

    def close(self) -> None:
        self._pages.close()

    def __enter__(self) -> "TextLayerEngine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
