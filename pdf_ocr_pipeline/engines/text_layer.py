"""The text layer as an engine: words and boxes straight from the PDF, no OCR at all."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator

import pymupdf

from ..pdf.inspect import open_pdf, release_mupdf_store
from ..pdf.text import page_text, page_words
from .base import Block, OcrPage


class TextLayerEngine:
    """Reads pages' text layers. Not an image engine: it takes the PDF and page numbers. Not thread-safe."""

    name = "text_layer"

    def __init__(self, pdf_path: str | os.PathLike, doc_id: str):
        self.doc_id = doc_id
        self._doc = open_pdf(pdf_path)
        self._reads = 0

    def version(self) -> str:
        return f"pymupdf {pymupdf.__version__}"

    def read_page(self, page_no: int) -> OcrPage:
        started = time.perf_counter()
        self._reads += 1
        release_mupdf_store(self._reads)
        try:
            page = self._doc[page_no - 1]
            blocks = tuple(Block("word", w.text, w.x0, w.y0, w.x1, w.y1, None) for w in page_words(page))
            text = page_text(page)
            error = None
        except Exception as e:  # a damaged page content stream: record it, keep the document going
            blocks, text, error = (), "", f"text layer unreadable: {e}"
        return OcrPage(
            doc_id=self.doc_id, page_no=page_no, source="text_layer" if error is None else "none",
            engine=self.name, engine_version=self.version(), text=text, blocks=blocks,
            latency_s=time.perf_counter() - started, error=error,
        )

    def page(self, page_no: int) -> pymupdf.Page:
        return self._doc[page_no - 1]

    def read_pages(self, page_numbers: Iterable[int]) -> Iterator[OcrPage]:
        for no in page_numbers:
            yield self.read_page(no)

    def close(self) -> None:
        self._doc.close()

    def __enter__(self) -> "TextLayerEngine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
