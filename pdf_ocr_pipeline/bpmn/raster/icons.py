"""Raster reads of what hole contours alone get wrong at 150-200 dpi: event rings and gateway markers.

At scan resolution the two rings of an intermediate event fuse into one thick band, and a gateway's plus or
cross is a blob. Both are read off the grey image directly: a radial darkness profile (median over angles,
so flows and labels touching the ring do not count) tells one thin ring (start), one thick ring (end) and two
rings (intermediate); the darkness along a diamond's axes versus its diagonals tells a plus from a cross.
The results come back as ordinary ``Prim``s, the same the vector path would have drawn, so ``shapes`` types
them unchanged. Pure numpy apart from ``cv2.warpPolar``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from pdf_ocr_pipeline.bpmn import geometry as g
from pdf_ocr_pipeline.bpmn.primitives import Prim

SUB = 4  # radial samples per pixel


def darkness(gray: np.ndarray) -> np.ndarray:
    """0 = paper, 1 = full ink, from the page's own paper and ink levels (robust to grey scans)."""
    paper = float(np.percentile(gray, 90))
    ink = float(np.percentile(gray, 0.5))
    span = max(paper - ink, 30.0)
    return np.clip((paper - gray.astype(np.float32)) / span, 0.0, 1.0)


def radial_profile(dark: np.ndarray, cx: float, cy: float, rmax: float, angles: int = 72) -> np.ndarray:
    """Median darkness at radius ``i / SUB`` pixels around ``(cx, cy)``, for ``i`` up to ``rmax * SUB``."""
    import cv2
    n = max(4, int(rmax * SUB))
    r0 = int(rmax) + 3
    x0, y0 = int(cx) - r0, int(cy) - r0
    pad = np.zeros((2 * r0 + 1, 2 * r0 + 1), np.float32)
    sx0, sy0 = max(0, x0), max(0, y0)
    sx1, sy1 = min(dark.shape[1], x0 + 2 * r0 + 1), min(dark.shape[0], y0 + 2 * r0 + 1)
    if sx1 <= sx0 or sy1 <= sy0:
        return np.zeros(n, np.float32)
    pad[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = dark[sy0:sy1, sx0:sx1]
    polar = cv2.warpPolar(pad, (n, angles), (cx - x0, cy - y0), rmax, cv2.WARP_POLAR_LINEAR + cv2.INTER_LINEAR)
    return np.median(polar, axis=0)


def rings(prof: np.ndarray, lo: int) -> tuple[tuple[int, int] | None, int | None]:
    """The outer ring of a radial profile as ``(start, end)`` sample indices (half-maximum band) and the peak
    index of a second ring right inside it, when there is one: a dark peak within a third of the radius whose
    valley towards the outer ring drops below 80 % of both (two rings fused by blur still show the dip)."""
    sm = np.convolve(prof, np.ones(SUB) / SUB, mode="same")
    seg = sm[lo:]
    if seg.size < 3 or seg.max() < 0.25:
        return None, None
    top = float(seg.max())
    peaks = [i + lo for i in range(1, len(seg) - 1) if seg[i] >= seg[i - 1] and seg[i] > seg[i + 1]
             and seg[i] >= 0.3]
    outer = [i for i in peaks if sm[i] >= 0.5 * top]
    if not outer:
        return None, None
    p1 = outer[-1]
    half = 0.5 * float(sm[p1])
    e = p1
    while e + 1 < len(sm) and sm[e + 1] > half:
        e += 1
    st = p1
    while st - 1 > lo and sm[st - 1] > half and sm[st - 1] <= sm[st] + 0.05:
        st -= 1
    second = None
    for p2 in reversed([i for i in peaks if i < p1 and p1 - i <= 0.35 * p1]):
        valley = float(sm[p2:p1 + 1].min())
        if sm[p2] >= 0.5 * sm[p1] and valley < 0.8 * min(float(sm[p2]), float(sm[p1])):
            second = p2
            break
    return (st, e + 1), second


def refine_circle(p: Prim, dark: np.ndarray, scale: float) -> list[Prim]:
    """The event ring ``p`` (points) re-measured on the image: its width set to the ring's, and an inner
    circle added when there are two rings."""
    b = p.box
    cx, cy = g.center(b)
    r = (g.width(b) + g.height(b)) / 4 / scale
    prof = radial_profile(dark, cx / scale, cy / scale, 1.35 * r)
    band, second = rings(prof, int(0.55 * r * SUB))
    if band is None:
        return [p]
    w_out = max(0.5, (band[1] - band[0]) / SUB) * scale
    if second is None:
        return [replace(p, width=w_out)]
    # the shared typing takes an inner ring of 0.78 of the outer one or more for a double ring; blur pulls
    # the measured peak inwards (and the outline's size is taken on its box), so hand it over at 0.8 at least
    rr = max(second / SUB * scale, 0.4 * max(g.width(b), g.height(b)))
    pts = [(float(cx + rr * np.cos(a)), float(cy + rr * np.sin(a))) for a in np.linspace(0, 2 * np.pi, 33)[:-1]]
    # both rings thin: the band measured may hold the two fused, so cap it at a thin line's 2.4 px
    w = min(w_out, 2.4 * scale)
    return [replace(p, width=w), replace(p, points=tuple(pts + pts[:1]), width=w)]


def gateway_marker(p: Prim, dark: np.ndarray, scale: float) -> list[Prim]:
    """Canonical marker strokes for the diamond ``p``: a plus (parallel) or a cross (exclusive) as two
    2-point prims, read from the darkness along the axes and the diagonals of its middle; nothing when the
    middle is empty or round (a circle marker is traced as a hole already)."""
    b = p.box
    cx, cy = g.center(b)
    half = min(g.width(b), g.height(b)) / 2 / scale
    arm = 0.38 * half
    if arm < 3:
        return []

    def along(dx: float, dy: float) -> float:
        ts = np.linspace(0.25, 1.0, 12)
        vals = []
        for sgn in (1, -1):
            for t in ts:
                x, y = cx / scale + sgn * dx * arm * t, cy / scale + sgn * dy * arm * t
                xi, yi = int(round(x)), int(round(y))
                if 0 <= yi < dark.shape[0] and 0 <= xi < dark.shape[1]:
                    vals.append(float(dark[yi, xi]))
        return float(np.median(vals)) if vals else 0.0

    axes = min(along(1, 0), along(0, 1))
    diag = min(along(0.7071, 0.7071), along(0.7071, -0.7071))
    centre = float(dark[int(cy / scale), int(cx / scale)]) if 0 <= int(cy / scale) < dark.shape[0] and \
        0 <= int(cx / scale) < dark.shape[1] else 0.0
    a = arm * scale
    if axes > 0.45 and axes > diag + 0.25:
        pts = ((cx - a, cy), (cx + a, cy), (cx, cy), (cx, cy - a), (cx, cy + a))
    elif diag > 0.45 and diag > axes + 0.25 and centre > 0.3:
        d = a * 0.7071
        pts = ((cx - d, cy - d), (cx + d, cy + d), (cx, cy), (cx - d, cy + d), (cx + d, cy - d))
    else:
        return []
    # one open prim drawn through the middle, as a vector marker path would be
    return [Prim(points=pts, closed=False, curves=0, lines=4, stroke=0.0, fill=None, width=p.width, dash="solid",
                 order=p.order)]


def collapsed_marker(box: g.Box, dark: np.ndarray, scale: float, level: float = 0.25) -> g.Box | None:
    """The collapsed sub-process marker of the activity ``box`` (points): a small square with a plus in the
    bottom middle, read from the darkness (it is often drawn thin and grey, and its hole is split in four
    by the plus, so it leaves no outline of its own). Its box in points, or ``None``."""
    import cv2
    x0, y0, x1, y1 = (v / scale for v in box)
    w, h = x1 - x0, y1 - y0
    rx0, rx1 = int(x0 + 0.2 * w), int(x1 - 0.2 * w)
    ry0, ry1 = int(y0 + 0.5 * h), int(y1 - 1)
    if rx1 - rx0 < 4 or ry1 - ry0 < 4 or rx0 < 0 or ry0 < 0 or ry1 > dark.shape[0] or rx1 > dark.shape[1]:
        return None
    reg = dark[ry0:ry1, rx0:rx1]
    m = _marker_square(reg, scale, level)
    # a light grey square that noise broke into its sides: closed over one-pixel gaps, then read lighter;
    # then each side must be drawn along nearly all its length (a multi-instance marker's bars close to a
    # square too, but their ends make no side)
    for lv in (level, 0.6 * level):
        if m is None:
            m = _marker_square(reg, scale, lv, cv2.morphologyEx((reg > lv).astype(np.uint8), cv2.MORPH_CLOSE,
                                                                np.ones((3, 3), np.uint8)), whole_sides=0.85)
    if m is None:
        return None
    bx, by, bw, bh = m
    return ((rx0 + bx) * scale, (ry0 + by) * scale, (rx0 + bx + bw) * scale, (ry0 + by + bh) * scale)


def _marker_square(reg: np.ndarray, scale: float, level: float, mask: np.ndarray | None = None,
                   whole_sides: float | None = None) -> tuple[int, int, int, int] | None:
    """``collapsed_marker``'s test on the darkness ``reg``: the first piece of ``mask`` (default: ``reg`` over
    ``level``) that is a square of 6-16 pt with dark sides, a dark plus and light quarters, ``(x, y, w, h)``;
    with ``whole_sides``, each side is over ``level`` along that share of its length at least."""
    import cv2
    if mask is None:
        mask = (reg > level).astype(np.uint8)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    for k in range(1, n):
        bx, by, bw, bh, _ = stats[k]
        if not (6 <= bw * scale <= 16 and 6 <= bh * scale <= 16 and abs(bw - bh) <= 0.2 * max(bw, bh)):
            continue
        if bx + bw >= reg.shape[1] - 1 or by + bh >= reg.shape[0] - 1:
            continue  # touches the border of the region: part of the outline or a flow
        sq = reg[by:by + bh, bx:bx + bw]
        e = max(1, int(round(0.15 * bw)))
        profiles = [sq[:e].max(axis=0), sq[-e:].max(axis=0), sq[:, :e].max(axis=1), sq[:, -e:].max(axis=1)]
        sides = [p.mean() for p in profiles]
        mid_r, mid_c = sq[bh // 2 - 1:bh // 2 + 2, e:-e].max(axis=0), sq[e:-e, bw // 2 - 1:bw // 2 + 2].max(axis=1)
        quads = [sq[int(bh * fy), int(bw * fx)] for fy in (0.3, 0.7) for fx in (0.3, 0.7)]
        if whole_sides is not None and min(float((p > level).mean()) for p in profiles) < whole_sides:
            continue
        if min(sides) > level and mid_r.size and mid_c.size and (mid_r > level).mean() > 0.7 and \
                (mid_c > level).mean() > 0.7 and max(quads) < level:
            return int(bx), int(by), int(bw), int(bh)
    return None


def border_weight(dark: np.ndarray, box: g.Box, scale: float, n: int = 7) -> float | None:
    """How thick (points) the border of a rectangle-like outline ``box`` (points) is drawn: the half-maximum
    width of the darkness profile across its straight sides, median over ``n`` places on each side (flows
    and labels touching one place do not count). ``None`` when the sides cannot be read."""
    x0, y0, x1, y1 = (v / scale for v in box)
    reach = 8
    widths = []
    for t in np.linspace(0.3, 0.7, n):
        for horiz, pos, fixed in ((True, x0 + t * (x1 - x0), y0), (True, x0 + t * (x1 - x0), y1),
                                  (False, y0 + t * (y1 - y0), x0), (False, y0 + t * (y1 - y0), x1)):
            c, f = int(round(pos)), int(round(fixed))
            if horiz:
                prof = dark[max(0, f - reach):f + reach + 1, c] if 0 <= c < dark.shape[1] else None
            else:
                prof = dark[c, max(0, f - reach):f + reach + 1] if 0 <= c < dark.shape[0] else None
            if prof is None or prof.size < 2 * reach or prof.max() < 0.4:
                continue
            widths.append(float((prof >= 0.5 * prof.max()).sum()))
    if len(widths) < n:
        return None
    return float(np.median(widths)) * scale


def refine_icons(prims: list[Prim], gray: np.ndarray, scale: float) -> list[Prim]:
    """Event rings re-measured and gateway markers read from the image (see the module docstring)."""
    dark = darkness(gray)
    diamonds = [p for p in prims if p.closed and p.curves == 0 and p.lines == 4 and p.stroke is not None
                and len(p.points) == 5 and g.is_diamond(list(p.points[:4]), 0.15)]
    out: list[Prim] = []
    drop: set[int] = set()
    for d in diamonds:
        marker = gateway_marker(d, dark, scale)
        if marker:
            inner = g.expand(d.box, -0.15 * g.width(d.box))
            drop.update(id(q) for q in prims if q is not d and g.contains(inner, q.box, 0.5))
            out.extend(marker)
    for p in prims:
        if id(p) in drop:
            continue
        if p.closed and p.curves >= 4 and p.lines == 0 and p.stroke is not None and p.size >= 11 and \
                p.dash == "solid":
            # (dashed rings were redrawn clean by ``raster_rings.seal``: nothing to re-measure); a circle in
            # a diamond only gains its inner ring (two rings: an event-based gateway's, not an inclusive one)
            if any(g.contains(d.box, p.box, 1.0) for d in diamonds):
                out.extend([p] + refine_circle(p, dark, scale)[1:])
            else:
                out.extend(refine_circle(p, dark, scale))
            continue
        out.append(p)
        if p.closed and p.curves >= 2 and p.lines >= 2 and p.stroke is not None and 30 <= p.size <= 200:
            m = collapsed_marker(p.box, dark, scale)
            if m is not None:  # handed over as the square a vector page draws
                cx, cy = g.center(m)
                a = max(g.width(m), g.height(m)) / 2
                sq = ((cx - a, cy - a), (cx + a, cy - a), (cx + a, cy + a), (cx - a, cy + a), (cx - a, cy - a))
                out.append(Prim(points=sq, closed=True, curves=0, lines=4, stroke=0.0, fill=None, width=p.width,
                                dash="solid", order=p.order))
    return thick_borders(out, dark, scale)


def thick_borders(prims: list[Prim], dark: np.ndarray, scale: float, ratio: float = 1.5) -> list[Prim]:
    """Rounded rectangles whose border is drawn ``ratio`` times the page's usual weight or more (a call
    activity) get twice the usual width, as the shared typing expects (1.8x); the stroke width traced from
    holes is blurred too much at scan resolution to show it. Others are left as they are."""
    rr = [i for i, p in enumerate(prims) if p.closed and p.curves >= 2 and p.lines >= 2 and p.stroke is not None
          and p.size >= 20]
    ws = {i: border_weight(dark, prims[i].box, scale) for i in rr}
    known = sorted(w for w in ws.values() if w is not None)
    if len(known) < 2:
        return prims
    usual = known[len(known) // 4]
    widths = sorted(prims[i].width for i in rr)
    base = widths[len(widths) // 4]
    return [replace(p, width=2 * base) if ws.get(i) is not None and ws[i] >= ratio * usual else p
            for i, p in enumerate(prims)]
