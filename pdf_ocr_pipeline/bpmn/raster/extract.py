"""BPMN from a page image (scans, embedded images, text drawn as curves) with OpenCV: no trained model.

The image is binarised (light grey rules kept, ``raster_ink``), pools and lanes are read off the long rules
(``raster_frames``), the words' boxes are blanked (straight runs through them kept; OCR "words" whose ink is
a line or an outline are not words, ``raster_ink.inked_words``), text the OCR missed is cleared
(``raster_text``), dashed event rings are
redrawn solid (``raster_rings``), and what is left is traced into the same primitives the vector path uses:
closed outlines (contours of the holes inside strokes: circles, diamonds, rounded rectangles, data objects
and stores, ``raster_artifacts``; diamonds split by their marker, ``raster_gateways``) and connector strokes
(the remaining ink thinned and followed, dashes joined, pieces either side of a label joined
(``raster_labels``), shared segments split (``raster_merges``)). Arrowheads are the blobs that survive an
opening that removes thin lines. Icons and markers are read off the grey image (``raster_icons``).
``diagram_from_prims`` then types and connects them exactly as for vector pages.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from pdf_ocr_pipeline.bpmn import geometry as g
from pdf_ocr_pipeline.bpmn.labels import Word
from pdf_ocr_pipeline.bpmn.model import BpmnDiagram
from pdf_ocr_pipeline.bpmn.primitives import Prim
from pdf_ocr_pipeline.bpmn.raster.ink import (_cv2, binarize, blank_words, cut_border, faint_rules,  # noqa: F401
                                              inked_words, long_runs, rule_weight)


#: marks OCR reads off a box's rounded corner or an arrow beside a word ("‘оценить", "package:", "—_y"): stripped
#: from an OCR word's start and end. Quotes stay where the word holds its pair ("«Склад»")
STRAY_LEADING = "‘’‚“”„'\"`|_—–"
STRAY_TRAILING = ";:|_—–‘’“”'\"`"
_PAIRS = {"‘": "’", "“": "”", "„": "“", "'": "'", '"': '"', "`": "`", "’": "‘", "”": "“"}


def strip_stray_marks(text: str) -> str:
    """``text`` without the stray marks OCR reads at its ends (``STRAY_LEADING``, ``STRAY_TRAILING``)."""
    core = text
    def unpaired(mark: str, rest: str) -> bool:
        return mark not in _PAIRS or _PAIRS[mark] not in rest
    while core and core[0] in STRAY_LEADING and unpaired(core[0], core[1:]):
        core = core[1:]
    while core and core[-1] in STRAY_TRAILING and unpaired(core[-1], core[:-1]):
        core = core[:-1]
    return core if any(ch.isalnum() for ch in core) else text


def text_words(words: list[Word]) -> list[Word]:
    """Drop what OCR reads off shapes and icons rather than text: words with no letter or digit, single
    characters, and boxes much taller than the page's typical word (an envelope read as '@'); OCR words lose the
    stray marks at their ends (``strip_stray_marks``; a text layer's words stay as they are)."""
    from pdf_ocr_pipeline.bpmn.labels import with_text

    def alnum(t: str) -> int:
        return sum(ch.isalnum() for ch in t)
    words = [with_text(w, strip_stray_marks(w[0])) if getattr(w, "conf", None) is not None else w for w in words]
    cand = [w for w in words if alnum(w[0]) >= 1]
    hs = sorted(g.height(w[1]) for w in cand if alnum(w[0]) >= 2) or sorted(g.height(w[1]) for w in cand)
    if not hs:
        return []
    med = hs[len(hs) // 2]
    return [w for w in cand if g.height(w[1]) <= (1.8 if alnum(w[0]) >= 2 else 1.3) * med or alnum(w[0]) >= 4]


def _stroke_width(ink: np.ndarray, contour: np.ndarray, dist: np.ndarray) -> float:
    pts = contour.reshape(-1, 2)
    vals = []
    step = max(1, len(pts) // 40)
    for x, y in pts[::step]:
        y0, y1, x0, x1 = max(0, y - 3), y + 4, max(0, x - 3), x + 4
        vals.append(float(dist[y0:y1, x0:x1].max()))
    vals.sort()
    return 2 * vals[len(vals) // 2] if vals else 1.0


def trace_words(image: np.ndarray, words: list[Word], scale: float) -> tuple[list[Prim], list[Word]]:
    """Primitives in points from a decoded image (``scale`` = points per pixel, 72 / dpi), and the words whose
    ink looks like text (``raster_ink.inked_words``): only those are blanked and used for labels."""
    cv2 = _cv2()
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    from pdf_ocr_pipeline.bpmn.raster.dashes import faint_dots, join_dashes, specks
    from pdf_ocr_pipeline.bpmn.raster.frames import frame_prims
    ink = binarize(gray)
    light = faint_rules(gray, ink, scale)
    ink = cv2.bitwise_or(ink, light)
    faint = faint_dots(gray, ink, scale)
    # rules are read before the words are blanked: a word box touching a lane border must not cut it
    _, rects, boxes = frame_prims(ink, scale, 0)
    runs = long_runs(ink, words, scale)
    words = inked_words(ink, words, scale, runs)  # OCR's "words" read off outlines and lines are not blanked
    from pdf_ocr_pipeline.bpmn.raster.rings import apart, dashed_rings, ring_candidates, ring_words, seal, unsure
    circles = ring_candidates(gray, scale)  # proposed once on the grey image, judged twice on different ink
    if any(unsure(w) for w in words):
        # unsure OCR words on a dashed ring (its arcs, its icon) are drawing: the rings are found with only
        # the sure words blanked (text is no ring), and unsure ones longer than an event is wide (4 word
        # heights): a label read poorly beside a ring pulls the circle off it
        hs = sorted(g.height(w[1]) for w in words)
        sure = [w for w in words if not unsure(w) or g.width(w[1]) > 4 * hs[len(hs) // 2]]
        sure_ink = ink.copy()
        blank_words(sure_ink, sure, scale, keep=runs)
        words = ring_words(words, apart(dashed_rings(gray, sure_ink, scale, candidates=circles)), ink, scale)
    blank_words(ink, words, scale, extra=(faint,), keep=runs)
    from pdf_ocr_pipeline.bpmn.raster.text import unread_text
    ink[unread_text(ink, runs, words, scale) > 0] = 0  # letters the OCR did not read are no drawing
    rings = dashed_rings(gray, ink, scale, candidates=circles)
    seal(ink, rings)  # a dashed ring closes, and so does the activity it sits on
    dist = cv2.distanceTransform(ink, cv2.DIST_L2, 3)
    holes = [(replace(p, dash="dashed") if _on_ring(p, rings, scale) else p, c, t, rnd)
             for p, c, t, rnd in _holes(ink, dist, scale)]
    # rule-bounded rectangles stand in for the sharp holes they coincide with (a header band's hole is
    # typed as rounded by its fill alone); a hole with rounded corners is a sub-process, and wins
    round_boxes = [p.box for p, _, _, rnd in holes if rnd]
    holes = [h for h in holes if h[3] or not (h[0].closed and h[0].curves <= 4 and h[0].lines >= 4 and
                                               any(g.iou(h[0].box, b) > 0.85 for b in boxes))]
    rects = [r for r in rects if not any(g.iou(r.box, b) > 0.85 for b in round_boxes)]
    prims: list[Prim] = [h[0] for h in holes] + rects
    order = len(prims)
    outline = np.zeros_like(ink)
    for _, c, thick, _ in holes:
        cv2.drawContours(outline, [c], -1, 255, thickness=thick)
    # the typical stroke half-width, from the dark ink only (faint rules are thin and would lower it)
    dark = (ink > 0) & (light == 0)
    k = max(3, int(round(2.2 * np.median(dist[dark]) * 2 + 1))) if dark.any() else 3
    # filled blobs (arrowheads, filled icons, gateway markers): what an opening leaves
    blobs = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    gates = _split_gateways(prims, blobs, ink, scale)
    for d in gates:
        pts = np.array([[x / scale, y / scale] for x, y in d.points[:4]], np.int32)
        cv2.polylines(outline, [pts], True, 255, thickness=max(3, k))
        # the pieces the marker split the hole into
        prims = [p for p in prims if not (p.closed and p.lines > 0 and p.size < d.size and g.contains(d.box, p.box, 2.0))]
    prims += gates
    # artifacts whose light outline the binarisation lost over a shaded fill, from the edge map; their
    # fill is cut out of the connector ink whole, so the associations end on them
    from pdf_ocr_pipeline.bpmn.raster.shaded import shaded_artifacts
    for p, c in shaded_artifacts(gray, scale, [p.box for p in prims], order):
        prims.append(p)
        order += 1
        cv2.drawContours(outline, [c], -1, 255, thickness=-1)
        cv2.drawContours(outline, [c], -1, 255, thickness=max(3, k))
    rest = cv2.bitwise_and(ink, cv2.bitwise_not(outline))
    for r in rects:  # pool and lane borders are no connectors, but flows crossing them stay whole
        b = tuple(int(round(v / scale)) for v in r.box)
        cut_border(rest, b, rule_weight(ink, b))
    for c in _heads(blobs, ink, dist, scale):
        tri = cv2.minEnclosingTriangle(c.astype(np.float32))[1]
        if tri is None:
            continue
        pts = _fit_head([(float(px) * scale, float(py) * scale) for px, py in tri.reshape(-1, 2)])
        prims.append(Prim(points=tuple(pts + pts[:1]), closed=True, curves=0, lines=3, stroke=None, fill=0.0,
                          width=0.0, dash="solid", order=order))
        order += 1
    from pdf_ocr_pipeline.bpmn.raster.labels import bridge_labels
    strokes = join_dashes(_strokes(rest, scale, order), specks(cv2.bitwise_or(rest, faint), scale))
    from pdf_ocr_pipeline.bpmn.raster.merges import split_merges
    prims.extend(split_merges(bridge_labels(strokes, words)))
    from pdf_ocr_pipeline.bpmn.raster.icons import refine_icons
    return refine_icons(prims, gray, scale), words


def _split_gateways(prims: list[Prim], blobs: np.ndarray, ink: np.ndarray, scale: float) -> list[Prim]:
    """Gateways whose marker split their hole (``raster_gateways``), looked for around the heavy blobs
    of marker size (4-25 pt) and the circles no diamond holds."""
    from pdf_ocr_pipeline.bpmn.raster.gateways import split_gateways
    cv2 = _cv2()
    cands = []
    for c in cv2.findContours(blobs, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0]:
        x, y, w, h = cv2.boundingRect(c)
        if 4 <= max(w, h) * scale <= 25 and max(w, h) < 1.6 * min(w, h):
            cands.append((x + w / 2, y + h / 2, float(max(w, h))))
    return split_gateways(prims, cands, ink, scale)


def _fit_head(tri: list[g.Point], most: float = 13.5) -> list[g.Point]:
    """An arrowhead's enclosing triangle, shrunk about its tip when bigger than ``most`` points (blur and a
    heavy line's stub inflate it past the size the shared typing takes for a head; the tip stays put)."""
    b = g.box_of(tri)
    size = max(g.width(b), g.height(b))
    tb = g.triangle_tip(tri)
    if size <= most or tb is None:
        return tri
    f = most / size
    t = tb[0]
    return [(t[0] + (x - t[0]) * f, t[1] + (y - t[1]) * f) for x, y in tri]


def _heads(blobs: np.ndarray, ink: np.ndarray, dist: np.ndarray, scale: float) -> list[np.ndarray]:
    """Contours of the blobs of head size (3-16 pt). Where the lines around a blob are drawn heavier than
    the page's usual weight, the opening leaves a stub of them on the head (or a piece of line alone): the
    blob is opened again with a kernel 1.6 times as wide as those lines first."""
    cv2 = _cv2()
    out = []
    h_img, w_img = ink.shape
    for c in cv2.findContours(blobs, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0]:
        x, y, w, h = cv2.boundingRect(c)
        if max(w, h) * scale < 3:
            continue
        x0, y0, x1, y1 = max(0, x - 6), max(0, y - 6), min(w_img, x + w + 6), min(h_img, y + h + 6)
        lines = (ink[y0:y1, x0:x1] > 0) & (blobs[y0:y1, x0:x1] == 0)
        lw = 2 * float(np.percentile(dist[y0:y1, x0:x1][lines], 75)) if lines.any() else 0.0
        sub = np.zeros((h, w), np.uint8)
        cv2.drawContours(sub, [c], -1, 255, -1, offset=(-x, -y))
        sub &= blobs[y:y + h, x:x + w]
        if max(w, h) > 2.5 * min(w, h):  # elongated: the heavy line survived the opening whole
            lw = max(lw, 2 * float(np.median(dist[y:y + h, x:x + w][sub > 0])))
        kk = int(1.6 * lw) | 1
        if kk > 3:
            sub = cv2.morphologyEx(sub, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (kk, kk)))
        for d in cv2.findContours(sub, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE, offset=(x, y))[0]:
            bw, bh = cv2.boundingRect(d)[2:]
            if 3 <= max(bw, bh) * scale <= 16:
                out.append(d)
    return out


def _on_ring(p: Prim, rings: list, scale: float) -> bool:
    """A circle outline traced where a dashed ring was sealed (so it is drawn dashed)."""
    if not (p.closed and p.curves >= 4 and p.lines == 0):
        return False
    cx, cy = g.center(p.box)
    return any(math.hypot(cx / scale - x, cy / scale - y) < 0.4 * r and p.size / scale > 1.4 * r
               for x, y, r, _ in rings)


def _holes(ink: np.ndarray, dist: np.ndarray, scale: float) -> list[tuple[Prim, np.ndarray, int, bool]]:
    """Closed outlines from the holes of the ink: ``(prim, contour, outline thickness px, rounded)``, where
    rounded marks big outlines whose corners stay off their bounding box (sub-processes)."""
    cv2 = _cv2()
    contours, hier = cv2.findContours(ink, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    out = []
    min_side = 9 / scale
    for i, c in enumerate(contours):
        if hier[0][i][3] < 0:  # outer boundary of an ink component; holes are the shapes' insides
            continue
        x, y, w, h = cv2.boundingRect(c)
        if w < min_side or h < min_side:
            continue
        sw = _stroke_width(ink, c, dist)
        # the hole's contour runs along the inside of the stroke: push it out by half the stroke
        pts = c.reshape(-1, 2).astype(float)
        cx, cy = pts.mean(axis=0)
        prim = _prim_from_contour(pts, (cx, cy), sw / 2, scale, sw, len(out), ink)
        if prim is None:
            continue
        rnd = prim.size >= 40 and _rounded(pts, scale)
        out.append((prim, c, max(3, int(round(sw * 2.2))), rnd))
    return out


def _prim_from_contour(pts: np.ndarray, c: tuple[float, float], grow: float, scale: float, sw: float,
                       order: int, ink: np.ndarray | None = None) -> Prim | None:
    cv2 = _cv2()
    cx, cy = c
    d = np.hypot(pts[:, 0] - cx, pts[:, 1] - cy)
    d[d == 0] = 1
    out = pts + (pts - np.array([cx, cy])) / d[:, None] * grow
    pts_pt = [(float(x) * scale, float(y) * scale) for x, y in out]
    b = g.box_of(pts_pt)
    sample = pts_pt[:: max(1, len(pts_pt) // 48)]
    if g.is_circle(sample, 0.07) and abs(g.width(b) - g.height(b)) < 0.15 * max(g.width(b), g.height(b)):
        return Prim(points=tuple(sample + sample[:1]), closed=True, curves=4, lines=0, stroke=0.0, fill=None,
                    width=sw * scale, dash="solid", order=order)
    approx = cv2.approxPolyDP(out.astype(np.float32), max(1.5, 0.02 * cv2.arcLength(out.astype(np.float32), True)), True)
    verts = [(float(x) * scale, float(y) * scale) for x, y in approx.reshape(-1, 2)]
    if len(verts) == 4 and g.is_diamond(verts, 0.15):
        return Prim(points=tuple(verts + verts[:1]), closed=True, curves=0, lines=4, stroke=0.0, fill=None,
                    width=sw * scale, dash="solid", order=order)
    if max(g.width(b), g.height(b)) < 80:  # data objects and stores (``raster_artifacts``)
        from pdf_ocr_pipeline.bpmn.raster.artifacts import cylinder_dip, data_object_prim, data_store_prim, dog_ear
        cut, dip = dog_ear(pts), cylinder_dip(pts)
        if cut is not None:
            return data_object_prim(b, cut, sw * scale, order)
        if dip is not None:
            return data_store_prim(b, dip * scale, sw * scale, order)
        from pdf_ocr_pipeline.bpmn.raster.artifacts import cylinder_band
        band = cylinder_band(pts, ink, sw) if ink is not None else None
        if band is not None:  # a flat-topped body under the dark band of the top's merged arcs
            half = band * scale / 2
            return data_store_prim((b[0], b[1] - half, b[2], b[3]), half, sw * scale, order)
    fill_ratio = cv2.contourArea(out.astype(np.float32)) * scale * scale / max(g.area(b), 1e-6)
    if fill_ratio > 0.82 and max(g.width(b), g.height(b)) >= 40 and _rounded_corners(pts, scale) in (1, 2):
        return None  # rounded and sharp corners mixed: a space closed by elbow flows and a border
    if fill_ratio > 0.9 and (g.width(b) > 120 and g.height(b) > 45) and not _rounded(pts, scale):
        r = [(b[0], b[1]), (b[2], b[1]), (b[2], b[3]), (b[0], b[3])]
        return Prim(points=tuple(r + r[:1]), closed=True, curves=0, lines=4, stroke=0.0, fill=None,
                    width=sw * scale, dash="solid", order=order)
    if fill_ratio > 0.82:
        return Prim(points=tuple(sample + sample[:1]), closed=True, curves=4, lines=4, stroke=0.0, fill=None,
                    width=sw * scale, dash="solid", order=order)
    if len(verts) == 5:
        return Prim(points=tuple(verts + verts[:1]), closed=True, curves=0, lines=5, stroke=0.0, fill=None,
                    width=sw * scale, dash="solid", order=order)
    return None


def _rounded_corners(hole: np.ndarray, scale: float) -> int:
    """How many corners of its box the hole's own contour (pixels, inside the stroke, so a thick border does
    not hide the rounding as it does on the centreline) stays a point or more off."""
    x0, y0 = hole.min(axis=0)
    x1, y1 = hole.max(axis=0)
    far = 0
    for cx, cy in ((x0, y0), (x1, y0), (x1, y1), (x0, y1)):
        far += float(np.hypot(hole[:, 0] - cx, hole[:, 1] - cy).min()) > max(2.0, 1.0 / scale)
    return far


def _rounded(hole: np.ndarray, scale: float) -> bool:
    """Rounded corners (three or four of them)."""
    return _rounded_corners(hole, scale) >= 3


def _strokes(rest: np.ndarray, scale: float, order: int) -> list[Prim]:
    """Connector strokes: the leftover ink thinned to a skeleton and traced into polylines (bends kept), as
    open prims. Dashes come out as short pieces; ``dashes.join_dashes`` (called by ``trace_words``) joins them."""
    from pdf_ocr_pipeline.bpmn.raster.skeleton import simplify, thin, trace_paths
    cv2 = _cv2()
    rest = cv2.morphologyEx(rest, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    skel = thin(rest)
    out = []
    for path in trace_paths(skel, min_len=max(3, int(2.5 / scale)), spur=max(4, int(7 / scale))):
        pts = [(x * scale, y * scale) for x, y in simplify(path, max(1.0, 0.9 / scale))]
        if len(pts) < 2:
            continue
        out.append(Prim(points=tuple(pts), closed=False, curves=0, lines=len(pts) - 1, stroke=0.0, fill=None,
                        width=0.75, dash="solid", order=order))
        order += 1
    return out


def extract_raster(png: bytes | np.ndarray, words: list[Word], *, page_no: int, dpi: float,
                   width: float | None = None, height: float | None = None) -> BpmnDiagram:
    """BPMN elements from a page image.

    Args:
        png: the encoded image (PNG/JPEG bytes) or a decoded array.
        words: ``(text, box)`` in points (OCR words or grounded blocks), displayed frame.
        page_no: 1-based.
        dpi: the image's resolution; points = pixels * 72 / dpi.
        width, height: the page size in points (defaults to the image's).

    Returns:
        The diagram, elements marked ``method="raster"``.
    """
    from pdf_ocr_pipeline.bpmn.recognise import diagram_from_prims

    scale = 72.0 / dpi
    from pdf_ocr_pipeline.bpmn.raster.lookalike import fix_words
    words = fix_words(text_words(words))
    if isinstance(png, (bytes, bytearray)):  # decoded once, here: trace_words takes the array as it is
        cv2 = _cv2()
        png = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    if width is None or height is None:
        height, width = png.shape[0] * scale, png.shape[1] * scale
    # a skewed scan is straightened first and its model turned back after (``deskew``)
    from pdf_ocr_pipeline.bpmn.raster.deskew import map_diagram, map_words, skew_angle, straighten
    angle = skew_angle(png)
    back = None
    if angle:
        png, onto, back = straighten(png, angle)
        words = map_words(words, onto, scale)
    prims, words = trace_words(png, words, scale)
    from pdf_ocr_pipeline.bpmn.raster.links import artifact_links
    d = artifact_links(diagram_from_prims(prims, words, page_no=page_no, width=width, height=height,
                                          method="raster"))
    return map_diagram(d, back, scale) if back is not None else d
