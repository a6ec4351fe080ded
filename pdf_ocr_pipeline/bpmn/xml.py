"""BPMN 2.0 XML with diagram interchange from a ``BpmnDiagram``. Pure: model in, text out.

Layout of the output, chosen so bpmn-moddle imports it without warnings and the OMG XSD accepts it:
- pools become ``participant``s of one ``collaboration`` (each with its own ``process``); message flows live
  in the collaboration; shapes outside every pool go to a default process (also referenced by a participant
  when the page has pools, so bpmn.io shows them);
- lanes become a ``laneSet`` of their pool's process with ``flowNodeRef``s (nested lanes: ``childLaneSet``);
- sequence flows and associations live in the innermost container (process or expanded sub-process) of their
  source; data associations inside their activity;
- connectors with an unresolved end cannot be written (``sourceRef``/``targetRef`` are required) and are left
  out of the XML (they stay in the table).
DI: one ``BPMNShape`` per shape (``dc:Bounds`` in points), one ``BPMNEdge`` per connector (``di:waypoint``s).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from pdf_ocr_pipeline.bpmn.model import (DATA_TYPES, EVENT_TYPES, GATEWAY_TYPES, SUBPROCESS_TYPES, TASK_TYPES,
                                         BpmnDiagram, BpmnElement)

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
for _p, _u in (("bpmn", BPMN), ("bpmndi", BPMNDI), ("dc", DC), ("di", DI), ("xsi", XSI)):
    ET.register_namespace(_p, _u)

FLOW_NODE_TYPES = TASK_TYPES | SUBPROCESS_TYPES | EVENT_TYPES | GATEWAY_TYPES


def _q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def _ncname(raw: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_.-]", "_", raw)
    return s if re.match(r"[A-Za-z_]", s) else f"_{s}"


def _num(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".") if v == v else "0"


def to_bpmn_xml(diagram: BpmnDiagram, *, name: str | None = None) -> str:
    """Serialise a diagram as BPMN 2.0 XML with diagram interchange.

    Args:
        diagram: the model of one page.
        name: the ``definitions`` name (defaults to ``diagram.name`` or ``page-<n>``).

    Returns:
        The XML document as text (UTF-8 declaration included).
    """
    ids = {e.id: _ncname(e.id) for e in diagram.elements}
    by_id = diagram.by_id()
    shapes = [e for e in diagram.elements if not e.is_flow]
    flows = [e for e in diagram.elements if e.is_flow and e.source_id in by_id and e.target_id in by_id
             and len(e.waypoints) >= 2]

    def pool_of(e: BpmnElement | None) -> BpmnElement | None:
        seen = set()
        while e is not None and e.id not in seen:
            seen.add(e.id)
            if e.type == "participant":
                return e
            e = by_id.get(e.parent_id) if e.parent_id else None
        return None

    pools = [e for e in shapes if e.type == "participant"]
    defs = ET.Element(_q(BPMN, "definitions"), {
        "id": "Definitions_1", "name": name or diagram.name or f"page-{diagram.page_no}",
        "targetNamespace": "http://pdf-ocr-pipeline/bpmn", "exporter": "pdf_ocr_pipeline", "exporterVersion": "1"})
    procs: dict[str | None, ET.Element] = {}
    proc_order: list[str | None] = [p.id for p in pools]
    if any(pool_of(e) is None for e in shapes if e.type != "participant") or not pools:
        proc_order.append(None)
    for key in proc_order:
        procs[key] = ET.Element(_q(BPMN, "process"), {"id": f"Process_{ids[key]}" if key else "Process_1",
                                                       "isExecutable": "false"})
    collab = None
    if pools or any(f.type == "messageFlow" for f in flows):
        collab = ET.SubElement(defs, _q(BPMN, "collaboration"), {"id": "Collaboration_1"})
        for p in pools:
            part = ET.SubElement(collab, _q(BPMN, "participant"), {"id": ids[p.id], "processRef": procs[p.id].get("id")})
            if p.label:
                part.set("name", p.label)
        if None in procs and pools:
            ET.SubElement(collab, _q(BPMN, "participant"), {"id": "Participant_default", "processRef": "Process_1"})
    for key in proc_order:
        defs.append(procs[key])

    containers: dict[str, ET.Element] = {}

    def container_of(e: BpmnElement) -> ET.Element:
        p = by_id.get(e.parent_id) if e.parent_id else None
        seen = set()
        while p is not None and p.id not in seen:
            seen.add(p.id)
            if p.type in SUBPROCESS_TYPES and p.id in containers:
                return containers[p.id]
            if p.type == "participant":
                return procs[p.id]
            p = by_id.get(p.parent_id) if p.parent_id else None
        pool = pool_of(e)
        return procs[pool.id if pool else None]

    # flow nodes and artifacts, parents before children
    placed: set[str] = set()
    pending = [e for e in shapes if e.type not in ("participant", "lane")]
    host_of_boundary = {e.id: e.parent_id for e in pending if e.type == "boundaryEvent"}
    for _ in range(len(pending) + 1):
        rest = []
        for e in pending:
            parent = by_id.get(e.parent_id) if e.parent_id else None
            if parent is not None and parent.type in SUBPROCESS_TYPES and parent.id not in placed \
                    and e.type != "boundaryEvent":
                rest.append(e)
                continue
            if e.type == "boundaryEvent":
                host = by_id.get(host_of_boundary[e.id] or "")
                if host is None or host.type not in TASK_TYPES | SUBPROCESS_TYPES:
                    e = e.with_(type="intermediateCatchEvent")
                elif host.id not in placed:
                    rest.append(e)
                    continue
                target = container_of(host) if host is not None and e.type == "boundaryEvent" else container_of(e)
            else:
                target = container_of(e)
            node = _semantic(target, e, ids, by_id, defs)
            if e.type in SUBPROCESS_TYPES:
                containers[e.id] = node
            placed.add(e.id)
        if not rest:
            break
        pending = rest

    _lanes(shapes, by_id, ids, procs, pool_of)

    for f in flows:
        attrs = {"id": ids[f.id], "sourceRef": ids[f.source_id], "targetRef": ids[f.target_id]}
        if f.label:
            attrs["name"] = f.label
        if f.type == "messageFlow":
            if collab is None:
                continue
            ET.SubElement(collab, _q(BPMN, "messageFlow"), attrs)
        elif f.type in ("dataOutputAssociation", "dataInputAssociation") and not _data_ends_ok(f, by_id):
            attrs.pop("name", None)
            container_of(by_id[f.source_id]).append(ET.Element(_q(BPMN, "association"), attrs))
        elif f.type == "dataOutputAssociation":
            act = _find(defs, ids[f.source_id])
            if act is None:
                continue
            da = ET.SubElement(act, _q(BPMN, "dataOutputAssociation"), {"id": ids[f.id]})
            ET.SubElement(da, _q(BPMN, "targetRef")).text = ids[f.target_id]
        elif f.type == "dataInputAssociation":
            act = _find(defs, ids[f.target_id])
            if act is None:
                continue
            prop_id = f"Property_{ids[f.id]}"
            _insert_property(act, prop_id)
            da = ET.SubElement(act, _q(BPMN, "dataInputAssociation"), {"id": ids[f.id]})
            ET.SubElement(da, _q(BPMN, "sourceRef")).text = ids[f.source_id]
            ET.SubElement(da, _q(BPMN, "targetRef")).text = prop_id
        elif f.type == "association":
            attrs.pop("name", None)
            container_of(by_id[f.source_id]).append(ET.Element(_q(BPMN, "association"), attrs))
        else:
            src = by_id[f.source_id]
            host = container_of(src) if src.type != "boundaryEvent" or not src.parent_id or src.parent_id not in by_id \
                else container_of(by_id[src.parent_id])
            host.append(ET.Element(_q(BPMN, "sequenceFlow"), attrs))
    _reorder(defs)
    written = {el.get("id") for el in defs.iter() if el.get("id")}
    _diagram(defs, diagram, ids, written, collab.get("id") if collab is not None else procs[proc_order[0]].get("id"))
    ET.indent(defs, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(defs, encoding="unicode") + "\n"


def _semantic(target: ET.Element, e: BpmnElement, ids: dict, by_id: dict, defs: ET.Element) -> ET.Element:
    tag = e.type
    attrs = {"id": ids[e.id]}
    if e.label and tag != "textAnnotation":
        attrs["name"] = e.label
    if tag == "boundaryEvent":
        attrs["attachedToRef"] = ids[e.parent_id]
        if "nonInterrupting" in e.markers:
            attrs["cancelActivity"] = "false"
    if tag == "dataObjectReference":
        obj_id = f"DataObject_{ids[e.id]}"
        target.append(ET.Element(_q(BPMN, "dataObject"), {"id": obj_id}))
        attrs["dataObjectRef"] = obj_id
    if tag in ("dataInput", "dataOutput"):
        tag = "dataObjectReference"
    node = ET.SubElement(target, _q(BPMN, tag), attrs)
    if tag == "textAnnotation":
        ET.SubElement(node, _q(BPMN, "text")).text = e.label
    if "loop" in e.markers and tag in TASK_TYPES | SUBPROCESS_TYPES:
        ET.SubElement(node, _q(BPMN, "standardLoopCharacteristics"))
    elif ("multiInstance" in e.markers or "multiInstanceSequential" in e.markers) and tag in TASK_TYPES | SUBPROCESS_TYPES:
        ET.SubElement(node, _q(BPMN, "multiInstanceLoopCharacteristics"),
                      {"isSequential": "true"} if "multiInstanceSequential" in e.markers else {})
    if e.event_definition and tag in EVENT_TYPES:
        kinds = ("message", "timer") if e.event_definition == "multiple" else (e.event_definition,)
        for k in kinds:
            if k == "terminate" and tag != "endEvent":
                continue
            ed = ET.SubElement(node, _q(BPMN, f"{k}EventDefinition"), {"id": f"{ids[e.id]}_{k}"})
            if k == "link":
                ed.set("name", e.label or ids[e.id])
            if k == "conditional":
                ET.SubElement(ed, _q(BPMN, "condition"))
    return node


def _data_ends_ok(f: BpmnElement, by_id: dict) -> bool:
    act, data = (by_id[f.source_id], by_id[f.target_id]) if f.type == "dataOutputAssociation" \
        else (by_id[f.target_id], by_id[f.source_id])
    return act.type in TASK_TYPES | SUBPROCESS_TYPES and data.type in DATA_TYPES


def _insert_property(act: ET.Element, prop_id: str) -> None:
    # properties come before data associations and after loop characteristics in the XSD sequence
    pos = 0
    for i, child in enumerate(list(act)):
        if child.tag.endswith(("incoming", "outgoing", "ioSpecification", "property")):
            pos = i + 1
    act.insert(pos, ET.Element(_q(BPMN, "property"), {"id": prop_id, "name": "__targetRef_placeholder"}))


def _find(root: ET.Element, el_id: str) -> ET.Element | None:
    for el in root.iter():
        if el.get("id") == el_id:
            return el
    return None


def _lanes(shapes, by_id, ids, procs, pool_of) -> None:
    lanes = [e for e in shapes if e.type == "lane"]
    if not lanes:
        return
    lane_ids = {l.id for l in lanes}
    members: dict[str, list[str]] = {l.id: [] for l in lanes}
    for e in shapes:
        if e.type not in FLOW_NODE_TYPES | DATA_TYPES:
            continue
        p = by_id.get(e.parent_id) if e.parent_id else None
        seen = set()
        while p is not None and p.id not in lane_ids and p.id not in seen and p.type != "participant":
            seen.add(p.id)
            p = by_id.get(p.parent_id) if p.parent_id else None
        if p is not None and p.id in lane_ids and e.type in FLOW_NODE_TYPES:
            # a flow node belongs to its lane and to every lane above it
            q = p
            while q is not None and q.type == "lane":
                members[q.id].append(ids[e.id])
                q = by_id.get(q.parent_id) if q.parent_id else None
    top: dict[str | None, list[BpmnElement]] = {}
    children: dict[str, list[BpmnElement]] = {}
    for l in lanes:
        if l.parent_id in lane_ids:
            children.setdefault(l.parent_id, []).append(l)
        else:
            pool = pool_of(l)
            top.setdefault(pool.id if pool else None, []).append(l)

    def emit(parent: ET.Element, lane: BpmnElement) -> None:
        node = ET.SubElement(parent, _q(BPMN, "lane"), {"id": ids[lane.id], **({"name": lane.label} if lane.label else {})})
        for ref in members[lane.id]:
            ET.SubElement(node, _q(BPMN, "flowNodeRef")).text = ref
        if lane.id in children:
            cls = ET.SubElement(node, _q(BPMN, "childLaneSet"), {"id": f"LaneSet_{ids[lane.id]}"})
            for c in children[lane.id]:
                emit(cls, c)

    for key, group in top.items():
        proc = procs[key] if key in procs else procs[next(iter(procs))]
        ls = ET.Element(_q(BPMN, "laneSet"), {"id": f"LaneSet_{proc.get('id')}"})
        for lane in group:
            emit(ls, lane)
        proc.insert(0, ls)


_RANK = {"incoming": 0, "outgoing": 0, "ioSpecification": 1, "property": 2, "dataInputAssociation": 3,
         "dataOutputAssociation": 4, "resourceRole": 5, "standardLoopCharacteristics": 6,
         "multiInstanceLoopCharacteristics": 6, "laneSet": 7, "participant": 0, "messageFlow": 1}
_ARTIFACTS = ("association", "textAnnotation", "group")


def _reorder(defs: ET.Element) -> None:
    """Put children in the XSD's sequence: activity parts, loop characteristics, lane sets, flow elements,
    then artifacts (and in a collaboration, participants before message flows)."""
    for node in defs.iter():
        if not node.tag.startswith(f"{{{BPMN}}}") or len(node) < 2:
            continue
        def rank(k: ET.Element) -> int:
            local = k.tag.split("}")[-1]
            if local in _ARTIFACTS:
                return 9
            if local.endswith("EventDefinition") or local in ("text", "condition", "sourceRef", "targetRef"):
                return 8
            return _RANK.get(local, 8)
        kids = sorted(list(node), key=rank)
        for k in list(node):
            node.remove(k)
        node.extend(kids)


def _diagram(defs: ET.Element, diagram: BpmnDiagram, ids: dict, written: set, plane_ref: str) -> None:
    dia = ET.SubElement(defs, _q(BPMNDI, "BPMNDiagram"), {"id": "BPMNDiagram_1"})
    plane = ET.SubElement(dia, _q(BPMNDI, "BPMNPlane"), {"id": "BPMNPlane_1", "bpmnElement": plane_ref})
    for e in diagram.elements:
        sid = ids[e.id]
        if sid not in written:
            continue
        if e.is_flow:
            edge = ET.SubElement(plane, _q(BPMNDI, "BPMNEdge"), {"id": f"{sid}_di", "bpmnElement": sid})
            for x, y in e.waypoints:
                ET.SubElement(edge, _q(DI, "waypoint"), {"x": _num(x), "y": _num(y)})
            _label(edge, e)
        else:
            attrs = {"id": f"{sid}_di", "bpmnElement": sid}
            if e.type in ("participant", "lane"):
                attrs["isHorizontal"] = "true"
            if e.type in SUBPROCESS_TYPES or e.type == "callActivity":
                attrs["isExpanded"] = "false" if "collapsed" in e.markers else "true"
            shape = ET.SubElement(plane, _q(BPMNDI, "BPMNShape"), attrs)
            x0, y0, x1, y1 = e.box
            ET.SubElement(shape, _q(DC, "Bounds"), {"x": _num(x0), "y": _num(y0), "width": _num(max(x1 - x0, 1)),
                                                   "height": _num(max(y1 - y0, 1))})
            _label(shape, e)


def _label(parent: ET.Element, e: BpmnElement) -> None:
    if e.label_box is None or not e.label:
        return
    lab = ET.SubElement(parent, _q(BPMNDI, "BPMNLabel"))
    x0, y0, x1, y1 = e.label_box
    ET.SubElement(lab, _q(DC, "Bounds"), {"x": _num(x0), "y": _num(y0), "width": _num(max(x1 - x0, 1)),
                                         "height": _num(max(y1 - y0, 1))})
