"""From typed outlines to a BPMN structure: markers, pools and lanes, containment, boundary events.

Shared by the vector and raster paths. Works on ``Shape``s and the primitives left over after ``classify``.
"""

from __future__ import annotations

from pdf_ocr_pipeline.bpmn import geometry as g
from pdf_ocr_pipeline.bpmn.primitives import Prim
from pdf_ocr_pipeline.bpmn.recognise.shapes import Shape

CONTAINERS = ("participant", "lane", "subProcess")


#: pieces of one edge drawn apart and meeting end to end are joined across at most this gap (points):
#: bpmn-visualization draws a pool or lane as two open three-sided outlines, its header band's and its body's,
#: whose top and bottom edges meet where the header ends (measured: they meet exactly, gap 0)
EDGE_JOIN_GAP = 1.5
#: the widest header band of a pool or lane (points; MIWG, EA, bpmn-js and bpmn-visualization draw 20-30).
#: Only a piece this short joins the next: a header's edge meets its body's, while lanes side by side, whose
#: edges also meet end to end, stay apart
HEADER_BAND_MAX = 60.0
#: the least height of a rectangle drawn as strokes: a collapsed pool (bpmn-visualization draws them 34-42 pt
#: high over the hdBPMN models; ``_collapsed_pools`` decides whether it is one)
RECT_MIN_HEIGHT = 15.0


def _axis_piece(a: g.Point, b: g.Point) -> bool:
    return abs(a[0] - b[0]) < 0.5 or abs(a[1] - b[1]) < 0.5


def axis_segments(prims: list[Prim]) -> tuple[list[Prim], list[Prim]]:
    """The straight horizontal and vertical pieces of open strokes, one two-point ``Prim`` each, ordered left
    to right or top to bottom; and, second, where collinear pieces meet end to end, the segments they make
    (the pieces are kept as well: a lane's side ends where the next lane's begins).

    A stroke counts when it is straight throughout and every piece is axis-aligned: a lone line, or an open
    polyline such as three sides of a rectangle. Strokes with a slanted piece (arrowheads, icons) do not.
    """
    pieces = []
    for p in prims:
        if p.closed or p.curves or len(p.points) < 2:
            continue
        pairs = list(zip(p.points, p.points[1:]))
        if len(p.points) > 2 and not all(_axis_piece(a, b) for a, b in pairs):
            continue
        for a, b in pairs:
            a, b = min(a, b, key=lambda q: (q[0], q[1])), max(a, b, key=lambda q: (q[0], q[1]))
            pieces.append(Prim(points=(a, b), closed=False, curves=0, lines=1, stroke=p.stroke, fill=None,
                               width=p.width, dash=p.dash, order=p.order))
    hs = [q for q in pieces if abs(q.points[0][1] - q.points[1][1]) < 0.5]
    vs = [q for q in pieces if abs(q.points[0][0] - q.points[1][0]) < 0.5 <= abs(q.points[0][1] - q.points[1][1])]
    return pieces, _join(hs, axis=0) + _join(vs, axis=1)


def _join(segs: list[Prim], axis: int) -> list[Prim]:
    """Each pair of collinear segments (``axis`` 0: horizontal, 1: vertical) where one begins where the other
    ends and one of the two is no longer than a header band, as one segment."""
    across = 1 - axis
    out: list[Prim] = []
    for a in segs:
        for b in segs:
            if b is a or min(a.size, b.size) > HEADER_BAND_MAX or \
                    abs(a.points[0][across] - b.points[0][across]) >= 0.5 or \
                    not -0.5 <= b.points[0][axis] - a.points[1][axis] <= EDGE_JOIN_GAP:
                continue
            out.append(Prim(points=(a.points[0], b.points[1]), closed=False, curves=0, lines=1, stroke=a.stroke,
                            fill=None, width=a.width, dash=a.dash, order=a.order))
    return out


