"""The raster way in: a rendered page or picture to primitives by tracing ink (``extract``: binarised ink,
rings, icons, gateways, frames, shaded fills, dashes, skeleton strokes, OCR words checked against drawing),
then ``bpmn.recognise``."""

from pdf_ocr_pipeline.bpmn.raster.extract import extract_raster

__all__ = ["extract_raster"]
