"""Shapes from primitives: events, gateways, activities, pools and lanes, data, annotations.

Shared by the vector path (primitives from the PDF's drawings) and the raster path (primitives traced from
contours): both hand over ``Prim``s, this module types them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pdf_ocr_pipeline.bpmn import geometry as g
from pdf_ocr_pipeline.bpmn.primitives import Prim


@dataclass
class Shape:
    """A shape being recognised (mutable while the page is worked on; frozen into ``BpmnElement`` later)."""

    type: str
    box: g.Box
    prim: Prim | None = None
    parent: "Shape | None" = None
    event_definition: str | None = None
    markers: list[str] = field(default_factory=list)
    header: g.Box | None = None     # pools and lanes: the band that holds the name
    confidence: float = 0.9
    id: str = ""
    label: str = ""
    label_box: g.Box | None = None
    expanded: bool = False          # a call activity drawn open, its children inside


#: most Bezier segments of a rounded rectangle whose corners are one curve each (MIWG and EA tools: 4-8)
ROUND_RECT_CURVES = 8
#: a straight side of a rounded rectangle spans at least this share of its bounding box's side; sets apart
#: outlines whose corner arcs are split into many Beziers (Chromium prints bpmn-js's arcs as 8 each: 32 curves,
#: sides 70-85 % of the box) from cylinders (straight only left and right) and circles (no straight side)
SIDE_SHARE = 0.35


def _straight_sides(p: Prim) -> set[int]:
    """Which of the bounding box's sides (0 left, 1 top, 2 right, 3 bottom) hold a long straight segment."""
    b = p.box
    tol = 0.5 + 0.01 * p.size
    found = set()
    for (x0, y0), (x1, y1) in zip(p.points, p.points[1:]):
        if abs(y0 - y1) <= tol and abs(x1 - x0) >= SIDE_SHARE * g.width(b):
            for side, y in ((1, b[1]), (3, b[3])):
                if abs(y0 - y) <= tol and abs(y1 - y) <= tol:
                    found.add(side)
        if abs(x0 - x1) <= tol and abs(y1 - y0) >= SIDE_SHARE * g.height(b):
            for side, x in ((0, b[0]), (2, b[2])):
                if abs(x0 - x) <= tol and abs(x1 - x) <= tol:
                    found.add(side)
    return found


def _is_round_rect(p: Prim) -> bool:
    if not p.closed or p.curves < 2 or p.lines < 2:
        return False
    sides = _straight_sides(p)
    if p.curves > ROUND_RECT_CURVES and len(sides) < 4:
        return False
    if sides == {0, 2}:
        return False  # straight only left and right: a cylinder (data store)
    b = p.box
    if g.width(b) < 15 or g.height(b) < 12:
        return False
    # the points hug the bounding box (a rounded rectangle), unlike a circle or cylinder
    near = sum(1 for x, y in p.points if min(abs(x - b[0]), abs(x - b[2]), abs(y - b[1]), abs(y - b[3])) < 0.12 * min(g.width(b), g.height(b)))
    return near >= 0.8 * len(p.points)


def _vertices(p: Prim) -> list[g.Point]:
    return g.polygon_vertices(p.points, eps=max(0.4, 0.02 * p.size))


def classify(prims: list[Prim]) -> tuple[list[Shape], list[Prim]]:
    """Type the closed outlines; return the shapes and the primitives left over (connectors, markers, icons).

    Concentric circles make one event (two rings: intermediate; thick ring: end; else start); diamonds are
    gateways; rounded rectangles activities; large sharp rectangles pools or lanes; a page-wide frame is
    ignored.
    """
    shapes: list[Shape] = []
    rest: list[Prim] = []
    circles: list[Prim] = []
    for p in prims:
        b = p.box
        w, h = g.width(b), g.height(b)
        if not p.closed or p.stroke is None and p.fill is None:
            rest.append(p)
            continue
        if p.fill is not None and p.fill > 0.97 and p.stroke is None:
            continue  # white label backgrounds and page fills
        if p.curves >= 4 and p.lines == 0 and abs(w - h) < 0.15 * max(w, h) and g.is_circle(p.points, 0.08):
            circles.append(p)
            continue
        verts = _vertices(p)
        if p.curves == 0 and g.is_diamond(verts) and 12 <= max(w, h) <= 90:
            shapes.append(Shape("exclusiveGateway", b, p))
        elif _is_round_rect(p):
            # dashed and unfilled: a group; dotted: an event sub-process's border (an activity)
            shapes.append(Shape("group" if p.dash == "dashed" and p.fill is None else "task", b, p))
        elif p.curves == 0 and g.is_axis_rect(verts, tol=max(1.0, 0.03 * max(w, h))) and w > 120 and h > 45:
            shapes.append(Shape("lane", b, p))
        elif p.curves == 0 and _dog_eared(verts) and 10 < w < 80 and 14 < h < 100 and h > 0.9 * w:
            shapes.append(Shape("dataObjectReference", b, p))
        elif p.curves == 0 and _dog_eared(verts, folded=True) and FOLDED_MIN <= min(w, h) and max(w, h) < 80:
            shapes.append(Shape("dataObjectReference", b, p, confidence=0.8))
        elif (p.curves >= 4 or p.curves >= 2 and _straight_sides(p) == {0, 2}) and p.lines >= 1 and \
                15 < w < 120 and 12 < h < 120 and _cylinder(p):
            shapes.append(Shape("dataStoreReference", b, p))
        else:
            rest.append(p)
    shapes = _stacked_discs(shapes)
    shapes = _drop_icons(shapes, rest)
    gates = [s.box for s in shapes if s.type == "exclusiveGateway"]
    # circles inside a diamond are gateway icons (inclusive, event-based), not events
    rest.extend(c for c in circles if any(g.contains(gb, c.box, 1.0) for gb in gates))
    circles = [c for c in circles if not any(g.contains(gb, c.box, 1.0) for gb in gates)]
    # circles in an activity's top left corner are its type icon (bpmn-visualization's service-task gear: two
    # 15-16 pt rings), not events
    corners = [s.box for s in shapes if s.type == "task"]
    icons = [c for c in circles if c.size <= TASK_ICON_MAX and any(
        g.contains(tb, c.box, 1.0) and c.box[0] - tb[0] < TASK_ICON_MAX and c.box[1] - tb[1] < TASK_ICON_MAX
        for tb in corners)]
    rest.extend(icons)
    circles = [c for c in circles if c not in icons]
    # solid outlines only: an event sub-process's dotted border is drawn with dots of any size
    task_widths = sorted(s.prim.width for s in shapes if s.type == "task" and s.prim.stroke is not None
                         and s.prim.dash == "solid")
    shapes.extend(_events(circles, rest, task_widths[0] if task_widths else None))
    return shapes, rest


