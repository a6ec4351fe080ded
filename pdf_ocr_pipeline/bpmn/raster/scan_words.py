"""The words of a diagram on a scanned page, read again as a picture is read.

The OCR stage reads a scanned page as text (Tesseract's layout analysis, psm 3). On a diagram that misses labels
inside boxes, which the analysis takes for part of the drawing, and the pools' and lanes' names written bottom to
top. A picture pasted into a text page is read as a picture from the start (sparse text, and turned:
``TesseractEngine.ocr_page`` with ``kind="region"``). Where the BPMN stage finds a diagram on a page read the
first way, ``more_words`` reads it the second way and adds what the first reading lacked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pymupdf

from pdf_ocr_pipeline.engines.base import Block, PageImage

#: the scan is read again at the OCR stage's default resolution (``settings``' ``dpi``): on bpmn-visualization's
#: held-out scans, sparse-text words at 200 dpi gave labels exact 0.43, at 300 dpi 0.33
REREAD_DPI = 200

_ENGINE = None


def read_as_text(blocks: Sequence) -> bool:
    """Whether ``blocks`` (``Block``s, or any words ``words_from_blocks`` takes) are one OCR engine's words of
    the whole page with Tesseract's confidences: a scan read as text. A text page's pictures were read as pictures already (their words' ``source`` is "ocr"), and
    DeepSeek-OCR's grounded blocks carry no confidence (that model reads labels inside boxes)."""
    return bool(blocks) and all(getattr(b, "confidence", None) is not None and getattr(b, "source", None) is None
                                for b in blocks)


def more_words(page: pymupdf.Page, blocks: Sequence[Block], clip: pymupdf.Rect | None = None) -> list[Block] | None:
    """``blocks`` (points of ``clip``'s frame, the page's without one) with what a reading of that part of the
    page as a picture adds (``TesseractEngine.picture_words``), or ``None`` when it adds nothing or this machine
    has no Tesseract."""
    global _ENGINE
    try:
        if _ENGINE is None:
            from pdf_ocr_pipeline.engines.tesseract import TesseractEngine, TesseractOptions
            _ENGINE = TesseractEngine(TesseractOptions(workers=1))
    except Exception:  # no tesserocr or no language data: the first reading stands
        return None
    rect = clip or page.rect
    pix = page.get_pixmap(dpi=REREAD_DPI, clip=clip, alpha=False)
    image = PageImage(doc_id="", page_no=page.number + 1, png=pix.tobytes("png"), dpi=REREAD_DPI,
                      width_pt=rect.width, height_pt=rect.height, kind="region")
    out = _ENGINE.picture_words(image, blocks)
    return list(out) if out != tuple(blocks) else None


def search_again(found, page: pymupdf.Page, blocks: Sequence[Block], search: Callable, clip: pymupdf.Rect | None = None):
    """``found`` (the diagram ``search`` made from ``blocks``, a scan's words read as text: ``read_as_text``), or
    what ``search`` makes from them with the words ``more_words`` adds, when that is still a diagram.
    ``search``: words (``words_from_blocks``) -> diagram."""
    from pdf_ocr_pipeline.bpmn import words_from_blocks
    from pdf_ocr_pipeline.bpmn.detect import is_diagram
    more = more_words(page, blocks, clip)
    again = search(words_from_blocks(more)) if more else None
    return again if again is not None and is_diagram(again) else found
