"""Broken-line connectors that end on data or an annotation are associations, whatever their dashes look like.

At scan resolution a dotted association and a short-dashed message flow leave the same row of 5 px blobs,
and an association's open head (its arms thinner than the line) fills in to a blob that reads as a message
flow's start circle. BPMN settles it: a message flow links participants and flow nodes, never a data
object, a data store or a text annotation, so a "message flow" ending on one is an association (a data
association where the other end is an activity). The traced direction is kept.
"""

from __future__ import annotations

from dataclasses import replace

from pdf_ocr_pipeline.bpmn.model import SUBPROCESS_TYPES, TASK_TYPES, BpmnDiagram

_DATA = ("dataObjectReference", "dataStoreReference")
_ARTIFACTS = _DATA + ("textAnnotation",)


def _kind(src: str | None, tgt: str | None) -> str:
    acts = TASK_TYPES | SUBPROCESS_TYPES
    if src in acts and tgt in _DATA:
        return "dataOutputAssociation"
    if src in _DATA and tgt in acts:
        return "dataInputAssociation"
    return "association"


def artifact_links(d: BpmnDiagram) -> BpmnDiagram:
    """``d`` with each message flow that has an end on an artifact retyped as an association (its id's
    prefix follows the type; the number stays, so ids stay unique)."""
    types = {e.id: e.type for e in d.elements}
    out, changed = [], False
    for e in d.elements:
        ends = (types.get(e.source_id), types.get(e.target_id))
        if e.type == "messageFlow" and any(t in _ARTIFACTS for t in ends):
            kind = _kind(*ends)
            num = e.id.rsplit("_", 1)[-1]
            e = e.with_(type=kind, id=f"{kind[0].upper()}{kind[1:]}_{num}")
            changed = True
        out.append(e)
    return replace(d, elements=tuple(out)) if changed else d
