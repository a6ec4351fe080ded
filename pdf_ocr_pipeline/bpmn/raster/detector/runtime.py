"""The committed detector (``bpmn_detector.onnx``, see ``MODEL_CARD.md`` beside it) run with onnxruntime on the CPU.

No torch: the network was exported by ``bench/bpmn_detector/train.py``. The session is made once per process
(``load``) with as many intra-op threads as ``PDF_OCR_DETECTOR_THREADS`` (default: the CPUs, at most 4).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

from pdf_ocr_pipeline.bpmn.raster.detector import decode as dec
from pdf_ocr_pipeline.bpmn.raster.detector.spec import COARSE_LONG_SIDE, INPUT_MULTIPLE, WORKING_LONG_SIDE

MODEL_PATH = Path(__file__).with_name("bpmn_detector.onnx")


def prepare(gray: np.ndarray, long_side: int = WORKING_LONG_SIDE) -> tuple[np.ndarray, float]:
    """A grey page (uint8, ink dark) -> the network's input (1 x 1 x H x W float32 in 0..1, scaled so the long
    side is ``long_side`` px, padded white to multiples of ``INPUT_MULTIPLE``) and the scale applied."""
    import cv2
    h, w = gray.shape[:2]
    s = long_side / max(h, w)
    img = cv2.resize(gray, (max(1, round(w * s)), max(1, round(h * s))),
                     interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    ph, pw = (-img.shape[0]) % INPUT_MULTIPLE, (-img.shape[1]) % INPUT_MULTIPLE
    img = np.pad(img, ((0, ph), (0, pw)), constant_values=255)
    return (img.astype(np.float32) / 255.0)[None, None], s


def detect_page(maps, gray: np.ndarray, threshold: float = dec.SCORE_THRESHOLD) -> list[dec.Detection]:
    """A grey page through ``maps`` (input -> heat, regress of one image) at ``WORKING_LONG_SIDE`` (shapes) and at
    ``COARSE_LONG_SIDE`` (pools, lanes, long flows seen whole), merged (``decode.merge_scales``), boxes and flow
    ends in the page's pixels. The ONNX session and the training script's torch model both go through here."""
    looks = []
    for long_side in (WORKING_LONG_SIDE, COARSE_LONG_SIDE):
        x, s = prepare(gray, long_side)
        looks.append([scaled(d, 1.0 / s) for d in dec.detections(*maps(x), threshold)])
    return dec.merge_scales(*looks)


class OnnxDetector:
    """One onnxruntime session of the exported network."""

    def __init__(self, path: str | os.PathLike = MODEL_PATH, threads: int | None = None):
        import onnxruntime as ort
        if not Path(path).exists():
            raise FileNotFoundError(f"BPMN detector model not found: {path}")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or int(os.environ.get("PDF_OCR_DETECTOR_THREADS", 0)) or min(
            4, os.cpu_count() or 1)
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)

    def maps(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        heat, regress = self.session.run(["heat", "regress"], {"image": x})
        return heat[0], regress[0]

    def detect(self, gray: np.ndarray, threshold: float = dec.SCORE_THRESHOLD) -> list[dec.Detection]:
        """Detections on a grey page (``detect_page``)."""
        return detect_page(self.maps, gray, threshold)


def scaled(d: dec.Detection, k: float) -> dec.Detection:
    from dataclasses import replace
    return replace(d, box=tuple(v * k for v in d.box),
                   tail=None if d.tail is None else (d.tail[0] * k, d.tail[1] * k),
                   head=None if d.head is None else (d.head[0] * k, d.head[1] * k))


@functools.lru_cache(maxsize=2)
def load(path: str | None = None) -> OnnxDetector:
    """The detector of ``path`` (default: the committed model), made once per process."""
    return OnnxDetector(path or MODEL_PATH)


def available(path: str | None = None) -> bool:
    """onnxruntime is installed and the model is there."""
    import importlib.util
    return importlib.util.find_spec("onnxruntime") is not None and Path(path or MODEL_PATH).exists()
