"""The BPMN model every path produces: frozen elements and one diagram per page. No Dagster here.

Boxes are PDF points in the displayed page frame (origin top left), ``(x0, y0, x1, y1)``; waypoints are
``(x, y)`` points in the same frame. ``type`` is the BPMN 2.0 element name (``task``, ``startEvent``,
``exclusiveGateway``, ``participant``, ``sequenceFlow``, ...), so it maps one to one onto the XML.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

Box = tuple[float, float, float, float]
Point = tuple[float, float]

TASK_TYPES = frozenset({"task", "userTask", "serviceTask", "sendTask", "receiveTask", "manualTask", "scriptTask",
                        "businessRuleTask", "callActivity"})
SUBPROCESS_TYPES = frozenset({"subProcess", "transaction", "adHocSubProcess"})
EVENT_TYPES = frozenset({"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
                         "boundaryEvent"})
GATEWAY_TYPES = frozenset({"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway",
                           "complexGateway"})
DATA_TYPES = frozenset({"dataObjectReference", "dataStoreReference", "dataInput", "dataOutput"})
CONTAINER_TYPES = frozenset({"participant", "lane"})
FLOW_TYPES = frozenset({"sequenceFlow", "messageFlow", "association", "dataInputAssociation",
                        "dataOutputAssociation"})
SHAPE_TYPES = TASK_TYPES | SUBPROCESS_TYPES | EVENT_TYPES | GATEWAY_TYPES | DATA_TYPES | CONTAINER_TYPES | {
    "textAnnotation", "group"}
# Event definitions as in the XML (``messageEventDefinition`` ...), stored without the suffix.
EVENT_DEFINITIONS = ("message", "timer", "error", "escalation", "cancel", "compensate", "conditional", "link",
                     "signal", "terminate", "multiple", "parallelMultiple")


@dataclass(frozen=True)
class BpmnElement:
    """One shape or connector of a diagram.

    Attributes:
        id: unique within the diagram (``Task_3``, ``Flow_7``); the XML uses it as is.
        type: BPMN 2.0 element name (see the module docstring).
        label: the text attached to it, words joined by single spaces ("" when none).
        box: shapes: bounds; flows: the bounding box of the waypoints.
        waypoints: flows only, from source to target.
        source_id, target_id: flows only; ``None`` when the end touches no shape.
        parent_id: the lane, pool or expanded sub-process that holds a shape (innermost), or a boundary
            event's host activity; ``None`` at top level.
        event_definition: events only: ``message``, ``timer``, ... (see ``EVENT_DEFINITIONS``), or ``None``.
        markers: tasks and sub-processes: ``loop``, ``multiInstance``, ``compensation``, ``collapsed``,
            ``adHoc``; events: ``nonInterrupting``.
        label_box: where the label sits, when known (the DI ``BPMNLabel`` bounds).
        confidence: 0..1, how sure the detector is of the type.
        method: ``vector`` | ``detector`` | ``raster`` | ``grounding`` | ``truth``.
    """

    id: str
    type: str
    label: str = ""
    box: Box = (0.0, 0.0, 0.0, 0.0)
    waypoints: tuple[Point, ...] = ()
    source_id: str | None = None
    target_id: str | None = None
    parent_id: str | None = None
    event_definition: str | None = None
    markers: tuple[str, ...] = ()
    label_box: Box | None = None
    confidence: float = 1.0
    method: str = "vector"

    @property
    def is_flow(self) -> bool:
        return self.type in FLOW_TYPES

    def with_(self, **changes) -> "BpmnElement":
        return replace(self, **changes)


@dataclass(frozen=True)
class BpmnDiagram:
    """The model of one diagram page: its elements (shapes first, then flows) and the page size in points.

    ``vector_note``: why a vector page was read as a picture instead (its drawings unusable: text as curves, one
    path, sketchy strokes; ``bpmn.vector.usable``), ``None`` when it was not.
    """

    page_no: int
    width: float
    height: float
    elements: tuple[BpmnElement, ...] = field(default_factory=tuple)
    method: str = "vector"
    name: str = ""
    vector_note: str | None = None

    @property
    def shapes(self) -> list[BpmnElement]:
        return [e for e in self.elements if not e.is_flow]

    @property
    def flows(self) -> list[BpmnElement]:
        return [e for e in self.elements if e.is_flow]

    def by_id(self) -> dict[str, BpmnElement]:
        return {e.id: e for e in self.elements}

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for e in self.elements:
            out[e.type] = out.get(e.type, 0) + 1
        return dict(sorted(out.items()))

    def to_rows(self, doc_id: str, page_no: int | None = None) -> list[dict]:
        """One ``bpmn_elements`` row per element (columns as in ``ELEMENT_COLUMNS``)."""
        page = self.page_no if page_no is None else page_no
        rows = []
        for e in self.elements:
            rows.append({
                "doc_id": doc_id, "page_no": page, "element_id": e.id, "type": e.type, "label": e.label,
                "x0": e.box[0], "y0": e.box[1], "x1": e.box[2], "y1": e.box[3],
                "waypoints": [{"x": x, "y": y} for x, y in e.waypoints],
                "source_id": e.source_id, "target_id": e.target_id, "parent_id": e.parent_id,
                "event_definition": e.event_definition, "markers": list(e.markers),
                "confidence": e.confidence, "method": e.method,
            })
        return rows


ELEMENT_COLUMNS = ("doc_id", "page_no", "element_id", "type", "label", "x0", "y0", "x1", "y1", "waypoints",
                   "source_id", "target_id", "parent_id", "event_definition", "markers", "confidence", "method")


def eval_class(bpmn_type: str) -> str:
    """The coarse class used for scoring: what a drawing can show without reading markers or icons."""
    if bpmn_type in TASK_TYPES:
        return "task"
    if bpmn_type in SUBPROCESS_TYPES:
        return "subProcess"
    if bpmn_type in ("intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"):
        return "intermediateEvent"
    if bpmn_type in ("dataObjectReference", "dataInput", "dataOutput"):
        return "dataObject"
    if bpmn_type == "dataStoreReference":
        return "dataStore"
    if bpmn_type in ("dataInputAssociation", "dataOutputAssociation"):
        return "association"
    return bpmn_type
