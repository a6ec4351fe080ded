import sys
from pathlib import Path

import pymupdf
import pytest

from pdf_ocr_pipeline.bpmn import extract_diagram
from pdf_ocr_pipeline.bpmn.parse_truth import parse_bpmn

FIX = Path(__file__).resolve().parents[1] / "fixtures"


def pdf_of(stem: str) -> Path:
    return FIX / "A.1.0.pdf" if stem == "A.1.0" else FIX / "bpmn" / f"{stem}.pdf"


sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.bpmn_eval import FLOW_CLASSES, SHAPE_CLASSES, score  # noqa: E402


@pytest.mark.parametrize("stem", ["A.1.0", "A.2.0", "A.3.0", "A.4.0"])
def test_miwg_reference_vector_quality(stem, bpmn_fixtures):
    pred = extract_diagram(pdf_of(stem), 1)
    assert pred is not None and pred.method == "vector"
    s = score(pred, parse_bpmn(bpmn_fixtures / f"{stem}.bpmn", transform=(0.75, 0.75, 0, 0)))
    assert s.prf(SHAPE_CLASSES)[2] >= 0.98
    assert s.prf(FLOW_CLASSES)[2] >= 0.95
    assert s.exact / s.labels >= 0.95


# (file, DI -> points transform, measured shapes F1, flows F1, label exact) on 2026-11-27
HARDER = [("A.4.1", (0.776, 0.778, -78.9, 80.2), 1.0, 0.968, 1.0), ("B.1.0", (0.75, 0.75, 0, 0), 1.0, 1.0, 1.0),
          ("B.2.0", (0.75, 0.75, 0, 0), 0.99, 0.98, 0.92)]


@pytest.mark.parametrize("stem,tf,shapes,flows,labels", HARDER)
def test_miwg_reference_vector_b_series(stem, tf, shapes, flows, labels, bpmn_fixtures):
    """Call activities, groups, data objects/stores, annotations, inclusive and event-based gateways,
    vertical pools, dotted message flows, flows that share an arrow tip."""
    pred = extract_diagram(bpmn_fixtures / f"{stem}.pdf", 1)
    s = score(pred, parse_bpmn(bpmn_fixtures / f"{stem}.bpmn", transform=tf))
    assert s.prf(SHAPE_CLASSES)[2] >= shapes - 0.01
    assert s.prf(FLOW_CLASSES)[2] >= flows - 0.02
    assert s.exact / s.labels >= labels - 0.02


def test_b10_element_kinds(bpmn_fixtures):
    d = extract_diagram(bpmn_fixtures / "B.1.0.pdf", 1)
    c = d.counts()
    assert c.get("callActivity") == 3 and c.get("group") == 1
    assert c.get("dataObjectReference") == 1 and c.get("dataStoreReference") == 1 and c.get("textAnnotation") == 1
    assert c.get("dataInputAssociation") == 1 and c.get("dataOutputAssociation") == 1


def test_a40_structure(bpmn_fixtures):
    d = extract_diagram(pdf_of("A.4.0"), 1)
    by_id = d.by_id()
    mf = [f for f in d.flows if f.type == "messageFlow"]
    assert sorted(f.label for f in mf) == ["Message Flow 1", "Message Flow 2"]
    task4 = next(e for e in d.shapes if e.label == "Task 4")
    assert by_id[task4.parent_id].type == "subProcess"
    assert by_id[by_id[task4.parent_id].parent_id].label == "Lane 1"


def test_boundary_events_and_markers():
    d = extract_diagram(pdf_of("A.3.0"), 1)
    bounds = [e for e in d.shapes if e.type == "boundaryEvent"]
    assert len(bounds) == 2
    assert {d.by_id()[b.parent_id].type for b in bounds} == {"subProcess"}
    assert any(b.event_definition == "message" and "nonInterrupting" in b.markers for b in bounds)
    sub = next(e for e in d.shapes if e.type == "subProcess")
    assert "collapsed" in sub.markers


def test_rotated_page_keeps_displayed_frame(tmp_path):
    doc = pymupdf.open(pdf_of("A.1.0"))
    doc[0].set_rotation(90)
    path = tmp_path / "rot.pdf"
    doc.save(path)
    d = extract_diagram(path, 1)
    page = pymupdf.open(path)[0]
    assert d is not None and d.counts().get("task") == 3
    for e in d.shapes:  # boxes inside the displayed (portrait) page
        assert 0 <= e.box[0] < e.box[2] <= page.rect.width and 0 <= e.box[1] < e.box[3] <= page.rect.height
    assert sum(1 for f in d.flows if f.source_id and f.target_id) == 4


def test_to_rows_columns(bpmn_fixtures):
    from pdf_ocr_pipeline.bpmn.model import ELEMENT_COLUMNS
    d = extract_diagram(pdf_of("A.1.0"), 1)
    rows = d.to_rows("doc1")
    assert rows and all(tuple(r) == ELEMENT_COLUMNS for r in rows)
    flow = next(r for r in rows if r["type"] == "sequenceFlow")
    assert len(flow["waypoints"]) >= 2 and flow["source_id"] and flow["target_id"]


def test_text_page_is_not_a_diagram(fixtures):
    assert extract_diagram(fixtures / "ru_report_p3-5_7.pdf", 1, path="vector") is None
