"""Diagrams to table rows and back, and which pages are worth looking at for a diagram. No Dagster here.

The ``bpmn_elements`` table is the model; ``bpmn_models`` rebuilds each page's diagram from its rows, so the XML
always says exactly what the table says.
"""

from __future__ import annotations

from collections.abc import Sequence

from .model import BpmnDiagram, BpmnElement

#: A page where most words sit in long lines is prose (a text page, or a scan of one), not a diagram: diagram
#: labels are wrapped inside shapes, a few words a line.
PROSE_LINE_WORDS = 5  # a line of at least this many words is a prose line
PROSE_WORD_SHARE = 0.5  # ... and a page with this share of its words in such lines is prose
MIN_PROSE_WORDS = 60


def element_rows(diagram: BpmnDiagram, doc_id: str) -> list[dict]:
    """``bpmn_elements`` rows: the library's columns plus where each label sits."""
    rows = diagram.to_rows(doc_id)
    for row, element in zip(rows, diagram.elements):
        box = element.label_box
        row.update(label_x0=box[0] if box else None, label_y0=box[1] if box else None,
                   label_x1=box[2] if box else None, label_y1=box[3] if box else None)
    return rows


def diagram_from_rows(rows: Sequence[dict], page_no: int, width: float, height: float) -> BpmnDiagram:
    """The page's diagram again, from its ``bpmn_elements`` rows (in table order: shapes, then flows)."""
    elements = []
    for r in rows:
        label_box = (r["label_x0"], r["label_y0"], r["label_x1"], r["label_y1"]) if r.get("label_x0") is not None \
            else None
        elements.append(BpmnElement(
            id=r["element_id"], type=r["type"], label=r.get("label") or "",
            box=(r["x0"], r["y0"], r["x1"], r["y1"]),
            waypoints=tuple((w["x"], w["y"]) for w in r.get("waypoints") or ()),
            source_id=r.get("source_id"), target_id=r.get("target_id"), parent_id=r.get("parent_id"),
            event_definition=r.get("event_definition"), markers=tuple(r.get("markers") or ()),
            label_box=label_box, confidence=r.get("confidence") if r.get("confidence") is not None else 1.0,
            method=r.get("method") or "vector",
        ))
    method = elements[0].method if elements else "vector"
    return BpmnDiagram(page_no=page_no, width=width, height=height, elements=tuple(elements), method=method)


def looks_like_prose(words: Sequence, page_width: float) -> bool:
    """Whether a page's words (Blocks or ``(text, box)`` pairs) read as running text rather than a diagram.

    Words are joined into lines (similar baseline, small gaps); a page is prose when most of its words sit in
    lines of at least ``PROSE_LINE_WORDS`` words. Diagram labels are short and scattered.
    Pure; a cheap gate before the expensive raster diagram search.
    """
    boxes = sorted((_box(w) for w in words), key=lambda b: (b[1] + b[3]) / 2)
    if len(boxes) < MIN_PROSE_WORDS or page_width <= 0:
        return False
    rows: list[list[tuple]] = []  # words whose vertical centres agree, top to bottom
    for b in boxes:
        centre, h = (b[1] + b[3]) / 2, max(1.0, b[3] - b[1])
        if rows and abs(centre - (rows[-1][0][1] + rows[-1][0][3]) / 2) < 0.5 * h:
            rows[-1].append(b)
        else:
            rows.append([b])
    in_long = 0
    for row in rows:
        row.sort(key=lambda b: b[0])
        start = 0
        for i in range(1, len(row) + 1):  # split a row into lines at wide gaps (columns, separate labels)
            h = max(1.0, row[i - 1][3] - row[i - 1][1])
            if i == len(row) or row[i][0] - row[i - 1][2] > 2.5 * h:
                if i - start >= PROSE_LINE_WORDS:
                    in_long += i - start
                start = i
    return in_long / len(boxes) >= PROSE_WORD_SHARE


def _box(word) -> tuple[float, float, float, float]:
    if hasattr(word, "x0"):
        return (word.x0, word.y0, word.x1, word.y1)
    return tuple(word[1])
