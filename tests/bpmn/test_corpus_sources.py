"""The corpus's model sources (issue 15): hdBPMN's train and validation writers only, their layout rescaled to a
renderer's sizes. Real hdBPMN annotations (tests use the copies in ../shared/testdata/hdbpmn, CC BY 4.0)."""

import shutil
from pathlib import Path

import pytest

from bench.bpmn_corpus import sources
from pdf_ocr_pipeline.bpmn.parse_truth import parse_bpmn

HDBPMN = Path(__file__).parents[2].parent / "shared" / "testdata" / "hdbpmn"
pytestmark = pytest.mark.skipif(not HDBPMN.is_dir(), reason="needs ../shared/testdata/hdbpmn")


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """hdBPMN's own layout (data/annotations/exNN/, data/writer_split.csv) with the shared annotations."""
    data = tmp_path / "hdbpmn" / "data"
    for f in sorted((HDBPMN / "train" / "annotations").glob("ex*_writer*.bpmn")):
        (data / "annotations" / f.stem.split("_")[0]).mkdir(parents=True, exist_ok=True)
        shutil.copy(f, data / "annotations" / f.stem.split("_")[0] / f.name)
    shutil.copy(HDBPMN / "writer_split.csv", data / "writer_split.csv")
    return tmp_path / "hdbpmn"


def test_only_train_and_validation_writers_are_listed_and_test_is_refused(checkout: Path):
    splits = sources.writer_splits(checkout)
    models = sources.list_models(checkout)
    listed = [f for files in models.values() for f in files]
    assert listed and all(splits[f.stem.split("_")[1]] in ("train", "val") for f in listed)
    with pytest.raises(ValueError, match="kept aside"):
        sources.list_models(checkout, splits=("train", "test"))


def test_a_sketch_layout_is_rescaled_to_the_renderers_task_size(checkout: Path, tmp_path: Path):
    [first, *_] = sources.list_models(checkout)["train"]
    xml, scale = sources.prepare_xml(first.read_bytes())
    assert 0.3 <= scale <= 3
    out = tmp_path / "prepared.bpmn"
    out.write_text(xml, encoding="utf-8")
    truth = parse_bpmn(out)
    tasks = [e for e in truth.elements if e.type.endswith("Task") or e.type == "task"]
    events = [e for e in truth.elements if e.type.endswith("Event")]
    areas = sorted((e.box[2] - e.box[0]) * (e.box[3] - e.box[1]) for e in tasks)
    assert tasks and 0.5 * sources.TASK_AREA <= areas[len(areas) // 2] <= 2 * sources.TASK_AREA
    assert all(abs((e.box[2] - e.box[0]) - (e.box[3] - e.box[1])) < 0.5 for e in events)  # circles, as drawn


# --- openly licensed tool-made models (bench/bpmn_corpus/sources_open.py): the filter on tiny inline models ---

from bench.bpmn_corpus import sources_open  # noqa: E402

_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" '
         'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
         'xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="d">')


def _shape(ref, x, y, w, h, extra=""):
    return (f'<bpmndi:BPMNShape id="s{ref}" bpmnElement="{ref}"{extra}>'
            f'<dc:Bounds x="{x}" y="{y}" width="{w}" height="{h}"/></bpmndi:BPMNShape>')


def _edge(ref, *pts):
    return (f'<bpmndi:BPMNEdge id="e{ref}" bpmnElement="{ref}">'
            + "".join(f'<di:waypoint x="{x}" y="{y}"/>' for x, y in pts) + "</bpmndi:BPMNEdge>")


def _model(pid="p", plane="p", sub_expanded=None, flow2_end=(450, 120), second_diagram=False, drop_edge=False):
    """start -> task -> (subprocess holding a task) -> end, drawn as Activiti Designer would."""
    exp = "" if sub_expanded is None else f' isExpanded="{sub_expanded}"'
    other = ('<bpmndi:BPMNDiagram id="D2"><bpmndi:BPMNPlane id="P2" bpmnElement="s"/></bpmndi:BPMNDiagram>'
             if second_diagram else "")
    return (_HEAD + f'<process id="{pid}"><startEvent id="a" name="Start"/><userTask id="b" name="Check order"/>'
            '<subProcess id="s" name="Ship"><task id="s1" name="Pack"/></subProcess><endEvent id="c"/>'
            '<sequenceFlow id="f1" sourceRef="a" targetRef="b"/><sequenceFlow id="f2" sourceRef="b" targetRef="s"/>'
            '<sequenceFlow id="f3" sourceRef="s" targetRef="c"/></process>'
            f'<bpmndi:BPMNDiagram id="D"><bpmndi:BPMNPlane id="P" bpmnElement="{plane}">'
            + _shape("a", 100, 102, 36, 36) + _shape("b", 200, 80, 100, 80) + _shape("s", 450, 40, 300, 160, exp)
            + _shape("s1", 550, 80, 100, 80) + _shape("c", 800, 102, 36, 36)
            + _edge("f1", (136, 120), (200, 120)) + ("" if drop_edge else _edge("f2", (300, 120), flow2_end))
            + _edge("f3", (750, 120), (800, 120))
            + "</bpmndi:BPMNPlane></bpmndi:BPMNDiagram>" + other + "</definitions>")


