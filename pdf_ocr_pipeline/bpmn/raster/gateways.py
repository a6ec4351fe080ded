"""Gateway diamonds whose hole a marker splits: found around their marker instead of from a hole.

At scan resolution a gateway's heavy X or plus, or an event-based gateway's circle, often touches the
diamond's edges, and the hole inside falls into three or four pieces that are no diamond. Each heavy blob
and each circle that no diamond holds is taken as a possible marker; a diamond is looked for around it by
sampling the ink along the four edges of diamonds of growing size: the one whose edges are inked almost
all along, whose four corners are inked, and whose 20 % bigger copy is not, is handed over as the closed
outline a vector page would draw.
"""

from __future__ import annotations

import numpy as np

from pdf_ocr_pipeline.bpmn import geometry as g
from pdf_ocr_pipeline.bpmn.primitives import Prim


_T = np.linspace(0.15, 0.85, 16)
_EDGES = (((0, -1), (1, 0)), ((1, 0), (0, 1)), ((0, 1), (-1, 0)), ((-1, 0), (0, -1)))
# unit offsets of the sample points along the four edges (corners left out: flows join there)
_UX = np.concatenate([ax + (bx - ax) * _T for (ax, ay), (bx, by) in _EDGES])
_UY = np.concatenate([ay + (by - ay) * _T for (ax, ay), (bx, by) in _EDGES])


def _cover(ink: np.ndarray, cx: float, cy: float, ds: np.ndarray) -> np.ndarray:
    """For each half-diagonal in ``ds`` (pixels), the share of edge samples that fall on ink (0 where the
    diamond leaves the image)."""
    x = np.rint(cx + ds[:, None] * _UX[None, :]).astype(int)
    y = np.rint(cy + ds[:, None] * _UY[None, :]).astype(int)
    ok = ((x >= 0) & (y >= 0) & (x < ink.shape[1]) & (y < ink.shape[0])).all(axis=1)
    vals = ink[np.clip(y, 0, ink.shape[0] - 1), np.clip(x, 0, ink.shape[1] - 1)] > 0
    return np.where(ok, vals.mean(axis=1), 0.0)


def edge_cover(ink: np.ndarray, cx: float, cy: float, d: float) -> float:
    """The share of points along the four edges of the diamond of half-diagonal ``d`` (pixels) centred at
    ``(cx, cy)`` that fall on ink."""
    return float(_cover(ink, cx, cy, np.array([float(d)]))[0])


def diamond_around(ink: np.ndarray, cx: float, cy: float, size: float, *, lo: float = 0.6, hi: float = 3.0,
                   need: float = 0.85) -> float | None:
    """Half-diagonal (pixels) of the diamond around a marker of ``size`` pixels at ``(cx, cy)``, or None:
    the smallest size whose edges are inked at least ``need`` of the way, whose four corners are inked, and
    whose 20 % bigger copy is not (a filled area or a crowd of lines is no outline)."""
    ds = np.arange(max(4.0, lo * size), hi * size, 1.0)
    if ds.size == 0:
        return None
    ok = (_cover(ink, cx, cy, ds) >= need) & (_cover(ink, cx, cy, 1.2 * ds) < 0.5)
    for d in ds[ok]:
        if _corners(ink, cx, cy, float(d)) == 4:
            return float(d)
    return None


def _corners(ink: np.ndarray, cx: float, cy: float, d: float) -> int:
    """How many of the diamond's four corners are inked. A real outline passes through all four; a ring's
    band can cover the edges of a diamond drawn inside it, and a border or flows through an event reach
    three corners at most."""
    n = 0
    for x, y in ((cx, cy - d), (cx + d, cy), (cx, cy + d), (cx - d, cy)):
        xi, yi = int(round(x)), int(round(y))
        n += bool(0 <= yi < ink.shape[0] and 0 <= xi < ink.shape[1] and ink[yi, xi] > 0)
    return n


