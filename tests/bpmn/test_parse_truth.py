import pytest

from pdf_ocr_pipeline.bpmn.parse_truth import parse_bpmn
from pdf_ocr_pipeline.errors import BpmnParseError


def test_reads_shapes_flows_parents(bpmn_fixtures):
    d = parse_bpmn(bpmn_fixtures / "A.4.0.bpmn", transform=(0.75, 0.75, 0, 0))
    counts = d.counts()
    assert counts["task"] == 6 and counts["sequenceFlow"] == 13 and counts["messageFlow"] == 2
    pool = next(e for e in d.elements if e.type == "participant")
    assert pool.box == (54.0, 90.0, 720.0, 198.0)
    t1 = next(e for e in d.elements if e.label == "Task 1")
    assert t1.parent_id is not None


def test_bad_xml_raises():
    with pytest.raises(BpmnParseError):
        parse_bpmn("<definitions")
