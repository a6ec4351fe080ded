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


def _edge_y(hole: np.ndarray, x0, w, fx: float, tol: float, top: bool = True) -> float | None:
    """The top (``top``) or bottom row of ``hole``'s points within ``tol`` of its width of the column at
    ``fx`` of its width from ``x0``; None where it has none there."""
    ys = hole[np.abs(hole[:, 0] - (x0 + fx * w)) <= max(1.0, tol * w), 1]
    return (float(ys.min()) if top else float(ys.max())) if ys.size else None


def cylinder_dip(hole: np.ndarray) -> float | None:
    """How far (pixels) the top edge of a data store's body hole dips in the middle below its ends, or None
    when the hole is no such body: the dip at least 8 % of the height, the top corners sharp, the bottom
    ones rounded."""
    x0, x1 = hole[:, 0].min(), hole[:, 0].max()
    y0, y1 = hole[:, 1].min(), hole[:, 1].max()
    w, h = x1 - x0, y1 - y0
    if w < 8 or h < 6:
        return None

    mid, left, right = (_edge_y(hole, x0, w, fx, 0.03) for fx in (0.5, 0.03, 0.97))
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


def cylinder_band(hole: np.ndarray, ink: np.ndarray, sw: float) -> float | None:
    """The height (pixels) of a data store's top ellipse over a flat-topped body hole, or None.

    At scan resolution the three stacked arcs of a cylinder's top merge into one dark band, so the body's
    hole is flat-topped and ``cylinder_dip`` misses it. Such a body is told from a task by three marks
    together: its top corners are sharp (the band meets the sides squarely) while its bottom edge sags in
    the middle (the cylinder's bottom arc; a task's bottom is straight between two rounded corners, like
    its top), and a band of ink at least 2.2 times as thick as its bottom stroke lies over the middle of its top. The height
    returned runs from the hole's top to the top of the band's ink (a light lens between arcs included)."""
    x0, x1 = int(hole[:, 0].min()), int(hole[:, 0].max())
    y0, y1 = int(hole[:, 1].min()), int(hole[:, 1].max())
    w, h = x1 - x0, y1 - y0
    if w < 12 or h < 8 or h > 1.3 * w or sw <= 0:
        return None
    tops = [_edge_y(hole, x0, w, f, 0.02) for f in (0.05, 0.25, 0.5, 0.75, 0.95)]
    bots = [_edge_y(hole, x0, w, f, 0.02, top=False) for f in (0.03, 0.2, 0.5, 0.8, 0.97)]
    if any(v is None for v in tops + bots):
        return None
    gaps = _corner_gaps(hole)
    flat_top = max(tops) - min(tops) <= max(1.0, 0.04 * h) and max(gaps[:2]) <= 1.5
    sag = bots[2] - (bots[0] + bots[4]) / 2
    # the bottom sags from the ends to the middle, not only at rounded corners: the quarter points sit
    # between ends and middle
    curved = sag >= max(2.0, 0.07 * h) and bots[1] > bots[0] and bots[3] > bots[4] and \
        min(gaps[2:]) >= 2.0
    if not (flat_top and curved):
        return None
    runs, floors, tops_ink = [], [], []
    gap_max = max(2, int(round(1.5 * sw)))
    for x in range(x0 + int(0.3 * w), x0 + int(0.7 * w) + 1):
        ys = hole[hole[:, 0] == x, 1]
        if not ys.size:
            continue
        y, yb = int(ys.min()) - 1, int(ys.max()) + 1
        run = 0
        while y - run >= 0 and ink[y - run, x] > 0:
            run += 1
        floor = 0
        while yb + floor < ink.shape[0] and ink[yb + floor, x] > 0:
            floor += 1
        runs.append(run)
        floors.append(floor)
        top, white, yy = y - run + 1, 0, y - run
        while yy >= max(0, y - int(0.8 * h)) and white <= gap_max:  # a lens between the arcs, then ink again
            if ink[yy, x] > 0:
                top, white = yy, 0
            else:
                white += 1
            yy -= 1
        tops_ink.append(y + 1 - top)
    # the band against the body's own bottom stroke (a task's top and bottom strokes are alike)
    if not runs or float(np.median(runs)) < 2.2 * max(1.0, float(np.median(floors))):
        return None
    return float(np.median(tops_ink))
