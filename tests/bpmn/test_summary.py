"""Diagram summaries: real MIWG diagrams (vector PDFs and truth files) and a Russian one, read as Markdown."""

import re

import pytest

from pdf_ocr_pipeline.bpmn import extract_diagram
from pdf_ocr_pipeline.bpmn.parse_truth import parse_bpmn
from pdf_ocr_pipeline.bpmn.rows import element_rows
from pdf_ocr_pipeline.bpmn.summary import diagram_summary

from .conftest import A10_PDF, BPMN_FIXTURES
from .test_russian import FONT, _draw


def _summary(path, link=None) -> str:
    return diagram_summary(element_rows(extract_diagram(path, 1), "doc"), link)


def _section(md: str, title: str) -> str:
    part = md.split(f"**{title}**", 1)[1]
    return part.split("\n\n", 1)[0]


def _in_order(text: str, needles: list[str]) -> bool:
    at = [text.find(n) for n in needles]
    return -1 not in at and at == sorted(at)


def test_a10_names_every_task_in_flow_order_and_links_the_xml():
    md = _summary(A10_PDF, "../bpmn/A.1.0/page-1.bpmn")
    assert md.startswith("**BPMN diagram:** 3 tasks, 2 events, 4 sequence flows.")
    assert "[page-1.bpmn](../bpmn/A.1.0/page-1.bpmn)" in md
    assert '- Tasks (3): "Task 1", "Task 2", "Task 3"' in md
    flow = _section(md, "Process flow")
    assert flow.splitlines()[1:] == ['1. Start event "Start Event"', '2. Task "Task 1"', '3. Task "Task 2"',
                                     '4. Task "Task 3"', '5. End event "End Event"']
    assert "#" not in md  # no headings: it sits inside a page


def test_a20_gateway_lists_its_branches_and_the_merge():
    flow = _section(_summary(BPMN_FIXTURES / "A.2.0.pdf"), "Process flow")
    assert '3. Exclusive gateway "Gateway (Split Flow)" — one of:\n' \
           '   - step 4 (task "Task 2")\n   - step 6 (task "Task 3")\n   - step 8 (task "Task 4")' in flow
    assert '7. Exclusive gateway "Gateway (Merge Flows)" (joins 2 flows) → step 5 (end event "End Event")' in flow
    assert '8. Task "Task 4" → step 7 (exclusive gateway "Gateway (Merge Flows)")' in flow
    assert _in_order(flow, ['"Start Event"', '"Task 1"', '"Gateway (Split Flow)"', '4. Task "Task 2"',
                            '6. Task "Task 3"', '8. Task "Task 4"'])


def test_b20_pools_lanes_messages_data_and_conditions():
    md = _summary(BPMN_FIXTURES / "B.2.0.pdf")
    pools = _section(md, "Pools and lanes")
    assert pools.count("\n- Pool ") == 2 and '\n- Pool "Pool"\n  - Lane "Lane 1": ' in pools
    assert '\n  - Lane "Lane 2": task "Task 27"' in pools
    assert re.search(r'- Pool "Participant": .*task "Send Task 2"', pools)
    assert '- "Message Flow 1": task "Send Task 2" (pool "Participant") → message start event ' \
           '"Start Event 2 Message" (pool "Pool")' in _section(md, "Message flows")
    data = _section(md, "Data and annotations")
    assert '- Data object "Data Object": read by task "User Task 3"' in data
    assert '- Text annotation "Annotation": on sub-process "Expanded Sub-Process 1"' in data
    flow = _section(md, "Process flow")
    assert re.search(r'Inclusive gateway "Inclusive Gateway 1" — one or more of:\n +- "Conditional Sequence Flow" '
                     r'→ step \d+ \(task "Service Task 4"\)\n +- "Default Sequence Flow 1" → step \d+', flow)
    assert re.search(r'Timer start event "Start Event 1 Timer" — in pool "Participant"', flow)
    assert re.search(r'Start event "Start Event 3" — in lane "Lane 1" of pool "Pool"', flow)
    # boundary events are branches of their hosts, then steps of their own
    assert re.search(r'if message boundary event "Boundary Intermediate Event Interrupting Message" occurs: step \d+',
                     flow)
    assert re.search(r'Event-based gateway "Event Base Gateway 3" — whichever comes first:', flow)
    numbers = [int(n) for n in re.findall(r"^(\d+)\. ", flow, flags=re.M)]
    assert numbers == list(range(1, len(numbers) + 1))  # each element once


