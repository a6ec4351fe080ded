"""Pools and lanes from long rules (``bpmn/raster/frames.py``) and the raster helpers around them."""

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from pdf_ocr_pipeline.bpmn.raster.extract import cut_border, faint_rules  # noqa: E402
from pdf_ocr_pipeline.bpmn.raster.frames import frames, merge_rules  # noqa: E402


def test_merge_rules_joins_collinear_pieces_across_small_gaps():
    segs = [(10.0, 0.0, 50.0), (10.4, 54.0, 100.0), (10.2, 200.0, 260.0), (30.0, 0.0, 100.0)]
    out = sorted(merge_rules(segs, off=1.5, gap=6.0))
    assert len(out) == 3
    y, a, b = out[0]
    assert abs(y - 10.2) < 0.3 and a == 0.0 and b == 100.0   # 4 pt gap bridged
    assert out[1][1:] == (200.0, 260.0)                      # 100 pt gap kept


def test_merge_rules_a_late_piece_bridges_two_runs():
    out = merge_rules([(5.0, 0.0, 40.0), (5.0, 80.0, 120.0), (5.0, 38.0, 82.0)])
    assert out == [(5.0, 0.0, 120.0)]


def test_frames_pool_with_header_and_two_lanes():
    # pool 0..400 x 0..200, header band 0..30 (vertical rule at x=30), lanes split at y=100 right of the header
    hs = [(0.0, 0.0, 400.0), (100.0, 30.0, 400.0), (200.0, 0.0, 400.0)]
    vs = [(0.0, 0.0, 200.0), (30.0, 0.0, 200.0), (400.0, 0.0, 200.0)]
    got = {(tuple(round(v) for v in b), k) for b, k in frames(hs, vs)}
    assert ((0, 0, 400, 200), "frame") in got
    assert ((0, 0, 30, 200), "header") in got
    assert ((30, 0, 400, 100), "cell") in got and ((30, 100, 400, 200), "cell") in got


def test_frames_undivided_pool_body_is_not_a_lane():
    hs = [(0.0, 0.0, 400.0), (120.0, 0.0, 400.0)]
    vs = [(0.0, 0.0, 120.0), (25.0, 0.0, 120.0), (400.0, 0.0, 120.0)]
    kinds = {k: tuple(round(v) for v in b) for b, k in frames(hs, vs)}
    assert kinds["frame"] == (0, 0, 400, 120) and kinds["body"] == (25, 0, 400, 120)
    assert "cell" not in kinds or kinds["cell"] == (0, 0, 25, 120)


def test_frames_lanes_without_a_pool_and_rounded_corners_rejected():
    hs = [(0.0, 0.0, 300.0), (80.0, 0.0, 300.0), (160.0, 0.0, 300.0)]
    vs = [(0.0, 0.0, 160.0), (300.0, 0.0, 160.0)]
    got = [(tuple(round(v) for v in b), k) for b, k in frames(hs, vs)]
    assert sorted(got) == [((0, 0, 300, 80), "cell"), ((0, 80, 300, 160), "cell")]   # no frame: no header
    assert frames(hs, vs, corner=lambda p: p[1] != 0.0) == [((0.0, 80.0, 300.0, 160.0), "cell")]


def test_faint_rules_keeps_a_light_grey_rule_under_noise_and_not_dark_ones():
    rng = np.random.default_rng(0)
    img = np.full((300, 600), 250, np.float32)
    img[100, 20:580] = 165          # a light grey lane border, 1 px
    img[200:202, 20:580] = 20       # a dark rule: already ink
    img = np.clip(img + rng.normal(0, 10, img.shape), 0, 255).astype(np.uint8)
    ink = np.zeros_like(img)
    ink[200:202, 20:580] = 255
    out = faint_rules(img, ink, 72 / 150)
    assert (out[99:102, 40:560] > 0).any(axis=0).mean() > 0.95
    assert not out[195:207].any()


