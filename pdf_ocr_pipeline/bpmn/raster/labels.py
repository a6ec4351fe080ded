"""Connectors a label is drawn over: the two pieces either side of the label joined into one stroke.

Many tools paint a flow's label on a white box over the flow itself, so in the image the line stops at
one side of the text and starts again at the other. Two open strokes whose ends face each other along one
axis (horizontal or vertical, the way connectors are routed), with nothing but word boxes between them,
are one connector.
"""

from __future__ import annotations

from dataclasses import replace

from pdf_ocr_pipeline.bpmn import geometry as g
from pdf_ocr_pipeline.bpmn.labels import Word
from pdf_ocr_pipeline.bpmn.primitives import Prim


def _end_dir(pts: tuple, end: int) -> tuple[g.Point, tuple[float, float]] | None:
    """The end point and the unit direction the stroke leaves by there (axis-aligned only)."""
    a, b = (pts[1], pts[0]) if end == 0 else (pts[-2], pts[-1])
    dx, dy = b[0] - a[0], b[1] - a[1]
    n = g.dist(a, b)
    if n < 1.0:
        return None
    ux, uy = dx / n, dy / n
    if abs(ux) > 0.98 or abs(uy) > 0.98:
        return b, (round(ux), round(uy))
    return None


def _covered(p: g.Point, q: g.Point, boxes: list[g.Box], step: float = 2.0, free: float = 4.0) -> bool:
    """Every point of the gap from ``p`` to ``q`` lies in a word box (or within ``free`` of an end)."""
    n = g.dist(p, q)
    k = max(1, int(n / step))
    for i in range(k + 1):
        t = i / k
        x, y = p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t
        if min(g.dist((x, y), p), g.dist((x, y), q)) <= free:
            continue
        if not any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in boxes):
            return False
    return True


def bridge_labels(prims: list[Prim], words: list[Word], *, off: float = 1.5, pad: float = 2.0) -> list[Prim]:
    """``prims`` with open solid strokes that a label interrupts joined across it (others unchanged)."""
    if not words:
        return prims
    boxes = [g.expand(b, pad) for _, b in words]
    cand = [i for i, p in enumerate(prims) if not p.closed and p.stroke is not None and p.dash == "solid"
            and len(p.points) >= 2]
    ends = []
    for i in cand:
        for e in (0, 1):
            ed = _end_dir(prims[i].points, e)
            if ed is not None and any(g.contains_point(b, ed[0], 4.0) for b in boxes):
                ends.append((i, e, ed[0], ed[1]))
    pts = {i: list(prims[i].points) for i in cand}
    alias = {i: i for i in cand}

    def root(i):
        while alias[i] != i:
            i = alias[i]
        return i

    used = set()
    for a in range(len(ends)):
        i, e, p, u = ends[a]
        best = None
        for b in range(len(ends)):
            j, f, q, v = ends[b]
            if b == a or root(j) == root(i) or (i, e) in used or (j, f) in used or (v[0], v[1]) != (-u[0], -u[1]):
                continue
            along = (q[0] - p[0]) * u[0] + (q[1] - p[1]) * u[1]
            across = abs(-(q[0] - p[0]) * u[1] + (q[1] - p[1]) * u[0])
            if along <= 0 or across > off or not _covered(p, q, boxes):
                continue
            if best is None or along < best[0]:
                best = (along, b)
        if best is None:
            continue
        j, f, q, _ = ends[best[1]]
        ri, rj = root(i), root(j)
        # ends are looked up on the original strokes: join the current polylines at those points
        pi, pj = pts[ri], pts[rj]
        pi = pi if g.dist(pi[-1], p) <= g.dist(pi[0], p) else pi[::-1]
        pj = pj if g.dist(pj[0], q) <= g.dist(pj[-1], q) else pj[::-1]
        pts[ri] = pi + pj
        alias[rj] = ri
        used.update({(i, e), (j, f)})
    out = [p for k, p in enumerate(prims) if k not in alias]
    for i in cand:
        if alias[i] == i:
            out.append(replace(prims[i], points=tuple(pts[i]), lines=len(pts[i]) - 1))
    return out
