"""The corpus's variants (issue 15, ``bench/bpmn_corpus/variants.py``): the truth transforms of rotated scans and
pasted pictures are exact, Russian labels are all Cyrillic, and each page of the fixed sample
(``tests/fixtures/bpmn/corpus/sample``: hdBPMN ex00_writer0034 by bpmn-js, bpmn-visualization and the sketchy
renderer, English and Russian, vector / scan / pasted) is scored against its truth.

The sample was built by ``bench.bpmn_corpus.build`` with ``--dpi 120`` (scans and pasted pictures; the corpus
draws 100-300 dpi), see ``sample/NOTICE``. Words for scans and pasted pages: the vector twin's text layer mapped by
the page's ``corpus.affine`` plus the page's own text layer (``evaluate.py``'s default), so no OCR runs here.
"""

import json
import math
import re
from pathlib import Path

import pytest

from bench.bpmn_corpus import evaluate as ce
from bench.bpmn_corpus import variants as vr

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn" / "corpus" / "sample"

#: stem -> (shapes F1, flows F1) the BPMN stage must reach on the sample page: just under what it scored
#: (measured 2026-12-07 on this checkout, text-layer words; the figure measured is in the comment). The vector
#: path is being reworked (issue 15): re-tune this table when it changes.
THRESHOLDS = {
    # one small model a page: a shape or flow moves F1 by 0.05-0.1. The raster path now straightens scans
    # first (raster/deskew.py): over the 96 scans of a 12-model corpus it lifts shapes / flows (pools 0.1 -> 0.6,
    # lanes 0 -> 0.7), while three of these single pages lost one element each (noted per line)
    # bpmn-js, default look
    "ex00_writer0034-default-vector": (0.99, 0.99),  # 1.000 / 1.000
    "ex00_writer0034-default-scan": (0.83, 0.61),  # 0.842 / 0.625
    "ex00_writer0034-default-pasted": (0.72, 0.41),  # 0.737 / 0.421
    "ex00_writer0034-default-ru-vector": (0.99, 0.99),  # 1.000 / 1.000
    "ex00_writer0034-default-ru-scan": (0.76, 0.46),  # 0.778 / 0.471 (deskewed; 0.778 / 0.500 before)
    "ex00_writer0034-default-ru-pasted": (0.72, 0.36),  # 0.737 / 0.375
    # bpmn-visualization
    "ex00_writer0034-bpmnvis-vector": (0.99, 0.93),  # 1.000 / 0.947
    "ex00_writer0034-bpmnvis-scan": (0.94, 0.81),  # 0.952 / 0.824
    "ex00_writer0034-bpmnvis-pasted": (0.94, 0.76),  # 0.952 / 0.778
    "ex00_writer0034-bpmnvis-ru-vector": (0.99, 0.93),  # 1.000 / 0.947
    "ex00_writer0034-bpmnvis-ru-scan": (0.79, 0.36),  # 0.800 / 0.375 (deskewed; 0.900 / 0.444 before)
    "ex00_writer0034-bpmnvis-ru-pasted": (0.89, 0.51),  # 0.900 / 0.526
    # sketchy (bpmn-js-sketchy)
    "ex00_writer0034-sketchy-vector": (0.83, 0.54),  # 0.842 / 0.556
    "ex00_writer0034-sketchy-scan": (0.83, 0.54),  # 0.842 / 0.556 (deskewed; 0.842 / 0.588 before)
    "ex00_writer0034-sketchy-pasted": (0.83, 0.54),  # 0.842 / 0.556
}


# ---------------------------------------------------------------- the transforms (pure)

def _close(a, b, tol=1e-9):
    return all(abs(x - y) <= tol for x, y in zip(a, b))


@pytest.mark.parametrize("angle", [-2.0, -0.7, 0.0, 1.3, 2.0])
def test_rotation_holds_the_whole_page_and_turns_about_its_centre(angle):
    w, h = 612.0, 396.0
    m, (nw, nh) = vr.rotation(angle, (w, h))
    corners = [vr.map_point(m, x, y) for x, y in ((0, 0), (w, 0), (w, h), (0, h))]
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    # the canvas is the rotated page's extent: tight on every side
    assert _close((min(xs), min(ys), max(xs), max(ys)), (0, 0, nw, nh), 1e-9)
    assert _close(vr.map_point(m, w / 2, h / 2), (nw / 2, nh / 2))
    # a rotation: lengths and the angle kept
    assert math.isclose(m[0] * m[4] - m[1] * m[3], 1.0, abs_tol=1e-12)
    (x0, y0), (x1, y1) = vr.map_point(m, 0, 0), vr.map_point(m, w, 0)
    assert math.isclose(math.hypot(x1 - x0, y1 - y0), w, abs_tol=1e-9)
    assert math.isclose(math.degrees(math.atan2(y1 - y0, x1 - x0)), angle, abs_tol=1e-9)


