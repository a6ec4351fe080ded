"""Read a BPMN 2.0 file (with diagram interchange) into a ``BpmnDiagram``: the ground truth for evaluation.

Pure parsing: the DI coordinates are mapped to page points by an affine ``(sx, sy, tx, ty)``
(``x_pt = sx * X + tx``), which the caller knows or fits (see ``bench/bpmn_eval.py``).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from pdf_ocr_pipeline.bpmn.model import (EVENT_TYPES, FLOW_TYPES, SHAPE_TYPES, BpmnDiagram, BpmnElement)
from pdf_ocr_pipeline.errors import BpmnParseError

MODEL_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
OMGDI_NS = "http://www.omg.org/spec/DD/20100524/DI"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _clean(text: str | None) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


def parse_bpmn(source: str | bytes | Path, *, transform: tuple[float, float, float, float] = (1.0, 1.0, 0.0, 0.0),
               page_no: int = 1) -> BpmnDiagram:
    """Parse a ``.bpmn`` file or XML text into a diagram of the elements that have DI.

    Args:
        source: a path, or the XML as ``str``/``bytes``.
        transform: ``(sx, sy, tx, ty)`` from DI coordinates to page points.
        page_no: stored on the diagram.

    Returns:
        The diagram: shapes with boxes, flows with waypoints, labels from ``name`` (or an annotation's text),
        parents (lane, pool, sub-process, boundary host) and event definitions.

    Raises:
        BpmnParseError: the XML is not well formed or has no diagram interchange.
    """
    try:
        if isinstance(source, Path) or (isinstance(source, str) and not source.lstrip().startswith("<")):
            root = ET.parse(str(source)).getroot()
        else:
            root = ET.fromstring(source.encode() if isinstance(source, str) else source)
    except (ET.ParseError, OSError) as e:
        raise BpmnParseError(f"cannot read BPMN XML: {e}") from e
    sx, sy, tx, ty = transform
    semantic: dict[str, ET.Element] = {}
    parent_of: dict[str, str] = {}
    process_pool: dict[str, str] = {}
    for el in root.iter():
        if el.get("id"):
            semantic.setdefault(el.get("id"), el)
    for part in root.iter(f"{{{MODEL_NS}}}participant"):
        if part.get("processRef"):
            process_pool[part.get("processRef")] = part.get("id")
    # containment: sub-process children, process -> pool, lane flowNodeRefs (innermost lane wins: later)
    def walk(node: ET.Element, container: str | None) -> None:
        for child in node:
            name = _local(child.tag)
            cid = child.get("id")
            if cid and container and name in SHAPE_TYPES | FLOW_TYPES:
                parent_of.setdefault(cid, container)
            if name in ("subProcess", "transaction", "adHocSubProcess"):
                walk(child, cid)
            elif name == "process":
                walk(child, process_pool.get(cid))
    walk(root, None)
    for lane in root.iter(f"{{{MODEL_NS}}}lane"):
        for ref in lane.findall(f"{{{MODEL_NS}}}flowNodeRef"):
            if ref.text:
                parent_of[ref.text.strip()] = lane.get("id")
    for proc in root.iter(f"{{{MODEL_NS}}}process"):
        pool = process_pool.get(proc.get("id"))
        for ls in proc.iter(f"{{{MODEL_NS}}}laneSet"):
            for lane in ls.findall(f"{{{MODEL_NS}}}lane"):
                if pool:
                    parent_of.setdefault(lane.get("id"), pool)
    for lane in root.iter(f"{{{MODEL_NS}}}lane"):
        for child_set in lane.findall(f"{{{MODEL_NS}}}childLaneSet"):
            for sub in child_set.findall(f"{{{MODEL_NS}}}lane"):
                parent_of[sub.get("id")] = lane.get("id")

    elements: list[BpmnElement] = []
    plane = next(root.iter(f"{{{DI_NS}}}BPMNPlane"), None)
    if plane is None:
        raise BpmnParseError("the BPMN file has no diagram interchange (BPMNPlane)")
    for di in plane:
        name = _local(di.tag)
        ref = di.get("bpmnElement")
        sem = semantic.get(ref)
        if sem is None or name not in ("BPMNShape", "BPMNEdge"):
            continue
        kind = _local(sem.tag)
        label = _clean(sem.get("name"))
        if kind == "textAnnotation":
            label = _clean(sem.findtext(f"{{{MODEL_NS}}}text"))
        label_box = None
        lb = di.find(f"{{{DI_NS}}}BPMNLabel/{{{DC_NS}}}Bounds")
        if lb is not None:
            label_box = _bounds(lb, sx, sy, tx, ty)
        if name == "BPMNShape" and kind in SHAPE_TYPES:
            b = di.find(f"{{{DC_NS}}}Bounds")
            if b is None:
                continue
            markers: list[str] = []
            if kind in ("subProcess", "callActivity", "transaction", "adHocSubProcess") and \
                    di.get("isExpanded") == "false":
                markers.append("collapsed")
            for lc in ("standardLoopCharacteristics", "multiInstanceLoopCharacteristics"):
                if sem.find(f"{{{MODEL_NS}}}{lc}") is not None:
                    markers.append("loop" if lc.startswith("standard") else "multiInstance")
            if kind == "boundaryEvent" and sem.get("cancelActivity") == "false":
                markers.append("nonInterrupting")
            evdef = None
            if kind in EVENT_TYPES:
                defs = [_local(c.tag)[:-len("EventDefinition")] for c in sem
                        if _local(c.tag).endswith("EventDefinition")]
                evdef = defs[0] if len(defs) == 1 else ("multiple" if defs else None)
            parent = sem.get("attachedToRef") if kind == "boundaryEvent" else parent_of.get(ref)
            elements.append(BpmnElement(id=ref, type=kind, label=label, box=_bounds(b, sx, sy, tx, ty),
                                        parent_id=parent, event_definition=evdef, markers=tuple(markers),
                                        label_box=label_box, method="truth"))
        elif name == "BPMNEdge" and kind in FLOW_TYPES:
            pts = tuple((sx * float(w.get("x")) + tx, sy * float(w.get("y")) + ty)
                        for w in di if _local(w.tag) == "waypoint")
            src, tgt = sem.get("sourceRef"), sem.get("targetRef")
            if kind in ("dataInputAssociation", "dataOutputAssociation"):
                src = _clean(sem.findtext(f"{{{MODEL_NS}}}sourceRef")) or None
                tgt = _clean(sem.findtext(f"{{{MODEL_NS}}}targetRef")) or None
                owner = _owner_activity(root, sem)
                if kind == "dataInputAssociation":
                    tgt = owner
                else:
                    src = owner
            xs = [p[0] for p in pts] or [0.0]
            ys = [p[1] for p in pts] or [0.0]
            elements.append(BpmnElement(id=ref, type=kind, label=label, box=(min(xs), min(ys), max(xs), max(ys)),
                                        waypoints=pts, source_id=src, target_id=tgt, label_box=label_box,
                                        method="truth"))
    return BpmnDiagram(page_no=page_no, width=0.0, height=0.0, elements=tuple(elements), method="truth",
                       name=root.get("name") or "")


def _bounds(b: ET.Element, sx: float, sy: float, tx: float, ty: float) -> tuple[float, float, float, float]:
    x, y, w, h = (float(b.get(k)) for k in ("x", "y", "width", "height"))
    return (sx * x + tx, sy * y + ty, sx * (x + w) + tx, sy * (y + h) + ty)


def _owner_activity(root: ET.Element, assoc: ET.Element) -> str | None:
    for el in root.iter():
        if any(c is assoc for c in el):
            return el.get("id")
    return None
