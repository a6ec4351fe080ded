"""Data objects and data stores from their holes in a page image.

At scan resolution a data object's folded corner and a data store's top ellipse leave holes that a fill
ratio alone takes for a rounded task. Their own marks are read off the hole contour (pixels): a page with
one corner cut (three corners of the box sharp, the fourth far off) is a data object; a body whose top
edge dips in the middle (the lower arc of the cylinder's top ellipse) and whose bottom corners are rounded
is a data store. Both come back as the outline a vector page draws (a pentagon, a cylinder), so ``shapes``
types them unchanged.
"""

from __future__ import annotations

import numpy as np

from pdf_ocr_pipeline.bpmn import geometry as g
from pdf_ocr_pipeline.bpmn.primitives import Prim


def _corner_gaps(hole: np.ndarray) -> list[float]:
    """Distance (pixels) from each corner of the hole's box (top left, top right, bottom right, bottom
    left) to the nearest contour point."""
    x0, y0 = hole.min(axis=0)
    x1, y1 = hole.max(axis=0)
    return [float(np.hypot(hole[:, 0] - cx, hole[:, 1] - cy).min())
            for cx, cy in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))]


def dog_ear(hole: np.ndarray) -> int | None:
    """The corner (0 top left .. 3 bottom left) cut off a page-shaped hole, or None: taller than wide, three
    corners sharp (within 2 px or 6 % of the short side: a task's rounded corners are not) and one at least
    25 % of the short side away."""
    w, h = np.ptp(hole[:, 0]), np.ptp(hole[:, 1])
    side = float(min(w, h))
    if side < 8 or h < 0.9 * w:
        return None
    gaps = _corner_gaps(hole)
    far = [i for i, d in enumerate(gaps) if d >= 0.25 * side]
    near = [i for i, d in enumerate(gaps) if d <= max(2.0, 0.06 * side)]
    return far[0] if len(far) == 1 and len(near) == 3 else None


def cylinder_dip(hole: np.ndarray) -> float | None:
    """How far (pixels) the top edge of a data store's body hole dips in the middle below its ends, or None
    when the hole is no such body: the dip at least 8 % of the height, the top corners sharp, the bottom
    ones rounded."""
    x0, x1 = hole[:, 0].min(), hole[:, 0].max()
    y0, y1 = hole[:, 1].min(), hole[:, 1].max()
    w, h = x1 - x0, y1 - y0
    if w < 8 or h < 6:
        return None

    def top_at(fx: float) -> float | None:
        x = x0 + fx * w
        ys = hole[np.abs(hole[:, 0] - x) <= max(1.0, 0.03 * w), 1]
        return float(ys.min()) if ys.size else None

    mid, left, right = top_at(0.5), top_at(0.03), top_at(0.97)
    if mid is None or left is None or right is None:
        return None
    dip = mid - (left + right) / 2
    gaps = _corner_gaps(hole)
    side = float(min(w, h))
    if dip >= max(1.5, 0.08 * h) and abs(left - right) < 0.5 * dip and max(gaps[:2]) <= dip and \
            min(gaps[2:]) >= max(2.0, 0.06 * side):
        return float(dip)
    return None


def data_object_prim(b: g.Box, cut: int, width: float, order: int) -> Prim:
    """A page outline over box ``b`` (points) with corner ``cut`` folded."""
    c = 0.35 * min(g.width(b), g.height(b))
    corners = [(b[0], b[1]), (b[2], b[1]), (b[2], b[3]), (b[0], b[3])]
    pts: list[g.Point] = []
    for i, (x, y) in enumerate(corners):
        if i != cut:
            pts.append((x, y))
            continue
        prev, nxt = corners[i - 1], corners[(i + 1) % 4]
        for (px, py) in (prev, nxt):  # two points on the edges either side of the cut corner
            dx, dy = px - x, py - y
            n = max(abs(dx), abs(dy)) or 1.0
            pts.append((x + c * dx / n, y + c * dy / n))
    return Prim(points=tuple(pts + pts[:1]), closed=True, curves=0, lines=5, stroke=0.0, fill=None, width=width,
                dash="solid", order=order)


def data_store_prim(b: g.Box, dip: float, width: float, order: int, n: int = 12) -> Prim:
    """A cylinder outline: box ``b`` (points) is the body; the top ellipse, ``dip`` points high, sits on it."""
    x0, y0, x1, y1 = b
    cx, rx = (x0 + x1) / 2, (x1 - x0) / 2
    t = np.linspace(0, np.pi, n)
    top = [(float(cx - rx * np.cos(a)), float(y0 - dip * np.sin(a))) for a in t]            # upper arc
    bottom = [(float(cx + rx * np.cos(a)), float(y1 - dip + dip * np.sin(a))) for a in t]   # lower arc
    front = [(float(cx + rx * np.cos(a)), float(y0 + dip * np.sin(a))) for a in t]          # top's lower arc
    pts = top + bottom + front[::-1][1:]
    return Prim(points=tuple(pts + pts[:1]), closed=True, curves=6, lines=1, stroke=0.0, fill=None, width=width,
                dash="solid", order=order)
