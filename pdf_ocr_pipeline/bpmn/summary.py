"""A diagram page's BPMN model as a readable Markdown summary, for a person or a language model. No Dagster here.

It reads one page's ``bpmn_elements`` rows and says: what the diagram holds (pools and lanes with their
contents, the elements by kind), how the process runs (a walk from each start event along the sequence flows,
each element once, with gateway branches, their conditions and loops), which messages pass between pools, and
which data, stores and notes are attached where. It writes no ``#`` headings, so it can sit inside a page.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from .geometry import reading_rows
from .model import DATA_TYPES, EVENT_TYPES, GATEWAY_TYPES, SUBPROCESS_TYPES, TASK_TYPES

#: A pool, lane or kind lists at most this many elements by name, then says how many more it holds.
MAX_LISTED = 30
#: At most this many loose connectors are described one by one.
MAX_LOOSE = 5

FLOW_NODE_TYPES = TASK_TYPES | SUBPROCESS_TYPES | EVENT_TYPES | GATEWAY_TYPES
_KIND = {"subProcess": "sub-process", "adHocSubProcess": "ad-hoc sub-process", "callActivity": "call activity",
         "participant": "pool", "lane": "lane", "dataObjectReference": "data object",
         "dataStoreReference": "data store", "textAnnotation": "text annotation", "sequenceFlow": "sequence flow",
         "messageFlow": "message flow", "eventBasedGateway": "event-based gateway",
         "intermediateCatchEvent": "intermediate catch event", "intermediateThrowEvent": "intermediate throw event"}
_MARKERS = {"loop": "loop", "multiInstance": "multi-instance", "compensation": "compensation", "adHoc": "ad-hoc"}
_SPLIT = {"exclusiveGateway": "one of", "inclusiveGateway": "one or more of", "parallelGateway": "all of, in parallel",
          "eventBasedGateway": "whichever comes first", "complexGateway": "as its rule decides"}
# The elements by kind: (title, base kind left unsaid for its items, types), in the order they are listed.
_CATEGORIES = (("Start events", "start event", {"startEvent"}), ("Tasks", "task", TASK_TYPES),
               ("Sub-processes", "sub-process", SUBPROCESS_TYPES),
               ("Intermediate events", "", {"intermediateCatchEvent", "intermediateThrowEvent"}),
               ("Boundary events", "", {"boundaryEvent"}), ("Gateways", "", GATEWAY_TYPES),
               ("End events", "end event", {"endEvent"}), ("Data", "", DATA_TYPES),
               ("Annotations", "text annotation", {"textAnnotation"}), ("Groups", "group", {"group"}))


@dataclass(frozen=True)
class _El:
    id: str
    type: str
    label: str
    x: float
    y: float
    source: str | None
    target: str | None
    parent: str | None
    definition: str | None
    markers: tuple[str, ...]
    y1: float = 0.0
    row: int = 0  # reading row (``geometry.reading_rows``), set by ``diagram_summary``


def diagram_summary(elements: Sequence[dict], xml_link: str | None = None) -> str:
    """One diagram page's model as Markdown.

    Args:
        elements: the page's ``bpmn_elements`` rows (dicts with ``element_id``, ``type``, ``label``, ``x0``,
            ``y0``, ``y1``, ``source_id``, ``target_id``, ``parent_id``, ``event_definition``, ``markers``; other
            columns are ignored).
        xml_link: a link (relative path) to the page's ``.bpmn`` file, shown when given.

    Returns:
        Markdown without ``#`` headings: a count line, pools and lanes, elements by kind, the process flow,
        message flows, data and annotations, loose connectors (only the parts the diagram has).
    """
    els = [_el(r) for r in elements]
    rows = reading_rows([(e.x, e.y, e.x, max(e.y, e.y1)) for e in els])
    els = [replace(e, row=n) for e, n in zip(els, rows)]
    by_id = {e.id: e for e in els}
    head = "**BPMN diagram:** " + (_counts(els) or "no elements found") + "."
    if xml_link:
        head += f" BPMN 2.0 XML: [{xml_link.rsplit('/', 1)[-1]}]({xml_link})"
    parts = [head]
    for section in (_pools(els, by_id), _kinds(els, by_id), _flow(els, by_id), _messages(els, by_id),
                    _attachments(els, by_id), _loose(els, by_id)):
        if section:
            parts.append(section)
    return "\n\n".join(parts)


def _el(r: dict) -> _El:
    markers = r.get("markers")
    return _El(str(r["element_id"]), str(r["type"]), " ".join(str(r.get("label") or "").split()),
               float(r.get("x0") or 0.0), float(r.get("y0") or 0.0), r.get("source_id"), r.get("target_id"),
               r.get("parent_id"), r.get("event_definition"), tuple(markers) if markers is not None else (),
               float(r.get("y1") or r.get("y0") or 0.0))


def _kind(e: _El) -> str:
    base = _KIND.get(e.type) or re.sub(r"(?<!^)([A-Z])", r" \1", e.type).lower()
    if e.type in EVENT_TYPES and e.definition:
        base = f"{e.definition} {base}"
    if e.type in SUBPROCESS_TYPES and "collapsed" in e.markers:
        base = "collapsed " + base
    adjectives = [_MARKERS[m] for m in e.markers if m in _MARKERS]
    if "nonInterrupting" in e.markers:
        adjectives.insert(0, "non-interrupting")
    return " ".join(adjectives + [base])


def _quote(label: str) -> str:
    return '"' + label.replace("*", "\\*").replace("`", "\\`") + '"'


def _desc(e: _El | None) -> str:
    if e is None:
        return "nothing"
    return f"{_kind(e)} {_quote(e.label)}" if e.label else _kind(e)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _pos(e: _El) -> tuple[float, float]:
    return (e.y, e.x)


def _reading_pos(e: _El) -> tuple[float, float]:
    """Rows as a reader sees them (tops a few points apart in one row), then left to right: element lists."""
    return (e.row, e.x)


def _listed(items: list[str]) -> str:
    if len(items) <= MAX_LISTED:
        return ", ".join(items)
    return ", ".join(items[:MAX_LISTED]) + f" and {len(items) - MAX_LISTED} more"


def _counts(els: list[_El]) -> str:
    groups = (("pool", "pools", {"participant"}), ("lane", "lanes", {"lane"}), ("task", "tasks", TASK_TYPES),
              ("sub-process", "sub-processes", SUBPROCESS_TYPES), ("event", "events", EVENT_TYPES),
              ("gateway", "gateways", GATEWAY_TYPES), ("data object or store", "data objects and stores", DATA_TYPES),
              ("annotation", "annotations", {"textAnnotation"}), ("sequence flow", "sequence flows", {"sequenceFlow"}),
              ("message flow", "message flows", {"messageFlow"}))
    out = []
    for one, many, types in groups:
        n = sum(e.type in types for e in els)
        if n:
            out.append(f"{n} {one if n == 1 else many}")
    return ", ".join(out)


def _pools(els: list[_El], by_id: dict[str, _El]) -> str:
    containers = sorted((e for e in els if e.type in ("participant", "lane")), key=_pos)
    if not containers:
        return ""
    children: dict[str | None, list[_El]] = defaultdict(list)
    for e in sorted(els, key=_pos):
        if e.type in ("participant", "lane") or (e.type not in FLOW_NODE_TYPES and e.type not in DATA_TYPES
                                                 and e.type != "textAnnotation"):
            continue
        if e.type == "boundaryEvent":
            continue  # listed with its host
        children[e.parent if e.parent in by_id else None].append(e)
    lines = ["**Pools and lanes**"]

    def walk(c: _El, depth: int) -> None:
        lanes = [x for x in containers if x.type == "lane" and x.parent == c.id]
        held = _named(children.get(c.id, []), _desc)
        text = f"{'  ' * depth}- {_cap(_desc(c))}"
        if held:
            text += ": " + _listed(held)
        elif not lanes:
            text += " (empty)" if c.type == "lane" else " (no elements drawn inside: a black box)"
        lines.append(text)
        for lane in lanes:
            walk(lane, depth + 1)

    for c in containers:
        if c.parent not in by_id or by_id[c.parent].type not in ("participant", "lane"):
            walk(c, 0)
    outside = children.get(None, [])
    if outside:
        lines.append("- Outside any pool: " + _listed(_named(outside, _desc)))
    return "\n".join(lines)


def _kinds(els: list[_El], by_id: dict[str, _El]) -> str:
    lines = ["**Elements**"]
    for title, base, types in _CATEGORIES:
        members = sorted((e for e in els if e.type in types), key=_reading_pos)
        if not members:
            continue

        def item(e: _El, base: str = base) -> str:
            kind = _kind(e)
            text = _quote(e.label) if e.label else kind
            if e.label and kind != base:
                text += f" ({kind})"
            if e.type == "boundaryEvent" and e.parent in by_id:
                text += f" on {_desc(by_id[e.parent])}"
            return text

        lines.append(f"- {title} ({len(members)}): {_listed(_named(members, item))}")
    return "\n".join(lines) if len(lines) > 1 else ""


def _named(members: list[_El], item) -> list[str]:
    """Labelled elements one by one (as ``item`` words them), unlabelled ones counted by kind ("3 × task");
    a boundary event is always named alone, with its host."""
    out = [item(e) for e in members if e.label or e.type == "boundaryEvent"]
    unnamed = Counter(_kind(e) for e in members if not e.label and e.type != "boundaryEvent")
    return out + [kind if n == 1 else f"{n} × {kind}" for kind, n in unnamed.items()]


Succ = tuple[str, str, str]  # (how, flow label, target id); how: "inside" | "flow" | "boundary"


def _flow(els: list[_El], by_id: dict[str, _El]) -> str:
    """The process as numbered steps: a depth-first walk from each start event along the sequence flows."""
    nodes = {e.id: e for e in els if e.type in FLOW_NODE_TYPES}
    out, incoming = _successors(els, nodes)
    if not out:
        return ""
    order, parent = _walk(nodes, out, incoming, by_id)
    number = {node: n for n, node in enumerate(order, 1)}
    lines = ["**Process flow** (from each start event along the sequence flows; each element once)"]
    place = ""
    for node in order:
        e, n = nodes[node], number[node]
        text = f"{n}. {_cap(_desc(e))}"
        if e.type == "boundaryEvent" and e.parent in nodes:
            text += f" on {_desc(nodes[e.parent])}"
        here = _place(e, by_id)
        if here and here != place:
            text += f" — in {here}"
            place = here
        if e.type in GATEWAY_TYPES and incoming[node] > 1:
            text += f" (joins {incoming[node]} flows)"
        succ = out.get(node, [])
        if not succ:
            text += "" if e.type == "endEvent" else " (no outgoing flow)"
        elif len(succ) == 1 and succ[0][0] == "flow":
            how, label, target = succ[0]
            if label or number[target] != n + 1:  # else it goes on to the next step, as read
                text += " → " + _branch(succ[0], node, number, parent, nodes)
        else:
            splits = sum(how == "flow" for how, _, _ in succ) > 1
            text += " — " + (_SPLIT.get(e.type, "then") if splits else "then") + ":"
            pad = " " * (len(str(n)) + 2)  # a nested list under "12. " starts 4 columns in
            text += "".join(f"\n{pad}- " + _branch(s, node, number, parent, nodes) for s in succ)
        lines.append(text)
    return "\n".join(lines)


def _successors(els: list[_El], nodes: dict[str, _El]) -> tuple[dict[str, list[Succ]], dict[str, int]]:
    """Each node's successors: its sub-process's start events, its outgoing sequence flows (in the drawing's
    reading order of their targets), then its boundary events; and each node's count of incoming flows."""
    inside: dict[str, list[Succ]] = defaultdict(list)
    flows: dict[str, list[Succ]] = defaultdict(list)
    bound: dict[str, list[Succ]] = defaultdict(list)
    incoming: dict[str, int] = defaultdict(int)
    for e in sorted(nodes.values(), key=lambda e: (e.x, e.y)):
        if e.type == "boundaryEvent" and e.parent in nodes:
            bound[e.parent].append(("boundary", "", e.id))
        elif e.type == "startEvent" and e.parent in nodes and nodes[e.parent].type in SUBPROCESS_TYPES:
            inside[e.parent].append(("inside", "", e.id))
    for f in sorted((e for e in els if e.type == "sequenceFlow"), key=lambda f: _pos(nodes.get(f.target) or f)):
        if f.source in nodes and f.target in nodes:
            flows[f.source].append(("flow", f.label, f.target))
            incoming[f.target] += 1
    keys = set(inside) | set(flows) | set(bound)
    return {n: inside.get(n, []) + flows.get(n, []) + bound.get(n, []) for n in keys}, incoming


