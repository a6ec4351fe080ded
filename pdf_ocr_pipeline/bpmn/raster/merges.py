"""Flows that share a segment, split back into one connector each.

Tools route two flows into the same target (or out of the same source) along a shared segment: in the
image that is a T, whose skeleton is traced as one stroke through the junction and a stem from the
junction on. Flows never start or end on the middle of another flow, so where a stroke's end sits on the
inside of another stroke, that stroke is cut at the junction and each half continues along the stem: two
connectors, each then directed by its own arrowhead. The through stroke must bend (two flows routed into
one segment meet at an elbow); a straight one is more likely what a heavy outline leaves beside its hole.
"""

from __future__ import annotations

from dataclasses import replace

from pdf_ocr_pipeline.bpmn import geometry as g
from pdf_ocr_pipeline.bpmn.primitives import Prim


def _closest(p: g.Point, pts: tuple) -> tuple[float, int, g.Point]:
    """Distance from ``p`` to the polyline ``pts``, the segment index and the nearest point on it."""
    best = (float("inf"), 0, pts[0])
    for i in range(len(pts) - 1):
        a, b = pts[i], pts[i + 1]
        dx, dy = b[0] - a[0], b[1] - a[1]
        n = dx * dx + dy * dy
        t = 0.0 if n == 0 else max(0.0, min(1.0, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / n))
        q = (a[0] + t * dx, a[1] + t * dy)
        d = g.dist(p, q)
        if d < best[0]:
            best = (d, i, q)
    return best


def _length(pts) -> float:
    return sum(g.dist(pts[i], pts[i + 1]) for i in range(len(pts) - 1))


def split_merges(strokes: list[Prim], *, on: float = 1.5, clear: float = 8.0, min_len: float = 15.0) -> list[Prim]:
    """``strokes`` with each T (see the module docstring) replaced by two connectors. Only solid strokes of
    ``min_len`` points or more take part, and the junction must be ``clear`` points inside the through one."""
    solid = [i for i, p in enumerate(strokes) if not p.closed and p.stroke is not None and p.dash == "solid"
             and _length(p.points) >= min_len]
    # two flows routed into one segment meet at an elbow: a straight through stroke is more likely what a
    # heavy outline leaves beside its hole
    bent = {i for i in solid if len(g.simplify_polyline(list(strokes[i].points), 1.0)) >= 3}
    boxes = {i: g.expand(strokes[i].box, on) for i in bent}
    done: set[int] = set()
    add: list[Prim] = []
    for s in solid:
        sp = strokes[s].points
        for e in (0, 1):
            if s in done:
                break
            foot = sp[0] if e == 0 else sp[-1]
            for t in bent:
                if t == s or t in done or not g.contains_point(boxes[t], foot):
                    continue
                tp = strokes[t].points
                d, k, j = _closest(foot, tp)
                if d > on or g.dist(j, tp[0]) < clear or g.dist(j, tp[-1]) < clear:
                    continue
                stem = list(sp) if e == 0 else list(sp[::-1])   # from the junction on
                first = list(tp[:k + 1]) + [j]
                second = list(tp[k + 1:][::-1]) + [j]
                for part in (first, second):
                    pts = tuple(part + stem[1:])
                    add.append(replace(strokes[t], points=pts, lines=len(pts) - 1))
                done.update({s, t})
                break
    return [p for i, p in enumerate(strokes) if i not in done] + add
