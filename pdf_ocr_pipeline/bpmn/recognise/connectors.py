"""Connectors from open strokes: chains, arrowheads, line style, and the shapes at both ends.

Shared by the vector and raster paths.
"""

from __future__ import annotations

from dataclasses import dataclass

from pdf_ocr_pipeline.bpmn import geometry as g
from pdf_ocr_pipeline.bpmn.primitives import Prim
from pdf_ocr_pipeline.bpmn.recognise.shapes import Shape


@dataclass
class Connector:
    type: str
    points: list[g.Point]
    source: Shape | None = None
    target: Shape | None = None
    confidence: float = 0.9
    id: str = ""
    label: str = ""
    label_box: g.Box | None = None


def _chains(lines: list[Prim], gap: float, join: float = 0.6,
            tips: tuple[g.Point, ...] = ()) -> list[tuple[list[g.Point], str]]:
    """Join open strokes end to end (same style); a gap of up to ``gap`` between collinear pieces makes a
    dash, so lines dashed by hand (separate segments) come out as one dashed chain."""
    items = [[list(p.points), p.dash, p.stroke] for p in lines]
    ends = [p.points[k] for p in lines for k in (0, -1)]
    blocked = {pt for pt in ends if sum(1 for q in ends if g.dist(pt, q) < max(join, 0.6)) > 2}
    blocked |= {pt for pt in ends for t in tips if g.dist(pt, t) < 1.5}
    changed = True
    while changed:
        changed = False
        for i in range(len(items)):
            if items[i] is None:
                continue
            a = items[i]
            for j in range(len(items)):
                if i == j or items[j] is None:
                    continue
                b = items[j]
                if a[2] != b[2] and (a[2] is None or b[2] is None or abs(a[2] - b[2]) > 0.2):
                    continue
                for a_end in (0, 1):
                    for b_end in (0, 1):
                        pa = a[0][-1] if a_end else a[0][0]
                        pb = b[0][-1] if b_end else b[0][0]
                        if pa in blocked or pb in blocked:
                            continue  # three or more ends meet, or an arrow tip: connectors end there
                        d = g.dist(pa, pb)
                        joined = d < join and a[1] == b[1] and not _doubles_back(a[0], a_end, b[0], b_end)
                        if not joined and d < gap and _collinear(a[0], a_end, b[0], b_end):
                            joined = True
                            # the joined chain keeps a broken style from either side (not just from ``a``)
                            a[1] = b[1] = "dashed" if a[1] == "solid" and b[1] == "solid" and d > 1.0 else \
                                (a[1] if a[1] != "solid" else b[1])
                        if joined:
                            pa_list = a[0] if a_end else a[0][::-1]
                            pb_list = b[0] if not b_end else b[0][::-1]
                            a[0] = pa_list + pb_list[1:] if d < 0.6 else pa_list + pb_list
                            items[j] = None
                            changed = True
                            break
                    if items[j] is None:
                        break
    return [(g.simplify_polyline(it[0]), it[1]) for it in items if it is not None]


#: the line's direction at an end is taken over this length (points): about an arrowhead's length (bpmn-js
#: 10-11 pt, bpmn-visualization 10 pt, MIWG tools 6-12 pt), past any hook a repeated end waypoint leaves
HEAD_REACH = 10.0


#: an arrowhead whose shortest side is under this share of the next has that side for its base (measured
#: shortest / next side: bpmn-visualization 0.63, the MIWG reference tool 0.89); where the two shortest are
#: equal (a head wider than long: its flanks are the shortest sides) the tip is told by the line's direction
NARROW_HEAD = 0.95