def rects_from_lines(rest: list[Prim]) -> list[Prim]:
    """Sharp rectangles drawn as separate straight strokes (some tools draw pools and lanes that way: as lone
    lines, or as open three-sided outlines whose edges meet end to end; see ``axis_segments``).

    Long horizontal strokes pair up into top and bottom edges when a vertical stroke joins their left ends.
    """
    pieces, joined = axis_segments(rest)
    segs = pieces + joined
    assembled = {id(q) for q in joined}
    hs = [p for p in segs if abs(p.points[0][1] - p.points[1][1]) < 0.5 and g.width(p.box) > 100]
    vs = [p for p in segs if abs(p.points[0][0] - p.points[1][0]) < 0.5 and g.height(p.box) > RECT_MIN_HEIGHT]
    out, edges = [], []
    seen = set()
    for top in hs:
        for bot in hs + _pieced_bottoms(top, segs, vs):
            if bot.box[1] <= top.box[1] + RECT_MIN_HEIGHT or abs(bot.box[0] - top.box[0]) > 2 or abs(bot.box[2] - top.box[2]) > 2:
                continue
            left = [v for v in vs if abs(v.box[0] - top.box[0]) < 2 and abs(v.box[1] - top.box[1]) < 2
                    and abs(v.box[3] - bot.box[1]) < 2]
            if not left:
                continue
            key = (round(top.box[0]), round(top.box[1]), round(bot.box[1]))
            if key in seen:
                continue
            # the nearest bottom edge only: rectangles stacked along a shared edge stay separate
            between = [h for h in hs if top.box[1] + 2 < h.box[1] < bot.box[1] - 2 and abs(h.box[0] - top.box[0]) < 2
                       and any(abs(v.box[0] - top.box[0]) < 2 and abs(v.box[3] - h.box[1]) < 2 for v in vs)]
            if between:
                continue
            seen.add(key)
            b = (top.box[0], top.box[1], top.box[2], bot.box[1])
            pts = ((b[0], b[1]), (b[2], b[1]), (b[2], b[3]), (b[0], b[3]), (b[0], b[1]))
            out.append(Prim(points=pts, closed=True, curves=0, lines=4, stroke=0.0 if top.stroke is None else top.stroke, fill=None,
                            width=top.width, dash="solid", order=top.order))
            edges.append(any(id(e) in assembled for e in (top, bot, left[0])))
    # an outline assembled from a header band's edges and a body's also yields the body alone: not a lane,
    # unless it is itself assembled so (a lane nested in another, with a header band of its own)
    wholes = [r.box for r, joined_edge in zip(out, edges) if joined_edge]
    return [r for r, joined_edge in zip(out, edges)
            if joined_edge or not any(header_cut_off(r.box, w) for w in wholes if w != r.box)]


def header_cut_off(body: g.Box, whole: g.Box) -> bool:
    """``body`` is ``whole`` less a header band: three edges shared, the fourth a header band's width in."""
    same = [abs(a - b) < 2 for a, b in zip(body, whole)]
    if sum(same) != 3:
        return False
    i = same.index(False)
    return 2 <= abs(body[i] - whole[i]) <= HEADER_BAND_MAX and g.contains(whole, body, 2.0)


def on_outline(p: Prim, rects: list[Prim], tol: float = 1.0) -> bool:
    """An open straight polyline (three sides or more pieces) lying wholly on one rectangle's border: a part
    of that rectangle's drawing, not a connector or a text annotation's bracket."""
    if p.closed or p.curves or len(p.points) < 3:
        return False
    for r in rects:
        b = r.box
        if all(_on_border(a, c, b, tol) for a, c in zip(p.points, p.points[1:])):
            return True
    return False


