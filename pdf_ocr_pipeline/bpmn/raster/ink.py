"""Ink masks of a page image for the raster path: binarisation, light rules, blanking words, cutting borders.

Pure functions over numpy arrays (OpenCV for the filters). ``raster.trace_words`` uses them in that order.
"""

from __future__ import annotations

import math

import numpy as np

from pdf_ocr_pipeline.bpmn import geometry as g
from pdf_ocr_pipeline.bpmn.labels import Word
from pdf_ocr_pipeline.errors import MissingDependencyError


def _cv2():
    try:
        import cv2
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise MissingDependencyError("OpenCV is needed for raster diagrams",
                                     hint="pip install opencv-python-headless") from e
    return cv2


def word_px(box: tuple[float, float, float, float], scale: float, shape: tuple[int, ...]
            ) -> tuple[int, int, int, int]:
    """A word's box (points) as the pixel box ``(a0, b0, a1, b1)`` that holds its ink, clipped to ``shape``."""
    x0, y0, x1, y1 = box
    h, w = shape[:2]
    return (max(0, int(x0 / scale)), max(0, int(y0 / scale)),
            min(w, int(math.ceil(x1 / scale)) + 1), min(h, int(math.ceil(y1 / scale)) + 1))


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


def faint_rules(gray: np.ndarray, ink: np.ndarray, scale: float, min_len: float = 40.0, share: float = 0.125
                ) -> np.ndarray:
    """Long straight horizontal and vertical rules too light for Otsu (lanes and pools drawn in light grey):
    pixels darker than their neighbourhood that run straight for ``min_len`` points and ``share`` of the
    image's width (height) at least, and that ``ink`` mostly lacks (dark rules and connectors are there
    already, with their own width). Shorter faint runs are more often a photo's texture or paper grain than
    a lane border, which spans its pool. 0/255."""
    cv2 = _cv2()
    blur = cv2.GaussianBlur(gray, (3, 3), 0)
    block = max(15, int(min(gray.shape) / 25) | 1)
    local = cv2.adaptiveThreshold(blur, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 8)
    n = max(10, int(min_len / scale))
    out = np.zeros_like(local)
    for horiz, k_close, k_open in ((True, (1, 5), (1, n)), (False, (5, 1), (n, 1))):
        # a closing along the rule first, so single pixels lost to noise or JPEG do not cut it
        m = cv2.morphologyEx(local, cv2.MORPH_CLOSE, np.ones(k_close, np.uint8))
        m = cv2.bitwise_and(cv2.morphologyEx(m, cv2.MORPH_OPEN, np.ones(k_open, np.uint8)), local)
        cnt, lab, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
        if cnt <= 1:
            continue
        on = np.nonzero(m)
        ids = lab[on]
        total = np.bincount(ids, minlength=cnt)
        dark = np.bincount(ids, weights=ink[on] > 0, minlength=cnt)
        extent = stats[:, cv2.CC_STAT_WIDTH] if horiz else stats[:, cv2.CC_STAT_HEIGHT]
        faint = (dark < 0.3 * np.maximum(total, 1)) & (extent >= share * gray.shape[1 if horiz else 0])
        faint[0] = False
        keep = faint[ids]
        out[on[0][keep], on[1][keep]] = 255
    return out


def rule_weight(ink: np.ndarray, box: tuple[int, int, int, int], reach: int = 6) -> int:
    """How many pixels thick the borders of ``box`` (pixels) are drawn: the widest run of rows (columns)
    around an edge that is inked along most of it."""
    x0, y0, x1, y1 = box
    h, w = ink.shape
    best = 1
    for y in (y0, y1):
        prof = (ink[max(0, y - reach):y + reach + 1, max(0, x0):x1 + 1] > 0).mean(axis=1)
        best = max(best, int((prof > 0.5).sum()))
    for x in (x0, x1):
        prof = (ink[max(0, y0):y1 + 1, max(0, x - reach):x + reach + 1] > 0).mean(axis=0)
        best = max(best, int((prof > 0.5).sum()))
    return best