def test_rotation_canvas_is_whole_pixels():
    m, (nw, nh) = vr.rotation(1.1, (500.25, 300.5), dpi=150)
    for v in (nw, nh):
        assert math.isclose(v * 150 / 72, round(v * 150 / 72), abs_tol=1e-9)
    assert _close(vr.map_point(m, 250.125, 150.25), (nw / 2, nh / 2))


def test_map_box_rules():
    box = (100.0, 50.0, 200.0, 130.0)  # 100 x 80, centre (150, 90)
    assert _close(vr.map_box(vr.IDENTITY, box), box)
    t = math.radians(2.0)
    m, _ = vr.rotation(2.0, (400, 300))
    cx, cy = vr.map_point(m, 150, 90)
    w = 100 * math.cos(t) + 80 * math.sin(t)
    h = 100 * math.sin(t) + 80 * math.cos(t)
    assert _close(vr.map_box(m, box), (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), 1e-9)
    # the box holds the four rotated corners and is no bigger
    corners = [vr.map_point(m, x, y) for x in (box[0], box[2]) for y in (box[1], box[3])]
    assert _close(vr.map_box(m, box), (min(c[0] for c in corners), min(c[1] for c in corners),
                                       max(c[0] for c in corners), max(c[1] for c in corners)), 1e-9)
    # circles keep their size
    assert _close(vr.map_box(m, (10, 10, 46, 46), keep_size=True), (*(v - 18 for v in vr.map_point(m, 28, 28)),
                                                                    *(v + 18 for v in vr.map_point(m, 28, 28))))
    # a paste: scale and shift, exact
    p = vr.scale_shift(0.5, 80.0, 120.0)
    assert _close(vr.map_box(p, box), (130.0, 145.0, 180.0, 185.0))
    assert _close(vr.map_box(p, (10, 10, 46, 46), keep_size=True), (85.0, 125.0, 103.0, 143.0))


def test_compose():
    a, _ = vr.rotation(1.5, (300, 200))
    b = vr.scale_shift(0.8, 10, -5)
    ab = vr.compose(b, a)
    for x, y in ((0, 0), (300, 0), (123.4, 56.7)):
        assert _close(vr.map_point(ab, x, y), vr.map_point(b, *vr.map_point(a, x, y)), 1e-9)


