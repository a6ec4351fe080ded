"""Connectors interrupted by the white box of their label are joined across it (``bpmn/raster/labels.py``)."""

from pdf_ocr_pipeline.bpmn.primitives import Prim
from pdf_ocr_pipeline.bpmn.raster.labels import bridge_labels


def _line(*pts) -> Prim:
    return Prim(points=tuple(pts), closed=False, curves=0, lines=len(pts) - 1, stroke=0.0, fill=None, width=0.75,
                dash="solid", order=0)


def test_pieces_either_side_of_a_label_become_one_stroke():
    a = _line((100.0, 50.0), (150.0, 50.0))
    b = _line((210.0, 50.2), (260.0, 50.2), (260.0, 90.0))
    words = [("Sequence", (152.0, 45.0, 185.0, 55.0)), ("Flow", (187.0, 45.0, 207.0, 55.0))]
    out = bridge_labels([a, b], words)
    assert len(out) == 1
    assert out[0].points[0] == (100.0, 50.0) and out[0].points[-1] == (260.0, 90.0)


def test_pieces_with_a_gap_not_under_a_label_stay_apart():
    a = _line((100.0, 50.0), (150.0, 50.0))
    b = _line((210.0, 50.0), (260.0, 50.0))
    words = [("Flow", (152.0, 45.0, 170.0, 55.0))]               # the label covers only part of the gap
    assert len(bridge_labels([a, b], words)) == 2
    c = _line((210.0, 58.0), (260.0, 58.0))                      # not on one line
    assert len(bridge_labels([a, c], [("Sequence", (152.0, 45.0, 208.0, 60.0))])) == 2
