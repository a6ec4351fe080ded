"""Annotations -> the maps the network learns (numpy only; the inverse of ``bpmn.raster.detector.decode``).

For every object: a Gaussian peak of 1 at its centre cell in its class's heat map (CenterNet's radius: the
largest centre shift whose box still overlaps the true one by ``MIN_OVERLAP``), and at that cell the regress
targets (``spec.REGRESS``) with a mask of 1. Flows' tail/head offsets are masked separately (shapes have none).
"""

from __future__ import annotations

import math

import numpy as np

from pdf_ocr_pipeline.bpmn.raster.detector.spec import CLASSES, FLOW_CLASSES, KEYPOINT_UNIT, REGRESS, STRIDE

#: CenterNet's overlap for the peak radius (its paper's 0.7)
MIN_OVERLAP = 0.7


def gaussian_radius(h: float, w: float, min_overlap: float = MIN_OVERLAP) -> float:
    """CenterNet's radius (in cells) for an h x w box (the smallest of its three corner cases)."""
    a1, b1, c1 = 1, h + w, w * h * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + math.sqrt(b1 ** 2 - 4 * a1 * c1)) / 2
    a2, b2, c2 = 4, 2 * (h + w), (1 - min_overlap) * w * h
    r2 = (b2 + math.sqrt(b2 ** 2 - 4 * a2 * c2)) / 2
    a3, b3, c3 = 4 * min_overlap, -2 * min_overlap * (h + w), (min_overlap - 1) * w * h
    r3 = (b3 + math.sqrt(b3 ** 2 - 4 * a3 * c3)) / 2
    return min(r1, r2, r3)


def draw_peak(heat: np.ndarray, cx: int, cy: int, radius: int) -> None:
    """Max-paint a Gaussian (sigma = diameter / 6) centred on cell (cx, cy)."""
    h, w = heat.shape
    sigma = (2 * radius + 1) / 6
    ys, xs = np.ogrid[-radius:radius + 1, -radius:radius + 1]
    g = np.exp(-(xs * xs + ys * ys) / (2 * sigma * sigma)).astype(np.float32)
    x0, x1 = max(0, cx - radius), min(w, cx + radius + 1)
    y0, y1 = max(0, cy - radius), min(h, cy + radius + 1)
    if x0 >= x1 or y0 >= y1:
        return
    sub = g[y0 - cy + radius:y1 - cy + radius, x0 - cx + radius:x1 - cx + radius]
    np.maximum(heat[y0:y1, x0:x1], sub, out=heat[y0:y1, x0:x1])


def encode(objects: list[dict], height: int, width: int) -> dict[str, np.ndarray]:
    """Targets for one input of ``height`` x ``width`` px (multiples of ``STRIDE``).

    ``objects``: dicts with ``cls`` (a ``spec.CLASSES`` name), ``box`` (x0, y0, x1, y1 px) and, for flows,
    ``tail`` and ``head`` (x, y px). Returns ``heat`` (classes x h x w, 0..1), ``regress`` (8 x h x w),
    ``box_mask`` and ``kp_mask`` (h x w, 0/1).
    """
    h, w = height // STRIDE, width // STRIDE
    heat = np.zeros((len(CLASSES), h, w), np.float32)
    regress = np.zeros((REGRESS, h, w), np.float32)
    box_mask = np.zeros((h, w), np.float32)
    kp_mask = np.zeros((h, w), np.float32)
    # big objects first, so a small one sharing a cell (an event on a task's border) keeps its own targets
    for o in sorted(objects, key=lambda o: -(o["box"][2] - o["box"][0]) * (o["box"][3] - o["box"][1])):
        x0, y0, x1, y1 = o["box"]
        bw, bh = (x1 - x0) / STRIDE, (y1 - y0) / STRIDE
        if bw <= 0 or bh <= 0:
            continue
        cx, cy = (x0 + x1) / 2 / STRIDE, (y0 + y1) / 2 / STRIDE
        ix, iy = int(cx), int(cy)
        if not (0 <= ix < w and 0 <= iy < h):
            continue
        k = CLASSES.index(o["cls"])
        draw_peak(heat[k], ix, iy, max(0, int(gaussian_radius(bh, bw))))
        regress[0:4, iy, ix] = (math.log(bw), math.log(bh), cx - ix, cy - iy)
        box_mask[iy, ix] = 1.0
        if o["cls"] in FLOW_CLASSES and o.get("tail") is not None and o.get("head") is not None:
            u = KEYPOINT_UNIT * STRIDE
            cxp, cyp = cx * STRIDE, cy * STRIDE
            regress[4:8, iy, ix] = ((o["tail"][0] - cxp) / u, (o["tail"][1] - cyp) / u,
                                    (o["head"][0] - cxp) / u, (o["head"][1] - cyp) / u)
            kp_mask[iy, ix] = 1.0
    return {"heat": heat, "regress": regress, "box_mask": box_mask, "kp_mask": kp_mask}


def objects_from_coco(anns: list[dict], categories: dict[int, str]) -> list[dict]:
    """COCO annotations (``dataset.py``) -> ``encode``'s objects, in the annotation's pixels."""
    out = []
    for a in anns:
        x, y, bw, bh = a["bbox"]
        o = {"cls": categories[a["category_id"]], "box": (x, y, x + bw, y + bh)}
        kp = a.get("keypoints") or []
        if o["cls"] in FLOW_CLASSES:
            wp = a.get("waypoints") or []
            if len(wp) >= 2:
                o["tail"], o["head"] = tuple(wp[0]), tuple(wp[-1])
            elif len(kp) == 6 and kp[2] and kp[5]:
                o["tail"], o["head"] = (kp[0], kp[1]), (kp[3], kp[4])
        out.append(o)
    return out
