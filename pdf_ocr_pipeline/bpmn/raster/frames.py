"""Pools and lanes of a page image from its long straight rules, not from the holes between them.

A lane's inside is rarely one clean hole at scan resolution: shapes tied to its border by flows sit in it,
light grey rules break up, a flow crossing the border splits it. The rules themselves survive all of that.
Horizontal and vertical rules (from a long thin opening of the ink) are merged across small gaps, and the
rectangles they bound are read off: every cell (no rule crosses it), and a frame whose side carries a header
band (a rule parallel to that side, 8-60 pt in, spanning it) as the pool; the header band is handed over as
its own rectangle so ``structure`` finds it. A frame's body that no rule subdivides is the pool itself, not
a lane. Corners must be inked (a rounded sub-process's straight sides do not meet). Pure functions apart
from the opening in ``rules``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from pdf_ocr_pipeline.bpmn import geometry as g

HRule = tuple[float, float, float]  # y, x0, x1
VRule = tuple[float, float, float]  # x, y0, y1


def merge_rules(segs: list[tuple[float, float, float]], *, off: float = 1.5, gap: float = 6.0
                ) -> list[tuple[float, float, float]]:
    """Collinear pieces ``(pos, a, b)`` (same ``pos`` within ``off``, gaps up to ``gap``) joined into one."""
    cur = [list(s) for s in segs]
    while True:
        out: list[list[float]] = []
        for pos, a, b in sorted(cur, key=lambda s: (s[0], s[1])):
            for r in out:
                if abs(r[0] - pos) <= off and a <= r[2] + gap and b >= r[1] - gap:
                    n0, n1 = r[2] - r[1], b - a
                    r[0] = (r[0] * n0 + pos * n1) / max(n0 + n1, 1e-6)
                    r[1], r[2] = min(r[1], a), max(r[2], b)
                    break
            else:
                out.append([pos, a, b])
        if len(out) == len(cur):  # a piece may bridge two runs found earlier: repeat until nothing joins
            return [tuple(r) for r in out]
        cur = out


def frames(hs: list[HRule], vs: list[VRule], *, tol: float = 3.0, min_w: float = 10.0, header: tuple[float, float]
           = (8.0, 60.0), corner: Callable[[g.Point], bool] | None = None, limit: int = 40, most: int = 60
           ) -> list[tuple[g.Box, str]]:
    """Rectangles bounded by rules on all four sides (each rule spanning its side; T-junctions allowed).

    Returns ``(box, kind)`` with kind ``cell`` (no rule runs across it), ``frame`` (a pool: a rule spans it
    parallel to one side, ``header`` points in, cutting off a header band), ``header`` (that band) or
    ``body`` (the rest of a frame, listed last: when it is one undivided cell it is the pool, not a lane, so
    it is only reported, not a cell). ``corner(p)``, when given, must be true at all four corners. More than
    ``most`` rectangles make a grid (a table, a photo's texture), not pools and lanes: none are returned.
    """
    def h_spans(h: HRule, x0: float, x1: float) -> bool:
        return h[1] <= x0 + tol and h[2] >= x1 - tol

    def v_spans(v: VRule, y0: float, y1: float) -> bool:
        return v[1] <= y0 + tol and v[2] >= y1 - tol

    def corners_ok(b: g.Box) -> bool:
        return corner is None or all(corner(p) for p in ((b[0], b[1]), (b[2], b[1]), (b[2], b[3]), (b[0], b[3])))

    # pools and lanes need a few rules; a page with many more (a table, a photo's texture) keeps its longest
    hs = sorted(sorted(hs, key=lambda r: r[1] - r[2])[:limit])
    vs = sorted(sorted(vs, key=lambda r: r[1] - r[2])[:limit])
    cells: list[g.Box] = []
    framed: list[tuple[g.Box, g.Box, g.Box]] = []  # frame, header band, body
    for i, top in enumerate(hs):
        for bot in hs[i + 1:]:
            if bot[0] - top[0] < min_w:
                continue
            x0, x1 = max(top[1], bot[1]), min(top[2], bot[2])
            sides = [v for v in vs if x0 - tol <= v[0] <= x1 + tol and v_spans(v, top[0], bot[0])]
            for a, left in enumerate(sides):
                seen = 0
                for right in sides[a + 1:]:
                    if right[0] - left[0] < min_w:
                        continue
                    seen += 1
                    if seen > 2:  # a cell's right side is the next rule; a frame's the one after its header
                        break
                    b = (left[0], top[0], right[0], bot[0])
                    inner_h = [h for h in hs if b[1] + tol < h[0] < b[3] - tol and h_spans(h, b[0], b[2])]
                    inner_v = [v for v in sides if b[0] + tol < v[0] < b[2] - tol]
                    if not inner_h and not inner_v:
                        if corners_ok(b):
                            cells.append(b)
                        continue
                    band = _header(b, inner_h, inner_v, header)
                    if band is not None and corners_ok(b):
                        framed.append((b, *band))
                if len(cells) + len(framed) > most:
                    return []  # a grid (a table, a photo's texture), not pools and lanes
    out = [(f, "frame") for f, _, _ in framed] + [(h, "header") for _, h, _ in framed]
    bodies = [body for _, _, body in framed]
    out += [(c, "cell") for c in cells if not any(_same(c, body, tol) for body in bodies)]
    return _unique(out + [(body, "body") for body in bodies], tol)


def _header(b: g.Box, inner_h: list[HRule], inner_v: list[VRule], band: tuple[float, float]
            ) -> tuple[g.Box, g.Box] | None:
    """The header band and the body of frame ``b``: a rule across it ``band`` points in from the left (a
    horizontal pool) or the top (a vertical one); ``None`` when there is none."""
    lo, hi = band
    for v in inner_v:
        if lo <= v[0] - b[0] <= hi:
            return (b[0], b[1], v[0], b[3]), (v[0], b[1], b[2], b[3])
    for h in inner_h:
        if lo <= h[0] - b[1] <= hi:
            return (b[0], b[1], b[2], h[0]), (b[0], h[0], b[2], b[3])
    return None


def _same(a: g.Box, b: g.Box, tol: float) -> bool:
    return all(abs(p - q) <= tol for p, q in zip(a, b))


def _unique(rects: list[tuple[g.Box, str]], tol: float) -> list[tuple[g.Box, str]]:
    """The first of each group of rectangles that agree within ``tol`` (bucketed, so many stay cheap)."""
    out: list[tuple[g.Box, str]] = []
    seen: dict[tuple[int, ...], list[g.Box]] = {}
    for r in rects:
        key = tuple(int(v // (2 * tol)) for v in r[0])
        near = [k for k in _around(key) if k in seen]
        if any(_same(r[0], o, tol) for k in near for o in seen[k]):
            continue
        seen.setdefault(key, []).append(r[0])
        out.append(r)
    return out


def _around(key: tuple[int, ...]) -> list[tuple[int, ...]]:
    out = [()]
    for k in key:
        out = [o + (k + d,) for o in out for d in (-1, 0, 1)]
    return out


def rules(ink: np.ndarray, scale: float, *, h_len: float = 100.0, v_len: float = 40.0
          ) -> tuple[list[HRule], list[VRule]]:
    """Horizontal and vertical rules of a binary image (points): what survives an opening with a long thin
    kernel, merged across small gaps (a blanked word, a boundary event's white fill)."""
    import cv2
    hs, vs = [], []
    for horiz, min_len in ((True, h_len), (False, v_len)):
        n = max(10, int(min_len / scale))
        k = cv2.getStructuringElement(cv2.MORPH_RECT, (n, 1) if horiz else (1, n))
        m = cv2.morphologyEx(ink, cv2.MORPH_OPEN, k)
        for c in cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0]:
            x, y, w, h = cv2.boundingRect(c)
            if horiz:
                hs.append(((y + h / 2) * scale, x * scale, (x + w) * scale))
            else:
                vs.append(((x + w / 2) * scale, y * scale, (y + h) * scale))
    return merge_rules(hs), merge_rules(vs)


def frame_prims(ink: np.ndarray, scale: float, order: int, max_rects: int = 60):
    """Rule prims (2-point, ``stroke=None``: they only rebuild rectangles) and closed rectangle prims of the
    frames, headers and cells, plus the boxes of every rectangle found (bodies included), for dropping
    hole outlines they stand in for."""
    from pdf_ocr_pipeline.bpmn.primitives import Prim
    hs, vs = rules(ink, scale)
    r = max(1, int(round(1.5 / scale)))

    def inked(p: g.Point) -> bool:
        x, y = int(round(p[0] / scale)), int(round(p[1] / scale))
        return bool(ink[max(0, y - r):y + r + 1, max(0, x - r):x + r + 1].any())

    lines = [Prim(points=((x0, y), (x1, y)), closed=False, curves=0, lines=1, stroke=None, fill=None, width=0.75,
                  dash="solid", order=order) for y, x0, x1 in hs]
    lines += [Prim(points=((x, y0), (x, y1)), closed=False, curves=0, lines=1, stroke=None, fill=None, width=0.75,
                   dash="solid", order=order) for x, y0, y1 in vs]
    rects, boxes = [], []
    for b, kind in frames(hs, vs, corner=inked, most=max_rects):
        boxes.append(b)
        if kind == "body":
            continue
        pts = ((b[0], b[1]), (b[2], b[1]), (b[2], b[3]), (b[0], b[3]), (b[0], b[1]))
        rects.append(Prim(points=pts, closed=True, curves=0, lines=4, stroke=0.0, fill=None, width=0.75,
                          dash="solid", order=order))
    return lines, rects, boxes