TINY = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
  xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="d">
  <process id="p"><startEvent id="s" name="Order received"/><task id="t" name="Check the order"/>
    <sequenceFlow id="f" sourceRef="s" targetRef="t" name="ok"/></process>
  <bpmndi:BPMNDiagram id="dg"><bpmndi:BPMNPlane id="pl" bpmnElement="p">
    <bpmndi:BPMNShape id="s_di" bpmnElement="s"><dc:Bounds x="20" y="42" width="36" height="36"/>
      <bpmndi:BPMNLabel><dc:Bounds x="10" y="80" width="56" height="20"/></bpmndi:BPMNLabel></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="t_di" bpmnElement="t"><dc:Bounds x="100" y="20" width="100" height="80"/></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="f_di" bpmnElement="f"><di:waypoint x="56" y="60"/><di:waypoint x="100" y="60"/>
      <bpmndi:BPMNLabel><dc:Bounds x="70" y="45" width="12" height="10"/></bpmndi:BPMNLabel></bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram></definitions>"""


def _bounds(xml):
    from lxml import etree
    root = etree.fromstring(xml.encode())
    out = {}
    for di in root.iter("{http://www.omg.org/spec/BPMN/20100524/DI}BPMNShape",
                        "{http://www.omg.org/spec/BPMN/20100524/DI}BPMNEdge"):
        rows = []
        for el in di.iter():
            name = etree.QName(el).localname
            if name == "Bounds":
                x, y, w, h = (float(el.get(k)) for k in ("x", "y", "width", "height"))
                rows.append((x, y, x + w, y + h))
            elif name == "waypoint":
                rows.append((float(el.get("x")), float(el.get("y"))))
        out[di.get("id")] = rows
    return out


@pytest.mark.parametrize("kind", ["rotation", "paste"])
def test_truth_xml_transform(kind):
    m = vr.rotation(-1.7, (240, 120))[0] if kind == "rotation" else vr.scale_shift(0.6, 150.0, 220.0)
    before, after = _bounds(TINY), _bounds(vr.transform_truth_xml(TINY, m))
    tol = 1e-3  # written with 3 decimals
    assert _close(after["s_di"][0], vr.map_box(m, before["s_di"][0], keep_size=True), tol)  # an event: a circle
    assert _close(after["s_di"][1], vr.map_box(m, before["s_di"][1]), tol)  # its label
    assert _close(after["t_di"][0], vr.map_box(m, before["t_di"][0]), tol)
    assert _close(after["f_di"][0], vr.map_point(m, *before["f_di"][0]), tol)
    assert _close(after["f_di"][1], vr.map_point(m, *before["f_di"][1]), tol)
    assert _close(after["f_di"][2], vr.map_box(m, before["f_di"][2]), tol)
    # parse_truth reads the result as it reads any truth
    from pdf_ocr_pipeline.bpmn.parse_truth import parse_bpmn
    import tempfile
    with tempfile.NamedTemporaryFile("w", suffix=".bpmn", delete=False) as f:
        f.write(vr.transform_truth_xml(TINY, m))
    d = parse_bpmn(Path(f.name))
    assert {e.id for e in d.shapes} == {"s", "t"} and [f.id for f in d.flows] == ["f"]
    Path(f.name).unlink()


def test_truth_json_transform():
    m, size = vr.rotation(1.2, (300, 200))
    d = {"pdf": "x.pdf", "width_pt": 300, "height_pt": 200, "elements": [
        {"id": "s", "type": "startEvent", "box": [20, 42, 56, 78], "waypoints": None, "label_box": [10, 80, 66, 100],
         "di_label": None},
        {"id": "f", "type": "sequenceFlow", "box": [56, 60, 100, 90], "waypoints": [[56, 60], [80, 60], [80, 90]],
         "label_box": None, "di_label": [70, 45, 82, 55]}]}
    out = vr.transform_truth_json(d, m, size)
    assert (out["width_pt"], out["height_pt"]) == size and d["width_pt"] == 300  # the input is not touched
    s, f = out["elements"]
    assert _close(s["box"], vr.map_box(m, (20, 42, 56, 78), keep_size=True))
    assert _close(s["label_box"], vr.map_box(m, (10, 80, 66, 100)))
    assert all(_close(q, vr.map_point(m, *p)) for q, p in zip(s["quad"], ((20, 42), (56, 42), (56, 78), (20, 78))))
    assert "quad" not in vr.transform_truth_json(d, vr.scale_shift(2, 1, 1), (600, 400))["elements"][0]
    wp = [vr.map_point(m, *p) for p in ((56, 60), (80, 60), (80, 90))]
    assert all(_close(a, b) for a, b in zip(f["waypoints"], wp))
    assert _close(f["box"], (min(p[0] for p in wp), min(p[1] for p in wp), max(p[0] for p in wp),
                             max(p[1] for p in wp)))
    assert _close(f["di_label"], vr.map_box(m, (70, 45, 82, 55)))


@pytest.mark.parametrize("angle,dpi", [(1.7, 150), (-2.0, 100), (0.6, 237)])
def test_rotated_pixels_match_the_point_map(angle, dpi):
    """A black square drawn on a page, rasterised and rotated: its ink centroid lies where the point map puts the
    square's centre (within a tenth of a pixel)."""
    import numpy as np
    import pymupdf
    doc = pymupdf.open()
    page = doc.new_page(width=400, height=250)
    page.draw_rect(pymupdf.Rect(300, 30, 340, 70), color=None, fill=(0, 0, 0))
    img = vr.raster(page, dpi)
    m, size = vr.rotation(angle, (400, 250), dpi)
    out = vr.rotate_image(img, m, dpi, size)
    s = dpi / 72
    assert out.shape == (round(size[1] * s), round(size[0] * s))
    ink = 255.0 - out.astype(np.float64)
    ys, xs = np.mgrid[0:out.shape[0], 0:out.shape[1]]
    cx, cy = (ink * (xs + 0.5)).sum() / ink.sum() / s, (ink * (ys + 0.5)).sum() / ink.sum() / s
    ex, ey = vr.map_point(m, 320, 50)
    assert abs(cx - ex) < 0.1 / s and abs(cy - ey) < 0.1 / s, (cx - ex, cy - ey)


# ---------------------------------------------------------------- Russian labels

def test_translate_label_is_all_cyrillic():
    for en in ("Check claim", "Order received", "Send offer to customer", "Lieferando order\nreceived", "The",
               "QA check", "Claim > 1000 EUR?", "xyzzy frobnicate", "Abstract Task 1"):
        ru = vr.translate_label(en)
        assert not re.search("[A-Za-z]", ru), (en, ru)
        assert re.search("[А-Яа-яЁё]", ru), (en, ru)
    assert vr.translate_label("Abstract Task 1") == "Абстрактная задача 1"  # bench/bpmn_russian_glossary.json
    assert vr.translate_label("Order received").count("\n") == 0
    assert vr.translate_label("Lieferando order\nreceived").count("\n") == 1  # line breaks kept