def _tip_along(vertices: list[g.Point], inward: g.Point, end: g.Point) -> tuple[g.Point, g.Point] | None:
    """An arrowhead's tip and base midpoint as seen from a line ending at ``end`` (coming from ``inward``): for
    a narrow head the vertex opposite the shortest side (``geometry.triangle_tip``), for a head about as wide
    as long (whose shortest side is a flank) the vertex farthest along the line's direction."""
    if len(vertices) != 3:
        return None
    sides = sorted(g.dist(vertices[i], vertices[(i + 1) % 3]) for i in range(3))
    n = g.dist(inward, end)
    if sides[0] < NARROW_HEAD * sides[1] or n < 1e-6:
        return g.triangle_tip(vertices)  # one side clearly the shortest: the base, and the tip opposite it
    u = ((end[0] - inward[0]) / n, (end[1] - inward[1]) / n)
    i = max(range(3), key=lambda k: vertices[k][0] * u[0] + vertices[k][1] * u[1])
    b, c = vertices[(i + 1) % 3], vertices[(i + 2) % 3]
    return vertices[i], ((b[0] + c[0]) / 2, (b[1] + c[1]) / 2)


def _inward(pts: list[g.Point], end: int, reach: float) -> g.Point:
    """The point ``reach`` along ``pts`` from its end ``end`` (0: first, 1: last), or its other end."""
    seq = pts[::-1] if end else pts
    left = reach
    for i in range(len(seq) - 1):
        d = g.dist(seq[i], seq[i + 1])
        if d >= left:
            t = left / d
            return (seq[i][0] + t * (seq[i + 1][0] - seq[i][0]), seq[i][1] + t * (seq[i + 1][1] - seq[i][1]))
        left -= d
    return seq[-1]


def _doubles_back(a: list[g.Point], a_end: int, b: list[g.Point], b_end: int, reach: float = 20.0) -> bool:
    """The strokes meet at their ends coming along the same straight line from the same side, for ``reach``
    points and more: two flows merged into one segment, cut apart at the T (``raster_merges``), end together
    at the shared arrowhead; joined, they would make one stroke that runs down the segment and back up it.
    One flow's pieces never double back (short bits of an outline beside a flow's end may)."""
    pa = a[-1] if a_end else a[0]
    for r in (0.5 * reach, reach):
        qa, qb = _inward(a, a_end, r), _inward(b, b_end, r)
        if g.dist(qa, qb) >= 1.5 or g.dist(qa, pa) < 0.9 * r:
            return False
    return True


def _collinear(a: list[g.Point], a_end: int, b: list[g.Point], b_end: int) -> bool:
    pa, qa = (a[-1], a[-2]) if a_end else (a[0], a[1])
    pb, qb = (b[-1], b[-2]) if b_end else (b[0], b[1])
    da = (pa[0] - qa[0], pa[1] - qa[1])
    db = (qb[0] - pb[0], qb[1] - pb[1])
    na, nb = g.dist(pa, qa), g.dist(pb, qb)
    if na < 0.3 or nb < 0.3:
        return False
    cos = (da[0] * db[0] + da[1] * db[1]) / (na * nb)
    link = (pb[0] - pa[0], pb[1] - pa[1])
    nl = g.dist(pa, pb)
    cos2 = (da[0] * link[0] + da[1] * link[1]) / (na * nl) if nl > 0 else 1.0
    return cos > 0.97 and cos2 > 0.9


