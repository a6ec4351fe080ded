"""Dashed event rings found in an image and redrawn solid (``bpmn/raster/rings.py``)."""

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from pdf_ocr_pipeline.bpmn.raster.rings import dash_pattern, dashed_rings, is_dashed, seal  # noqa: E402

SCALE = 72 / 150


def test_dash_pattern_counts_dashes_and_the_longest_gap():
    on = np.zeros(180, bool)
    for k in range(12):                   # 12 dashes of 9 samples, gaps of 6
        on[k * 15:k * 15 + 9] = True
    assert dash_pattern(on) == (pytest.approx(0.6), 12, 6)
    assert is_dashed(on)
    assert not is_dashed(np.ones(180, bool))                 # solid: the hole path reads it
    arcs = np.zeros(180, bool)
    for k in range(4):                    # a gateway's corners or a rounded box: a few long arcs
        arcs[k * 45:k * 45 + 25] = True
    assert not is_dashed(arcs)


def _dashed_event(img, c, r, ri, box=None):
    if box is not None:
        cv2.rectangle(img, box[:2], box[2:], 0, 2)
        cv2.circle(img, c, r + 2, 255, -1)            # the event's white fill hides the border under it
    for rr in (r, ri):
        for a0 in range(0, 360, 24):
            cv2.ellipse(img, c, (rr, rr), 0, a0, a0 + 14, 0, 2)


def test_a_dashed_boundary_ring_is_found_and_sealed_so_both_holes_close():
    img = np.full((220, 320), 255, np.uint8)
    _dashed_event(img, (200, 150), 25, 20, box=(60, 40, 260, 150))    # sits on the activity's bottom edge
    img = cv2.GaussianBlur(img, (3, 3), 0.7)
    ink = np.where(img < 128, 255, 0).astype(np.uint8)
    rings = dashed_rings(img, ink, SCALE)
    assert len(rings) == 1
    cx, cy, r, ri = rings[0]
    assert abs(cx - 200) <= 3 and abs(cy - 150) <= 3 and abs(r - 25) <= 3 and ri is not None and abs(ri - 20) <= 2
    seal(ink, rings)
    contours, hier = cv2.findContours(ink, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    holes = [cv2.boundingRect(c) for i, c in enumerate(contours) if hier[0][i][3] >= 0]
    big = [b for b in holes if b[2] > 150]
    assert big, "the activity's hole closes once the ring is solid"
    assert any(abs(b[2] - 2 * ri) <= 5 for b in holes)      # the inner ring's hole


def test_solid_rings_and_plain_boxes_are_not_dashed_rings():
    img = np.full((200, 300), 255, np.uint8)
    cv2.circle(img, (70, 100), 25, 0, 2)
    cv2.rectangle(img, (150, 60), (260, 140), 0, 2)
    ink = np.where(img < 128, 255, 0).astype(np.uint8)
    assert dashed_rings(img, ink, SCALE) == []


def test_a_dashed_ring_round_an_icon_is_judged_from_its_own_centre():
    """B.2.0's non-interrupting escalation boundary event (on "Task 23"), 150 dpi with bench/bpmn_eval.py's
    noise: left half the grey crop, right half the ink ``dashed_rings`` judges (sure words blanked; the
    unsure OCR word "Vat" read off the ring left on). Hough's circle is pulled a few pixels towards the
    triangle, and from there the ring reads as 7 long arcs, not dashes: the event, and the task whose outline
    it cuts, were lost (pass 7). Judged again from the recentred circle it is a dashed double ring."""
    from pathlib import Path
    im = cv2.imread(str(Path(__file__).resolve().parents[1] / "fixtures" / "bpmn" /
                        "raster_ring_escalation_b20.png"), cv2.IMREAD_GRAYSCALE)
    gray, ink = im[:, :120], im[:, 120:]
    rings = dashed_rings(gray, ink, SCALE)
    assert len(rings) == 1
    cx, cy, r, ri = rings[0]
    # the truth: centre (1003, 706) pt = (60, 62) px in the crop, radius 12 pt = 25 px
    assert abs(cx - 60) <= 2 and abs(cy - 62) <= 2 and 23 <= r <= 27 and ri is not None and ri < r