def _on_border(a: g.Point, c: g.Point, b: g.Box, tol: float) -> bool:
    xs, ys = (a[0], c[0]), (a[1], c[1])
    within_x = min(xs) >= b[0] - tol and max(xs) <= b[2] + tol
    within_y = min(ys) >= b[1] - tol and max(ys) <= b[3] + tol
    on_h = any(abs(y - e) < tol for y in ys for e in (b[1], b[3])) and abs(ys[0] - ys[1]) < 0.5
    on_v = any(abs(x - e) < tol for x in xs for e in (b[0], b[2])) and abs(xs[0] - xs[1]) < 0.5
    return within_x and within_y and (on_h or on_v)


def _pieced_bottoms(top: Prim, rest: list[Prim], vs: list[Prim]) -> list[Prim]:
    """Bottom edges drawn in pieces: a pool whose lanes lie side by side, each lane closing its own part.

    Where strokes at both ends of ``top`` run down to the same height and collinear strokes there cover the
    whole span, a stroke across that span stands in for the bottom edge.
    """
    x0, y0, x1 = top.box[0], top.box[1], top.box[2]
    out = []
    if all(any(abs(v.box[0] - x) < 2 and v.box[1] < y0 - 2 and v.box[3] > y0 + 40 for v in vs) for x in (x0, x1)):
        return out  # a divider inside a taller rectangle (under a pool's header band), not a top edge
    for v in vs:
        if abs(v.box[0] - x0) >= 2 or abs(v.box[1] - y0) >= 2:
            continue
        yb = v.box[3]
        if not any(abs(w.box[0] - x1) < 2 and abs(w.box[1] - y0) < 2 and abs(w.box[3] - yb) < 2 for w in vs):
            continue
        segs = sorted((p.box[0], p.box[2]) for p in rest if not p.closed and len(p.points) == 2
                      and abs(p.box[1] - yb) < 1 and abs(p.box[3] - yb) < 1 and p.box[2] > x0 - 2 and p.box[0] < x1 + 2)
        if len(segs) < 2 or any(abs(a - x0) < 2 and abs(b - x1) < 2 for a, b in segs):
            continue  # a single full-width stroke is an ordinary bottom edge
        reach = x0
        for a, b in segs:
            if a > reach + 2:
                break
            reach = max(reach, b)
        if reach >= x1 - 2:
            out.append(Prim(points=((x0, yb), (x1, yb)), closed=False, curves=0, lines=1, stroke=top.stroke,
                            fill=None, width=top.width, dash="solid", order=top.order))
    return out


def _inside(p: Prim, s: Shape, tol: float = 1.0) -> bool:
    return g.contains(s.box, p.box, tol)


#: the largest marker or icon inside an activity, points (task type icons and bottom markers: 10-20)
ICON_MAX = 30.0


def refine(shapes: list[Shape], rest: list[Prim]) -> list[Shape]:
    """Markers, gateway kinds, event icons, sub-processes, pools/lanes, parents and boundary events.

    Primitives consumed as markers or icons are removed from ``rest`` (in place).
    """
    _subprocesses(shapes)
    thin = _thin_of(shapes)
    consumed: set[int] = set()
    small = [(i, p) for i, p in enumerate(rest) if p.size < ICON_MAX]
    for s in shapes:
        # a gateway's or event's icon scales with it (hdBPMN's sketched sizes: gateways up to 80 pt, their
        # event-based rings 31 pt); an activity's markers stay small
        pool = list(enumerate(rest)) if s.type.endswith(("Gateway", "Event")) else small
        inner = [(i, p) for i, p in pool if i not in consumed and _inside(p, s) and p.size < 0.9 * max(
            g.width(s.box), g.height(s.box))]
        if s.type.endswith("Gateway"):
            s.type = _gateway_kind(s, [p for _, p in inner])
            consumed.update(i for i, _ in inner)
        elif s.type.endswith("Event"):
            s.event_definition = s.event_definition or _event_icon(s, [p for _, p in inner])
            if s.event_definition and any(p.fill is not None and p.fill < 0.3 and p.size > 0.3 * g.width(s.box)
                                          for _, p in inner) and s.type == "intermediateCatchEvent":
                s.type = "intermediateThrowEvent"
            consumed.update(i for i, _ in inner)
        elif s.type == "task":
            bottom = [(i, p) for i, p in inner if p.box[1] > s.box[1] + 0.6 * g.height(s.box)]
            if any(_marker_square(p) for _, p in bottom):
                s.markers.append("collapsed")
            consumed.update(i for i, p in inner if p.size < 0.5 * g.height(s.box))
        if s.type in ("task", "subProcess") and s.prim is not None and s.prim.stroke is not None and \
                s.prim.width >= 1.8 * thin:
            s.expanded = s.type == "subProcess"
            s.type = "callActivity"  # a thick border: a call activity, collapsed or expanded
    rest[:] = [p for i, p in enumerate(rest) if i not in consumed]
    for s in shapes:
        if s.type == "task" and "collapsed" in s.markers:
            s.type = "subProcess"
    _pools_and_lanes(shapes, rest)
    _collapsed_pools(shapes, rest)
    _parents(shapes)
    _boundary(shapes)
    return shapes


