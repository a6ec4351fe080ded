"""Vector shapes drawn by another renderer (bpmn-js printed by Chromium, bold look): rounded rectangles whose
corner arcs are split into many Beziers, pages with a folded corner (data objects, some tiny and wider than
tall), cylinders (data stores), and event rings judged by stroke width relative to the page's tasks."""

from pathlib import Path

import pymupdf
import pytest

from pdf_ocr_pipeline.bpmn import geometry as g
from pdf_ocr_pipeline.bpmn.vector.extract import extract_vector

PDF = Path(__file__).parents[1] / "fixtures/bpmn/corpus/shapes-ex04_writer0059-bold-vector.pdf"

# truth boxes (page points) from the render's own layout (bench.bpmn_corpus truth)
DATA_OBJECTS = [(353.2, 113.2, 362.9, 122.2), (309.7, 217.5, 315.7, 225.0), (91.4, 220.5, 100.4, 231.8),
                (215.9, 115.5, 224.9, 126.8)]
DATA_STORE = (194.9, 216.0, 227.9, 237.0)
START = (89.2, 162.8, 101.9, 175.5)
END = (343.4, 384.0, 358.4, 399.0)


@pytest.fixture(scope="module")
def diagram():
    with pymupdf.open(PDF) as doc:
        return extract_vector(doc[0], 1, [])


def _found(diagram, box):
    hits = [e for e in diagram.shapes if g.iou(e.box, box) > 0.5]
    assert hits, f"nothing at {box}"
    return hits[0]


def test_data_objects_not_tasks(diagram):
    for box in DATA_OBJECTS:
        assert _found(diagram, box).type == "dataObjectReference"
    assert _found(diagram, DATA_STORE).type == "dataStoreReference"
    assert sum(e.type == "task" for e in diagram.shapes) == 6


def test_event_rings_by_relative_width(diagram):
    assert _found(diagram, START).type == "startEvent"
    assert _found(diagram, END).type == "endEvent"