def find_connectors(rest: list[Prim], shapes: list[Shape], *, tol: float = 7.0, join: float = 0.6,
                    loose: bool = False) -> list[Connector]:
    """Connectors among the leftover primitives.

    Args:
        rest: primitives not typed as shapes or markers.
        shapes: the page's shapes (ends snap to their outlines).
        tol: how far (points) an end may stop short of a shape.
        join: ends closer than this join into one stroke.
        loose: traced from an image: a stroke may end inside its arrowhead, and a headless solid stroke
            between two flow nodes is kept as a sequence flow.

    Returns:
        Connectors with waypoints from source to target: solid with a filled head = ``sequenceFlow``;
        dashed with an open head or a small circle at its start = ``messageFlow``; dotted = ``association``.
    """
    heads = [p for p in rest if p.closed and p.size < 14 and p.curves == 0 and
             len(g.polygon_vertices(p.points, 0.3)) == 3]
    dots = [p for p in rest if p.closed and p.curves >= 4 and p.size < 11 and _round(p)]
    vheads = [p for p in rest if not p.closed and p.size < 14 and _is_vee(g.simplify_polyline(p.points, 0.3))]
    lines = [p for p in rest if not p.closed and p not in vheads and p.stroke is not None]
    # strokes inside tasks, events or gateways are icons, not connectors
    small = [s for s in shapes if s.type not in ("participant", "lane", "subProcess", "group")
             and not s.expanded]
    lines = [p for p in lines if not any(g.contains(s.box, p.box, 0.5) for s in small)]
    out = []
    tips = tuple(q for t in (g.triangle_tip(g.polygon_vertices(h.points, 0.3)) for h in heads) if t for q in t)
    chains = [(pts, dash) for pts, dash in _chains(lines, gap=6.0, join=join, tips=() if loose else tips)
              if len(pts) >= 2 and sum(g.dist(pts[i], pts[i + 1]) for i in range(len(pts) - 1)) >= 8]
    # a tail circle belongs to the one line end nearest its centre (a dotted association may end beside the
    # circle of a message flow leaving the same event)
    owner = {id(d): min(((g.dist(g.center(d.box), pts[e]), ci, e) for ci, (pts, _) in enumerate(chains)
                         for e in (0, -1)), default=(0, None, None))[1:] for d in dots}
    for ci, (pts, dash) in enumerate(chains):
        head_at = {}
        for end, p in ((0, pts[0]), (1, pts[-1])):
            inward = _inward(pts, end, HEAD_REACH)  # not the last piece: a stroke may end in a tiny hook
            for h in heads:
                tip_base = _tip_along(g.polygon_vertices(h.points, 0.3), inward, p)
                if tip_base and (g.dist(tip_base[1], p) < 2.5 or g.dist(tip_base[0], p) < 2.5 or
                                 (g.point_polyline_distance(p, h.points) < 1.0 or
                                  (loose and g.point_in_polygon(p, h.points))) and g.dist(tip_base[0], p) < h.size):
                    head_at[end] = ("filled" if h.fill is not None and h.fill < 0.5 else "hollow", tip_base[0])
                    break
            else:
                for h in vheads:
                    vp = g.simplify_polyline(h.points, 0.3)
                    if g.dist(vp[1], p) < 2.5:
                        head_at[end] = ("v", vp[1])
                        break
        dot_at = {end for end, p in ((0, pts[0]), (1, pts[-1])) for d in dots
                  if owner[id(d)] == (ci, -end) and (g.point_polyline_distance(p, d.points) < 1.5
                                                    or g.dist(g.center(d.box), p) < d.size)}
        if _is_bracket(pts) and not head_at and not dot_at:
            continue
        if loose and dash == "dashed":
            # traced dashes: at low resolution a message flow's start circle and hollow head both fill in to
            # blobs; which is which is told by how the blob lies along the line (``_dash_end``)
            for e in (0, 1):
                what, tip = _dash_end(pts, e, heads)
                if what == "dot":
                    dot_at.add(e)
                    head_at.pop(e, None)
                elif what == "head":
                    head_at[e] = ("hollow", tip)
                    pts = pts[:-1] + [tip] if e else [tip] + pts[1:]
            if 1 in dot_at and 0 not in dot_at and 0 not in head_at:
                pts, dot_at, head_at = pts[::-1], {0}, {1 - e: h for e, h in head_at.items()}
        if not head_at and dot_at == {1}:
            pts, dot_at = pts[::-1], {0}  # a headless line runs from its tail circle
        if 0 in head_at and 1 not in head_at:
            pts = pts[::-1]
            head_at = {1: head_at[0]}
            dot_at = {1 - e for e in dot_at}
        if 1 in head_at:
            pts = pts[:-1] + [head_at[1][1]] if g.dist(pts[-1], head_at[1][1]) < 14 else pts
        head = head_at[1][0] if 1 in head_at else None
        if dash != "solid" or dot_at:
            # message flows: a circle at the start or a hollow triangle head (dashed or dotted, by tool);
            # a dashed line with a V head is also read as a message flow, a dotted one as an association
            kind = "messageFlow" if dot_at or head == "hollow" or (dash == "dashed" and (head == "v" or loose)) \
                else "association"
        else:
            kind = "sequenceFlow" if 1 in head_at else "association"
        src, tgt = _snap(pts[0], shapes, tol, kind), _snap(pts[-1], shapes, tol, kind)
        if loose and dash != "solid":
            if src is None or tgt is None or src is tgt:
                continue  # traced dashes that do not link two shapes: a group's edge, leftover fragments
            if kind == "messageFlow" and not dot_at and head is None and \
                    any(s.type in _ARTIFACTS for s in (src, tgt)):
                kind = "association"
        if kind == "association" and dash == "dashed" and not loose:
            # a dashed line between two pools whose head and tail went unseen (its end short of the border by
            # the head's length): a message flow
            ms, mt = (_snap(q, shapes, 1.5 * tol, "messageFlow") for q in (pts[0], pts[-1]))
            if ms is not None and mt is not None and not any(s.type in _ARTIFACTS for s in (ms, mt)) and \
                    _pool(ms) is not _pool(mt):
                kind, src, tgt = "messageFlow", ms, mt
        if kind == "association" and dash == "solid" and not head_at:
            if not (loose and src is not None and tgt is not None and src is not tgt and
                    all(_flow_node(s) for s in (src, tgt))):
                continue  # a stray line (a group's edge, a table rule)
            # an image may lose a head that touches its shape: a solid line between two flow nodes is a
            # sequence flow, directed away from a start event / into an end event, else left to right
            kind = "sequenceFlow"
            if _backwards(src, tgt, pts):
                pts, src, tgt = pts[::-1], tgt, src
        c = Connector(kind, pts, confidence=0.95 if head_at else 0.6)
        c.source, c.target = src, tgt
        out.append(c)
    return out


