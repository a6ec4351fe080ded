"""Enterprise Architect exports of the miwg models: how EA draws pools with side-by-side lanes (a pool outline
without a bottom edge of its own, closed by its lanes' bottoms) and non-interrupting boundary events (the ring
overpainted in its fill colour, then dashed as short separate strokes)."""

import sys
from collections import Counter
from pathlib import Path

import pymupdf

from pdf_ocr_pipeline.bpmn.parse_truth import parse_bpmn
from pdf_ocr_pipeline.bpmn.vector.extract import extract_vector

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.bpmn_eval import FLOW_CLASSES, SHAPE_CLASSES, _words, fit_transform, score  # noqa: E402

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn"


def _run(stem: str):
    page = pymupdf.open(FIX / "enterprise-architect" / f"{stem}-import.pdf")[0]
    pred = extract_vector(page, 1, _words(page))
    truth_raw = parse_bpmn(FIX / f"{stem}.bpmn")
    s = score(pred, parse_bpmn(FIX / f"{stem}.bpmn", transform=fit_transform(pred, truth_raw)))
    return pred, s


def test_ea_vertical_pool_with_side_by_side_lanes():
    pred, s = _run("A.4.1")
    kinds = Counter(e.type for e in pred.shapes)
    assert kinds["participant"] == 2 and kinds["lane"] == 3
    pools = {e.label: e for e in pred.shapes if e.type == "participant"}
    assert set(pools) == {"Pool 1", "Pool 2"}
    lanes = [e for e in pred.shapes if e.type == "lane"]
    assert sorted(e.label for e in lanes) == ["Lane 1", "Lane 2", "Lane 3"]
    assert all(e.parent_id == pools["Pool 2"].id for e in lanes if e.label != "Lane 1")
    assert s.prf(SHAPE_CLASSES)[2] == 1.0
    assert s.prf(FLOW_CLASSES)[2] >= 0.90


def test_ea_dashed_boundary_ring_drawn_as_arcs():
    pred, s = _run("A.3.0")
    kinds = Counter(e.type for e in pred.shapes)
    assert kinds["startEvent"] == 1 and kinds["boundaryEvent"] == 2
    bounds = sorted((e for e in pred.shapes if e.type == "boundaryEvent"), key=lambda e: e.box[1])
    assert "nonInterrupting" in bounds[0].markers and "nonInterrupting" not in bounds[1].markers
    assert s.prf(SHAPE_CLASSES)[2] == 1.0
    assert s.prf(FLOW_CLASSES)[2] >= 0.94
