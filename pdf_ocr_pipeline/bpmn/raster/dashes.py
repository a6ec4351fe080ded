"""Dashed connectors in a traced image: join the short collinear pieces a dashed line leaves into one stroke.

A dashed line (a message flow) traced from pixels comes out as a row of short straight strokes with regular
gaps; where it crosses a pool or lane border a piece or two is lost in the border's ink. Left alone, the pieces
become several headless fragments. Here runs of at least ``min_pieces`` short pieces that lie on one line
(fitted to all of them, so pixel noise in a single dash does not matter) with gaps no wider than ``max_gap``
(``bridge`` once the run is established) are replaced by one ``dashed`` prim (``dotted`` where the pieces are
dots); runs that continue each other across a gap (a label blanked over the line) or meet at a corner join,
and the small open pieces just past an end (an arrowhead's sides) extend it. Dots too faint or small for the
binarisation come from a black-hat of the grey image (``faint_dots``) and join only as part of a run.
"""

from __future__ import annotations


from pdf_ocr_pipeline.bpmn import geometry as g
from pdf_ocr_pipeline.bpmn.primitives import Prim


def _length(pts) -> float:
    return sum(g.dist(pts[i], pts[i + 1]) for i in range(len(pts) - 1))


def _is_dash(p: Prim, max_dash: float) -> bool:
    if p.closed or p.stroke is None:
        return False
    n = _length(p.points)
    return 0.8 <= n <= max_dash and g.dist(p.points[0], p.points[-1]) >= 0.75 * n


def _proj(p: g.Point, c: g.Point, u: tuple[float, float]) -> tuple[float, float]:
    dx, dy = p[0] - c[0], p[1] - c[1]
    return dx * u[0] + dy * u[1], abs(-dx * u[1] + dy * u[0])


_CELL = 24.0


def _mid(ends: dict[int, tuple[g.Point, g.Point]], k: int) -> g.Point:
    (ax, ay), (bx, by) = ends[k]
    return ((ax + bx) / 2, (ay + by) / 2)