def _walk(nodes: dict[str, _El], out: dict[str, list[Succ]], incoming: dict[str, int],
          by_id: dict[str, _El]) -> tuple[list[str], dict[str, str | None]]:
    """Nodes in walk order, and the node each was first reached from. Walks start at the start events (pool by
    pool, top to bottom), then at nodes no flow enters, then at whatever is left on a flow (a loop)."""
    linked = set(out) | {t for succ in out.values() for _, _, t in succ}
    pool_top = {e.id: _pool_top(e, by_id) for e in nodes.values()}
    by_place = sorted(nodes.values(), key=lambda e: (pool_top[e.id], e.y, e.x))
    inner_start = {t for succ in out.values() for how, _, t in succ if how == "inside"}
    roots = [e.id for e in by_place if e.type == "startEvent" and e.id not in inner_start and e.id in linked]
    roots += [e.id for e in by_place if e.id in out and not incoming[e.id] and e.type != "boundaryEvent"]
    roots += [e.id for e in by_place if e.id in linked]
    order: list[str] = []
    parent: dict[str, str | None] = {}
    for root in roots:
        stack: list[tuple[str, str | None]] = [(root, None)]
        while stack:  # depth first, without recursion (a long chain would overflow Python's stack)
            node, via = stack.pop()
            if node in parent:
                continue
            order.append(node)
            parent[node] = via
            stack += [(t, node) for _, _, t in reversed(out.get(node, [])) if t not in parent]
    return order, parent