def _distinct(verts: list[g.Point], tol: float) -> list[g.Point]:
    """The vertices with revisits dropped (an outline that runs on into its fold passes corners twice)."""
    out: list[g.Point] = []
    for v in verts:
        if all(g.dist(v, u) > tol for u in out):
            out.append(v)
    return out


#: smallest side of a page with its fold drawn, any aspect, points (hdBPMN sketches drawn by bpmn-js at their
#: sketched size: 6 x 7.5 pt up to 28 x 24 pt; the drawn fold sets them apart, so neither size nor aspect must)
FOLDED_MIN = 5.0


def _drop_icons(shapes: list[Shape], rest: list[Prim]) -> list[Shape]:
    """Folded pages drawn inside an activity or event are its icon, not data objects of their own."""
    hosts = [s for s in shapes if s.type in ("task", "exclusiveGateway") and s.prim is not None]
    out = []
    for s in shapes:
        if s.type == "dataObjectReference" and s.confidence < 0.9 and s.prim is not None and \
                any(g.contains(h.box, s.box, 1.0) for h in hosts):
            rest.append(s.prim)
        else:
            out.append(s)
    return out


def _dog_eared(verts: list[g.Point], folded: bool = False) -> bool:
    """A page with one corner folded: 5 distinct vertices (outline only) or 6 (the fold drawn into the outline,
    also when the path closes and runs on to draw the fold: bpmn-js via Chromium), three corners of the bounding
    box present and the fourth cut off."""
    b = g.box_of(verts)
    tol = 0.06 * max(g.width(b), g.height(b)) + 0.3
    if len(verts) > 6:
        verts = _distinct(verts, tol)
    if len(verts) not in (5, 6):
        return False
    corners = [(b[0], b[1]), (b[2], b[1]), (b[2], b[3]), (b[0], b[3])]
    present = [any(g.dist(v, c) <= tol for v in verts) for c in corners]
    if sum(present) != 3:
        return False
    if not folded:
        return True
    # the fold drawn: a sixth vertex inside the box, at the cut corner's x of one neighbour and y of the other
    cut = corners[present.index(False)]
    inner = [v for v in verts if all(g.dist(v, c) > tol for c in corners) and b[0] + tol < v[0] < b[2] - tol
             and b[1] + tol < v[1] < b[3] - tol]
    return len(verts) == 6 and len(inner) == 1 and g.dist(inner[0], cut) < 0.6 * max(g.width(b), g.height(b))


def _stacked_discs(shapes: list[Shape]) -> list[Shape]:
    """A data store drawn as a stack of flat rounded outlines of one width (some tools draw the cylinder's
    rings that way): small 'tasks' (or discs already read as cylinders) sharing left and right edges and
    overlapping vertically become one."""
    small = [s for s in shapes if s.type in ("task", "dataStoreReference") and g.width(s.box) < 80
             and g.height(s.box) < 0.8 * g.width(s.box)]
    out = [s for s in shapes if s not in small]
    groups: list[list[Shape]] = []
    for s in sorted(small, key=lambda s: s.box[1]):
        for grp in groups:
            b = grp[-1].box
            if abs(b[0] - s.box[0]) < 1 and abs(b[2] - s.box[2]) < 1 and s.box[1] < b[3] and s.box[1] - b[1] < 0.4 * g.height(b):
                grp.append(s)
                break
        else:
            groups.append([s])
    for grp in groups:
        if len(grp) >= 2:
            box = g.box_of([p for s in grp for p in (s.box[:2], s.box[2:])])
            out.append(Shape("dataStoreReference", box, grp[0].prim, confidence=0.8))
        else:
            out.extend(grp)
    return out


