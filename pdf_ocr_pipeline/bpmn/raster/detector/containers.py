"""The detector's pools and lanes fitted to the lines drawn (numpy and OpenCV; pure functions of the picture).

The detector places a pool's centre well and its size loosely (a pool is most of a page, and its box is regressed
from one cell), and it reads many pools twice, once in each look at the page (``runtime.detect_page``) or as two
peaks. A pool's border and its lane dividers are the longest lines of a diagram, so each edge of a detected pool or
lane moves to the strongest line drawn near it, and then a pool lying inside a stronger one is dropped.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from pdf_ocr_pipeline.bpmn import geometry as g
from pdf_ocr_pipeline.bpmn.raster.detector.decode import Detection

#: the ink mask is made at this long side (px): the detector's working size, where a pen line is 1-3 px
MASK_LONG_SIDE = 1024
# The constants below were chosen on the photos of hdBPMN's train writers (pools and lanes F1 of the pipeline's
# reading) and checked on its validation writers' photos; the alternatives' figures: BENCHMARKS.md, "BPMN
# detector", fourth pass.
#: ink is at most this share of the paper's brightness around it (0.6 measured worse, 0.8 the same)
INK_CONTRAST = 0.7
#: an edge may move this share of the box's size across it (0.4 measured worse, 0.2 about the same)
SNAP_REACH = 0.3
#: half-width of the band a line may wander in, as a share of the mask's long side (a hand-drawn or photographed
#: line is neither straight nor level; 0.4 % measured the same)
BAND_SHARE = 0.008
#: a line is an edge where it has ink along this share of the edge's length (0.6 and 0.7 measured the same)
EDGE_MIN_COVERAGE = 0.5
#: a pool (lane) this share inside a stronger one once fitted is that one read twice: the weaker goes (0.5 and 0.7
#: measured the same; IoU instead of the share measured worse)
DUPLICATE_SHARE = 0.6
#: what an edge's distance from where the detector put it costs against its coverage, at the reach (1.0: worse)
DISTANCE_COST = 0.3
_CONTAINERS = ("participant", "lane")


def ink_mask(gray: np.ndarray) -> tuple[np.ndarray, float]:
    """Ink: darker than ``INK_CONTRAST`` of the paper around it (photos are unevenly lit), at ``MASK_LONG_SIDE``
    px; the mask and the scale from the picture to it."""
    import cv2
    k = min(1.0, MASK_LONG_SIDE / max(gray.shape[:2]))
    small = gray if k == 1.0 else cv2.resize(gray, (max(1, round(gray.shape[1] * k)), max(1, round(gray.shape[0] * k))),
                                             interpolation=cv2.INTER_AREA)
    # the paper's brightness where no line is (a grey closing wider than a pen line), then ink darker than it by
    # INK_CONTRAST: faint grid lines and paper texture stay paper
    paper = cv2.GaussianBlur(cv2.dilate(small, np.ones((15, 15), np.uint8)), (0, 0), 5)
    return small.astype(np.float32) < INK_CONTRAST * np.maximum(paper, 1).astype(np.float32), k


def coverage(ink: np.ndarray, vertical: bool, span: tuple[int, int], lo: int, hi: int, band: int) -> np.ndarray:
    """For each column ``lo..hi-1`` (rows if not ``vertical``), the share of ``span`` (rows, or columns) that has
    ink within ``band`` of it."""
    a = ink if vertical else ink.T
    s0, s1 = max(0, span[0]), min(a.shape[0], span[1])
    if s1 <= s0 or hi <= lo:
        return np.zeros(max(0, hi - lo))
    c0, c1 = max(0, lo - band), min(a.shape[1], hi + band)
    part = a[s0:s1, c0:c1]
    # ink within the band of a column: the ink count over its 2 * band + 1 columns, from prefix sums
    sums = np.concatenate([np.zeros((part.shape[0], 1), np.int32), np.cumsum(part, axis=1, dtype=np.int32)], axis=1)
    cols = np.arange(lo, hi)
    left = np.maximum(c0, cols - band) - c0
    right = np.minimum(c1, cols + band + 1) - c0
    return np.where(right > left, (sums[:, right] - sums[:, left] > 0).mean(axis=0), 0.0)


def snap_edge(ink: np.ndarray, vertical: bool, at: float, span: tuple[float, float], reach: float, band: int,
              limits: tuple[int, int]) -> float:
    """Where the edge at ``at`` (a column if ``vertical``, else a row) lies: the line within ``reach`` whose
    coverage of ``span``, less its distance cost, is highest and at least ``EDGE_MIN_COVERAGE``; ``at`` if none."""
    lo, hi = max(limits[0], int(at - reach)), min(limits[1], int(at + reach) + 1)
    inner = (int(span[0]), int(span[1]))
    cov = coverage(ink, vertical, inner, lo, hi, band)
    if not len(cov) or cov.max() < EDGE_MIN_COVERAGE:
        return at
    pos = np.arange(lo, hi)
    gain = cov - DISTANCE_COST * np.abs(pos - at) / max(reach, 1.0)
    gain[cov < EDGE_MIN_COVERAGE] = -np.inf
    return float(pos[int(np.argmax(gain))])


def fit_box(ink: np.ndarray, box: tuple[float, float, float, float], band: int) -> tuple[float, float, float, float]:
    """A container's box (mask pixels) with each edge on the line drawn nearest it: the sides first, measured
    along the middle of the box's height, then the top and bottom along the fitted width, then the sides again."""
    h_img, w_img = ink.shape
    x0, y0, x1, y1 = max(0.0, box[0]), max(0.0, box[1]), min(w_img - 1.0, box[2]), min(h_img - 1.0, box[3])
    if x1 - x0 < 4 * band or y1 - y0 < 4 * band:
        return box
    for _ in range(2):
        w, h = x1 - x0, y1 - y0
        span = (y0 + 0.2 * h, y1 - 0.2 * h)
        x0, x1 = (snap_edge(ink, True, x0, span, SNAP_REACH * w, band, (0, w_img)),
                  snap_edge(ink, True, x1, span, SNAP_REACH * w, band, (0, w_img)))
        w = x1 - x0
        span = (x0 + 0.1 * w, x1 - 0.1 * w)
        y0, y1 = (snap_edge(ink, False, y0, span, SNAP_REACH * h, band, (0, h_img)),
                  snap_edge(ink, False, y1, span, SNAP_REACH * h, band, (0, h_img)))
        if x1 - x0 < 4 * band or y1 - y0 < 4 * band:
            return box
    return x0, y0, x1, y1


