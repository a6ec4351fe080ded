"""Pure geometry for diagram recognition: boxes, polylines, arrowheads, circles, dashes. No I/O, no PyMuPDF.

Boxes are ``(x0, y0, x1, y1)`` with ``x0 <= x1`` and ``y0 <= y1``; points are ``(x, y)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

Box = tuple[float, float, float, float]
Point = tuple[float, float]


def box_of(points: Iterable[Point]) -> Box:
    pts = list(points)
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    return (min(xs), min(ys), max(xs), max(ys))


def width(b: Box) -> float:
    return b[2] - b[0]


def height(b: Box) -> float:
    return b[3] - b[1]


def area(b: Box) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


def center(b: Box) -> Point:
    return ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)


def intersection(a: Box, b: Box) -> float:
    return area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))


def overlap_of_smaller(a: Box, b: Box) -> float:
    """The share of the smaller box that the two boxes share (0 when either is empty)."""
    smaller = min(area(a), area(b))
    return intersection(a, b) / smaller if smaller > 0 else 0.0


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes (0 when either is empty)."""
    inter = intersection(a, b)
    union = area(a) + area(b) - inter
    return inter / union if union > 0 else 0.0


def contains(outer: Box, inner: Box, tol: float = 0.0) -> bool:
    return (inner[0] >= outer[0] - tol and inner[1] >= outer[1] - tol and inner[2] <= outer[2] + tol
            and inner[3] <= outer[3] + tol)


def contains_point(b: Box, p: Point, tol: float = 0.0) -> bool:
    return b[0] - tol <= p[0] <= b[2] + tol and b[1] - tol <= p[1] <= b[3] + tol


def expand(b: Box, d: float) -> Box:
    return (b[0] - d, b[1] - d, b[2] + d, b[3] + d)


def dist(p: Point, q: Point) -> float:
    return math.hypot(p[0] - q[0], p[1] - q[1])


def point_segment_distance(p: Point, a: Point, b: Point) -> float:
    """Distance from ``p`` to the segment ``ab``."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    n = dx * dx + dy * dy
    if n == 0:
        return dist(p, a)
    t = max(0.0, min(1.0, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / n))
    return dist(p, (a[0] + t * dx, a[1] + t * dy))


def point_polyline_distance(p: Point, pts: Sequence[Point]) -> float:
    if len(pts) == 1:
        return dist(p, pts[0])
    return min(point_segment_distance(p, pts[i], pts[i + 1]) for i in range(len(pts) - 1))


def point_in_polygon(p: Point, poly: Sequence[Point]) -> bool:
    """Even-odd rule; ``poly`` may repeat its first point at the end."""
    x, y = p
    inside = False
    n = len(poly)
    for i in range(n):
        (x0, y0), (x1, y1) = poly[i], poly[(i + 1) % n]
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            inside = not inside
    return inside


def principal_axis(pts: Sequence[Point]) -> tuple[Point, tuple[float, float]]:
    """Centroid and unit direction of the points' best-fitting line (principal axis)."""
    n = len(pts)
    cx, cy = sum(p[0] for p in pts) / n, sum(p[1] for p in pts) / n
    sxx = sum((p[0] - cx) ** 2 for p in pts)
    syy = sum((p[1] - cy) ** 2 for p in pts)
    sxy = sum((p[0] - cx) * (p[1] - cy) for p in pts)
    a = 0.5 * math.atan2(2 * sxy, sxx - syy)
    return (cx, cy), (math.cos(a), math.sin(a))


def box_distance(a: Box, b: Box) -> float:
    """Gap between two boxes (0 when they touch or overlap)."""
    dx = max(0.0, max(a[0], b[0]) - min(a[2], b[2]))
    dy = max(0.0, max(a[1], b[1]) - min(a[3], b[3]))
    return math.hypot(dx, dy)


