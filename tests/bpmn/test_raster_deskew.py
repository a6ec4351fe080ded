"""A scan's skew is measured, undone before the raster search and put back on the model (``raster.deskew``),
on the corpus sample's real rotated scans (``tests/fixtures/bpmn/corpus/sample``: each truth records its angle)."""

import json
from pathlib import Path

import numpy as np
import pymupdf
import pytest

from pdf_ocr_pipeline.bpmn.raster.deskew import map_diagram, skew_angle, straighten

SAMPLE = Path(__file__).parents[1] / "fixtures/bpmn/corpus/sample"
SCANS = sorted(p for p in SAMPLE.glob("*-scan.pdf") if "sketchy" not in p.name)


def _grey(pdf: Path, dpi: int = 150) -> np.ndarray:
    pix = pymupdf.open(pdf)[0].get_pixmap(dpi=dpi, colorspace="gray")
    return np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.width).copy()


@pytest.mark.parametrize("pdf", SCANS, ids=lambda p: p.stem)
def test_skew_of_a_rotated_scan(pdf):
    truth = json.loads(pdf.with_suffix("").with_suffix(".truth.json").read_text())["corpus"]["angle"]
    grey = _grey(pdf)
    measured = skew_angle(grey)
    assert abs(measured - truth) < 0.1  # tool-drawn diagrams: lines are axis-aligned before the turn
    straight, _, _ = straighten(grey, measured)
    assert abs(skew_angle(straight)) < 0.1


def test_a_straight_page_is_left_alone():
    grey = _grey(SAMPLE / "ex00_writer0034-default-vector.pdf")
    assert skew_angle(grey) == 0.0


def test_model_turned_back_onto_the_page():
    from pdf_ocr_pipeline.bpmn.model import BpmnDiagram, BpmnElement
    grey = np.full((400, 600), 255, np.uint8)
    _, _, back = straighten(grey, 2.0)
    task = BpmnElement(id="T", type="task", label="", box=(100.0, 100.0, 200.0, 160.0))
    flow = BpmnElement(id="F", type="sequenceFlow", label="", box=(200.0, 130.0, 300.0, 130.0),
                       waypoints=((200.0, 130.0), (300.0, 130.0)))
    d = map_diagram(BpmnDiagram(page_no=1, width=600, height=400, elements=(task, flow)), back, 1.0)
    t, f = d.elements
    # the box grows to hold its turned corners (the corpus truth's rule) about the same centre
    assert t.box[2] - t.box[0] == pytest.approx(100 * np.cos(np.radians(2)) + 60 * np.sin(np.radians(2)), abs=0.02)
    assert (t.box[0] + t.box[2]) / 2 != 150.0 or (t.box[1] + t.box[3]) / 2 != 130.0  # moved about the page centre
    (x0, y0), (x1, y1) = f.waypoints
    assert np.degrees(np.arctan2(y1 - y0, x1 - x0)) == pytest.approx(2.0, abs=0.05)  # falls to the right again