def _branch(succ: Succ, node: str, number: dict[str, int], parent: dict[str, str | None],
            nodes: dict[str, _El]) -> str:
    """One way on from ``node``: "back to step k" when it leads to a step the walk came through (a loop)."""
    how, label, target = succ
    ref = f"step {number[target]} ({_desc(nodes[target])})"
    if how == "inside":
        return f"inside, from {ref}"
    if how == "boundary":
        return f"if {_desc(nodes[target])} occurs: step {number[target]}"
    up: str | None = node
    while up is not None and up != target:
        up = parent.get(up)
    prefix = f"{_quote(label)} → " if label else ""
    return prefix + ("back to " + ref if up == target else ref)


def _pool_top(e: _El, by_id: dict[str, _El]) -> float:
    seen = set()
    while e.parent in by_id and e.parent not in seen:
        seen.add(e.parent)
        e = by_id[e.parent]
        if e.type == "participant":
            return e.y
    return e.y if e.type == "participant" else 0.0


def _place(e: _El, by_id: dict[str, _El]) -> str:
    """The innermost lane and its pool holding ``e``, as words ("" outside pools)."""
    names, seen, cur = [], set(), e
    while cur.parent in by_id and cur.parent not in seen:
        seen.add(cur.parent)
        cur = by_id[cur.parent]
        if cur.type in ("lane", "participant") and (not names or cur.type == "participant"):
            names.append(_desc(cur))
    return " of ".join(names[:2])