def test_a_drawable_tool_made_model_is_kept_and_copies_under_other_ids_share_its_layout_key():
    v = sources_open.inspect_model(_model())
    assert v.ok, v.reason
    assert (v.nodes, v.flows) == (5, 3) and v.counts["sequenceFlow"] == 3
    copy = _model().replace('id="P"', 'id="other"').replace('<process id="p">', '<process id="p" isExecutable="true">')
    assert sources_open.inspect_model(copy).key == v.key
    assert sources_open.inspect_model(_model(flow2_end=(460, 130))).key != v.key
    # a stale plane reference is resolved as bpmn-js does (the first process)
    assert sources_open.inspect_model(_model(plane="gone")).ok


def test_models_that_are_not_drawable_or_too_small_are_rejected_with_a_reason():
    def reason(xml):
        v = sources_open.inspect_model(xml)
        assert not v.ok
        return v.reason.split(":")[0]

    no_di = _model().split("<bpmndi:BPMNDiagram")[0] + "</definitions>"
    assert reason(no_di) == "no_di"
    assert reason(_model(flow2_end=(900, 500))) == "stale"  # the edge ends far from its target
    assert reason(_model(drop_edge=True).replace('<sequenceFlow id="f1"', '<sequenceFlow id="fx" sourceRef="a" '
                                                 'targetRef="c"/><sequenceFlow id="f1"')) == "partial"
    tiny = (_HEAD + '<process id="p"><startEvent id="a"/><endEvent id="c"/><sequenceFlow id="f" sourceRef="a" '
            'targetRef="c"/></process><bpmndi:BPMNDiagram id="D"><bpmndi:BPMNPlane id="P" bpmnElement="p">'
            + _shape("a", 0, 0, 36, 36) + _shape("c", 100, 0, 36, 36) + _edge("f", (36, 18), (100, 18))
            + "</bpmndi:BPMNPlane></bpmndi:BPMNDiagram></definitions>")
    assert reason(tiny) == "small"
    assert reason(_model().replace("http://www.omg.org/spec/BPMN/20100524/MODEL",
                                   "http://schema.omg.org/spec/BPMN/2.0")) == "model"
    on_top = _model().replace('<endEvent id="c"/>', '<endEvent id="c"/><task id="z"/>').replace(
        '<bpmndi:BPMNShape id="sc"', _shape("z", 210, 90, 100, 80) + '<bpmndi:BPMNShape id="sc"')
    assert reason(on_top) == "overlap"  # a task drawn over another one
    assert reason("<definitions") == "xml"


def test_prepared_model_keeps_the_tools_coordinates_and_only_the_first_diagram():
    from lxml import etree
    xml = sources_open.prepare_open_xml(_model(sub_expanded="false", second_diagram=True))
    root = etree.fromstring(xml.encode())
    ns = {"bpmndi": sources_open.DI_NS, "dc": sources_open.DC_NS}
    assert len(root.findall("bpmndi:BPMNDiagram", ns)) == 1
    # the subprocess's task is drawn on the plane, so the subprocess is drawn expanded (as the tool drew it)
    assert root.find(".//bpmndi:BPMNShape[@bpmnElement='s']", ns).get("isExpanded") == "true"
    b = root.find(".//bpmndi:BPMNShape[@bpmnElement='b']/dc:Bounds", ns)
    assert (b.get("x"), b.get("y"), b.get("width"), b.get("height")) == ("200", "80", "100", "80")


def test_provenance_names_are_flat_and_deterministic():
    p = "modules/flowable-engine/src/test/resources/org/flowable/bpmn/Gateway Test.testX.bpmn20.xml"
    assert sources_open.slug("flowable", p) == "flowable__modules.flowable_engine.org.flowable.bpmn.Gateway_Test.testX"
    long = "a/" * 100 + "x.bpmn"
    assert len(sources_open.slug("activiti", long)) <= 140
    assert sources_open.slug("activiti", long) != sources_open.slug("activiti", "b/" + long)
