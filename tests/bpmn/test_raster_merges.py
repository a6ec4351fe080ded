"""Flows sharing a last segment are split back into one connector each (``bpmn/raster_merges.py``)."""

from pdf_ocr_pipeline.bpmn.primitives import Prim
from pdf_ocr_pipeline.bpmn.raster_merges import split_merges


def _line(*pts) -> Prim:
    return Prim(points=tuple(pts), closed=False, curves=0, lines=len(pts) - 1, stroke=0.0, fill=None, width=0.75,
                dash="solid", order=0)


def test_two_flows_into_one_segment_become_two_connectors():
    # traced: one stroke from one source round the elbow to the other, and a stem down to the target
    through = _line((100.0, 200.0), (300.0, 200.0), (300.0, 100.0), (250.0, 100.0))
    stem = _line((300.0, 200.0), (300.0, 280.0))
    out = split_merges([through, stem])
    assert len(out) == 2
    ends = sorted((p.points[0], p.points[-1]) for p in out)
    assert ends == [((100.0, 200.0), (300.0, 280.0)), ((250.0, 100.0), (300.0, 280.0))]


def test_a_straight_stroke_beside_a_flow_end_is_left_alone():
    border_rest = _line((300.0, 100.0), (300.0, 300.0))      # what a heavy outline leaves beside its hole
    flow = _line((300.0, 200.0), (380.0, 200.0))
    assert len(split_merges([border_rest, flow])) == 2
    crossing = _line((200.0, 150.0), (400.0, 150.0))         # ends far from the other stroke
    assert len(split_merges([crossing, flow])) == 2
