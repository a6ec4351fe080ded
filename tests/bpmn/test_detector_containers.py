"""Pools and lanes the detector found, fitted to the lines drawn and read once (``detector/containers.py``), on the
committed phone photo of a sketch (hdBPMN, see tests/fixtures/bpmn/detector/NOTICE)."""

from __future__ import annotations

from pathlib import Path

import pytest

cv2 = pytest.importorskip("cv2")

from bench.bpmn_detector.dataset import hd_scale  # noqa: E402
from pdf_ocr_pipeline.bpmn import geometry as g  # noqa: E402
from pdf_ocr_pipeline.bpmn.parse_truth import parse_bpmn  # noqa: E402
from pdf_ocr_pipeline.bpmn.raster.detector.containers import fit_containers, read_twice  # noqa: E402
from pdf_ocr_pipeline.bpmn.raster.detector.decode import Detection  # noqa: E402

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn" / "detector"


def _photo():
    gray = cv2.imread(str(FIX / "ex03_writer0059.jpg"), cv2.IMREAD_GRAYSCALE)
    ann = FIX / "ex03_writer0059.bpmn"
    k = hd_scale(ann, gray.shape[1])
    truth = parse_bpmn(ann, transform=(k, k, 0, 0))  # the photo's pixels
    return gray, [e for e in truth.shapes if e.type in ("participant", "lane")]


def _matched(dets, containers, at: float) -> tuple[int, int]:
    """(truth pools and lanes with a detection of their kind at box IoU >= ``at``, pool and lane detections)."""
    hit = sum(any(d.cls == e.type and g.iou(d.box, e.box) >= at for d in dets) for e in containers)
    return hit, sum(d.cls in ("participant", "lane") for d in dets)


def test_the_detectors_pools_and_lanes_on_a_photo_fitted_and_read_once():
    pytest.importorskip("onnxruntime")
    from pdf_ocr_pipeline.bpmn.raster.detector.runtime import load
    gray, containers = _photo()
    assert len(containers) == 4  # two pools (one a black box), two lanes
    dets = load().detect(gray)
    raw_hit, raw_count = _matched(dets, containers, 0.6)
    hit, count = _matched(fit_containers(dets, gray), containers, 0.6)
    # the committed model: 3 of the 4 at IoU >= 0.6 among 8 boxes before (pools read twice, a lane inside a lane);
    # all 4 among 4 boxes after
    assert (hit, count) == (4, 4) and raw_count > 4, (raw_hit, raw_count, hit, count)


def test_a_pool_read_twice_is_kept_once_and_other_detections_stay():
    pool, inner, other_pool = (0, 0, 100, 50), (5, 5, 80, 45), (0, 60, 100, 110)
    dets = [Detection("participant", 0.6, inner), Detection("participant", 0.9, pool),
            Detection("participant", 0.7, other_pool), Detection("lane", 0.5, inner),
            Detection("task", 0.8, (10, 10, 30, 20))]
    assert read_twice(dets) == {0}  # the weaker pool inside the stronger; the lane and the task are other kinds
