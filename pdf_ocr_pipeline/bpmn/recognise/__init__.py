"""Primitives and words to a BPMN model, shared by both ways in: ``shapes`` (closed outlines to tasks, events,
gateways, pools...), ``structure`` (lanes, pools, rectangles from lines), ``connectors`` (strokes to flows with
heads and tails), ``build`` (labels and the model)."""

from pdf_ocr_pipeline.bpmn.recognise.diagram import diagram_from_prims

__all__ = ["diagram_from_prims"]
