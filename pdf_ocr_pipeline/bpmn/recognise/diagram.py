"""A BPMN model from primitives and words: shapes classified, structure refined, connectors traced, labels
attached. Both ways in end here: vector drawings (``bpmn.vector``) and traced pixels (``bpmn.raster``)."""

from __future__ import annotations

from pdf_ocr_pipeline.bpmn import geometry as g
from pdf_ocr_pipeline.bpmn.labels import Word
from pdf_ocr_pipeline.bpmn.model import BpmnDiagram
from pdf_ocr_pipeline.bpmn.primitives import Prim
from pdf_ocr_pipeline.bpmn.recognise.build import annotations, assemble
from pdf_ocr_pipeline.bpmn.recognise.connectors import find_connectors
from pdf_ocr_pipeline.bpmn.recognise.shapes import classify
from pdf_ocr_pipeline.bpmn.recognise.structure import on_outline, rects_from_lines, refine


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
    drawn = [r for r in rects_from_lines(prims) if not any(q.closed and g.iou(q.box, r.box) > 0.85 for q in prims)]
    prims = [p for p in prims if not on_outline(p, drawn)] + drawn
    shapes, rest = classify(prims)
    # drop a frame around the whole page or drawing
    shapes = [s for s in shapes if not (s.type == "lane" and s.box[2] - s.box[0] > 0.97 * width
                                        and s.box[3] - s.box[1] > 0.97 * height)]
    shapes += annotations(rest, words)
    refine(shapes, rest)
    connectors = find_connectors(rest, shapes, tol=7.0 if method == "vector" else 9.0,
                                 join=0.6 if method == "vector" else 3.0, loose=method != "vector")
    return assemble(shapes, connectors, words, page_no=page_no, width=width, height=height, method=method)
