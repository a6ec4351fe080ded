"""Drawing primitives from PyMuPDF's ``page.get_drawings()``: subpaths flattened to points, shadows and
duplicates removed, fill and stroke of one outline merged, dashes drawn as separate segments joined.

Pure functions over the drawing dicts, so tests can feed hand-made ones.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

from pdf_ocr_pipeline.bpmn import geometry as g

Point = g.Point


@dataclass(frozen=True)
class Prim:
    """One subpath: its flattened points, whether it is closed, and how it is painted."""

    points: tuple[Point, ...]
    closed: bool
    curves: int            # Bezier segments in it
    lines: int             # straight segments in it
    stroke: float | None   # grey level of the stroke colour (0 black .. 1 white), None if not stroked
    fill: float | None     # grey level of the fill, None if not filled
    width: float           # stroke width in points
    dash: str              # solid | dashed | dotted
    order: int             # drawing order on the page

    @cached_property  # read very often by the classifiers; a Prim never changes (replace() makes a new one)
    def box(self) -> g.Box:
        return g.box_of(self.points)

    @property
    def size(self) -> float:
        b = self.box
        return max(g.width(b), g.height(b))


def _grey(c) -> float | None:
    return None if c is None else sum(c) / len(c)


def prims_from_drawings(drawings: list[dict], matrix=(1, 0, 0, 1, 0, 0)) -> list[Prim]:
    """Split every drawing into subpaths, flatten curves, and map points with ``matrix`` (PDF affine).

    Args:
        drawings: ``page.get_drawings()`` output.
        matrix: e.g. ``tuple(page.rotation_matrix)`` so points land in the displayed page frame.

    Returns:
        Primitives in drawing order, shadows and exact duplicates removed, fill-only and stroke-only
        paths of the same outline merged.
    """
    prims: list[Prim] = []
    for order, d in enumerate(drawings):
        kind = d.get("type", "s")
        stroke = _grey(d.get("color")) if "s" in kind else None
        fill = _grey(d.get("fill")) if "f" in kind else None
        width = float(d.get("width") or 0.0) if stroke is not None else 0.0
        dash = g.dash_kind(d.get("dashes"), width) if stroke is not None else "solid"
        subpaths: list[list] = []
        for item in d["items"]:
            op = item[0]
            if op == "re":
                r = item[1]
                subpaths.append([("re", [(r.x0, r.y0), (r.x1, r.y0), (r.x1, r.y1), (r.x0, r.y1), (r.x0, r.y0)])])
                subpaths.append([])
                continue
            if op == "qu":
                q = item[1]
                pts = [(q.ul.x, q.ul.y), (q.ur.x, q.ur.y), (q.lr.x, q.lr.y), (q.ll.x, q.ll.y), (q.ul.x, q.ul.y)]
                subpaths.append([("re", pts)])
                subpaths.append([])
                continue
            if op == "l":
                seg = [(item[1].x, item[1].y), (item[2].x, item[2].y)]
            elif op == "c":
                seg = g.bezier_points(*[(p.x, p.y) for p in item[1:5]])
            else:
                continue
            if not subpaths or not subpaths[-1] or g.dist(subpaths[-1][-1][1][-1], seg[0]) > 0.05:
                subpaths.append([])
            subpaths[-1].append((op, seg))
        for sp in subpaths:
            if not sp:
                continue
            pts: list[Point] = []
            for _, seg in sp:
                pts.extend(seg if not pts else seg[1:])
            pts = [g.transform_point(p, matrix) for p in pts]
            if "f" not in kind and not d.get("closePath") and sp[0][0] != "re":
                pts = unhook(unhook(pts)[::-1])[::-1]
            closed = bool(d.get("closePath")) or "f" in kind or sp[0][0] == "re" or (
                len(pts) > 2 and g.dist(pts[0], pts[-1]) < 0.5)
            if closed and g.dist(pts[0], pts[-1]) > 0.05:
                pts.append(pts[0])
            prims.append(Prim(points=tuple(pts), closed=closed, curves=sum(1 for op, _ in sp if op == "c"),
                              lines=sum(1 if op == "l" else 4 for op, _ in sp if op in ("l", "re")),
                              stroke=stroke, fill=fill, width=width, dash=dash, order=order))
    # dashes a printer outlined as filled pieces (Chromium) become one dashed stroke again (``outlined``)
    from pdf_ocr_pipeline.bpmn.vector.outlined import restroke
    return _merge_fill_stroke(_drop_shadows(restroke(prims)))


#: a stroke's end that turns back and runs within this distance (points) of the way it came retraces it
RETRACE_TOL = 0.75


def unhook(pts: list[Point]) -> list[Point]:
    """``pts`` without an end that runs back over the way it came. A stroke drawn out and back along itself
    (bpmn-visualization draws a flow with a repeated end waypoint so: to the arrow's tip and back to its base,
    or to the end and back to the start) is the line to its last turning point, where everything after that
    point lies on the line before it."""
    for k in range(len(pts) - 2, 0, -1):
        a, b, c = pts[k - 1], pts[k], pts[k + 1]
        if (c[0] - b[0]) * (b[0] - a[0]) + (c[1] - b[1]) * (b[1] - a[1]) < 0:  # turns back at ``b``
            head = list(pts[: k + 1])
            # back along the piece it came by (a polygon closed by returning to its start turns elsewhere)
            if g.point_polyline_distance(c, [a, b]) <= RETRACE_TOL and \
                    all(g.point_polyline_distance(q, head) <= RETRACE_TOL for q in pts[k + 1:]):
                return head
            break
    return list(pts)


def _same_outline(a: Prim, b: Prim, tol: float) -> bool:
    return a.closed == b.closed and a.curves == b.curves and a.lines == b.lines and \
        abs(g.width(a.box) - g.width(b.box)) <= tol and abs(g.height(a.box) - g.height(b.box)) <= tol


def _drop_shadows(prims: list[Prim]) -> list[Prim]:
    """Drop a path repeated later with the same outline at most 4 pt away (drop shadows, double draws)."""
    buckets: dict[tuple, list[int]] = {}
    for i, p in enumerate(prims):
        key = (p.closed, p.curves, p.lines)
        buckets.setdefault(key, []).append(i)
    dropped = set()
    for idxs in buckets.values():
        for a_pos, i in enumerate(idxs):
            a = prims[i]
            ac = g.center(a.box)
            for j in idxs[a_pos + 1:]:
                b = prims[j]
                if not _same_outline(a, b, 1.0):
                    continue
                bc = g.center(b.box)
                dx, dy = bc[0] - ac[0], bc[1] - ac[1]
                if abs(dx) > 4.5 or abs(dy) > 4.5:
                    continue
                same_place = abs(dx) < 0.3 and abs(dy) < 0.3
                # an offset copy is a shadow only if it is painted grey and the later one is the real shape;
                # a copy in the same place is a double draw (the later one wins unless it only fills)
                if same_place and (a.fill is None) != (b.fill is None) and (a.stroke is None) != (b.stroke is None):
                    continue  # fill and stroke of one outline: merged below
                if same_place or (a.fill is not None and 0.05 < a.fill < 0.95 and a.stroke in (None, a.fill)) or \
                        (a.stroke is not None and b.stroke is not None and a.stroke > b.stroke + 0.1):
                    dropped.add(i)
                    break
    keep = [p for i, p in enumerate(prims) if i not in dropped]
    return keep


def _merge_fill_stroke(prims: list[Prim]) -> list[Prim]:
    """A fill-only path followed by a stroke-only path of the same outline become one filled+stroked prim."""
    out: list[Prim] = []
    used = set()
    for i, p in enumerate(prims):
        if i in used:
            continue
        if p.stroke is None and p.fill is not None:
            for j in range(i + 1, min(i + 4, len(prims))):
                q = prims[j]
                if j not in used and q.stroke is not None and q.fill is None and _same_outline(p, q, 0.6) and \
                        g.dist(g.center(p.box), g.center(q.box)) < 0.6:
                    out.append(replace(q, fill=p.fill, closed=True))
                    used.add(j)
                    break
            else:
                out.append(p)
        else:
            out.append(p)
    return out