def fit_containers(dets: list[Detection], gray: np.ndarray) -> list[Detection]:
    """The detections with pools' and lanes' boxes fitted to the lines drawn (``fit_box``) and read-twice ones
    dropped (``read_twice``); other detections unchanged. Boxes in the picture's pixels, as given."""
    if not any(d.cls in _CONTAINERS for d in dets):
        return dets
    ink, k = ink_mask(gray)
    band = max(1, round(BAND_SHARE * max(ink.shape)))

    def fitted(d: Detection) -> Detection:
        box = fit_box(ink, tuple(v * k for v in d.box), band)
        return replace(d, box=tuple(v / k for v in box))

    out = [fitted(d) if d.cls in _CONTAINERS else d for d in dets]
    twice = read_twice(out)
    return [d for i, d in enumerate(out) if i not in twice]


def read_twice(dets: list[Detection]) -> set[int]:
    """Indexes of pools (lanes) that lie ``DUPLICATE_SHARE`` inside a stronger pool (lane): pools do not nest, so
    such a pair is one pool read twice (the page's two looks, or two peaks of one pool)."""
    kept: list[Detection] = []
    twice = set()
    for i in sorted(range(len(dets)), key=lambda i: -dets[i].score):
        d = dets[i]
        if d.cls in _CONTAINERS:
            if any(k.cls == d.cls and g.overlap_of_smaller(k.box, d.box) > DUPLICATE_SHARE for k in kept):
                twice.add(i)
                continue
            kept.append(d)
    return twice