def test_cut_border_keeps_a_flow_crossing_a_lane_border_and_frees_a_dash():
    ink = np.zeros((60, 60), np.uint8)
    ink[29:32, :] = 255              # lane border, 3 px
    ink[5:55, 20] = 255              # a flow crossing it
    ink[5:29, 40] = 255              # a dash ending at it
    rest = ink.copy()
    cut_border(rest, (0, 30, 59, 59), 3)
    assert rest[5:55, 20].all()
    assert not rest[28:33, 40].any() and rest[5:27, 40].all()
    assert not rest[28:33, 5:15].any()


def test_blank_words_keeps_a_flow_through_its_label_and_drops_the_letters():
    from pdf_ocr_pipeline.bpmn.raster.extract import blank_words
    s = 72 / 150
    ink = np.zeros((200, 200), np.uint8)
    ink[20:180, 100:102] = 255                           # a flow running down through a label
    cv2.putText(ink, "Label", (60, 100), cv2.FONT_HERSHEY_SIMPLEX, 0.6, 255, 1)
    box = (55 * s, 82 * s, 130 * s, 104 * s)
    blank_words(ink, [("Label", box)], s)
    assert ink[20:180, 100:102].all()
    assert ink[84:104, 60:95].sum() == 0 and ink[84:104, 106:128].sum() == 0


def test_a_space_closed_by_elbow_flows_and_a_lane_border_is_no_activity():
    from pdf_ocr_pipeline.bpmn.raster.extract import _prim_from_contour
    s = 72 / 150
    img = np.zeros((300, 900), np.uint8)
    cv2.line(img, (50, 40), (850, 40), 255, 2)               # lane border: sharp corners where flows meet it
    cv2.line(img, (60, 40), (60, 200), 255, 2)
    cv2.line(img, (800, 40), (800, 200), 255, 2)
    cv2.ellipse(img, (80, 200), (20, 20), 90, 0, 90, 255, 2)   # elbows: rounded corners
    cv2.ellipse(img, (780, 200), (20, 20), 0, 0, 90, 255, 2)
    cv2.line(img, (80, 220), (780, 220), 255, 2)
    contours, hier = cv2.findContours(img, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    holes = [c for i, c in enumerate(contours) if hier[0][i][3] >= 0 and cv2.boundingRect(c)[2] > 500]
    assert len(holes) == 1
    pts = holes[0].reshape(-1, 2).astype(float)
    assert _prim_from_contour(pts, tuple(pts.mean(axis=0)), 1.0, s, 2.0, 0) is None


def test_heads_strip_a_heavy_line_stub_off_its_arrowhead():
    from pdf_ocr_pipeline.bpmn.raster.extract import _heads
    s = 72 / 150
    ink = np.zeros((200, 120), np.uint8)
    ink[10:150, 58:63] = 255                                  # a line 5 px wide
    cv2.fillPoly(ink, [np.array([[48, 150], [72, 150], [60, 175]], np.int32)], 255)   # its head
    dist = cv2.distanceTransform(ink, cv2.DIST_L2, 3)
    blobs = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    heads = _heads(blobs, ink, dist, s)
    assert len(heads) == 1
    x, y, w, h = cv2.boundingRect(heads[0])
    assert y >= 140 and h * s <= 14


def test_an_inflated_head_triangle_is_shrunk_about_its_tip():
    from pdf_ocr_pipeline.bpmn import geometry as g
    from pdf_ocr_pipeline.bpmn.raster.extract import _fit_head
    tri = [(100.0, 120.0), (95.0, 100.0), (105.0, 100.0)]      # 20 pt long, tip at the bottom
    out = _fit_head(tri)
    b = g.box_of(out)
    assert max(b[2] - b[0], b[3] - b[1]) <= 13.5 + 1e-6
    assert out[0] == (100.0, 120.0)
    assert _fit_head([(0.0, 0.0), (8.0, 4.0), (0.0, 8.0)]) == [(0.0, 0.0), (8.0, 4.0), (0.0, 8.0)]
