"""The vector way in: a PDF page's drawings (``page.get_drawings()``) to primitives (``extract``; Chromium's
outlined dashes joined in ``outlined``), then ``bpmn.recognise``."""

from pdf_ocr_pipeline.bpmn.vector.extract import extract_vector, page_prims

__all__ = ["extract_vector", "page_prims"]
