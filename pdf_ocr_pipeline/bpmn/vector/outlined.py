"""Dashed strokes that a renderer has outlined: give them back as one stroked, dashed line.

Some PDF printers (Chromium's Skia among them) do not write a dashed stroke as a path with a dash array: they
convert every dash to its own filled outline, so a dashed or dotted connector reaches ``page.get_drawings()``
as one fill-only drawing of many small closed subpaths (capsules with round caps, or round dots), in order
along the line. Left as they are, the pieces are neither a line nor a shape (dots a few points apart are even
taken for shadows of each other). Here such a run is recognised by geometry alone, independent of the tool's
numbers: closed fill-only pieces of one drawing, all about as wide as each other (the stroke width), each
lying along the line they make, with gaps between them. It becomes one open prim along the pieces' centre line,
stroked in the fill's colour with that width, and typed ``dashed`` or ``dotted`` by ``geometry.dash_kind`` from
the measured dash (ink length of a piece) and the stroke width, as a path's own dash array would be.
"""

from __future__ import annotations

from statistics import median

from pdf_ocr_pipeline.bpmn import geometry as g

#: fewest pieces that make a dashed line (two could be any pair of marks; bpmn-js connectors have 5 and more)
MIN_PIECES = 3
#: widest outlined stroke taken for a connector's dashes, points (bpmn-js: 1.1-2.3 pt at 0.75 px/pt; Visio and
#: EA draw theirs at 0.5-1.5 pt)
MAX_STROKE = 4.0
#: a regular piece is at most this much wider than the median piece (round-off of flattened caps: measured
#: 1.0-1.05 on bpmn-js default and bold renders)
WIDTH_SPREAD = 1.35
#: share of the pieces that must be regular capsules or dots (the rest: dashes bent round a corner; bpmn-js
#: message flows with two bends have 1-2 of 15-40)
MIN_REGULAR = 0.6
#: a capsule's axis may turn at most this far (cosine) from the line to its neighbour (a row of glyph strokes
#: drawn as curves does not line up so)
MIN_ALIGN = 0.95
#: widest gap between neighbouring pieces, in stroke widths (bpmn-js: message flow 6.3 w, association 1.5 w)
MAX_GAP_W = 12.0


#: a dash run of at least this many pieces whose ends lie within ``LOOP_CLOSE`` gaps of each other goes round
#: a closed outline (a connector's dashes never return to their start)
MIN_LOOP_PIECES = 12
LOOP_CLOSE = 2.0


def _axis(pts) -> tuple[g.Point, tuple[float, float], float, float]:
    """Middle of the extent, unit direction of the principal axis (``geometry.principal_axis``), extent along it
    and across it. The middle, not the points' mean: a round cap flattened into many points would pull the mean
    towards its end (bpmn-visualization's dashes through Chromium)."""
    (cx, cy), u = g.principal_axis(pts)
    ts = [(p[0] - cx) * u[0] + (p[1] - cy) * u[1] for p in pts]
    ls = [-(p[0] - cx) * u[1] + (p[1] - cy) * u[0] for p in pts]
    mid_t, mid_l = 0.5 * (max(ts) + min(ts)), 0.5 * (max(ls) + min(ls))
    middle = (cx + mid_t * u[0] - mid_l * u[1], cy + mid_t * u[1] + mid_l * u[0])
    return middle, u, max(ts) - min(ts), max(ls) - min(ls)


def _tips(c, u, length) -> tuple[g.Point, g.Point]:
    h = 0.5 * length
    return (c[0] - h * u[0], c[1] - h * u[1]), (c[0] + h * u[0], c[1] + h * u[1])


def _run_line(pieces) -> tuple[list[g.Point], float, float, float] | None:
    """(centre line, stroke width, dash ink length, gap) if ``pieces`` (closed prims in drawing order) are the
    dashes of one line, else None."""
    if len(pieces) < MIN_PIECES:
        return None
    fits = [_axis(p.points) for p in pieces]
    widths = [min(ln, wd) for _, _, ln, wd in fits]
    w = median(widths)
    if not 0.1 < w <= MAX_STROKE:
        return None
    regular = [wd <= WIDTH_SPREAD * w + 0.2 for _, _, _, wd in fits]
    if sum(regular) < max(MIN_PIECES, MIN_REGULAR * len(pieces)):
        return None
    ink = median(ln for (_, _, ln, _), r in zip(fits, regular) if r)
    if any(p.size > 2.0 * ink + 2 * w for p in pieces):
        return None  # a piece much bigger than a dash: not a dash run
    centres = [c for c, _, _, _ in fits]
    line: list[g.Point] = []
    gaps = []
    for i, (p, (c, u, ln, _), r) in enumerate(zip(pieces, fits, regular)):
        nxt = centres[i + 1] if i + 1 < len(pieces) else None
        prv = centres[i - 1] if i else None
        if r and ln <= 1.5 * w:  # a dot: its own axis is round-off, only its centre is on the line
            a = b = c
        elif r:
            a, b = _tips(c, u, ln)
            if nxt is not None and g.dist(a, nxt) < g.dist(b, nxt) or nxt is None and prv is not None and \
                    g.dist(b, prv) < g.dist(a, prv):
                a, b = b, a
            # a capsule (not a dot): it lies along the line it makes, towards one neighbour at least (the line
            # may turn in the gap on its other side)
            if all(regular[max(0, i - 1):i + 2]) and not any(
                    g.dist(c, to) == 0 or abs((to[0] - c[0]) * u[0] + (to[1] - c[1]) * u[1]) / g.dist(c, to)
                    >= MIN_ALIGN for to in (nxt, prv) if to is not None):
                return None
        else:  # a dash bent round a corner: enter at the point nearest the last tip, leave nearest the next
            a = min(p.points, key=lambda q: g.dist(q, line[-1])) if line else p.points[0]
            b = max(p.points, key=lambda q: g.dist(q, a))
        if line:
            gaps.append(g.dist(line[-1], a))
        line += [a, b] if a != b else [a]
    if not gaps or min(gaps) < 0.1 or max(gaps) > MAX_GAP_W * w:
        return None  # pieces that touch are one outline's parts; far apart, they are separate marks
    return g.simplify_polyline(line), w, ink, median(gaps)