def point_box_border_distance(p: Point, b: Box) -> float:
    """Distance from a point to the outline of a box (inside points measure to the nearest side)."""
    x, y = p
    if b[0] <= x <= b[2] and b[1] <= y <= b[3]:
        return min(x - b[0], b[2] - x, y - b[1], b[3] - y)
    return box_distance((x, y, x, y), b)


def point_ellipse_border_distance(p: Point, b: Box) -> float:
    """Approximate distance from a point to the outline of the ellipse inscribed in ``b``."""
    cx, cy = center(b)
    r = (width(b) + height(b)) / 4
    return abs(dist(p, (cx, cy)) - r)


def point_diamond_border_distance(p: Point, b: Box) -> float:
    """Distance from a point to the outline of the diamond inscribed in ``b``."""
    cx, cy = center(b)
    top, right, bottom, left = (cx, b[1]), (b[2], cy), (cx, b[3]), (b[0], cy)
    return min(point_segment_distance(p, a, c) for a, c in ((top, right), (right, bottom), (bottom, left),
                                                           (left, top)))


def bezier_points(p0: Point, p1: Point, p2: Point, p3: Point, n: int = 8) -> list[Point]:
    """Points along a cubic Bezier curve, both ends included."""
    out = []
    for i in range(n + 1):
        t = i / n
        u = 1 - t
        out.append((u ** 3 * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t ** 3 * p3[0],
                    u ** 3 * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t ** 3 * p3[1]))
    return out


def circle_fit(points: Sequence[Point]) -> tuple[Point, float, float]:
    """Centre, mean radius and relative spread (std / mean radius) of points about their centroid."""
    cx = sum(p[0] for p in points) / len(points)
    cy = sum(p[1] for p in points) / len(points)
    rs = [dist(p, (cx, cy)) for p in points]
    r = sum(rs) / len(rs)
    if r == 0:
        return (cx, cy), 0.0, 1.0
    sd = math.sqrt(sum((x - r) ** 2 for x in rs) / len(rs))
    return (cx, cy), r, sd / r


def is_circle(points: Sequence[Point], tol: float = 0.06) -> bool:
    """Whether sampled outline points (e.g. from ``bezier_points``) lie on a circle."""
    if len(points) < 8:
        return False
    _, r, spread = circle_fit(points)
    return r > 0 and spread < tol


def polygon_vertices(points: Sequence[Point], eps: float = 0.5) -> list[Point]:
    """Vertices of a polygon outline with repeated and collinear points removed (closing point dropped)."""
    pts: list[Point] = []
    for p in points:
        if not pts or dist(p, pts[-1]) > eps:
            pts.append(p)
    if len(pts) > 1 and dist(pts[0], pts[-1]) <= eps:
        pts.pop()
    changed = True
    while changed and len(pts) > 3:
        changed = False
        for i in range(len(pts)):
            a, b, c = pts[i - 1], pts[i], pts[(i + 1) % len(pts)]
            if point_segment_distance(b, a, c) < eps * 0.8 and dist(a, c) > eps:
                pts.pop(i)
                changed = True
                break
    return pts


def is_diamond(vertices: Sequence[Point], tol: float = 0.12) -> bool:
    """Four vertices at the midpoints of their bounding box's sides (a gateway)."""
    if len(vertices) != 4:
        return False
    b = box_of(vertices)
    w, h = width(b), height(b)
    if w < 4 or h < 4:
        return False
    cx, cy = center(b)
    targets = [(cx, b[1]), (b[2], cy), (cx, b[3]), (b[0], cy)]
    return all(min(dist(v, t) for v in vertices) < tol * max(w, h) for t in targets)


def is_axis_rect(vertices: Sequence[Point], tol: float = 1.0) -> bool:
    """Four vertices at the corners of their bounding box."""
    if len(vertices) != 4:
        return False
    b = box_of(vertices)
    corners = [(b[0], b[1]), (b[2], b[1]), (b[2], b[3]), (b[0], b[3])]
    return all(min(dist(v, c) for v in vertices) <= tol for c in corners)


