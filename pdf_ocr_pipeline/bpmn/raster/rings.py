"""Dashed event rings in a page image (non-interrupting boundary and start events), sealed into solid ones.

A dashed ring leaves no hole: its gaps let the inside leak out, and where it sits on an activity's border
(a boundary event, white-filled over that border) the activity's hole leaks through it too, so both the
event and its activity are lost. Circles are proposed by a Hough transform on the grey image and kept only
where the darkness around them is dashed: a ring of regular on and off arcs, neither solid (the hole path
reads those) nor a few arcs (rounded corners, a flow passing by). Each kept ring is then drawn solid into the
ink (with its inner ring, when there are two), so the ordinary hole tracing finds the event and the activity
under it; the event is marked dashed afterwards by its centre.
"""

from __future__ import annotations

import numpy as np

from pdf_ocr_pipeline.bpmn.labels import word_conf

ANGLES = 180


def dash_pattern(on: np.ndarray) -> tuple[float, int, int]:
    """``(fraction on, on-runs, longest off-run)`` of a circular boolean profile."""
    n = on.size
    frac = float(on.mean())
    if frac in (0.0, 1.0):
        return frac, int(frac), n if frac == 0.0 else 0
    k = int(np.argmin(on))  # start the walk on an off sample so runs do not wrap
    seq = np.roll(on, -k)
    runs = int(np.sum(seq[1:] & ~seq[:-1]))
    longest, cur = 0, 0
    for v in seq:
        cur = 0 if v else cur + 1
        longest = max(longest, cur)
    return frac, runs, longest


def is_dashed(on: np.ndarray, *, min_runs: int = 8, max_gap: float = 0.25) -> bool:
    """A dashed ring: part of it on (not all: a solid ring is read as a hole), in at least ``min_runs``
    separate dashes, with no gap longer than ``max_gap`` of the circle (a label blanked over it may take a
    piece; a gateway's corners or a flow passing by make fewer, longer arcs)."""
    frac, runs, longest = dash_pattern(on)
    return 0.35 <= frac <= 0.9 and runs >= min_runs and longest <= max_gap * on.size


def _polar(dark: np.ndarray, cx: float, cy: float, rmax: float) -> np.ndarray:
    """Darkness at radius ``i`` pixels (rows) and ``ANGLES`` angles (columns) around ``(cx, cy)``."""
    import cv2
    n = max(4, int(rmax))
    img = cv2.warpPolar(dark, (n, ANGLES), (cx, cy), n, cv2.WARP_POLAR_LINEAR + cv2.INTER_LINEAR)
    return img.T  # (radius, angle)


def ring_at(polar: np.ndarray, r0: float, *, level: float = 0.5, spread: float = 0.25
            ) -> tuple[int, np.ndarray] | None:
    """The radius (rows of ``polar``) within ``spread`` of ``r0`` where the ring is darkest, and its on/off
    profile (max over one pixel either side, so a slightly off centre does not break dashes)."""
    lo, hi = int((1 - spread) * r0), min(polar.shape[0] - 2, int((1 + spread) * r0) + 1)
    if hi <= lo + 1:
        return None
    r = lo + int(np.argmax(polar[lo:hi].mean(axis=1)))
    return r, polar[max(0, r - 1):r + 2].max(axis=0) > level


def _second(prof: np.ndarray, r: int, lo: int, hi: int) -> int | None:
    """The darkest radius in ``[lo, hi)`` when it stands out from the valley between it and ``r``."""
    if hi <= lo + 1 or lo < 0 or hi > prof.size:
        return None
    q = lo + int(np.argmax(prof[lo:hi]))
    a, b = min(q, r), max(q, r)
    valley = float(prof[a:b + 1].min())
    return q if prof[q] > 0.25 and prof[q] > 1.6 * valley else None


def inner_ring(polar: np.ndarray, ro: int) -> int | None:
    """A second ring inside the one at radius ``ro`` (an intermediate event's), 60 % of it to 3 px in."""
    return _second(polar.mean(axis=1), ro, int(0.6 * ro), ro - 2)


def outer_ring(polar: np.ndarray, ri: int) -> int | None:
    """A second ring outside the one at radius ``ri`` (Hough may lock on to the inner ring of two)."""
    return _second(polar.mean(axis=1), ri, ri + 3, min(polar.shape[0], int(1.45 * ri) + 1))


def _recentre(dark: np.ndarray, cx: float, cy: float, r: int, reach: int = 5) -> tuple[float, float]:
    """The centre within ``reach`` pixels where the ring at about ``r`` is sharpest (Hough is a few pixels
    off on dashed rings, and a ring drawn there would cross the dashes)."""
    best = (-1.0, cx, cy)
    for dy in range(-reach, reach + 1):
        for dx in range(-reach, reach + 1):
            prof = _polar(dark, cx + dx, cy + dy, 1.3 * r).mean(axis=1)
            lo = int(0.8 * r)
            v = float(prof[lo:].max()) if prof.size > lo else 0.0
            if v > best[0]:
                best = (v, cx + dx, cy + dy)
    return best[1], best[2]


def ring_candidates(gray: np.ndarray, scale: float, r_pt: tuple[float, float] = (7.0, 18.0)) -> np.ndarray | None:
    """Circles ``[[(cx, cy, r), ...]]`` (pixels) of event radii ``r_pt`` (points) proposed on the grey image
    (Hough), for ``dashed_rings`` to judge; ``None``: none."""
    import cv2
    blur = cv2.GaussianBlur(gray, (5, 5), 1.2)
    lo, hi = int(r_pt[0] / scale), int(r_pt[1] / scale) + 1
    return cv2.HoughCircles(blur, cv2.HOUGH_GRADIENT, dp=1, minDist=lo, param1=120, param2=18, minRadius=lo,
                            maxRadius=hi)


