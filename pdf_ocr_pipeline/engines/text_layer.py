"""The text layer as an engine: words and boxes straight from the PDF, no OCR at all."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import replace

import pymupdf

from ..pdf.blocks import text_layer_blocks
from ..pdf.inspect import PdfPages
from ..pdf.text import insert_in_reading_order, page_paragraphs, page_words, text_page
from .base import Block, OcrPage, RegionRead

#: A picture's OCR result, placed on its page: the region's box in page points and what the engine read from the
#: crop (boxes in points of the crop), or None where the region failed (its ``RegionRead`` says why).
PictureText = tuple[RegionRead, OcrPage | None]


class TextLayerEngine:
    """Reads pages' text layers. Not an image engine: it takes the PDF and page numbers. Not thread-safe."""

    name = "text_layer"

    def __init__(self, pdf_path: str | os.PathLike, doc_id: str):
        self.doc_id = doc_id
        self._pages = PdfPages(pdf_path)

    def version(self) -> str:
        return f"pymupdf {pymupdf.__version__}"

    def read_page(self, page_no: int, pictures: Sequence[PictureText] = ()) -> OcrPage:
        """The page's text layer, with the words OCR'd from its pictures (``pictures``) merged in: their blocks
        moved into page points (``source="ocr"``; the layer's own are ``"text_layer"``), their text placed in
        reading order (``pdf.text.insert_in_reading_order``), each region recorded in ``OcrPage.regions``."""
        started = time.perf_counter()
        regions = tuple(region for region, _ in pictures)
        try:
            page = self._pages.page(page_no)
            textpage = text_page(page)  # one extraction for both the words and the text
            source = "text_layer" if pictures else None
            blocks = [Block("word", w.text, w.x0, w.y0, w.x1, w.y1, None, source) for w in page_words(page, textpage)]
            inserts = []
            for region, read in pictures:
                if read is None or read.error is not None:
                    continue
                blocks.extend(replace(b, x0=b.x0 + region.x0, y0=b.y0 + region.y0, x1=b.x1 + region.x0,
                                      y1=b.y1 + region.y0, source="ocr") for b in read.blocks)
                inserts.append(((region.x0, region.y0, region.x1, region.y1), read.text))
            text_dict = page.get_text("dict", textpage=textpage)  # one extraction: the text and its layout
            text = insert_in_reading_order(page_paragraphs(page, text_dict=text_dict), inserts)
            layout = tuple(text_layer_blocks(page, text_dict=text_dict))
            error = None
        except Exception as e:  # a damaged page content stream: record it, keep the document going
            blocks, text, layout, error = [], "", (), f"text layer unreadable: {e}"
        return OcrPage(
            doc_id=self.doc_id, page_no=page_no, source="text_layer" if error is None else "none",
            engine=self.name, engine_version=self.version(), text=text, blocks=tuple(blocks),
            latency_s=time.perf_counter() - started, error=error, regions=regions, layout=layout,
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