def restroke(prims: list) -> list:
    """``prims`` with each outlined dash run (fill-only closed pieces of one drawing) replaced by one open
    stroked prim carrying its dash kind; everything else unchanged, order kept."""
    from dataclasses import replace
    groups: dict[int, list[int]] = {}
    for i, p in enumerate(prims):
        if p.closed and p.stroke is None and p.fill is not None and p.size <= 40:
            groups.setdefault(p.order, []).append(i)
    out_at: dict[int, object] = {}
    drop: set[int] = set()
    for order, idx in groups.items():
        if len(idx) < MIN_PIECES:
            continue
        # a ring first: its dashes, bent round a small circle, can also pass for a line's
        ring = _ring([prims[i] for i in idx])
        if ring is not None:
            out_at[idx[0]] = ring
            drop |= set(idx)
            continue
        run = _run_line([prims[i] for i in idx])
        if run is None:
            continue
        line, w, ink, gap = run
        first = prims[idx[0]]
        # a run that comes back round to where it began is an outline (an event sub-process's dotted border)
        loop = len(idx) >= MIN_LOOP_PIECES and g.dist(line[0], line[-1]) <= LOOP_CLOSE * max(gap, w)
        corners = 0
        if loop:
            line = list(line) + [line[0]]
            # its corners: a rounded outline's dots turn them in several steps, counted as curves
            corners = max(0, len(g.polygon_vertices(line, eps=max(0.5, w))) - 4)
        out_at[idx[0]] = replace(first, points=tuple(line), closed=loop, curves=corners,
                                 lines=len(line) - 1 - corners,
                                 stroke=first.fill, fill=None, width=w,
                                 dash=g.dash_kind(f"[ {ink:.2f} {gap:.2f} ] 0", w))
        drop |= set(idx)
    if not out_at:
        return prims
    return [out_at[i] if i in out_at else p for i, p in enumerate(prims) if i in out_at or i not in drop]


#: fewest dashes that make a dashed ring (bpmn-visualization's non-interrupting events: 10-14 on a 23 pt ring)
MIN_RING_PIECES = 6
#: the dashes' centres lie within this share of the radius from the fitted circle
RING_SPREAD = 0.12
#: and they go round at least this much of it (degrees; no quarter left empty)
RING_COVER = 270.0


def _ring(pieces):
    """A dashed circle outlined as one filled piece per dash (Chromium prints bpmn-visualization's
    non-interrupting event rings so) as one closed, stroked, dashed circle; None if the pieces are not one."""
    import math
    if len(pieces) < MIN_RING_PIECES:
        return None
    centres = [g.center(p.box) for p in pieces]
    (cx, cy), r, _ = g.circle_fit(centres)
    radii = [g.dist((cx, cy), c) for c in centres]
    if r < 3 or any(abs(d - r) > RING_SPREAD * r for d in radii) or max(p.size for p in pieces) > r:
        return None
    angles = sorted(math.degrees(math.atan2(c[1] - cy, c[0] - cx)) % 360 for c in centres)
    gaps = [b - a for a, b in zip(angles, angles[1:])] + [angles[0] + 360 - angles[-1]]
    if 360 - max(gaps) < RING_COVER:
        return None
    width = median(min(ln, wd) for _, _, ln, wd in (_axis(p.points) for p in pieces))
    steps = 32
    pts = tuple((cx + r * math.cos(2 * math.pi * k / steps), cy + r * math.sin(2 * math.pi * k / steps))
                for k in range(steps + 1))
    first = pieces[0]
    from dataclasses import replace
    return replace(first, points=pts, closed=True, curves=8, lines=0, stroke=first.fill, fill=None, width=width,
                   dash="dashed")