def _grid(ends: dict[int, tuple[g.Point, g.Point]]) -> dict[tuple[int, int], list[int]]:
    grid: dict[tuple[int, int], list[int]] = {}
    for k in ends:
        cx, cy = _mid(ends, k)
        grid.setdefault((int(cx // _CELL), int(cy // _CELL)), []).append(k)
    return grid


def _near(grid: dict, p: g.Point, r: float) -> list[int]:
    n = int(r // _CELL) + 1
    x, y = int(p[0] // _CELL), int(p[1] // _CELL)
    return [k for dx in range(-n, n + 1) for dy in range(-n, n + 1) for k in grid.get((x + dx, y + dy), ())]


def _grow(seed: int, ends: dict[int, tuple[g.Point, g.Point]], free: set[int], max_gap: float, bridge: float,
          lateral: float, min_pieces: int, grid: dict, first: int | None = None) -> list[int]:
    """The run of pieces ``seed`` lies on, grown both ways along its fitted line; ``first``: a neighbour that
    starts the run with it (the line through both, not the seed's own direction)."""
    chain = [seed] if first is None else [seed, first]
    ref = g.principal_axis([q for k in chain for q in ends[k]])[1]
    for side in (1, -1):
        while True:
            pts = [q for k in chain for q in ends[k]]
            c, u = g.principal_axis(pts)
            if u[0] * ref[0] + u[1] * ref[1] < 0:  # the fitted axis has no sign: keep the seed's
                u = (-u[0], -u[1])
            ref = u
            u = (u[0] * side, u[1] * side)
            tip = max(_proj(q, c, u)[0] for q in pts)
            reach = bridge if len(chain) >= min_pieces else max_gap
            best = None
            at = (c[0] + tip * u[0], c[1] + tip * u[1])
            for j in _near(grid, at, reach + 8.0):
                if j in chain or j not in free:
                    continue
                (t0, l0), (t1, l1) = _proj(ends[j][0], c, u), _proj(ends[j][1], c, u)
                near = min(t0, t1)
                gap = near - tip
                # one dash's direction is noisy: the first neighbour may stray a little more from its line
                tol = lateral if len(chain) > 1 else lateral + 0.12 * max(0.0, near)
                if 0.3 < gap <= reach and max(l0, l1) <= tol and (best is None or gap < best[0]):
                    best = (gap, j)
            if best is None:
                break
            chain.append(best[1])
    return chain


#: pieces shorter than this (points) are dots: as long as they are wide, so their own direction is noise
_DOT = 1.6


def _dot_run(seed: int, ends: dict[int, tuple[g.Point, g.Point]], free: set[int], max_gap: float, bridge: float,
             lateral: float, min_pieces: int, grid: dict) -> list[int] | None:
    """A run grown from a dot along the line to one of its nearest free dots (up to three tried, nearest
    first): at 150 dpi a dot of a dotted line traces as a one-pixel stroke in any direction, often across
    its line, so growing along its own direction finds no neighbour."""
    c = _mid(ends, seed)
    near = sorted((g.dist(c, _mid(ends, j)), j) for j in _near(grid, c, max_gap + 8.0)
                  if j != seed and j in free and g.dist(*ends[j]) < _DOT and 0.3 < g.dist(c, _mid(ends, j)) <= max_gap)
    for _, j in near[:3]:
        chain = _grow(seed, ends, free, max_gap, bridge, lateral, min_pieces, grid, first=j)
        if len(chain) >= min_pieces:
            return chain
    return None


def _line_of(chain: list[int], ends: dict[int, tuple[g.Point, g.Point]]) -> list[g.Point]:
    pts = [q for k in chain for q in ends[k]]
    c, u = g.principal_axis(pts)
    ts = [_proj(q, c, u)[0] for q in pts]
    a, b = min(ts), max(ts)
    p0, p1 = (c[0] + a * u[0], c[1] + a * u[1]), (c[0] + b * u[0], c[1] + b * u[1])
    return [p0, p1]


def _extend(line: list[g.Point], others: list[Prim], taken: set[int], reach: float) -> list[g.Point]:
    """Move each end over small open pieces just beyond it (an open arrowhead's sides)."""
    p0, p1 = line
    length = g.dist(p0, p1)
    if length < 1e-6:
        return line
    u = ((p1[0] - p0[0]) / length, (p1[1] - p0[1]) / length)
    for k, p in enumerate(others):
        if k in taken or p.closed or p.stroke is None or p.size > reach:
            continue
        pr = [_proj(q, p0, u) for q in p.points]
        if max(l for _, l in pr) > 0.5 * reach:
            continue
        ts = [t for t, _ in pr]
        if min(ts) > length - 1.0 and min(ts) - length < 0.6 * reach:
            p1 = (p0[0] + max(ts) * u[0], p0[1] + max(ts) * u[1])
            taken.add(k)
        elif max(ts) < 1.0 and -max(ts) < 0.6 * reach:
            p0 = (p0[0] + min(ts) * u[0], p0[1] + min(ts) * u[1])
            taken.add(k)
    return [p0, p1]


def _corner(a: list[g.Point], b: list[g.Point], reach: float) -> list[g.Point] | None:
    """Join two runs meeting at a right-angle bend: the corner is where their lines cross, near both ends."""
    for ea in (a, a[::-1]):
        for eb in (b, b[::-1]):
            (x1, y1), (x2, y2) = ea[-2], ea[-1]
            (x3, y3), (x4, y4) = eb[0], eb[1]
            d = (x2 - x1) * (y4 - y3) - (y2 - y1) * (x4 - x3)
            la, lb = g.dist(ea[-2], ea[-1]), g.dist(eb[0], eb[1])
            if la < 1e-6 or lb < 1e-6 or abs(d) < 0.9 * la * lb:  # not about perpendicular
                continue
            t = ((x3 - x1) * (y4 - y3) - (y3 - y1) * (x4 - x3)) / d
            cp = (x1 + t * (x2 - x1), y1 + t * (y2 - y1))
            if g.dist(cp, ea[-1]) <= reach and g.dist(cp, eb[0]) <= reach and t > 0.5:
                return ea[:-1] + [cp] + eb[1:]
    return None


def faint_dots(gray, ink, scale: float, contrast: int = 60):
    """Dots too light or small for the binarisation (a dotted association at low resolution): pixels much
    darker than their neighbourhood's light background (a black-hat), away from ink already found. 0/255."""
    import cv2
    import numpy as np
    k = max(5, int(round(4.0 / scale)) | 1)
    blur = cv2.GaussianBlur(gray, (3, 3), 0)
    bh = cv2.morphologyEx(blur, cv2.MORPH_BLACKHAT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    near_ink = cv2.dilate(ink, np.ones((5, 5), np.uint8))
    return np.where((bh > contrast) & (near_ink == 0), 255, 0).astype(np.uint8)


def specks(mask, scale: float, max_len: float = 4.0, min_px: int = 4) -> list[Prim]:
    """Small ink blobs (dots of a dotted line, dashes too short to leave a skeleton) as 2-point prims along
    their long axis, in points; ``mask`` is the binary leftover ink (pixels), ``scale`` points per pixel."""
    import cv2
    import numpy as np
    n, labels, stats, cents = cv2.connectedComponentsWithStats((mask > 0).astype(np.uint8), connectivity=8)
    out = []
    for k in range(1, n):
        x, y, w, h, area = stats[k]
        if area < min_px or max(w, h) * scale > max_len:
            continue
        ys, xs = np.nonzero(labels[y:y + h, x:x + w] == k)
        pts = [((float(px) + x) * scale, (float(py) + y) * scale) for px, py in zip(xs, ys)]
        c, u = g.principal_axis(pts)
        ts = [_proj(q, c, u)[0] for q in pts]
        a, b = min(ts), max(ts)
        if b - a < 0.5:
            a, b = -0.25, 0.25
        out.append(Prim(points=((c[0] + a * u[0], c[1] + a * u[1]), (c[0] + b * u[0], c[1] + b * u[1])),
                        closed=False, curves=0, lines=1, stroke=0.0, fill=None, width=0.0, dash="dotted", order=0))
    return out


def _straight(a: list[g.Point], b: list[g.Point], reach: float) -> list[g.Point] | None:
    """Join two runs that continue each other (one line whose fit broke at a noisy dash)."""
    for ea in (a, a[::-1]):
        for eb in (b, b[::-1]):
            p, q = ea[-1], eb[0]
            d = g.dist(p, q)
            la, lb = g.dist(ea[-2], p), g.dist(q, eb[1])
            if d > reach or la < 1e-6 or lb < 1e-6:
                continue
            u = ((p[0] - ea[-2][0]) / la, (p[1] - ea[-2][1]) / la)
            v = ((eb[1][0] - q[0]) / lb, (eb[1][1] - q[1]) / lb)
            off = abs(-(q[0] - p[0]) * u[1] + (q[1] - p[1]) * u[0])
            if u[0] * v[0] + u[1] * v[1] > 0.97 and off < 1.5:
                return ea[:-1] + eb[1:]
    return None


def join_dashes(prims: list[Prim], extra: list[Prim] = (), *, max_dash: float = 8.0, max_gap: float = 13.0,
                bridge: float = 20.0, lateral: float = 1.2, min_pieces: int = 3) -> list[Prim]:
    """``prims`` with each run of dash pieces replaced by one ``dashed`` open prim (other prims unchanged).

    Args:
        prims: traced primitives (points); only open stroked pieces no longer than ``max_dash`` are dashes.
        max_gap: the widest gap between neighbouring dashes while a run is being started.
        bridge: the widest gap once a run has ``min_pieces`` dashes (a border crossing swallows a dash or two).
        lateral: how far (points) a dash may lie off the run's fitted line.
        min_pieces: fewer pieces than this are not a dashed line.
    """
    n_own = len(prims)
    prims = list(prims) + list(extra)
    idx = [i for i, p in enumerate(prims) if _is_dash(p, max_dash) or i >= n_own]
    ends = {i: (prims[i].points[0], prims[i].points[-1]) for i in idx}
    free = set(idx)
    grid = _grid(ends)
    runs: list[list[g.Point]] = []
    styles: list[str] = []
    taken: set[int] = set()
    for i in sorted(idx, key=lambda k: -_length(prims[k].points)):
        if i not in free:
            continue
        chain = _grow(i, ends, free, max_gap, bridge, lateral, min_pieces, grid)
        if len(chain) < min_pieces and g.dist(*ends[i]) < _DOT:
            chain = _dot_run(i, ends, free, max_gap, bridge, lateral, min_pieces, grid) or chain
        if len(chain) < min_pieces:
            continue
        free -= set(chain)
        taken |= set(chain)
        runs.append(_line_of(chain, ends))
        # dots (pieces about as long as they are wide) make a dotted line, longer pieces a dashed one
        lens = sorted(g.dist(*ends[k]) for k in chain)
        styles.append("dotted" if lens[len(lens) // 2] < _DOT else "dashed")
    if not runs:
        return prims[:n_own]
    runs = [_extend(r, prims, taken, max_dash + 2.0) for r in runs]

    def joined(a: int, b: int) -> list[g.Point] | None:
        if styles[a] != styles[b]:
            return None
        return _straight(runs[a], runs[b], 1.5 * bridge) or _corner(runs[a], runs[b], bridge)
    # join runs pair by pair, always the first joining pair (a, b) in index order. After a join only run a has
    # changed, so the next first pair is (k, a) for an earlier k, or (a, b') from the start of a's partners:
    # each join costs one pass, not a rescan of every pair (a noisy scan's thousands of runs took minutes)
    a = 0
    while a < len(runs):
        for b in range(a + 1, len(runs)):
            j = joined(a, b)
            if j is not None:
                runs[a] = j
                del runs[b]
                del styles[b]
                a = next((k for k in range(a) if joined(k, a) is not None), a)
                break
        else:
            a += 1
    # a short leg (two pieces) is kept only where it turns a run's end towards the shape it links
    for i in sorted(free, key=lambda k: -_length(prims[k].points)):
        if i not in free:
            continue
        chain = _grow(i, ends, free, max_gap, max_gap, lateral, 2, grid)
        if len(chain) != 2:
            continue
        leg = _line_of(chain, ends)
        for a in range(len(runs)):
            j = _corner(runs[a], leg, max_gap)
            if j is not None:
                runs[a] = j
                free -= set(chain)
                taken |= set(chain)
                break
    order = max((p.order for p in prims), default=0) + 1
    out = [p for k, p in enumerate(prims[:n_own]) if k not in taken]
    for r, style in zip(runs, styles):
        out.append(Prim(points=tuple(r), closed=False, curves=0, lines=len(r) - 1, stroke=0.0, fill=None,
                        width=0.75, dash=style, order=order))
        order += 1
    return out
