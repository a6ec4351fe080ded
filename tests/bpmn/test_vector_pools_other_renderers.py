"""Collapsed (black-box) pools and text annotations drawn by another renderer (bpmn-js printed by Chromium):
a long thin sharp rectangle holding no shapes is a pool, message flows end on its border; an annotation's
undrawn right side lies beyond its text."""

from pathlib import Path

import pytest

from bench.bpmn_eval import score
from pdf_ocr_pipeline.bpmn import extract_diagram
from pdf_ocr_pipeline.bpmn import geometry as g
from pdf_ocr_pipeline.bpmn.parse_truth import parse_bpmn

PDF = Path(__file__).parents[1] / "fixtures/bpmn/corpus/pools-ex09_writer0037-default-vector.pdf"
TRUTH = PDF.with_suffix(".truth.bpmn")

# truth boxes (page points) from the render's own layout (bench.bpmn_corpus truth)
COLLAPSED = (76.5, 15.0, 942.0, 56.25)
ANNOTATION = (498.75, 405.0, 563.25, 438.0)


@pytest.fixture(scope="module")
def diagram():
    return extract_diagram(PDF, 1)  # the page's text-layer words


def test_collapsed_pool_found_and_named(diagram):
    pools = [e for e in diagram.shapes if e.type == "participant" and g.iou(e.box, COLLAPSED) > 0.9]
    assert len(pools) == 1
    assert pools[0].label == "students"
    assert not [e for e in diagram.shapes if e.type == "lane" and g.iou(e.box, COLLAPSED) > 0.5]


def test_message_flows_end_on_the_collapsed_pool(diagram):
    pool = next(e for e in diagram.shapes if e.type == "participant" and g.iou(e.box, COLLAPSED) > 0.9)
    msgs = [f for f in diagram.flows if f.type == "messageFlow"]
    assert len(msgs) == 3
    assert all(pool.id in (f.source_id, f.target_id) for f in msgs)


def test_annotation_box_and_page_score(diagram):
    notes = [e for e in diagram.shapes if e.type == "textAnnotation"]
    assert len(notes) == 1 and g.iou(notes[0].box, ANNOTATION) > 0.75
    s = score(diagram, parse_bpmn(TRUTH))
    assert not s.fp and not s.fn


def test_outlined_dashes_turning_a_corner_stay_one_line():
    """A dashed line printed as one filled capsule per dash (Chromium) that turns in a gap between two dashes:
    the dash before the turn lines up with the dash behind it, not with the next one, and is still a dash."""
    from pdf_ocr_pipeline.bpmn.vector.outlined import restroke
    from pdf_ocr_pipeline.bpmn.primitives import Prim

    def capsule(cx, cy, along_x):
        hx, hy = (4.5, 0.85) if along_x else (0.85, 4.5)
        pts = ((cx - hx, cy - hy), (cx + hx, cy - hy), (cx + hx, cy + hy), (cx - hx, cy + hy), (cx - hx, cy - hy))
        return Prim(points=pts, closed=True, curves=0, lines=4, stroke=None, fill=0.13, width=0.0, dash="solid",
                    order=7)

    pieces = [capsule(x, 0.0, True) for x in (5.0, 20.0, 35.0)] + [capsule(45.0, y, False) for y in (6.5, 21.5, 36.5)]
    out = restroke(pieces)
    assert len(out) == 1 and not out[0].closed and out[0].dash == "dashed"
    assert out[0].box[0] < 1.0 and out[0].box[3] > 40.0
