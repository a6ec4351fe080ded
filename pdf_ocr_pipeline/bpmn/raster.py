"""BPMN from a page image (scans, embedded images, text drawn as curves) with OpenCV: no trained model.

The image is binarised, the words' boxes are blanked, and what is left is traced into the same primitives
the vector path uses: closed outlines (contours of the holes inside strokes: circles, diamonds, rounded
rectangles, pools) and connector strokes (the remaining ink, followed from shape to shape). Arrowheads are
the blobs that survive an erosion that removes thin lines. ``diagram_from_prims`` then types and connects
them exactly as for vector pages.
"""

from __future__ import annotations

import math

import numpy as np

from pdf_ocr_pipeline.bpmn import geometry as g
from pdf_ocr_pipeline.bpmn.labels import Word
from pdf_ocr_pipeline.bpmn.model import BpmnDiagram
from pdf_ocr_pipeline.bpmn.primitives import Prim
from pdf_ocr_pipeline.errors import MissingDependencyError


def _cv2():
    try:
        import cv2
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise MissingDependencyError("OpenCV is needed for raster diagrams",
                                     hint="pip install opencv-python-headless") from e
    return cv2


def text_words(words: list[Word]) -> list[Word]:
    """Drop what OCR reads off shapes and icons rather than text: words with no letter or digit, single
    characters, and boxes much taller than the page's typical word (an envelope read as '@')."""
    def alnum(t: str) -> int:
        return sum(ch.isalnum() for ch in t)
    cand = [w for w in words if alnum(w[0]) >= 1]
    hs = sorted(g.height(w[1]) for w in cand if alnum(w[0]) >= 2) or sorted(g.height(w[1]) for w in cand)
    if not hs:
        return []
    med = hs[len(hs) // 2]
    return [w for w in cand if g.height(w[1]) <= (1.8 if alnum(w[0]) >= 2 else 1.3) * med or alnum(w[0]) >= 4]


def binarize(gray: np.ndarray) -> np.ndarray:
    """Ink = 255: Otsu on a lightly blurred image, so JPEG and scan noise drop out."""
    cv2 = _cv2()
    blur = cv2.GaussianBlur(gray, (3, 3), 0)
    _, ink = cv2.threshold(blur, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    # a light fill (tinted tasks, shaded data objects, coloured events) is not ink: only what is darker
    # than its neighbourhood is, so a filled shape keeps its outline and its hole
    block = max(15, int(min(gray.shape) / 25) | 1)
    local = cv2.adaptiveThreshold(blur, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 8)
    ink = cv2.bitwise_and(ink, local)
    ink = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8)) if min(gray.shape) > 1500 else ink
    return ink