#: a message flow's tail circle: the outline's farthest point from the box centre, taken per direction (12
#: sectors), varies by at most this ratio round it (a circle or an outlined ring 0.94; an outlined triangle or
#: open V head, curved too by its round joins, 0.6 and less on bpmn-js renders)
TAIL_ROUND = 0.85


def _round(p: Prim, sectors: int = 12) -> bool:
    """A small closed outline that is a circle or a ring (a message flow's start circle), not an outlined
    arrowhead whose round joins make it curved too."""
    import math
    b = p.box
    w, h = g.width(b), g.height(b)
    if abs(w - h) > 0.15 * max(w, h):
        return False
    c = g.center(b)
    far = [0.0] * sectors
    for q in p.points:
        k = int((math.atan2(q[1] - c[1], q[0] - c[0]) + math.pi) / (2 * math.pi) * sectors) % sectors
        far[k] = max(far[k], g.dist(c, q))
    return min(far) >= TAIL_ROUND * max(far) > 0


_ARTIFACTS = ("textAnnotation", "dataObject", "dataStore", "dataObjectReference", "dataStoreReference")


def _dash_end(pts: list[g.Point], end: int, heads: list[Prim]) -> tuple[str | None, g.Point]:
    """What ends a traced dashed line: the blobs just past its end (``heads``: filled triangles, which is
    what a small hollow head or start circle fills in to at low resolution). A blob pointing along the line
    is (part of) a head, and the end moves to the farthest blob point; blobs pointing across it are the
    start circle (a filled-in circle's enclosing triangle points anywhere)."""
    a, b = (pts[1], pts[0]) if end == 0 else (pts[-2], pts[-1])
    n = g.dist(a, b)
    if n <= 0:
        return None, b
    u = ((b[0] - a[0]) / n, (b[1] - a[1]) / n)
    near, along = [], False
    for h in heads:
        vs = g.polygon_vertices(h.points, 0.3)
        pr = [((q[0] - b[0]) * u[0] + (q[1] - b[1]) * u[1], abs(-(q[0] - b[0]) * u[1] + (q[1] - b[1]) * u[0]))
              for q in vs]
        if not pr or min(t for t, _ in pr) > 6.0 or max(t for t, _ in pr) < -2.0 or max(l for _, l in pr) > 6.0:
            continue
        near.append(max(t for t, _ in pr))
        tb = g.triangle_tip(vs)
        if tb:
            v = (tb[0][0] - tb[1][0], tb[0][1] - tb[1][1])
            nv = g.dist(*tb)
            along |= nv > 0 and abs(u[0] * v[0] + u[1] * v[1]) / nv > 0.8
    if not near:
        return None, b
    if along:
        t = max(0.0, max(near))
        return "head", (b[0] + t * u[0], b[1] + t * u[1])
    return "dot", b