def dashed_rings(gray: np.ndarray, ink: np.ndarray, scale: float, r_pt: tuple[float, float] = (7.0, 18.0),
                 candidates: np.ndarray | None = None) -> list[tuple[float, float, int, int | None]]:
    """Dashed rings ``(cx, cy, r, r_inner or None)`` in pixels, for event radii ``r_pt`` (points). Circles
    are proposed on the grey image (``ring_candidates``, or ``candidates`` already proposed there) and
    judged on ``ink`` (binary, words blanked: text is not a ring)."""
    cs = ring_candidates(gray, scale, r_pt) if candidates is None else candidates
    dark = (ink > 0).astype(np.float32)
    out: list[tuple[float, float, int, int | None]] = []
    if cs is None:
        return out
    for cx, cy, r in cs[0]:
        if any(np.hypot(cx - o[0], cy - o[1]) < o[2] for o in out):
            continue  # inside a ring kept already (its other ring, or an icon)
        polar = _polar(dark, float(cx), float(cy), 1.9 * float(r))  # dark: ink as 0/1
        found = ring_at(polar, float(r))
        if found is None:
            continue
        if not is_dashed(found[1]):
            # Hough is pulled off centre by an icon in the ring (a triangle), and the circle then cuts across
            # the dashes into a few long arcs: a near miss (part on, several dashes) is judged again from
            # the centre where the ring is sharpest
            frac, runs, _ = dash_pattern(found[1])
            if not (0.35 <= frac <= 0.9 and runs >= 5):
                continue
            cx, cy = _recentre(dark, float(cx), float(cy), found[0], reach=6)
            polar = _polar(dark, cx, cy, 1.9 * float(r))
            found = ring_at(polar, float(r))
            if found is None or not is_dashed(found[1]) or \
                    any(np.hypot(cx - o[0], cy - o[1]) < o[2] for o in out):
                continue
        cx, cy = _recentre(dark, float(cx), float(cy), found[0])
        polar = _polar(dark, cx, cy, 1.9 * float(r))
        ro = ring_at(polar, float(found[0]), spread=0.1)[0]
        big = outer_ring(polar, ro)
        out.append((float(cx), float(cy), big, ro) if big is not None else
                   (float(cx), float(cy), ro, inner_ring(polar, ro)))
    return out


def apart(rings: list[tuple[float, float, int, int | None]]) -> list[tuple[float, float, int, int | None]]:
    """``rings`` (strongest first, as ``dashed_rings`` gives them) less those cutting one kept before: events
    do not overlap, and a circle through a ring and the text beside it (unsure words left on the ink) is
    no event."""
    out: list[tuple[float, float, int, int | None]] = []
    for r in rings:
        if all(np.hypot(r[0] - o[0], r[1] - o[1]) >= r[2] + o[2] for o in out):
            out.append(r)
    return out


#: OCR words under this confidence (0-1) that lie on a dashed ring are not words (``ring_words``).
RING_WORD_CONF = 0.7


def unsure(word) -> bool:
    """An OCR word read with a confidence under ``RING_WORD_CONF`` (``labels.word_conf``; ``None``: trusted)."""
    return (c := word_conf(word)) is not None and c < RING_WORD_CONF


def ring_words(words: list, rings: list[tuple[float, float, int, int | None]], ink: np.ndarray, scale: float,
               share: float = 0.6) -> list:
    """The words that are not read off a ring: OCR reads a dashed ring's arcs and the icon in it as a word
    ("Mao'" for an envelope in a dashed boundary event, "x" and "r" for two dashes), with a low confidence;
    blanking such a box cuts the ring and loses the event and the activity under it. An ``unsure`` word whose
    ink lies ``share`` or more within a ring ``(cx, cy, r, r_inner)`` (pixels, ``dashed_rings`` of the
    unblanked ink) is dropped."""
    from pdf_ocr_pipeline.bpmn.raster.ink import word_px
    if not rings:
        return list(words)
    out = []
    for wd in words:
        if not unsure(wd):
            out.append(wd)
            continue
        a0, b0, a1, b1 = word_px(wd[1], scale, ink.shape)
        yy, xx = np.nonzero(ink[b0:b1, a0:a1])
        if yy.size == 0:
            out.append(wd)
            continue
        xx, yy = xx + a0, yy + b0
        on = np.zeros(xx.size, bool)
        for cx, cy, r, _ in rings:
            on |= np.hypot(xx - cx, yy - cy) <= r + 2
        if on.mean() < share:
            out.append(wd)
    return out


def seal(ink: np.ndarray, rings: list[tuple[float, float, int, int | None]], thick: int = 2) -> None:
    """Redraw the rings solid in ``ink`` (in place): the band inside the outer ring is cleared first (dash
    pieces, and the activity border the event's white fill hid), then clean circles are drawn, so that their
    holes trace round. The icon inside the inner ring stays."""
    import cv2
    h, w = ink.shape
    for cx, cy, r, ri in rings:
        c = (int(round(cx)), int(round(cy)))
        y0, y1, x0, x1 = max(0, c[1] - r - 4), min(h, c[1] + r + 5), max(0, c[0] - r - 4), min(w, c[0] + r + 5)
        yy, xx = np.mgrid[y0:y1, x0:x1]
        d = np.hypot(xx - c[0], yy - c[1])
        inner = (ri if ri is not None else r) - thick - 3  # a moat, so an icon does not touch the ring
        sub = ink[y0:y1, x0:x1]
        sub[(d > inner) & (d < r)] = 0  # outside the ring nothing is cleared: borders and flows still reach it
        for rr in (r, ri):
            if rr is not None:
                cv2.circle(ink, c, int(rr), 255, thick)
