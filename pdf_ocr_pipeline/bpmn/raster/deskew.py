"""A scan's skew: measured from its long straight strokes, undone before tracing, and put back on the model.

The raster search finds pools, lanes and flows by their horizontal and vertical strokes; a page scanned a tenth
of a degree off loses its pools and lanes (measured on the corpus's rotated scans: lanes from 0.08 degrees, pools
from about 0.4). The skew is the shear that makes the ink's rows sharpest (projection profiles: borders, flows and
text lines peak when level); the page is turned back about its centre
before the search, and every element found is turned forward again, its box the axis-aligned box of its turned
corners (the corpus's truth for rotated scans follows the same rule).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from pdf_ocr_pipeline.bpmn import geometry as g
from pdf_ocr_pipeline.bpmn.model import BpmnDiagram

#: skews under this (degrees) are left alone: a straight page, or one off by less than a stroke over its width
MIN_SKEW = 0.05
#: the largest skew looked for (degrees; the corpus's scans turn up to 2)
MAX_SKEW = 3.0
#: the page is looked at with its long side at most this many pixels, and at most this many ink pixels
WORK_SIDE = 1200
MAX_INK = 200_000
#: a page with less ink than this gives no reliable angle
MIN_INK = 500
#: the first search's step (degrees): a long rule's peak is only a few hundredths of a degree wide, so a coarse
#: step can step over it (0.1 missed it on 9 of the corpus's 96 scans by 0.3-0.8 degrees)
COARSE_STEP = 0.03


def _profile_score(xs: np.ndarray, ys: np.ndarray, angle: float) -> float:
    """How sharply the ink falls into rows and columns once sheared by ``angle`` degrees: the sum of squared
    counts (rules, borders, flows and text lines make tall peaks when level)."""
    t = math.tan(math.radians(angle))
    score = 0.0
    # rows sheared one way and columns the other: a turned page tilts its verticals as much as its horizontals
    for line in (np.round(ys - xs * t), np.round(xs + ys * t)):
        counts = np.bincount((line - line.min()).astype(np.int64)).astype(np.float64)
        score += float((counts * counts).sum())
    return score


def skew_angle(grey: np.ndarray) -> float:
    """The page's skew in degrees (positive: its horizontals fall to the right, as image rows count downwards);
    0.0 when there is too little ink or the skew is negligible. Projection profiles: the shear that makes the
    ink's rows sharpest, searched in ``COARSE_STEP`` steps and then 0.01-degree steps about the best."""
    import cv2
    h, w = grey.shape[:2]
    f = min(1.0, WORK_SIDE / max(h, w))
    small = cv2.resize(grey, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else grey
    # edges, not a threshold: scans light unevenly, and a threshold takes a dark corner for ink square to the image
    ink = cv2.Canny(cv2.GaussianBlur(small, (3, 3), 0), 50, 150)
    ys, xs = np.nonzero(ink)
    if len(xs) < MIN_INK:
        return 0.0
    step = max(1, len(xs) // MAX_INK)
    xs, ys = xs[::step].astype(np.float64), ys[::step].astype(np.float64)
    coarse = np.arange(-MAX_SKEW, MAX_SKEW + 1e-9, COARSE_STEP)
    best = max(coarse, key=lambda a: _profile_score(xs, ys, a))
    fine = np.arange(best - COARSE_STEP, best + COARSE_STEP + 1e-9, 0.01)
    best = float(max(fine, key=lambda a: _profile_score(xs, ys, a)))
    return round(best, 2) if abs(best) >= MIN_SKEW else 0.0


def straighten(grey: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The image turned by ``-angle`` about its centre (white where the page had nothing), the 2x3 matrix that
    maps the original's pixels onto it, and the one that maps its pixels back to the original's."""
    import cv2
    h, w = grey.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle, 1.0)
    out = cv2.warpAffine(grey, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)
    return out, m, cv2.invertAffineTransform(m)


def _apply(m: np.ndarray, x: float, y: float) -> tuple[float, float]:
    return float(m[0, 0] * x + m[0, 1] * y + m[0, 2]), float(m[1, 0] * x + m[1, 1] * y + m[1, 2])


def _box(m: np.ndarray, box, scale: float) -> tuple[float, float, float, float]:
    return g.box_of([tuple(v * scale for v in _apply(m, x / scale, y / scale))
                     for x in (box[0], box[2]) for y in (box[1], box[3])])


def map_words(words: list, m: np.ndarray, scale: float) -> list:
    """Words in page points mapped by ``m`` (a pixel matrix; ``scale`` points a pixel), boxes made axis-aligned."""
    from pdf_ocr_pipeline.bpmn.labels import OcrWord, word_conf
    out = []
    for w in words:
        box, conf = _box(m, w[1], scale), word_conf(w)
        out.append(OcrWord(w[0], box, conf) if conf is not None else (w[0], box))
    return out


def map_diagram(d: BpmnDiagram, m: np.ndarray, scale: float) -> BpmnDiagram:
    """Every element of ``d`` (page points) mapped by the pixel matrix ``m``."""
    els = []
    for e in d.elements:
        pts = tuple(tuple(round(v * scale, 2) for v in _apply(m, x / scale, y / scale)) for x, y in e.waypoints)
        box = tuple(round(v, 2) for v in _box(m, e.box, scale))
        label_box = _box(m, e.label_box, scale) if e.label_box is not None else None
        els.append(replace(e, box=box, waypoints=pts, label_box=label_box))
    return replace(d, elements=tuple(els))