def triangle_tip(vertices: Sequence[Point]) -> tuple[Point, Point] | None:
    """For an arrowhead triangle: its tip and the midpoint of its base (the side opposite the tip).

    The tip is the vertex opposite the shortest side. ``None`` if not three vertices.
    """
    if len(vertices) != 3:
        return None
    best = None
    for i in range(3):
        a, b, c = vertices[i], vertices[(i + 1) % 3], vertices[(i + 2) % 3]
        side = dist(b, c)
        if best is None or side < best[0]:
            best = (side, a, ((b[0] + c[0]) / 2, (b[1] + c[1]) / 2))
    return best[1], best[2]


def is_dashed(dashes: str | None) -> bool:
    """Whether a PyMuPDF dash string (``"[ 3 2 ] 0"``; ``"[] 0"`` for solid) describes a dashed line."""
    if not dashes:
        return False
    inner = dashes.split("]")[0].strip("[ ")
    return bool(inner) and any(float(x) > 0 for x in inner.split())


def dash_kind(dashes: str | None, line_width: float) -> str:
    """``solid``, ``dotted`` (dash no longer than about twice the line width) or ``dashed``."""
    if not is_dashed(dashes):
        return "solid"
    parts = [float(x) for x in dashes.split("]")[0].strip("[ ").split()]
    return "dotted" if parts[0] <= max(2.0, 2.5 * line_width) else "dashed"


def simplify_polyline(pts: Sequence[Point], eps: float = 0.75) -> list[Point]:
    """Drop repeated points and points on a straight run (rounded corners become their corner's chord)."""
    out: list[Point] = []
    for p in pts:
        if not out or dist(p, out[-1]) > 0.1:
            out.append(p)
    changed = True
    while changed and len(out) > 2:
        changed = False
        for i in range(1, len(out) - 1):
            if point_segment_distance(out[i], out[i - 1], out[i + 1]) < eps:
                out.pop(i)
                changed = True
                break
    return out


def transform_point(p: Point, m: Sequence[float]) -> Point:
    """Apply a 2-D affine matrix ``(a, b, c, d, e, f)`` (PDF convention: x' = a x + c y + e)."""
    a, b, c, d, e, f = m
    return (a * p[0] + c * p[1] + e, b * p[0] + d * p[1] + f)


def fit_affine_axis(src: Sequence[Point], dst: Sequence[Point]) -> tuple[float, float, float, float]:
    """Least-squares ``(sx, sy, tx, ty)`` with ``dst = s * src + t`` on each axis independently."""
    def fit(a: list[float], b: list[float]) -> tuple[float, float]:
        n = len(a)
        ma, mb = sum(a) / n, sum(b) / n
        var = sum((x - ma) ** 2 for x in a)
        s = sum((x - ma) * (y - mb) for x, y in zip(a, b)) / var if var > 0 else 1.0
        return s, mb - s * ma
    sx, tx = fit([p[0] for p in src], [p[0] for p in dst])
    sy, ty = fit([p[1] for p in src], [p[1] for p in dst])
    return sx, sy, tx, ty


def reading_rows(boxes: list[Box]) -> list[int]:
    """Each box's row, rows numbered top to bottom: a box joins the row of the topmost box left when each one's
    centre lies within the other's height (a task beside a task or an event; not a task inside a pool). Boxes a
    detector reads in one row start a few points apart; sorting by the top edge alone would order such a row by
    that jitter, not left to right."""
    row = [0] * len(boxes)
    rest = sorted(range(len(boxes)), key=lambda i: (boxes[i][1], boxes[i][0]))
    n = 0
    while rest:
        top = boxes[rest[0]]
        mid = (top[1] + top[3]) / 2
        members = [i for i in rest if top[1] <= (boxes[i][1] + boxes[i][3]) / 2 <= top[3]
                   and boxes[i][1] <= mid <= boxes[i][3]] or rest[:1]
        for i in members:
            row[i] = n
        rest = [i for i in rest if i not in members]
        n += 1
    return row