@pytest.mark.parametrize("name", ["A.3.0", "A.4.0", "B.1.0", "B.2.0"])
def test_truth_files_every_label_is_named(name):
    diagram = parse_bpmn(BPMN_FIXTURES / f"{name}.bpmn")
    md = diagram_summary(element_rows(diagram, name))
    for e in diagram.shapes:
        if e.label:
            assert f'"{e.label}"' in md, e.label


def _rows(*elements) -> list[dict]:
    """Rows as the table holds them: (id, type, label, x0, y0) shapes and (id, type, label, source, target) flows."""
    rows = []
    for i, (eid, etype, label, a, b, *rest) in enumerate(elements):
        row = {"element_id": eid, "type": etype, "label": label, "x0": 0.0, "y0": 0.0, "x1": 0.0, "y1": 0.0,
               "waypoints": [], "source_id": None, "target_id": None, "parent_id": None, "event_definition": None,
               "markers": []}
        if etype.endswith("Flow") or etype == "association":
            row.update(source_id=a, target_id=b)
        else:
            row.update(x0=float(a), y0=float(b), x1=float(a) + 50, y1=float(b) + 30)
        if rest:
            row.update(rest[0])
        rows.append(row)
    return rows


def test_a_loop_goes_back_and_unlabelled_elements_are_named_by_type():
    rows = _rows(("S", "startEvent", "", 0, 100), ("A", "userTask", "Check", 100, 100),
                 ("W", "intermediateCatchEvent", "", 200, 100, {"event_definition": "timer"}),
                 ("G", "exclusiveGateway", "", 300, 100), ("E", "endEvent", "", 400, 100),
                 ("f1", "sequenceFlow", "", "S", "A"), ("f2", "sequenceFlow", "", "A", "W"),
                 ("f3", "sequenceFlow", "", "W", "G"), ("f4", "sequenceFlow", "ok", "G", "E"),
                 ("f5", "sequenceFlow", "again", "G", "A"), ("f6", "sequenceFlow", "", "A", None),
                 ("m1", "messageFlow", "", None, None))
    rows[4]["y0"] = 50  # the end event drawn above the loop: its branch first
    flow = _section(diagram_summary(rows), "Process flow")
    assert flow.splitlines()[1:] == [
        "1. Start event", '2. User task "Check"', "3. Timer intermediate catch event",
        "4. Exclusive gateway — one of:", '   - "ok" → step 5 (end event)',
        '   - "again" → back to step 2 (user task "Check")', "5. End event"]
    md = diagram_summary(rows)
    assert "**Unresolved:** 2 connectors with an end touching no shape: " \
           'sequence flow from user task "Check"; message flow touching no shape.' in md
    assert "**Pools and lanes**" not in md and "**Message flows**" not in md


def test_table_rows_with_markers_as_tuples_and_no_elements():
    rows = _rows(("T", "subProcess", "Проверка", 0, 0, {"markers": ("collapsed", "multiInstance")}))
    md = diagram_summary(rows)
    assert md.startswith("**BPMN diagram:** 1 sub-process.")
    assert '- Sub-processes (1): "Проверка" (multi-instance collapsed sub-process)' in md
    assert diagram_summary([]) == "**BPMN diagram:** no elements found."
    unnamed = _rows(("A", "task", "", 0, 0), ("B", "task", "", 100, 0), ("C", "task", "Готово", 200, 0),
                    ("D", "task", "", 300, 0))
    assert '- Tasks (4): "Готово", 3 × task' in diagram_summary(unnamed)


@pytest.mark.skipif(not FONT.exists(), reason="DejaVu Sans not installed")
def test_russian_labels_come_through(tmp_path):
    pdf = tmp_path / "ru.pdf"
    _draw(pdf)
    md = _summary(pdf, "page-1.bpmn")
    flow = _section(md, "Process flow")
    assert _in_order(flow, ['1. Start event "Заявка"', '2. Task "Проверить заявку"', '3. Task "Оформить договор"',
                            '4. Exclusive gateway "Одобрено?"', '5. End event "Готово"'])
    assert '- Tasks (2): "Проверить заявку", "Оформить договор"' in md
