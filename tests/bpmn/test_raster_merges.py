"""Flows sharing a last segment are split back into one connector each (``bpmn/raster/merges.py``)."""

from pdf_ocr_pipeline.bpmn import geometry as g
from pdf_ocr_pipeline.bpmn.primitives import Prim
from pdf_ocr_pipeline.bpmn.raster.merges import split_merges


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


def test_two_flows_cut_at_a_t_are_not_joined_back_at_their_shared_arrow_tip():
    """miwg B.2.0 at 150 dpi with bench/bpmn_eval.py's noise: the two connectors ``split_merges`` makes of the T
    where "Task 25" and the task at (1118, 728) merge into one segment down to an end event (points as traced
    off the page). They end together at the arrowhead, and ``connectors._chains`` joined them there into one
    stroke running down the stem and back up it; a flow cut in two (same line, on from the joint) still joins."""
    from pdf_ocr_pipeline.bpmn.recognise.connectors import _chains
    a = [(1022.4, 849.1), (1223.0, 849.1), (1232.2, 849.1), (1235.0, 851.0), (1236.0, 856.0), (1235.4, 914.0),
         (1236.0, 928.0), (1237.0, 929.0)]
    b = [(1183.0, 753.0), (1225.0, 753.0), (1232.0, 753.0), (1235.0, 757.0), (1235.0, 851.0), (1236.0, 856.0),
         (1235.4, 914.0), (1236.0, 928.0), (1237.0, 929.0)]
    chains = _chains([_line(*a), _line(*b)], gap=6.0)
    assert len(chains) == 2 and all(g.dist(pts[-1], (1237.0, 929.0)) < 1.0 for pts, _ in chains)
    # one flow traced in two pieces meeting at a point (the stem, then on to the tip) is joined as before
    one = _chains([_line(*a[:5]), _line(*a[4:])], gap=6.0)
    assert len(one) == 1 and g.dist(one[0][0][0], a[0]) < 1.0 and g.dist(one[0][0][-1], a[-1]) < 1.0
