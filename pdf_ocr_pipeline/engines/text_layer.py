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
            layer_boxes = [(b.x0, b.y0, b.x1, b.y1) for b in blocks]
            inserts = []
            for region, read in pictures:
                if read is None or read.error is not None:
                    continue
                moved = [replace(b, x0=b.x0 + region.x0, y0=b.y0 + region.y0, x1=b.x1 + region.x0,
                                 y1=b.y1 + region.y0, source="ocr") for b in read.blocks]
                # a word the text layer has over the picture (a page number on a header picture) is the layer's:
                # what OCR read there is dropped, also when the picture's reading was made on another page
                kept = [b for b in moved if not any(_overlap(b, box) for box in layer_boxes)]
                blocks.extend(kept)
                inserts.append(((region.x0, region.y0, region.x1, region.y1),
                                read.text if len(kept) == len(moved) else lines_of(kept)))
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


#: An OCR word whose box this share covers a text-layer word's box reads the same text.
SAME_WORD_OVERLAP = 0.5


def _overlap(b: Block, box: tuple[float, float, float, float]) -> bool:
    w = min(b.x1, box[2]) - max(b.x0, box[0])
    h = min(b.y1, box[3]) - max(b.y0, box[1])
    if w <= 0 or h <= 0:
        return False
    smaller = min((b.x1 - b.x0) * (b.y1 - b.y0), (box[2] - box[0]) * (box[3] - box[1])) or 1.0
    return w * h / smaller >= SAME_WORD_OVERLAP


def lines_of(blocks: Sequence[Block]) -> str:
    """Words as lines of text in reading order: a word joins the line it overlaps vertically by half its height."""
    from ..pdf.text import sort_words

    ordered = sort_words([(b.x0, b.y0, b.x1, b.y1, b.text) for b in blocks])
    lines: list[list[str]] = []
    top = bottom = 0.0
    for _, y0, _, y1, text in ordered:
        if lines and min(bottom, y1) - max(top, y0) >= 0.5 * (y1 - y0):
            lines[-1].append(text)
            top, bottom = min(top, y0), max(bottom, y1)
        else:
            lines.append([text])
            top, bottom = y0, y1
    return "\n".join(" ".join(line) for line in lines)
