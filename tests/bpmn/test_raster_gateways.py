"""Gateway diamonds found around a marker that splits their hole (``bpmn/raster/gateways.py``)."""

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from pdf_ocr_pipeline.bpmn.primitives import Prim  # noqa: E402
from pdf_ocr_pipeline.bpmn.raster.gateways import diamond_around, edge_cover, split_gateways  # noqa: E402

SCALE = 72 / 150


def _diamond(img, c, d, t=2):
    pts = np.array([[c[0], c[1] - d], [c[0] + d, c[1]], [c[0], c[1] + d], [c[0] - d, c[1]]], np.int32)
    cv2.polylines(img, [pts], True, 255, t)


def test_a_heavy_x_touching_the_edges_still_gives_its_diamond():
    ink = np.zeros((200, 200), np.uint8)
    _diamond(ink, (100, 100), 33)
    cv2.line(ink, (85, 85), (115, 115), 255, 7)      # the X reaches the edges: four pieces, no diamond hole
    cv2.line(ink, (85, 115), (115, 85), 255, 7)
    assert edge_cover(ink, 100, 100, 33) > 0.9
    d = diamond_around(cv2.dilate(ink, np.ones((3, 3), np.uint8)), 100, 100, 36)
    assert d is not None and abs(d - 33) <= 2
    out = split_gateways([], [(100.0, 100.0, 36.0)], ink, SCALE)
    assert len(out) == 1 and abs(out[0].box[2] - out[0].box[0] - 66 * SCALE) < 3


def test_an_event_on_a_border_is_no_gateway():
    ink = np.zeros((200, 200), np.uint8)
    cv2.line(ink, (10, 100), (190, 100), 255, 2)     # an activity's border through the event
    cv2.line(ink, (100, 125), (100, 190), 255, 2)    # its outgoing flow
    cv2.circle(ink, (100, 100), 25, 255, 2)
    cv2.circle(ink, (100, 100), 20, 255, 2)
    ring = Prim(points=tuple((100 * SCALE + 25 * SCALE * np.cos(a), 100 * SCALE + 25 * SCALE * np.sin(a))
                             for a in np.linspace(0, 2 * np.pi, 33)), closed=True, curves=4, lines=0, stroke=0.0,
                fill=None, width=1.0, dash="solid", order=0)
    assert split_gateways([ring], [(100.0, 100.0, 14.0)], ink, SCALE) == []


def test_pieces_of_a_split_hole_propose_the_diamond_around_them():
    from pdf_ocr_pipeline.bpmn.raster.gateways import _piece_groups
    ink = np.zeros((200, 200), np.uint8)
    _diamond(ink, (100, 100), 33)
    cv2.line(ink, (80, 80), (120, 120), 255, 5)      # a marker that reaches the edges
    cv2.line(ink, (80, 120), (120, 80), 255, 5)

    def tri(pts):
        pts = tuple((x * SCALE, y * SCALE) for x, y in pts + pts[:1])
        return Prim(points=pts, closed=True, curves=0, lines=3, stroke=0.0, fill=None, width=1.0, dash="solid",
                    order=0)
    # three of the four pieces (the left one lost), as hole tracing leaves them
    pieces = [tri([(100, 72), (118, 90), (82, 90)]), tri([(128, 100), (110, 118), (110, 82)]),
              tri([(100, 128), (82, 110), (118, 110)])]
    groups = _piece_groups(pieces, SCALE)
    assert len(groups) == 1 and groups[0][0] > 100          # the union's middle is off to the right
    out = split_gateways(pieces, [], ink, SCALE)
    assert len(out) == 1
    cx = (out[0].box[0] + out[0].box[2]) / 2 / SCALE
    assert abs(cx - 100) <= 2
