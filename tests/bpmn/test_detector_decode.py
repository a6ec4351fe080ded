"""The detector's target encoding and decoding (numpy only) and the diagram built from detections."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.bpmn_detector.targets import encode, gaussian_radius
from pdf_ocr_pipeline.bpmn.raster.detector.assemble import diagram_from_detections
from pdf_ocr_pipeline.bpmn.raster.detector.decode import Detection, decode, peaks, thin
from pdf_ocr_pipeline.bpmn.raster.detector.spec import CLASSES

OBJECTS = [
    {"cls": "participant", "box": (10.0, 10.0, 500.0, 250.0)},
    {"cls": "startEvent", "box": (40.0, 100.0, 76.0, 136.0)},
    {"cls": "task", "box": (120.0, 78.0, 220.0, 158.0)},
    {"cls": "exclusiveGateway", "box": (270.0, 93.0, 320.0, 143.0)},
    {"cls": "endEvent", "box": (380.0, 100.0, 416.0, 136.0)},
    {"cls": "sequenceFlow", "box": (73.0, 115.0, 123.0, 121.0), "tail": (76.0, 118.0), "head": (120.0, 118.0)},
    {"cls": "sequenceFlow", "box": (217.0, 115.0, 273.0, 121.0), "tail": (220.0, 118.0), "head": (270.0, 118.0)},
    {"cls": "sequenceFlow", "box": (292.0, 140.0, 401.0, 180.0), "tail": (295.0, 143.0), "head": (398.0, 136.0)},
]


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def test_encoded_targets_decode_back_to_the_objects():
    t = encode(OBJECTS, 256, 512)
    assert t["heat"].shape == (len(CLASSES), 64, 128) and t["regress"].shape == (8, 64, 128)
    assert t["box_mask"].sum() == len(OBJECTS) and t["kp_mask"].sum() == 3
    dets = decode(_logit(t["heat"]), t["regress"], threshold=0.99)
    assert sorted(d.cls for d in dets) == sorted(o["cls"] for o in OBJECTS)
    for o in OBJECTS:
        d = min((d for d in dets if d.cls == o["cls"]), key=lambda d: math.dist(d.box[:2], o["box"][:2]))
        assert max(abs(a - b) for a, b in zip(d.box, o["box"])) < 0.01
        if "tail" in o:
            assert math.dist(d.tail, o["tail"]) < 0.01 and math.dist(d.head, o["head"]) < 0.01


def test_peak_radius_grows_with_the_box_and_peaks_are_local_maxima():
    assert gaussian_radius(2, 2) < gaussian_radius(10, 10) < gaussian_radius(40, 40)
    prob = np.zeros((2, 8, 8), np.float32)
    prob[0, 2, 2], prob[0, 2, 3], prob[1, 5, 5] = 0.9, 0.6, 0.5
    assert [(k, y, x) for k, y, x, _ in peaks(prob, 0.4)] == [(0, 2, 2), (1, 5, 5)]


def test_thinning_keeps_the_stronger_of_one_shape_read_twice_but_keeps_containers():
    dets = [Detection("exclusiveGateway", 0.9, (0, 0, 50, 50)), Detection("parallelGateway", 0.5, (2, 1, 51, 50)),
            Detection("participant", 0.8, (-10, -10, 300, 100)), Detection("lane", 0.7, (20, -10, 300, 100))]
    assert [d.cls for d in thin(dets)] == ["exclusiveGateway", "participant", "lane"]


def test_diagram_from_detections_ties_flow_ends_to_the_nearest_allowed_shape():
    dets = [Detection(o["cls"], 0.9, o["box"], o.get("tail"), o.get("head")) for o in OBJECTS]
    dets.append(Detection("sequenceFlow", 0.8, (600, 600, 700, 610), (600.0, 605.0), (700.0, 605.0)))  # no shapes
    d = diagram_from_detections(dets, [("Check", (170.0, 54.0, 198.0, 63.0))], pt_per_px=0.5, origin=(100.0, 0.0),
                                page_no=1, width=400, height=200)
    by_id = d.by_id()
    flows = [(by_id[f.source_id].type, by_id[f.target_id].type) for f in d.flows]
    assert sorted(flows) == [("exclusiveGateway", "endEvent"), ("startEvent", "task"), ("task", "exclusiveGateway")]
    task = next(e for e in d.shapes if e.type == "task")
    assert task.label == "Check" and task.box == pytest.approx((160.0, 39.0, 210.0, 79.0))
    assert all(e.parent_id == "Participant_1" for e in d.shapes if e.type != "participant")
    assert all(e.method == "detector" for e in d.elements)


def test_two_sizes_merge_small_shapes_from_the_fine_look_pools_and_flows_from_both():
    from pdf_ocr_pipeline.bpmn.raster.detector.decode import merge_scales
    fine = [Detection("task", 0.9, (100, 100, 200, 180)),
            Detection("sequenceFlow", 0.8, (200, 138, 300, 142), (200.0, 140.0), (300.0, 140.0))]
    coarse = [Detection("task", 0.95, (98, 99, 203, 181)), Detection("endEvent", 0.6, (300, 120, 336, 156)),
              Detection("participant", 0.7, (0, 0, 900, 400)),
              Detection("sequenceFlow", 0.7, (201, 137, 299, 143), (201.0, 140.0), (299.0, 140.0)),
              Detection("messageFlow", 0.6, (150, 180, 154, 500), (152.0, 180.0), (152.0, 500.0))]
    merged = merge_scales(fine, coarse)
    assert sorted((d.cls, d.score) for d in merged) == [
        ("messageFlow", 0.6), ("participant", 0.7), ("sequenceFlow", 0.8), ("task", 0.9)]


def test_flow_ends_reach_relative_to_the_shapes_size():
    # the same sketch in two units (points, and a photo's pixels at 4x): the arrow stops 12 units (48 px) short
    for k in (1.0, 4.0):
        dets = [Detection("task", 0.9, (0, 0, 100 * k, 80 * k)), Detection("task", 0.9, (200 * k, 0, 300 * k, 80 * k)),
                Detection("sequenceFlow", 0.9, (112 * k, 38 * k, 188 * k, 42 * k), (112 * k, 40 * k),
                          (188 * k, 40 * k))]
        d = diagram_from_detections(dets, [], pt_per_px=1.0, page_no=1, width=400 * k, height=100 * k)
        assert len(d.flows) == 1, k


def test_pools_and_lanes_come_from_the_rules_only_where_they_read_the_same_picture():
    from pdf_ocr_pipeline.bpmn.model import BpmnDiagram, BpmnElement
    dets = [Detection(o["cls"], 0.9, o["box"], o.get("tail"), o.get("head")) for o in OBJECTS]

    def pools(rules):
        d = diagram_from_detections(dets, [], pt_per_px=1.0, page_no=1, width=600, height=300, rules=rules)
        return [e.box for e in d.shapes if e.type == "participant"]
    rules_pool = BpmnElement("Participant_1", "participant", box=(8.0, 12.0, 505.0, 248.0), method="raster")
    nodes = tuple(BpmnElement(f"N{k}", o["cls"], box=o["box"], method="raster")
                  for k, o in enumerate(OBJECTS[1:5]))  # the start event, task, gateway and end event, as read
    read = BpmnDiagram(page_no=1, width=600, height=300, elements=(rules_pool,) + nodes, method="raster")
    noise = BpmnDiagram(page_no=1, width=600, height=300, method="raster",  # a photo: a "pool", no node read
                        elements=(rules_pool, BpmnElement("N9", "task", box=(400.0, 200.0, 440.0, 230.0))))
    assert pools(read) == [(8.0, 12.0, 505.0, 248.0)]
    assert pools(noise) == [(10.0, 10.0, 500.0, 250.0)]
    assert pools(None) == [(10.0, 10.0, 500.0, 250.0)]


def test_pools_and_lanes_read_by_the_detector_take_the_names_in_their_header_bands():
    """The detector draws no header band: the strip before the first thing a pool or lane holds is one, so the
    vertical names standing there label them (they were left unnamed, and the words fell to nearby shapes)."""
    from pdf_ocr_pipeline.bpmn.labels import OcrWord
    boxes = {"participant": (10.0, 10.0, 500.0, 250.0),
             "lane": [(40.0, 10.0, 500.0, 130.0), (40.0, 130.0, 500.0, 250.0)],
             "startEvent": (90.0, 50.0, 126.0, 86.0), "task": (170.0, 150.0, 270.0, 230.0)}
    dets = [Detection(cls, 0.9, box) for cls, b in boxes.items() for box in (b if isinstance(b, list) else [b])]
    words = [OcrWord("Банк", (20.0, 100.0, 32.0, 160.0), 0.9),    # the pool's name, read bottom to top
             OcrWord("Клиент", (46.0, 40.0, 58.0, 100.0), 0.9),   # the first lane's
             OcrWord("Офис", (46.0, 160.0, 58.0, 220.0), 0.9),    # the second lane's
             OcrWord("Проверить", (180.0, 180.0, 260.0, 192.0), 0.9)]
    d = diagram_from_detections(dets, words, pt_per_px=1.0, page_no=1, width=600, height=300)
    names = {(e.type, e.label) for e in d.shapes if e.type in ("participant", "lane", "task")}
    assert names == {("participant", "Банк"), ("lane", "Клиент"), ("lane", "Офис"), ("task", "Проверить")}


def test_a_rules_pool_read_as_its_body_and_header_strip_is_one_pool():
    """bpmn-visualization draws a pool's header band and body as two outlines, and the rules read two pools:
    the one on the detector's takes the strip beside it, and the strip is no pool of its own (the pool and its
    name, measured on the renderer's pasted pictures: the name had gone to a thin false pool)."""
    from pdf_ocr_pipeline.bpmn.labels import OcrWord
    from pdf_ocr_pipeline.bpmn.model import BpmnDiagram, BpmnElement
    dets = [Detection(o["cls"], 0.9, o["box"], o.get("tail"), o.get("head")) for o in OBJECTS]
    strip = BpmnElement("Participant_1", "participant", box=(10.0, 10.0, 32.0, 250.0), method="raster")
    body = BpmnElement("Participant_2", "participant", box=(32.0, 10.0, 500.0, 250.0), method="raster")
    nodes = tuple(BpmnElement(f"N{k}", o["cls"], box=o["box"], method="raster") for k, o in enumerate(OBJECTS[1:5]))
    rules = BpmnDiagram(page_no=1, width=600, height=300, elements=(strip, body) + nodes, method="raster")
    d = diagram_from_detections(dets, [OcrWord("Insurer", (16.0, 100.0, 26.0, 160.0), 0.95)], pt_per_px=1.0,
                                page_no=1, width=600, height=300, rules=rules)
    assert [(e.box, e.label) for e in d.shapes if e.type == "participant"] == [((10.0, 10.0, 500.0, 250.0), "Insurer")]