def _pool(s: Shape) -> Shape | None:
    """The pool a shape lies in (itself for a pool), or None."""
    while s is not None and s.type != "participant":
        s = s.parent
    return s


def _flow_node(s: Shape) -> bool:
    return s.type.endswith(("Event", "Gateway", "Task")) or s.type in ("task", "subProcess", "callActivity")


def _backwards(src: Shape, tgt: Shape, pts: list[g.Point]) -> bool:
    if src.type == "endEvent" or tgt.type == "startEvent":
        return True
    if src.type == "startEvent" or tgt.type == "endEvent":
        return False
    dx, dy = pts[-1][0] - pts[0][0], pts[-1][1] - pts[0][1]
    return dx < 0 if abs(dx) >= abs(dy) else dy < 0


def _is_vee(pts: list[g.Point]) -> bool:
    """An open arrowhead: two arms of about one length meeting at a sharp apex (not a rounded corner)."""
    if len(pts) != 3:
        return False
    a, b, c = pts
    la, lc = g.dist(a, b), g.dist(c, b)
    if la < 2 or lc < 2 or max(la, lc) > 1.6 * min(la, lc):
        return False
    cos = ((a[0] - b[0]) * (c[0] - b[0]) + (a[1] - b[1]) * (c[1] - b[1])) / (la * lc)
    return cos > -0.2  # apex angle under about 100 degrees


def _is_bracket(pts: list[g.Point]) -> bool:
    if len(pts) != 4:
        return False
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = pts
    return abs(y0 - y1) < 0.5 and abs(x1 - x2) < 0.5 and abs(y2 - y3) < 0.5 and abs(x0 - x3) < 1 and \
        g.dist((x0, y0), (x1, y1)) < max(0.5 * abs(y2 - y1), min(16.0, 0.8 * abs(y2 - y1)))


def brackets(rest: list[Prim]) -> list[g.Box]:
    """Text annotation brackets ``[``: open three-segment strokes, the vertical side left (or right)."""
    out = []
    for p in rest:
        if p.closed or p.stroke is None:
            continue
        pts = g.simplify_polyline(p.points, 0.5)
        if _is_bracket(pts) and g.height(p.box) > 10:
            out.append(p.box)
    return out


def _border_distance(p: g.Point, s: Shape) -> float:
    if s.type.endswith("Event"):
        return g.point_ellipse_border_distance(p, s.box)
    if s.type.endswith("Gateway"):
        return g.point_diamond_border_distance(p, s.box)
    return g.point_box_border_distance(p, s.box)


def _snap(p: g.Point, shapes: list[Shape], tol: float, kind: str) -> Shape | None:
    best = None
    for s in shapes:
        if s.type == "lane" or s.type == "participant" and kind not in ("messageFlow", "association"):
            continue  # a sequence flow never ends on a pool; a message flow or an annotation's association may
        d = _border_distance(p, s)
        if d > tol:
            continue
        # prefer the nearest outline; among equals the smaller shape (a task over its pool)
        score = (round(d / 2.0), g.area(s.box))
        if best is None or score < best[0]:
            best = (score, s)
    return best[1] if best else None
