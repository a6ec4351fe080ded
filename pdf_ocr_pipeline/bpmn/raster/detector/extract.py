"""BPMN from a picture (a scan, a picture pasted into a page, a photo) by the trained detector, and the choice
between it and the rule-based raster search (``raster.extract``) for the pipeline's picture pages.

``PDF_OCR_BPMN_PICTURES``: ``detector``, ``rules``, or unset for ``DEFAULT_READER`` (the reader that measured
better on held-out pictures, BENCHMARKS.md "BPMN detector"). The detector needs onnxruntime and the committed
model; without them the rules read the picture.
"""

from __future__ import annotations

import os

import numpy as np

from pdf_ocr_pipeline.bpmn.labels import Word
from pdf_ocr_pipeline.bpmn.raster.detector.decode import SCORE_THRESHOLD
from pdf_ocr_pipeline.bpmn.model import BpmnDiagram

READERS = ("detector", "rules")
#: the ``method`` a picture's elements carry: the detector's, or the rule-based search's
PICTURE_METHODS = ("detector", "raster")
#: the picture reader used when ``PDF_OCR_BPMN_PICTURES`` is unset
DEFAULT_READER = "detector"


def picture_reader() -> str:
    from pdf_ocr_pipeline.bpmn.raster.detector.runtime import available
    want = os.environ.get("PDF_OCR_BPMN_PICTURES", "").strip().lower() or DEFAULT_READER
    if want not in READERS:
        raise ValueError(f"PDF_OCR_BPMN_PICTURES={want!r}: expected one of {', '.join(READERS)}")
    return want if want == "rules" or available() else "rules"


def _gray(png: bytes | np.ndarray) -> np.ndarray:
    import cv2
    if isinstance(png, (bytes, bytearray)):
        img = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise ValueError("cannot decode the picture")
        return img
    return png if png.ndim == 2 else cv2.cvtColor(png, cv2.COLOR_BGR2GRAY)


def extract_detected(png: bytes | np.ndarray, words: list[Word], *, page_no: int, dpi: float,
                     width: float | None = None, height: float | None = None, model: str | None = None,
                     threshold: float | None = None, with_rules: bool = True,
                     rules: BpmnDiagram | None = None) -> BpmnDiagram:
    """``raster.extract.extract_raster``'s contract, read by the detector (``model``: an ONNX file other than the
    committed one): elements marked ``method="detector"``. ``with_rules``: the rule-based search runs too, for what
    it still reads better (``assemble.RULES_KEEP``, ``RULES_MATCHED``); ``rules``: its diagram of this picture when
    the caller has it already."""
    from pdf_ocr_pipeline.bpmn.raster.detector.assemble import diagram_from_detections
    from pdf_ocr_pipeline.bpmn.raster.detector.containers import fit_containers
    from pdf_ocr_pipeline.bpmn.raster.detector.runtime import load
    from pdf_ocr_pipeline.bpmn.raster.extract import text_words
    from pdf_ocr_pipeline.bpmn.raster.lookalike import fix_words
    gray = _gray(png)
    scale = 72.0 / dpi
    if width is None or height is None:
        height, width = gray.shape[0] * scale, gray.shape[1] * scale
    dets = fit_containers(load(model).detect(gray, SCORE_THRESHOLD if threshold is None else threshold), gray)
    if with_rules and rules is None:
        from pdf_ocr_pipeline.bpmn.raster.extract import extract_raster
        rules = extract_raster(gray, words, page_no=page_no, dpi=dpi, width=width, height=height)
    return diagram_from_detections(dets, fix_words(text_words(words)), pt_per_px=scale, page_no=page_no,
                                   width=width, height=height, rules=rules if with_rules else None)


def extract_picture(png: bytes | np.ndarray, words: list[Word], *, page_no: int, dpi: float,
                    width: float | None = None, height: float | None = None) -> BpmnDiagram:
    """The picture read by ``picture_reader()``."""
    if picture_reader() == "detector":
        return extract_detected(png, words, page_no=page_no, dpi=dpi, width=width, height=height)
    from pdf_ocr_pipeline.bpmn.raster.extract import extract_raster
    return extract_raster(png, words, page_no=page_no, dpi=dpi, width=width, height=height)