def _stroke_width(ink: np.ndarray, contour: np.ndarray, dist: np.ndarray) -> float:
    pts = contour.reshape(-1, 2)
    vals = []
    step = max(1, len(pts) // 40)
    for x, y in pts[::step]:
        y0, y1, x0, x1 = max(0, y - 3), y + 4, max(0, x - 3), x + 4
        vals.append(float(dist[y0:y1, x0:x1].max()))
    vals.sort()
    return 2 * vals[len(vals) // 2] if vals else 1.0


def trace(png: bytes | np.ndarray, words: list[Word], scale: float) -> list[Prim]:
    """Primitives in points from an image; ``scale`` = points per pixel (72 / dpi)."""
    cv2 = _cv2()
    if isinstance(png, (bytes, bytearray)):
        gray = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    else:
        gray = png if png.ndim == 2 else cv2.cvtColor(png, cv2.COLOR_BGR2GRAY)
    from pdf_ocr_pipeline.bpmn.dashes import faint_dots, join_dashes, specks
    ink = binarize(gray)
    faint = faint_dots(gray, ink, scale)
    for _, (x0, y0, x1, y1) in words:  # text is not geometry
        for m in (ink, faint):
            cv2.rectangle(m, (int(x0 / scale) - 1, int(y0 / scale) - 1), (int(math.ceil(x1 / scale)) + 1,
                          int(math.ceil(y1 / scale)) + 1), 0, -1)
    dist = cv2.distanceTransform(ink, cv2.DIST_L2, 3)
    contours, hier = cv2.findContours(ink, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    prims: list[Prim] = []
    outline = np.zeros_like(ink)
    order = 0
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
        prim = _prim_from_contour(pts, (cx, cy), sw / 2, scale, sw, order)
        if prim is None:
            continue
        prims.append(prim)
        order += 1
        cv2.drawContours(outline, [c], -1, 255, thickness=max(3, int(round(sw * 2.2))))
    # filled blobs (arrowheads, filled icons): what an opening leaves
    k = max(3, int(round(2.2 * np.median(dist[ink > 0]) * 2 + 1))) if (ink > 0).any() else 3
    blobs = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    rest = cv2.bitwise_and(ink, cv2.bitwise_not(outline))
    for c in cv2.findContours(blobs, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0]:
        x, y, w, h = cv2.boundingRect(c)
        if max(w, h) * scale > 16 or max(w, h) * scale < 3:
            continue
        tri = cv2.minEnclosingTriangle(c.astype(np.float32))[1]
        if tri is None:
            continue
        pts = [(float(px) * scale, float(py) * scale) for px, py in tri.reshape(-1, 2)]
        prims.append(Prim(points=tuple(pts + pts[:1]), closed=True, curves=0, lines=3, stroke=None, fill=0.0,
                          width=0.0, dash="solid", order=order))
        order += 1
    prims.extend(join_dashes(_strokes(rest, scale, order), specks(cv2.bitwise_or(rest, faint), scale)))
    prims.extend(_long_lines(ink, scale, order + len(prims)))
    from pdf_ocr_pipeline.bpmn.raster_icons import refine_icons
    return refine_icons(prims, gray, scale)


def _prim_from_contour(pts: np.ndarray, c: tuple[float, float], grow: float, scale: float, sw: float,
                       order: int) -> Prim | None:
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
    fill_ratio = cv2.contourArea(out.astype(np.float32)) * scale * scale / max(g.area(b), 1e-6)
    if fill_ratio > 0.9 and (g.width(b) > 120 and g.height(b) > 45) and not _rounded(pts_pt, b, sw * scale):
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


def _rounded(pts: list[g.Point], b: g.Box, sw: float) -> bool:
    """Rounded corners: the outline stays away from at least three corners of its bounding box."""
    corners = [(b[0], b[1]), (b[2], b[1]), (b[2], b[3]), (b[0], b[3])]
    far = sum(1 for c in corners if min(g.dist(c, p) for p in pts) > max(2.2, 1.5 * sw))
    return far >= 3


def _long_lines(ink: np.ndarray, scale: float, order: int) -> list[Prim]:
    """Long horizontal and vertical rules (pool and lane borders) as 2-point prims, found by opening the ink
    with long thin kernels, so ``structure.rects_from_lines`` can rebuild pools and lanes that connectors
    crossing their borders split into several holes."""
    cv2 = _cv2()
    out = []
    for horiz, min_len in ((True, 100), (False, 40)):
        n = max(10, int(min_len / scale))
        k = cv2.getStructuringElement(cv2.MORPH_RECT, (n, 1) if horiz else (1, n))
        m = cv2.morphologyEx(ink, cv2.MORPH_OPEN, k)
        for c in cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0]:
            x, y, w, h = cv2.boundingRect(c)
            if horiz:
                yc = (y + h / 2) * scale
                pts = ((x * scale, yc), ((x + w) * scale, yc))
            else:
                xc = (x + w / 2) * scale
                pts = ((xc, y * scale), (xc, (y + h) * scale))
            # stroke None: these only rebuild rectangles; the skeleton already traced them as strokes
            out.append(Prim(points=pts, closed=False, curves=0, lines=1, stroke=None, fill=None, width=h * scale
                            if horiz else w * scale, dash="solid", order=order))
            order += 1
    return out


def _strokes(rest: np.ndarray, scale: float, order: int) -> list[Prim]:
    """Connector strokes: the leftover ink thinned to a skeleton and traced into polylines (bends kept), as
    open prims. Dashes come out as short pieces; ``dashes.join_dashes`` (called by ``trace``) joins them."""
    from pdf_ocr_pipeline.bpmn.skeleton import simplify, thin, trace_paths
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


def _dedupe(segs: list[tuple[g.Point, g.Point]]) -> list[tuple[g.Point, g.Point]]:
    """Hough returns several parallel copies of a thick line: keep the longest of overlapping ones."""
    segs = sorted(segs, key=lambda s: -g.dist(*s))
    kept: list[tuple[g.Point, g.Point]] = []
    for s in segs:
        if any(g.point_segment_distance(s[0], *k) < 2.0 and g.point_segment_distance(s[1], *k) < 2.0 for k in kept):
            continue
        kept.append(s)
    return kept


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
    from pdf_ocr_pipeline.bpmn.vector import diagram_from_prims

    scale = 72.0 / dpi
    from pdf_ocr_pipeline.bpmn.lookalike import fix_words
    words = fix_words(text_words(words))
    prims = trace(png, words, scale)
    if width is None or height is None:
        cv2 = _cv2()
        shape = (cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE).shape
                 if isinstance(png, (bytes, bytearray)) else png.shape)
        height, width = shape[0] * scale, shape[1] * scale
    return diagram_from_prims(prims, words, page_no=page_no, width=width, height=height, method="raster")
