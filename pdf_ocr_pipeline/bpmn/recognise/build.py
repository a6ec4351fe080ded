"""Turn recognised shapes and connectors into a frozen ``BpmnDiagram`` (ids, parents, annotation boxes)."""

from __future__ import annotations

from pdf_ocr_pipeline.bpmn import geometry as g
from pdf_ocr_pipeline.bpmn.recognise.connectors import Connector, brackets
from pdf_ocr_pipeline.bpmn.labels import Word, attach_labels
from pdf_ocr_pipeline.bpmn.model import BpmnDiagram, BpmnElement
from pdf_ocr_pipeline.bpmn.primitives import Prim
from pdf_ocr_pipeline.bpmn.recognise.shapes import Shape

_PREFIX = {"participant": "Participant", "lane": "Lane", "subProcess": "SubProcess", "textAnnotation": "TextAnnotation",
           "dataObjectReference": "DataObjectReference", "dataStoreReference": "DataStoreReference"}


def annotations(rest: list[Prim], words: list[Word]) -> list[Shape]:
    """Text annotations: a bracket and the words to its right within its height."""
    out = []
    for b in brackets(rest):
        right = [w for w in words if b[0] <= w[1][0] <= b[0] + 250 and b[1] - 2 <= g.center(w[1])[1] <= b[3] + 2]
        x1 = max([b[2]] + [w[1][2] + 2 for w in right])
        if right:
            # the box's right side is not drawn: where the text leaves room below it inside the bracket, take
            # it to leave as much room on its right (a box sized by hand, larger than its text both ways)
            x1 += max(0.0, b[3] - max(w[1][3] for w in right))
        out.append(Shape("textAnnotation", (b[0], b[1], x1, b[3]), confidence=0.85))
    return out


def assemble(shapes: list[Shape], connectors: list[Connector], words: list[Word], *, page_no: int,
             width: float, height: float, method: str) -> BpmnDiagram:
    """Label everything, give ids, resolve data associations, and freeze the model."""
    attach_labels(shapes, connectors, words)
    order = {"participant": 0, "lane": 1, "subProcess": 2}
    rows = g.reading_rows([s.box for s in shapes])  # ids run as a reader reads: rows, each left to right
    ranked = sorted(zip(shapes, rows), key=lambda t: (order.get(t[0].type, 3), t[1], t[0].box[0]))
    shapes = [s for s, _ in ranked]
    counts: dict[str, int] = {}
    for s in shapes:
        prefix = _PREFIX.get(s.type, s.type[0].upper() + s.type[1:])
        counts[prefix] = counts.get(prefix, 0) + 1
        s.id = f"{prefix}_{counts[prefix]}"
    elements = []
    for s in shapes:
        elements.append(BpmnElement(
            id=s.id, type=s.type, label=s.label, box=tuple(round(v, 2) for v in s.box),
            parent_id=s.parent.id if s.parent is not None else None, event_definition=s.event_definition,
            markers=tuple(dict.fromkeys(s.markers)), label_box=s.label_box, confidence=s.confidence, method=method))
    data = ("dataObjectReference", "dataStoreReference")
    acts = ("task", "subProcess", "callActivity")
    for i, c in enumerate(connectors, 1):
        kind = c.type
        if kind == "association" and c.source is not None and c.target is not None:
            if c.source.type in acts and c.target.type in data:
                kind = "dataOutputAssociation"
            elif c.source.type in data and c.target.type in acts:
                kind = "dataInputAssociation"
        pts = tuple((round(x, 2), round(y, 2)) for x, y in c.points)
        elements.append(BpmnElement(
            id=f"Flow_{i}" if kind == "sequenceFlow" else f"{kind[0].upper()}{kind[1:]}_{i}", type=kind,
            label=c.label, box=tuple(round(v, 2) for v in g.box_of(pts)), waypoints=pts,
            source_id=c.source.id if c.source is not None else None,
            target_id=c.target.id if c.target is not None else None, label_box=c.label_box,
            confidence=c.confidence, method=method))
    return BpmnDiagram(page_no=page_no, width=width, height=height, elements=tuple(elements), method=method)