def _messages(els: list[_El], by_id: dict[str, _El]) -> str:
    flows = [f for f in els if f.type == "messageFlow" and f.source in by_id and f.target in by_id]
    if not flows:
        return ""
    lines = ["**Message flows**"]
    for f in sorted(flows, key=lambda f: _pos(by_id[f.source])):
        src, tgt = by_id[f.source], by_id[f.target]
        ends = []
        for x in (src, tgt):
            pool = _pool_name(x, by_id)
            ends.append(_desc(x) + (f" ({pool})" if pool and x.type != "participant" else ""))
        lines.append(f"- {_quote(f.label)}: {ends[0]} → {ends[1]}" if f.label else f"- {_cap(ends[0])} → {ends[1]}")
    return "\n".join(lines)


def _pool_name(e: _El, by_id: dict[str, _El]) -> str:
    seen = set()
    while e.parent in by_id and e.parent not in seen:
        seen.add(e.parent)
        e = by_id[e.parent]
        if e.type == "participant":
            return _desc(e)
    return ""


def _attachments(els: list[_El], by_id: dict[str, _El]) -> str:
    """Data objects and stores with what reads and writes them; annotations with what they describe."""
    links: dict[str, list[str]] = defaultdict(list)
    for f in els:
        if f.type not in ("association", "dataInputAssociation", "dataOutputAssociation"):
            continue
        src, tgt = by_id.get(f.source or ""), by_id.get(f.target or "")
        if src is None or tgt is None:
            continue
        if src.type == "textAnnotation":
            links[src.id].append("on " + _desc(tgt))
        elif tgt.type == "textAnnotation":
            links[tgt.id].append("on " + _desc(src))
        elif f.type == "dataInputAssociation" or (src.type in DATA_TYPES and tgt.type not in DATA_TYPES):
            links[src.id].append(("read by " if f.type == "dataInputAssociation" else "linked to ") + _desc(tgt))
        elif f.type == "dataOutputAssociation" or tgt.type in DATA_TYPES:
            links[tgt.id].append(("written by " if f.type == "dataOutputAssociation" else "linked to ") + _desc(src))
    items = sorted((e for e in els if e.type in DATA_TYPES or e.type == "textAnnotation"), key=_pos)
    if not items:
        return ""
    lines = ["**Data and annotations**"]
    for e in items:
        what = links.get(e.id) or ["not connected"]
        lines.append(f"- {_cap(_desc(e))}: " + "; ".join(what))
    return "\n".join(lines)


def _loose(els: list[_El], by_id: dict[str, _El]) -> str:
    loose = [f for f in els if f.type.endswith(("Flow", "ssociation")) and
             (f.source not in by_id or f.target not in by_id)]
    if not loose:
        return ""
    said = []
    for f in loose[:MAX_LOOSE]:
        src, tgt = by_id.get(f.source or ""), by_id.get(f.target or "")
        where = " ".join(([f"from {_desc(src)}"] if src else []) + ([f"to {_desc(tgt)}"] if tgt else []))
        said.append(f"{_kind(f)}{' ' + _quote(f.label) if f.label else ''} {where or 'touching no shape'}".rstrip())
    more = f" and {len(loose) - MAX_LOOSE} more" if len(loose) > MAX_LOOSE else ""
    noun = "connector" if len(loose) == 1 else "connectors"
    return f"**Unresolved:** {len(loose)} {noun} with an end touching no shape: " + "; ".join(said) + more + "."
