import math

from pdf_ocr_pipeline.bpmn import geometry as g
from pdf_ocr_pipeline.bpmn.primitives import prims_from_drawings


def test_iou_and_distances():
    assert g.iou((0, 0, 10, 10), (5, 0, 15, 10)) == 50 / 150
    assert g.box_distance((0, 0, 1, 1), (4, 5, 6, 6)) == 5.0
    assert g.point_segment_distance((5, 3), (0, 0), (10, 0)) == 3
    assert abs(g.point_diamond_border_distance((5, 0), (0, 0, 10, 10))) < 1e-9


def test_circle_from_bezier_curves():
    k = 0.5523 * 10
    quarter = [((10, 0), (10, k), (k, 10), (0, 10)), ((0, 10), (-k, 10), (-10, k), (-10, 0)),
               ((-10, 0), (-10, -k), (-k, -10), (0, -10)), ((0, -10), (k, -10), (10, -k), (10, 0))]
    pts = [p for q in quarter for p in g.bezier_points(*q)]
    assert g.is_circle(pts)
    square = [(t, 0) for t in range(11)] + [(10, t) for t in range(11)] + [(10 - t, 10) for t in range(11)]
    assert not g.is_circle(square)


def test_arrowhead_tip_is_opposite_the_short_side():
    tip, base = g.triangle_tip([(0, 0), (0, 6), (8, 3)])
    assert tip == (8, 3) and base == (0, 3)


def test_dashes():
    assert g.dash_kind("[] 0", 0.75) == "solid"
    assert g.dash_kind("[ 5.25 3.75 ] 0", 0.75) == "dashed"
    assert g.dash_kind("[ 1 2 ] 0", 0.75) == "dotted"


def test_rounded_corners_simplify_to_the_corner_chord():
    pts = [(0, 0), (10, 0)] + g.bezier_points((10, 0), (11, 0), (12, 1), (12, 2)) + [(12, 20)]
    assert len(g.simplify_polyline(pts, 0.75)) <= 4


def test_diamond_and_rect():
    assert g.is_diamond([(5, 0), (10, 5), (5, 10), (0, 5)])
    assert not g.is_diamond([(0, 0), (10, 0), (10, 10), (0, 10)])
    assert g.is_axis_rect([(0, 0), (10, 0), (10, 10), (0, 10)])


def test_rotated_page_matrix_maps_points_into_displayed_frame():
    class P:  # minimal stand-ins for PyMuPDF's Point objects
        def __init__(self, x, y):
            self.x, self.y = x, y
    d = {"type": "s", "color": (0, 0, 0), "width": 1.0, "dashes": "[] 0", "closePath": False,
         "items": [("l", P(10, 20), P(30, 20))]}
    # 90 degree rotation of a 100 x 200 page: (x, y) -> (200 - y, x)
    prims = prims_from_drawings([d], (0, 1, -1, 0, 200, 0))
    assert prims[0].points == ((180, 10), (180, 30))
    assert math.isclose(g.fit_affine_axis([(0, 0), (10, 10)], [(5, 5), (12.5, 12.5)])[0], 0.75)


def test_point_in_polygon():
    tri = [(0, 0), (0, 6), (8, 3), (0, 0)]
    assert g.point_in_polygon((2, 3), tri)
    assert not g.point_in_polygon((9, 3), tri)


def test_reading_rows_keep_a_jittered_row_together_and_a_pool_apart():
    # three tasks a detector read 1 pt apart at the top, an event beside them, a pool around all, a task below
    boxes = [(262.0, 251.7, 334.0, 307.9), (367.0, 252.6, 435.0, 307.2), (161.0, 252.7, 228.0, 306.8),
             (104.0, 266.7, 130.0, 292.2), (90.0, 240.0, 500.0, 420.0), (161.0, 350.0, 228.0, 404.0)]
    rows = g.reading_rows(boxes)
    assert rows[0] == rows[1] == rows[2] == rows[3]  # one row: left to right by x, whatever the tops
    assert len({rows[0], rows[4], rows[5]}) == 3 and rows[4] < rows[0] < rows[5]  # the pool first, the task below last
