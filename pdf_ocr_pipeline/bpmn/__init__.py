"""BPMN process models from diagram pages, vector or raster, and BPMN 2.0 XML. Plain Python, no Dagster.

The one entry point for the pipeline is ``extract_diagram``; ``to_bpmn_xml`` writes the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pymupdf

from pdf_ocr_pipeline.bpmn.detect import choose_path, is_diagram
from pdf_ocr_pipeline.bpmn.model import ELEMENT_COLUMNS, BpmnDiagram, BpmnElement
from pdf_ocr_pipeline.bpmn.xml import to_bpmn_xml

__all__ = ["BpmnDiagram", "BpmnElement", "ELEMENT_COLUMNS", "extract_diagram", "to_bpmn_xml", "words_from_blocks"]


def words_from_blocks(blocks: Sequence) -> list[tuple[str, tuple[float, float, float, float]]]:
    """``(text, box)`` pairs from ``engines.base.Block``s (OCR words or grounded blocks) or text-layer words.
    A block with a ``confidence`` gives a ``labels.OcrWord`` (the same pair, carrying ``conf``): the raster
    path tells OCR garbage read off drawing (an icon read as "Mao'") from text by it."""
    from pdf_ocr_pipeline.bpmn.labels import OcrWord
    out = []
    for b in blocks:
        if not str(b.text).strip():
            continue
        box = (b.x0, b.y0, b.x1, b.y1)
        conf = getattr(b, "confidence", None)
        out.append(OcrWord(b.text, box, float(conf)) if conf is not None else (b.text, box))
    return out


def extract_diagram(page: pymupdf.Page | str | Path, page_no: int, png: bytes | None = None, dpi: float = 150.0,
                    words: Sequence | None = None, *, path: str | None = None) -> BpmnDiagram | None:
    """The BPMN model of one page, or ``None`` when the page holds no diagram.

    Args:
        page: an open PyMuPDF page, or a PDF path (then page ``page_no`` is opened).
        page_no: 1-based page number.
        png: the rendered page (``rendered_pages.png``), used by the raster path; rendered here if needed.
        dpi: the resolution of ``png``.
        words: ``engines.base.Block``s (OCR words, grounded blocks) in points, displayed frame; ``None`` uses
            the page's text layer.
        path: force ``"vector"`` or ``"raster"``; by default ``detect.choose_path`` picks, and a vector page
            that yields no diagram is tried as raster too. A page whose drawings cannot carry the vector path
            (``vector.usable``: text as curves, one path, sketchy strokes) goes straight to the raster path.

    Returns:
        The diagram, every element in points of the displayed page, or ``None``. A page sent to the raster path
        because its drawings are unusable says why in ``vector_note``.

    Raises:
        BpmnParseError: never for an ordinary page; only if the page cannot be read.
        MissingDependencyError: the raster path needs OpenCV.
    """
    from pdf_ocr_pipeline.bpmn.raster.detector.extract import extract_picture
    from pdf_ocr_pipeline.bpmn.raster.scan_words import read_as_text, search_again
    from pdf_ocr_pipeline.bpmn.vector.extract import extract_vector
    from pdf_ocr_pipeline.bpmn.vector.usable import page_unusable_reason
    from pdf_ocr_pipeline.pdf.text import page_words

    doc = None
    if not isinstance(page, pymupdf.Page):
        doc = pymupdf.open(str(page))
        page = doc[page_no - 1]
    try:
        ws = words_from_blocks(words) if words is not None else words_from_blocks(page_words(page))
        mode = path or choose_path(page)
        note = None if path else page_unusable_reason(page)  # its own text layer: OCR words read outlines too
        if note:
            mode = "raster"
        if mode == "vector":
            d = extract_vector(page, page_no, ws)
            if is_diagram(d):
                return d
            if path == "vector":
                return None
        if png is None:
            png = page.get_pixmap(dpi=int(round(dpi))).tobytes("png")
        def search(ws):
            return extract_picture(png, ws, page_no=page_no, dpi=dpi, width=page.rect.width, height=page.rect.height)
        d = search(ws)
        if not is_diagram(d):
            return None
        if words is not None and read_as_text(words):  # a scan read as text: labels read again as a picture's
            d = search_again(d, page, words, search)
        return replace(d, vector_note=note) if note else d
    finally:
        if doc is not None:
            doc.close()