def split_gateways(prims: list[Prim], blobs: list[tuple[float, float, float]], ink: np.ndarray, scale: float
                   ) -> list[Prim]:
    """Diamond prims (points) found around ``blobs`` (marker candidates ``(cx, cy, size)`` in pixels) and
    around circles in ``prims`` that no diamond holds yet. ``ink`` is binary (dilated a pixel by the caller
    is not needed: the edges are sampled with a pixel's tolerance here)."""
    import cv2
    fat = cv2.dilate(ink, np.ones((3, 3), np.uint8))
    have = [p.box for p in prims if p.closed and p.curves == 0 and p.lines == 4 and len(p.points) == 5
            and g.is_diamond(list(p.points[:4]), 0.15)]
    # an event-based gateway's circle fills much of its diamond (half-diagonal about 0.85 diameters); an
    # event's own ring cannot pass for the edges, as the corners must be inked too (``_corners``)
    circles = [p for p in prims if p.closed and p.curves >= 4 and p.lines == 0 and p.size >= 5]
    outer = [p for p in circles if not any(q.size > 1.1 * p.size and g.dist(g.center(q.box), g.center(p.box))
                                           < 0.25 * q.size for q in circles)]  # an event's inner ring: no
    # a blob inside an event's ring is the event's icon
    cands = [(x, y, s, 0.6) for x, y, s in blobs if not any(
        g.dist((x * scale, y * scale), g.center(p.box)) < 0.4 * p.size and p.size * 0.7 > s * scale for p in circles)] + [
        (g.center(p.box)[0] / scale, g.center(p.box)[1] / scale, p.size / scale, 0.75) for p in outer]
    # pieces of a split hole (small diamonds and triangles side by side): the gateway is around their union,
    # whose middle may be off by a missing piece, so the centre is searched for
    cands += [(x, y, s, 0.5, True) for x, y, s in _piece_groups(prims, scale)]
    out: list[Prim] = []
    for cand in cands:
        cx, cy, size, lo = cand[:4]
        if any(g.contains_point(b, (cx * scale, cy * scale)) and max(g.width(b), g.height(b)) >= 0.8 * size * scale
               for b in have):
            continue  # a diamond holds it already (the pieces of a split hole are smaller)
        offsets = [(dx, dy) for dx in range(-8, 9, 2) for dy in range(-8, 9, 2)] if len(cand) > 4 else [(0, 0)]
        found = [(d, cx + dx, cy + dy) for dx, dy in offsets
                 if (d := diamond_around(fat, cx + dx, cy + dy, size, lo=lo)) is not None]
        if not found:
            continue
        d, cx, cy = max(found, key=lambda f: edge_cover(fat, f[1], f[2], f[0]))
        d_pt = d * scale
        c = (cx * scale, cy * scale)
        pts = ((c[0], c[1] - d_pt), (c[0] + d_pt, c[1]), (c[0], c[1] + d_pt), (c[0] - d_pt, c[1]), (c[0], c[1] - d_pt))
        p = Prim(points=pts, closed=True, curves=0, lines=4, stroke=0.0, fill=None, width=0.75, dash="solid",
                 order=0)
        have.append(p.box)
        out.append(p)
    return out


def _piece_groups(prims: list[Prim], scale: float) -> list[tuple[float, float, float]]:
    """``(cx, cy, size)`` in pixels of groups of two or more small closed pieces (3-20 pt, no circles)
    lying within 3 pt of each other."""
    small = [p.box for p in prims if p.closed and p.lines > 0 and p.stroke is not None and 3 <= p.size <= 20]
    # union-find over neighbours found through a 24 pt grid (pieces are at most 20 pt, 3 pt apart)
    parent = list(range(len(small)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    grid: dict[tuple[int, int], list[int]] = {}
    for i, b in enumerate(small):
        key = (int(b[0] // 24), int(b[1] // 24))
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for j in grid.get((key[0] + dx, key[1] + dy), ()):
                    if g.box_distance(b, small[j]) <= 3.0:
                        parent[root(i)] = root(j)
        grid.setdefault(key, []).append(i)
    byroot: dict[int, list[g.Box]] = {}
    for i, b in enumerate(small):
        byroot.setdefault(root(i), []).append(b)
    groups = list(byroot.values())
    out = []
    for grp in groups:
        if len(grp) >= 2:
            u = g.box_of([q for b in grp for q in (b[:2], b[2:])])
            out.append(((u[0] + u[2]) / 2 / scale, (u[1] + u[3]) / 2 / scale, max(g.width(u), g.height(u)) / scale))
    return out
