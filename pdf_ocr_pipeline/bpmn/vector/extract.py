"""BPMN from a PDF page's vector drawings (``page.get_drawings()``) and its words."""

from __future__ import annotations

import pymupdf

from pdf_ocr_pipeline.bpmn.labels import Word
from pdf_ocr_pipeline.bpmn.model import BpmnDiagram
from pdf_ocr_pipeline.bpmn.primitives import Prim, prims_from_drawings
from pdf_ocr_pipeline.bpmn.recognise import diagram_from_prims


def page_prims(page: pymupdf.Page) -> list[Prim]:
    """The page's drawings as primitives in the displayed frame (``page.rotation_matrix`` applied)."""
    return prims_from_drawings(page.get_drawings(), tuple(page.rotation_matrix))


def extract_vector(page: pymupdf.Page, page_no: int, words: list[Word]) -> BpmnDiagram:
    """BPMN elements from a page's drawings and the given words (text layer or OCR).

    Args:
        page: an open PyMuPDF page.
        page_no: 1-based, stored on the diagram.
        words: ``(text, box)`` in points, displayed frame.

    Returns:
        The page's diagram.
    """
    rect = page.rect
    return diagram_from_prims(page_prims(page), words, page_no=page_no, width=rect.width, height=rect.height)