def test_ru_sample_truth_labels_are_russian():
    from pdf_ocr_pipeline.bpmn.parse_truth import parse_bpmn
    files = sorted(SAMPLE.glob("*-ru-*.truth.bpmn"))
    assert files
    for f in files:
        d = parse_bpmn(f)
        labels = [e.label for e in d.shapes + d.flows if e.label.strip()]
        assert labels and not [t for t in labels if re.search("[A-Za-z]", t)], f.name


# ---------------------------------------------------------------- the fixed sample

def _items():
    return {i["stem"]: i for i in ce.corpus_items(SAMPLE)}


def test_stem_names():
    for stem, want in [("ex00_writer0034-default-scan", ("ex00_writer0034", "default", None, "scan")),
                       ("ex00_writer0034-bold-ru-pasted", ("ex00_writer0034", "bold", "ru", "pasted")),
                       ("a-b-c-bpmnvis-ru-vector", ("a-b-c", "bpmnvis", "ru", "vector")),
                       ("ex01_writer0001-sketchy-vector", ("ex01_writer0001", "sketchy", None, "vector"))]:
        m = ce._NAME.match(stem)
        assert (m["model"], m["look"], m["lang"], m["variant"]) == want
    items = _items()
    assert set(THRESHOLDS) <= set(items)
    it = items["ex00_writer0034-bpmnvis-ru-scan"]
    assert (it["renderer"], it["look"], it["lang"], it["variant"]) == ("bpmnvis", "bpmnvis", "ru", "scan")


def test_sample_pages_and_truth_agree_with_their_point_map():
    """Each scan / pasted page's picture lies where its affine puts the vector page, and its truth is the vector
    twin's truth under that affine."""
    import pymupdf
    for stem, it in _items().items():
        if it["variant"] == "vector":
            continue
        m = tuple(it["affine"])
        twin = SAMPLE / f"{stem[: -len(it['variant'])]}vector"
        vj = json.loads(twin.with_suffix(".truth.json").read_text(encoding="utf-8"))
        tj = json.loads((SAMPLE / f"{stem}.truth.json").read_text(encoding="utf-8"))
        with pymupdf.open(SAMPLE / f"{stem}.pdf") as doc:
            page = doc[0]
            assert (round(page.rect.width, 2), round(page.rect.height, 2)) == \
                (round(tj["width_pt"], 2), round(tj["height_pt"], 2))
            (xref, *_), = page.get_images()
            rect = page.get_image_rects(xref)[0]
            img = doc.extract_image(xref)
            page_w, has_text = page.rect.width, bool(page.get_text("words"))
        if it["variant"] == "scan":
            assert abs(rect.x0) < 1e-3 and abs(rect.y0) < 1e-3 and abs(rect.x1 - page_w) < 1e-3
            assert abs(img["width"] * 72 / it["dpi"] - page_w) < 0.01 and not has_text
            assert abs(it["angle"]) <= vr.MAX_ANGLE
        else:  # the picture's rectangle is the affine's image of the pixels' extent on the vector page
            natural = (img["width"] * 72 / it["dpi"], img["height"] * 72 / it["dpi"])
            assert _close((rect.x0, rect.y0, rect.x1, rect.y1), (m[2], m[5], m[2] + m[0] * natural[0],
                                                                 m[5] + m[4] * natural[1]), 0.01)
            assert has_text  # the body text is a text layer
        for a, b in zip(vj["elements"], tj["elements"]):
            assert a["id"] == b["id"]
            if a["waypoints"]:
                assert all(_close(vr.map_point(m, *p), q, 1e-6) for p, q in zip(a["waypoints"], b["waypoints"]))
            else:
                assert _close(vr.map_box(m, a["box"], a["type"].endswith("Event")), b["box"], 1e-6)


@pytest.mark.parametrize("stem", sorted(THRESHOLDS))
def test_sample_scores(stem):
    from bench.bpmn_eval import FLOW_CLASSES, SHAPE_CLASSES
    s, _ = ce.score_page(_items()[stem])
    shapes, flows = s.prf(SHAPE_CLASSES)[2], s.prf(FLOW_CLASSES)[2]
    want = THRESHOLDS[stem]
    assert shapes >= want[0] and flows >= want[1], f"{stem}: shapes F1 {shapes:.3f}, flows F1 {flows:.3f} < {want}"