def _cylinder(p: Prim) -> bool:
    b = p.box
    xs = [x for x, _ in p.points]
    left = sum(1 for x in xs if abs(x - b[0]) < 0.05 * g.width(b))
    right = sum(1 for x in xs if abs(x - b[2]) < 0.05 * g.width(b))
    return left >= 2 and right >= 2 and not g.is_circle(p.points, 0.1)


SAME_RING = 0.95
#: a task type icon's size and its reach from the task's top left corner (points; bpmn-js and
#: bpmn-visualization icons 12-18 pt, drawn 4-8 pt in; events are 20 pt and more)
TASK_ICON_MAX = 20.0
#: a circle inside an event's ring and larger than this share of it is the second ring of an intermediate event;
#: smaller, it is an icon (measured over hdBPMN and tool-made models drawn by bpmn-js and bpmn-visualization:
#: second rings 0.75-0.93 of the outer, clock faces and terminate discs 0.57-0.61)
INNER_RING = 0.68
#: a fill-only ring under this share of the page's typical stroked ring is a connector's tail, not an event
#: (bpmn-js bold message-flow tails printed by Chromium: 13.5 pt discs beside 25-28 pt events, ratio 0.5)
TAIL_SHARE = 0.7


def _unseen_stroke(p: Prim) -> bool:
    """Stroked in its own fill colour: the outline draws no line of its own."""
    return p.stroke is not None and p.fill is not None and abs(p.stroke - p.fill) < 0.02 and p.stroke > 0.3


def _dash_arcs(outer: Prim, rest: list[Prim]) -> bool:
    """A dashed ring drawn as separate short strokes along the circle (how some tools dash a boundary event):
    at least 6 short open strokes near the outer ring (or a ring just inside it). They are removed from ``rest``."""
    cx, cy = g.center(outer.box)
    r = outer.size / 2
    arcs = [p for p in rest if not p.closed and p.size < 0.3 * r * 2 and len(p.points) >= 2
            and all(0.7 * r < g.dist((cx, cy), q) < 1.12 * r for q in p.points)]
    if len(arcs) < 6:
        return False
    ids = {id(p) for p in arcs}
    rest[:] = [p for p in rest if id(p) not in ids]
    return True


def _events(circles: list[Prim], rest: list[Prim], task_width: float | None) -> list[Shape]:
    """Events from circles: concentric circles grouped under the largest. The thin outline is the thinnest
    stroke of an event's outer ring or of a task; only outer rings count, as the circles inside an event (a
    timer's clock face, drawn thinner by bpmn-visualization) are icon, not outline."""
    circles = sorted(circles, key=lambda p: -p.size)
    groups: list[list[Prim]] = []
    for c in circles:
        cc = g.center(c.box)
        for grp in groups:
            outer = grp[0]
            if g.dist(g.center(outer.box), cc) < 0.15 * outer.size and c.size >= SAME_RING * outer.size and \
                    _unseen_stroke(c):
                break  # the ring overpainted in its fill colour (some tools do so before dashing it): no ring
            if g.dist(g.center(outer.box), cc) < 0.15 * outer.size and c.size < outer.size:
                grp.append(c)
                break
        else:
            groups.append([c])
    out = []
    outer_widths = [grp[0].width for grp in groups if grp[0].stroke is not None and grp[0].size >= 11]
    outer_widths += [task_width] if task_width is not None else []
    thin = max(min(outer_widths), 0.3) if outer_widths else 1.0
    stroked = sorted(grp[0].size for grp in groups if any(c.stroke is not None for c in grp))
    ordinary = stroked[len(stroked) // 2] if stroked else 0.0
    for grp in groups:
        outer = grp[0]
        if outer.size < 11:
            rest.extend(grp)  # small circles: connector ends and icon parts
            continue
        if all(c.stroke is None for c in grp) and outer.size < TAIL_SHARE * ordinary:
            rest.extend(grp)  # a ring painted as two discs, much smaller than the stroked rings: a flow's tail
            continue
        inner = [c for c in grp[1:] if c.size > INNER_RING * outer.size]
        others = [c for c in grp[1:] if c.size <= INNER_RING * outer.size]
        widths = [c.width for c in grp if c.stroke is not None]
        if inner:
            kind = "intermediateCatchEvent"
        elif max(widths or [0]) >= 1.7 * thin:
            kind = "endEvent"
        else:
            kind = "startEvent"
        s = Shape(kind, outer.box, outer)
        if outer.dash != "solid" or _dash_arcs(outer, rest):
            s.markers.append("nonInterrupting")
        for c in others:
            if kind == "endEvent" and c.fill is not None and c.fill < 0.3:
                s.event_definition = "terminate"
            elif c.size > 0.45 * outer.size:
                s.event_definition = "timer"
            else:
                rest.append(c)
        out.append(s)
    return out
