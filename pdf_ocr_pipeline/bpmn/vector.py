"""BPMN from a PDF page's vector drawings (``page.get_drawings()``) and its words."""

from __future__ import annotations

import pymupdf

from pdf_ocr_pipeline.bpmn import geometry as g
from pdf_ocr_pipeline.bpmn.build import annotations, assemble
from pdf_ocr_pipeline.bpmn.connectors import find_connectors
from pdf_ocr_pipeline.bpmn.labels import Word
from pdf_ocr_pipeline.bpmn.model import BpmnDiagram
from pdf_ocr_pipeline.bpmn.primitives import Prim, prims_from_drawings
from pdf_ocr_pipeline.bpmn.shapes import classify
from pdf_ocr_pipeline.bpmn.structure import rects_from_lines, refine


def page_prims(page: pymupdf.Page) -> list[Prim]:
    """The page's drawings as primitives in the displayed frame (``page.rotation_matrix`` applied)."""
    return prims_from_drawings(page.get_drawings(), tuple(page.rotation_matrix))


def diagram_from_prims(prims: list[Prim], words: list[Word], *, page_no: int, width: float, height: float,
                       method: str = "vector") -> BpmnDiagram:
    """Recognise a diagram from primitives and words (both in page points, displayed frame).

    Args:
        prims: outlines and strokes (from ``prims_from_drawings`` or traced from an image).
        words: ``(text, box)`` pairs.
        page_no, width, height: stored on the diagram.
        method: ``vector`` or ``raster``, stored on every element.

    Returns:
        The diagram (possibly with no elements).
    """
    prims = list(prims)
    prims += [r for r in rects_from_lines(prims) if not any(q.closed and g.iou(q.box, r.box) > 0.85 for q in prims)]
    shapes, rest = classify(prims)
    # drop a frame around the whole page or drawing
    shapes = [s for s in shapes if not (s.type == "lane" and s.box[2] - s.box[0] > 0.97 * width
                                        and s.box[3] - s.box[1] > 0.97 * height)]
    shapes += annotations(rest, words)
    refine(shapes, rest)
    connectors = find_connectors(rest, shapes, tol=7.0 if method == "vector" else 9.0,
                                 join=0.6 if method == "vector" else 3.0, loose=method != "vector")
    return assemble(shapes, connectors, words, page_no=page_no, width=width, height=height, method=method)


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
