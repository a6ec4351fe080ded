"""The network's maps -> detections (numpy only; pure functions).

A detection is a class, a score and a box in input pixels; a flow also has its tail and head points. Peaks are
the local maxima of each class's heat map (a 3 x 3 neighbourhood, as CenterNet keeps them instead of box NMS);
shapes of different classes on one object (a gateway read as two kinds) are then thinned by box overlap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pdf_ocr_pipeline.bpmn.raster.detector.spec import CLASSES, FLOW_CLASSES, KEYPOINT_UNIT, STRIDE

#: a peak below this probability is no object. Set on the validation split of the training corpus (the F1 of
#: shapes and flows together was flat between 0.3 and 0.45); ``bench/bpmn_detector/evaluate.py --threshold``
SCORE_THRESHOLD = 0.35
#: two shapes of different classes overlapping this much (IoU) are one object read twice: the weaker goes.
#: Pools and lanes are exempt (they hold the others, and lanes overlap their pool by design)
SAME_OBJECT_IOU = 0.6
#: at most this many peaks a class (a page holds far fewer)
MAX_PEAKS = 400
_CONTAINERS = ("participant", "lane")


@dataclass(frozen=True)
class Detection:
    cls: str
    score: float
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in input pixels
    tail: tuple[float, float] | None = None  # flows only
    head: tuple[float, float] | None = None

    @property
    def is_flow(self) -> bool:
        return self.cls in FLOW_CLASSES


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def peaks(prob: np.ndarray, threshold: float) -> list[tuple[int, int, int, float]]:
    """``(class, y, x, p)`` of every cell that is the maximum of its 3 x 3 neighbourhood in its class's map and at
    least ``threshold``, strongest first, at most ``MAX_PEAKS`` a class."""
    c, h, w = prob.shape
    padded = np.pad(prob, ((0, 0), (1, 1), (1, 1)), constant_values=-1.0)
    local_max = np.max(np.stack([padded[:, dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3)]), axis=0)
    keep = (prob >= local_max) & (prob >= threshold)
    out = []
    for k in range(c):
        ys, xs = np.nonzero(keep[k])
        order = np.argsort(-prob[k, ys, xs], kind="stable")[:MAX_PEAKS]
        out += [(k, int(ys[i]), int(xs[i]), float(prob[k, ys[i], xs[i]])) for i in order]
    return sorted(out, key=lambda t: -t[3])


def detections(heat: np.ndarray, regress: np.ndarray, threshold: float = SCORE_THRESHOLD) -> list[Detection]:
    """Decode one image's maps (``heat``: classes x h x w logits, ``regress``: 8 x h x w) into detections in input
    pixels, before overlap thinning."""
    prob = sigmoid(heat.astype(np.float32))
    out = []
    for k, y, x, p in peaks(prob, threshold):
        lw, lh, ox, oy, tx, ty, hx, hy = (float(v) for v in regress[:, y, x])
        cx, cy = (x + ox) * STRIDE, (y + oy) * STRIDE
        w, h = math.exp(min(lw, 8.0)) * STRIDE, math.exp(min(lh, 8.0)) * STRIDE
        box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
        cls = CLASSES[k]
        if cls in FLOW_CLASSES:
            u = KEYPOINT_UNIT * STRIDE
            out.append(Detection(cls, p, box, tail=(cx + tx * u, cy + ty * u), head=(cx + hx * u, cy + hy * u)))
        else:
            out.append(Detection(cls, p, box))
    return out


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def thin(dets: list[Detection], same_object_iou: float = SAME_OBJECT_IOU) -> list[Detection]:
    """Strongest first, drop a shape that overlaps a kept shape of the same family by ``same_object_iou`` (one
    object read as two classes, or twice); containers only compete with containers, flows with flows of near
    the same ends."""
    kept: list[Detection] = []
    for d in sorted(dets, key=lambda d: -d.score):
        family = "flow" if d.is_flow else ("container" if d.cls in _CONTAINERS else "shape")
        clash = False
        for k in kept:
            kf = "flow" if k.is_flow else ("container" if k.cls in _CONTAINERS else "shape")
            if kf != family:
                continue
            if family == "flow":
                clash = _same_flow(d, k)
            elif family == "container":
                clash = d.cls == k.cls and iou(d.box, k.box) > 0.8
            else:
                clash = iou(d.box, k.box) > same_object_iou
            if clash:
                break
        if not clash:
            kept.append(d)
    return kept


def _same_flow(a: Detection, b: Detection) -> bool:
    """Two flow peaks whose tails and heads both lie within a tenth of the flow's length (at least 2 cells)."""
    length = max(math.dist(a.tail, a.head), math.dist(b.tail, b.head))
    tol = max(2 * STRIDE, 0.1 * length)
    return math.dist(a.tail, b.tail) < tol and math.dist(a.head, b.head) < tol


def decode(heat: np.ndarray, regress: np.ndarray, threshold: float = SCORE_THRESHOLD) -> list[Detection]:
    return thin(detections(heat, regress, threshold))


def merge_scales(fine: list[Detection], coarse: list[Detection]) -> list[Detection]:
    """One page read at two sizes (pixels of the same page): small shapes from the fine pass, pools, lanes and
    flows from both (a pool or a long flow is whole only in the coarse pass's view), read-twice thinned."""
    keep = list(fine) + [
        d for d in coarse if d.is_flow or d.cls in _CONTAINERS]
    return thin(keep)
