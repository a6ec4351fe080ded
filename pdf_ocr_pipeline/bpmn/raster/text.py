"""Text the OCR did not read: rows of glyph-sized ink pieces, blanked like words before tracing.

OCR misses labels (Tesseract returns one word for a whole clean page now and then; a Russian label beside a
gateway is skipped), and unread letters are traced as ink: short strokes joining shapes, glyph blobs taken
for arrowheads (a flow then points the wrong way). Letters have a shape of their own: pieces as tall as
text (0.45-1.4 of a word's height), drawn with the page's thin stroke (no solid blob: an arrowhead or a
gateway marker is wider inside), standing on one row with letter and word gaps between them. A row of three
such pieces or more, at least two text heights long, none touching a long straight run (a ring's arcs
either side of a border crossing it are drawing), is text; its pieces are cleared (their pixels only:
what touches the drawing stays part of it).
"""

from __future__ import annotations

import numpy as np

from pdf_ocr_pipeline.bpmn.labels import Word
from pdf_ocr_pipeline.bpmn.raster.ink import _cv2


def unread_text(ink: np.ndarray, runs: np.ndarray, words: list[Word], scale: float,
                text_h: float | None = None) -> np.ndarray:
    """A mask (0/255) of the glyph pieces of text lines in ``ink`` that no word box covers.

    Args:
        ink: the binarised page (255 = ink), word boxes already blanked or not.
        runs: long straight runs (``raster_ink.long_runs``): never glyphs, and they split letters off lines.
        words: the OCR words (points); their median height is the text height, else ``text_h`` (points,
            default 6.5: 8 pt type).
        scale: points per pixel.
    """
    cv2 = _cv2()
    hs = sorted(b[3] - b[1] for _, b in words)
    th = (hs[len(hs) // 2] if len(hs) >= 3 else (text_h or 6.5)) / scale  # pixels
    rest = ((ink > 0) & (runs == 0)).astype(np.uint8)
    cnt, lab, stats, cent = cv2.connectedComponentsWithStats(rest, connectivity=8)
    if cnt <= 1:
        return np.zeros_like(ink)
    dist = cv2.distanceTransform(rest, cv2.DIST_L2, 3)
    # the thickest point of each piece: glyph strokes are thin, arrowheads and markers solid
    thick = np.zeros(cnt, np.float32)
    np.maximum.at(thick, lab.ravel(), dist.ravel())
    stroke = float(np.median(dist[rest > 0])) if rest.any() else 1.0
    x, y, w, h, area = (stats[:, i] for i in range(5))
    glyph = (h >= 0.45 * th) & (h <= 1.4 * th) & (w <= 6 * th) & (area >= 4) & \
        (thick <= max(2.0, 2.5 * stroke)) & (area <= 0.75 * w * h)
    # a piece a long run touches is a piece of the drawing (a ring's arc either side of the border crossing
    # it, a corner), not a letter standing on its own
    near = cv2.dilate(runs, np.ones((5, 5), np.uint8))
    glyph[np.unique(lab[(near > 0) & (rest > 0)])] = False
    glyph[0] = False
    ids = np.nonzero(glyph)[0]
    if len(ids) < 3:
        return np.zeros_like(ink)
    # rows: pieces whose vertical spans overlap by half the smaller and whose gap is under a text height
    order = ids[np.argsort(x[ids])]
    parent = {int(i): int(i) for i in order}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a_pos, a in enumerate(order):
        for b in order[a_pos + 1:]:
            gap = x[b] - (x[a] + w[a])
            if gap > th:
                break
            ov = min(y[a] + h[a], y[b] + h[b]) - max(y[a], y[b])
            if ov >= 0.5 * min(h[a], h[b]):
                parent[root(int(b))] = root(int(a))
    groups: dict[int, list[int]] = {}
    for i in order:
        groups.setdefault(root(int(i)), []).append(int(i))
    boxes = [(int(x0 / scale), int(y0 / scale), int(np.ceil(x1 / scale)), int(np.ceil(y1 / scale)))
             for _, (x0, y0, x1, y1) in words]
    keep = np.zeros(cnt, bool)
    for members in groups.values():
        if len(members) < 3:
            continue
        x0 = min(x[i] for i in members)
        x1 = max(x[i] + w[i] for i in members)
        if x1 - x0 < 2 * th:
            continue
        for i in members:
            cx, cy = cent[i]
            if not any(b[0] <= cx <= b[2] and b[1] <= cy <= b[3] for b in boxes):
                keep[i] = True
    return np.where(keep[lab], 255, 0).astype(np.uint8)
