"""Message flows and associations from another renderer's vector PDF (bpmn-js printed by Chromium).

Chromium writes every dash of a dashed or dotted stroke as its own filled outline; ``outlined.restroke`` gives
such runs back as one dashed/dotted line, and the connector stage types them by dash kind, tail circle and head.
The shapes come from the page's truth so the test measures the connector stage alone.
"""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest

from pdf_ocr_pipeline.bpmn.recognise.connectors import find_connectors
from pdf_ocr_pipeline.bpmn.parse_truth import parse_bpmn
from pdf_ocr_pipeline.bpmn.recognise.shapes import Shape
from pdf_ocr_pipeline.bpmn.vector.extract import page_prims

PDF = Path(__file__).resolve().parents[1] / "fixtures/bpmn/corpus/flows-ex04_writer0013-default-vector.pdf"
TRUTH = PDF.with_suffix(".truth.bpmn")


@pytest.fixture(scope="module")
def found():
    truth = parse_bpmn(TRUTH)
    shapes = []
    for e in truth.shapes:
        if e.type in ("lane",):
            continue
        s = Shape(e.type, tuple(float(v) for v in e.box))
        s.id = e.id
        shapes.append(s)
    with pymupdf.open(PDF) as doc:
        prims = page_prims(doc[0])
    # everything open or small is left to the connector stage (the truth's shapes stand for the classifier)
    rest = [p for p in prims if not p.closed or p.size < 14]
    conns = find_connectors(rest, shapes)
    got = [(c.type, c.source.id if c.source else None, c.target.id if c.target else None) for c in conns]
    return truth, got


def test_dashes_outlined_by_chromium_become_one_dashed_line():
    with pymupdf.open(PDF) as doc:
        prims = page_prims(doc[0])
    kinds = [p.dash for p in prims if not p.closed]
    assert kinds.count("dashed") == 3   # the three message flows
    assert kinds.count("dotted") >= 7   # the data associations


def test_message_flows_found_with_their_ends(found):
    truth, got = found
    want = {(f.source_id, f.target_id) for f in truth.flows if f.type == "messageFlow"}
    assert len(want) == 3
    assert want <= {(s, t) for k, s, t in got if k == "messageFlow"}


def test_associations_found_with_their_ends(found):
    truth, got = found
    want = [{f.source_id, f.target_id} for f in truth.flows if "ssociation" in f.type]
    have = [{s, t} for k, s, t in got if k == "association"]
    hits = sum(1 for w in want if w in have)
    assert len(want) >= 7 and hits >= len(want) - 1
    assert not [k for k, s, t in got if k == "messageFlow" and (s, t) not in
                {(f.source_id, f.target_id) for f in truth.flows if f.type == "messageFlow"}]