def _marker_square(p: Prim) -> bool:
    """The collapsed sub-process marker's frame: a small closed square, sharp or with rounded corners
    (bpmn-visualization). Rounded, it still reaches near each corner of its box (a corner radius of up to a
    third of the side leaves 0.15 of it), which a circle (a loop marker) does not (0.21)."""
    if not (p.closed and 6 < p.size < 16 and abs(g.width(p.box) - g.height(p.box)) < 2):
        return False
    if p.curves == 0:
        return True
    b = p.box
    return all(min(g.dist(c, q) for q in p.points) <= 0.15 * p.size
               for c in ((b[0], b[1]), (b[2], b[1]), (b[2], b[3]), (b[0], b[3])))


def _thin_of(shapes: list[Shape]) -> float:
    ws = sorted(s.prim.width for s in shapes if s.type == "task" and s.prim is not None and s.prim.stroke is not None
                and s.prim.dash == "solid")
    return ws[len(ws) // 4] if ws else 1.0


def _gateway_kind(s: Shape, inner: list[Prim]) -> str:
    if not inner:
        return "exclusiveGateway"
    cx, cy = g.center(s.box)
    circles = [p for p in inner if p.curves >= 4 and g.is_circle(p.points, 0.1)]
    if circles:
        poly = [p for p in inner if p.curves == 0 and p.closed]
        return "eventBasedGateway" if len(circles) >= 2 or poly else "inclusiveGateway"
    ratios = []
    for p in inner:
        for x, y in p.points:
            dx, dy = abs(x - cx), abs(y - cy)
            if max(dx, dy) > 0.08 * g.width(s.box):
                ratios.append(min(dx, dy) / max(dx, dy))
    if not ratios:
        return "exclusiveGateway"
    mean = sum(ratios) / len(ratios)
    if mean > 0.6:
        return "exclusiveGateway"
    if any(p.size > 0.3 * g.width(s.box) and abs(g.width(p.box) - g.height(p.box)) < 0.3 * p.size for p in inner) \
            and sum(1 for r in ratios if r < 0.3) >= 0.6 * len(ratios):
        # a plus, or an asterisk for a complex gateway
        return "parallelGateway" if all(r < 0.35 for r in ratios) else "complexGateway"
    return "exclusiveGateway"


def _event_icon(s: Shape, inner: list[Prim]) -> str | None:
    if not inner:
        return None
    big = max(inner, key=lambda p: g.width(p.box) * g.height(p.box))
    w, h = g.width(big.box), g.height(big.box)
    verts = g.polygon_vertices(big.points, 0.3)
    if big.closed and big.curves == 0 and g.is_axis_rect(verts, 0.6) and w > h * 1.15:
        return "message"
    if big.closed and big.curves == 0 and len(verts) == 3:
        return "signal"
    if big.closed and big.curves == 0 and len(verts) == 7:
        return "link"
    if big.closed and big.curves == 0 and len(verts) == 5:
        return "multiple"
    if big.closed and big.curves == 0 and len(verts) == 4 and not g.is_axis_rect(verts, 0.6):
        return "escalation" if h > w else "conditional"
    return None


def _subprocesses(shapes: list[Shape]) -> None:
    for s in shapes:
        if s.type != "task":
            continue
        kids = [t for t in shapes if t is not s and g.contains(s.box, t.box, 1.0) and t.type != "lane"
                and g.area(t.box) < 0.7 * g.area(s.box)]
        if kids:
            s.type = "subProcess"


def _pools_and_lanes(shapes: list[Shape], rest: list[Prim]) -> None:
    rects = [s for s in shapes if s.type == "lane"]
    for s in rects:
        # a header band: a vertical stroke or a rectangle at the left, spanning the full height
        for p in rest + [r.prim for r in shapes if r.prim is not None and r is not s]:
            b = p.box
            if abs(b[1] - s.box[1]) < 2 and abs(b[3] - s.box[3]) < 2 and s.box[0] + 8 < b[2] < s.box[0] + HEADER_BAND_MAX and \
                    b[0] >= s.box[0] - 1 and g.width(b) < HEADER_BAND_MAX:
                s.header = (s.box[0], s.box[1], b[2], s.box[3])
                break
            # a vertical pool (lanes side by side): the header band across the top
            if abs(b[0] - s.box[0]) < 2 and abs(b[2] - s.box[2]) < 2 and s.box[1] + 8 < b[3] < s.box[1] + HEADER_BAND_MAX and \
                    b[1] >= s.box[1] - 1 and g.height(b) < HEADER_BAND_MAX and g.width(s.box) < 1.5 * g.height(s.box):
                s.header = (s.box[0], s.box[1], s.box[2], b[3])
                break
    for s in rects:
        outer = [r for r in rects if r is not s and g.contains(r.box, s.box, 2.0) and g.area(r.box) > g.area(s.box)]
        if s.header is not None and not outer:
            s.type = "participant"
    for s in rects:
        if s.type != "lane":
            continue
        pools = [r for r in rects if r.type == "participant" and g.contains(r.box, s.box, 2.0)]
        stacked = [r for r in rects if r is not s and r.type == "lane" and (
            abs(r.box[1] - s.box[3]) < 2 or abs(r.box[3] - s.box[1]) < 2) and abs(r.box[0] - s.box[0]) < 3]
        if not pools and not stacked:
            s.type = "participant"
        if s.header is None:
            top = any(r.header is not None and g.width(r.header) == g.width(r.box) for r in pools)
            s.header = (s.box[0], s.box[1], s.box[2], s.box[1] + 22) if top else \
                (s.box[0], s.box[1], s.box[0] + 22, s.box[3])
    # drop header rectangles that were typed as shapes themselves
    for s in list(shapes):
        if s.type in ("participant", "lane") and g.width(s.box) < 60:
            shapes.remove(s)


#: a collapsed (black-box) pool: a sharp rectangle at least this long ...
COLLAPSED_LONG = 120.0
#: ... this many times as long as it is thick (its name runs along it, or in a strip at its start) ...
COLLAPSED_ASPECT = 3.0
#: ... and at least this thick (points): thinner bands are rules and separators
COLLAPSED_THICK = 15.0


def _collapsed_pools(shapes: list[Shape], rest: list[Prim]) -> None:
    """Pools drawn collapsed (black boxes): a long, thin, sharp, stroked rectangle (horizontal or vertical)
    that holds no shapes, lies in no other shape and overlaps no pool or lane. Too thin to have been typed
    as a lane; its name is written inside, so the whole box is its header. Taken out of ``rest`` (in place).
    """
    taken = set()
    for i, p in enumerate(rest):
        if not p.closed or p.curves or p.stroke is None or p.dash != "solid":
            continue
        b = p.box
        long_, thick = max(g.width(b), g.height(b)), min(g.width(b), g.height(b))
        if long_ < COLLAPSED_LONG or thick < COLLAPSED_THICK or long_ < COLLAPSED_ASPECT * thick:
            continue
        if not g.is_axis_rect(g.polygon_vertices(p.points, max(0.4, 0.02 * p.size)), tol=max(1.0, 0.03 * long_)):
            continue
        if any(g.intersection(s.box, b) > 0.02 * g.area(b) for s in shapes) or any(
                j != i and q.closed and q.size > 0.5 * thick and g.contains(b, q.box, 1.0) for j, q in enumerate(rest)):
            continue  # holds or overlaps shapes, or other outlines (a table, a legend): not a black box
        s = Shape("participant", b, p, confidence=0.8)
        s.header = b
        shapes.append(s)
        taken.add(i)
    rest[:] = [p for i, p in enumerate(rest) if i not in taken]


def nest(shapes: list[Shape]) -> None:
    """Parents (the innermost pool, lane or sub-process holding each shape) and boundary events, for shapes that
    came from elsewhere than ``refine`` (the trained detector)."""
    _parents(shapes)
    _boundary(shapes)
    _header_bands(shapes)


#: a pool's or lane's header band, where nothing it holds marks its end, is at most this share of its length
HEADER_MAX_SHARE = 0.25


def _header_bands(shapes: list[Shape]) -> None:
    """Header bands for pools and lanes that have none (the detector draws no band): the strip from the left
    edge to the first thing the pool or lane holds (its lanes, or its flow nodes), where the name stands; across
    the top where its lanes stand side by side. A pool that holds nothing has its name anywhere inside; one whose
    shapes are nested elsewhere (the detector's boxes overlap) gets no band.

    ``HEADER_MAX_SHARE`` caps a band that nothing inside ends early (0.25: bpmn-js and bpmn-visualization draw
    bands of 30 points on pools 600 and more long; not tuned)."""
    for s in shapes:
        if s.type not in ("participant", "lane") or s.header is not None:
            continue
        x0, y0, x1, y1 = s.box
        kids = [t for t in shapes if t.parent is s]
        if not kids:
            if s.type == "participant" and not any(
                    t is not s and g.contains_point(s.box, g.center(t.box), 0) for t in shapes):
                s.header = (x0, y0, x1, y1)  # a black box: ``labels.attach_labels`` names it by its central block
            continue
        left = min(t.box[0] for t in kids) - x0
        top = min(t.box[1] for t in kids) - y0
        if all(t.type == "lane" for t in kids) and top > left:  # a vertical pool: lanes side by side
            s.header = (x0, y0, x1, y0 + min(top, HEADER_MAX_SHARE * (y1 - y0)))
        elif left > 0:
            s.header = (x0, y0, x0 + min(left, HEADER_MAX_SHARE * (x1 - x0)), y1)


def _parents(shapes: list[Shape]) -> None:
    for s in shapes:
        best = None
        for c in shapes:
            if c is s or c.type not in CONTAINERS or g.area(c.box) <= g.area(s.box):
                continue
            if s.type in ("participant", "lane") and c.type == "subProcess":
                continue
            if g.contains(c.box, s.box, 3.0) or (s.type.endswith("Event") and g.contains_point(c.box, g.center(s.box))):
                if best is None or g.area(c.box) < g.area(best.box):
                    best = c
        s.parent = best


def _boundary(shapes: list[Shape]) -> None:
    acts = [s for s in shapes if s.type in ("task", "subProcess", "callActivity")]
    for s in shapes:
        if s.type not in ("intermediateCatchEvent", "intermediateThrowEvent"):
            continue
        c = g.center(s.box)
        r = g.width(s.box) / 2
        for a in acts:
            if g.point_box_border_distance(c, a.box) < 0.6 * r and g.contains_point(a.box, c, r):
                s.type = "boundaryEvent"
                s.parent = a
                break