def long_runs(ink: np.ndarray, words: list[Word], scale: float, keep_len: float = 12.0) -> np.ndarray:
    """Straight horizontal or vertical ink runs longer than a letter's stroke: ``keep_len`` points and one and
    a half times the page's median word height. 0/255."""
    cv2 = _cv2()
    hs = sorted(y1 - y0 for _, (x0, y0, x1, y1) in words)
    n = max(5, int(keep_len / scale), int(1.5 * hs[len(hs) // 2] / scale) if hs else 0)
    return cv2.bitwise_or(cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((n, 1), np.uint8)),
                          cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((1, n), np.uint8)))


def inked_words(ink: np.ndarray, words: list[Word], scale: float, keep: np.ndarray | None = None) -> list[Word]:
    """The words whose box holds what text looks like in ``ink``; OCR also reads lines and outlines as words
    ("eee" along a dashed flow, "ити" on a task's rounded top edge), and blanking such a box cuts the drawing.

    A word is dropped when its box is flatter than 0.45 of the page's median word height (a line, not a
    letter), or when the ink in it, long straight runs (``long_runs``) left out, covers under a tenth of the
    box while the box is crossed by such runs or is much taller than a word (an outline with a few specks,
    an icon): glyphs cover 15-60 % of their word's box. Boxes narrower than 1.5 word heights (a "1" on a
    flow) are left alone by that test."""
    if not words:
        return []
    if keep is None:
        keep = long_runs(ink, words, scale)
    hs = sorted(g.height(b) for _, b in words)
    med = hs[len(hs) // 2]
    out = []
    for w in words:
        x0, y0, x1, y1 = w[1]
        if y1 - y0 < 0.45 * med:
            continue
        a0, b0, a1, b1 = word_px(w[1], scale, ink.shape)
        if a1 <= a0 or b1 <= b0:
            continue
        runs = keep[b0:b1, a0:a1] > 0
        glyphs = float(((ink[b0:b1, a0:a1] > 0) & ~runs).mean())
        if glyphs < 0.1 and x1 - x0 > 1.5 * med and (runs.mean() > 0.1 or y1 - y0 > 1.8 * med):
            continue
        if _ring_on_border(w[0], runs):
            continue
        out.append(w)
    return out


#: one-letter "words" OCR reads off a small circle (a message flow's start on an activity's border)
_ROUND = set("OoОо0")


def _ring_on_border(text: str, runs: np.ndarray) -> bool:
    """A lone round letter on a straight line: one long run leaves its box at the middle of one edge and one
    at the same place on the opposite edge. That is a message flow's start circle sitting on an activity's
    border (white-filled over it), read as "O": blanking its box cuts the border open and the activity is
    lost."""
    if text.strip() not in _ROUND or min(runs.shape) < 6:
        return False

    def across(a: np.ndarray, b: np.ndarray) -> bool:
        n = a.size
        a, b = a[n // 3:n - n // 3], b[n // 3:n - n // 3]
        return bool((a & (b | np.roll(b, 1) | np.roll(b, -1))).any())
    return across(runs[0], runs[-1]) or across(runs[:, 0], runs[:, -1])


def blank_words(ink: np.ndarray, words: list[Word], scale: float, extra=(), keep_len: float = 12.0,
                keep: np.ndarray | None = None) -> None:
    """Blank the words' boxes in ``ink`` (and in ``extra`` masks), in place: text is not geometry. Straight
    horizontal or vertical runs of at least ``keep_len`` points through a box (longer than a letter's
    stroke) are kept: a flow drawn through its own label, or an event's label it leaves by, stays whole."""
    cv2 = _cv2()
    if keep is None:
        keep = long_runs(ink, words, scale, keep_len)
    for _, (x0, y0, x1, y1) in words:
        a = (max(0, int(x0 / scale) - 1), max(0, int(y0 / scale) - 1))
        b = (int(math.ceil(x1 / scale)) + 1, int(math.ceil(y1 / scale)) + 1)
        for m in (ink, *extra):
            cv2.rectangle(m, a, b, 0, -1)
        ink[a[1]:b[1] + 1, a[0]:b[0] + 1] |= keep[a[1]:b[1] + 1, a[0]:b[0] + 1]


def cut_border(rest: np.ndarray, box: tuple[int, int, int, int], weight: int) -> None:
    """Remove (in place) the border of ``box`` (pixels), drawn ``weight`` pixels thick, from ``rest``, except
    where a stroke crosses it: columns (rows) inked just outside the border on both sides. A flow crossing
    a lane border stays one stroke; a dash that only touches the border comes apart from it."""
    h, w = rest.shape
    x0, y0, x1, y1 = box
    r = weight // 2 + 1

    def near(v: np.ndarray) -> np.ndarray:  # a stroke may shift a pixel sideways across the border
        out = v.copy()
        out[1:] |= v[:-1]
        out[:-1] |= v[1:]
        return out

    for y in (y0, y1):
        a, b = max(0, x0 - r), min(w, x1 + r + 1)
        ya, yb = max(0, y - r), min(h, y + r + 1)
        keep = np.zeros(b - a, bool)
        if y - r - 1 >= 0 and y + r + 1 < h:
            keep = (rest[y - r - 1, a:b] > 0) & near(rest[y + r + 1, a:b] > 0)
        band = rest[ya:yb, a:b]
        band[:, ~keep] = 0
    for x in (x0, x1):
        a, b = max(0, y0 - r), min(h, y1 + r + 1)
        xa, xb = max(0, x - r), min(w, x + r + 1)
        keep = np.zeros(b - a, bool)
        if x - r - 1 >= 0 and x + r + 1 < w:
            keep = (rest[a:b, x - r - 1] > 0) & near(rest[a:b, x + r + 1] > 0)
        band = rest[a:b, xa:xb]
        band[~keep, :] = 0
