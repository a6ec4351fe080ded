"""Is a page a BPMN diagram, and which path reads it (vector drawings or the rendered image)?"""

from __future__ import annotations

import pymupdf

from pdf_ocr_pipeline.bpmn.model import BpmnDiagram

FLOW_NODES = ("Event", "Gateway", "task", "Task", "subProcess", "callActivity")


def is_diagram(d: BpmnDiagram, *, min_nodes: int = 3, min_flows: int = 2) -> bool:
    """A page is a diagram when it holds at least ``min_nodes`` flow nodes (events, gateways, activities)
    and ``min_flows`` connectors of which most have both ends on shapes."""
    nodes = [e for e in d.shapes if any(k in e.type for k in FLOW_NODES)]
    flows = d.flows
    connected = [f for f in flows if f.source_id and f.target_id]
    return len(nodes) >= min_nodes and len(connected) >= min_flows and len(connected) >= 0.5 * len(flows)


def choose_path(page: pymupdf.Page) -> str:
    """``vector`` when the page carries drawings, ``raster`` when it is mostly image (scans, embedded
    pictures) or has no drawings at all."""
    area = abs(page.rect)
    image_area = 0.0
    for info in page.get_image_info():
        r = pymupdf.Rect(info["bbox"]) & page.rect
        image_area += abs(r)
    n = len(page.get_cdrawings()) if hasattr(page, "get_cdrawings") else len(page.get_drawings())
    if image_area > 0.3 * area and n < 40:
        return "raster"
    return "vector" if n >= 10 else "raster"
