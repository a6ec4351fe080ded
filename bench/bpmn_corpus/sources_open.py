"""Models for the corpus from openly licensed repositories: tool-made ``.bpmn`` files with DI (issue 15).

    .venv/bin/python -m bench.bpmn_corpus.sources_open --out /tmp/bpmn_corpus/open_models \\
        --mirror flowable=/work/.mirror/flowable+flowable-engine/repo \\
        --mirror activiti=/work/.mirror/Activiti+Activiti/repo \\
        --mirror camunda_examples=/work/.mirror/camunda+camunda-bpm-examples/repo [--limit N] [--rejects FILE]

Each ``--mirror NAME=GIT_DIR`` is a bare clone (or any git dir) of the repository of ``SOURCES[NAME]``; the files
are read at the pinned commit (``git ls-tree`` / ``git cat-file``), never from a work tree, so the output depends
on the commit alone. Sources, commits and licences: ``SOURCES`` and MANIFEST.md. The MIWG reference models are an
evaluation yardstick and never a source.

A file is kept when ``inspect_model`` finds it drawable and useful (``Verdict.reason`` says why not):

- BPMN 2.0 XML (``definitions`` in the OMG MODEL namespace; no DTD, no entities), at most ``MAX_BYTES``;
- its first ``BPMNDiagram`` (the only one bpmn-js draws) shows at least ``MIN_NODES`` flow nodes and
  ``MIN_FLOWS`` sequence flows, at most ``MAX_ELEMENTS`` drawn elements, within ``MAX_EXTENT`` px;
- DI for (almost) the whole process: at least ``MIN_COVERAGE`` of the flow nodes outside collapsed subprocesses
  and of the sequence flows have a shape / an edge there;
- a sane layout: bounds positive and finite, every drawn sequence flow's ends drawn and its first and last
  waypoints within ``END_TOLERANCE`` px of its source and target shapes (stale DI of edited test resources
  fails this), no two flow nodes (boundary events and containers aside) covering each other by more than half;
- not a copy: the ``layout_key`` (drawn element types, names, bounds and waypoints; ids and engine attributes
  ignored) is new. Files are visited in (source, path) order, so the first copy wins.

Kept files are written as ``OUT/<source>__<path-slug>.bpmn`` by ``prepare_open_xml``: the DI is the tool's, kept
as is (bpmn-js pixel units already), except that diagrams after the first are dropped and a subprocess shape whose
children are drawn on the same plane gets ``isExpanded="true"`` (Activiti / Flowable designers leave it out and
draw the subprocess expanded; bpmn-js would otherwise draw it collapsed and hide its content). ``OUT/sources.json``
maps each file to its repository, commit, path, licence and content hash.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

MODEL_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
OMGDI_NS = "http://www.omg.org/spec/DD/20100524/DI"

MAX_BYTES = 300_000
MIN_NODES = 3
MIN_FLOWS = 2
MAX_ELEMENTS = 300
MAX_EXTENT = 6000.0
MIN_COVERAGE = 0.9
END_TOLERANCE = 40.0
SUFFIXES = (".bpmn", ".bpmn20.xml", ".bpmn2")

EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
TASKS = {"task", "userTask", "serviceTask", "sendTask", "receiveTask", "manualTask", "scriptTask",
         "businessRuleTask", "callActivity"}
GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"}
CONTAINERS = {"subProcess", "transaction", "adHocSubProcess"}
FLOW_NODES = EVENTS | TASKS | GATEWAYS | CONTAINERS
#: what bpmn-js draws as a shape / a connection (a shape of a ``dataObject`` itself, of a message, ... is not drawn)
DRAWN_SHAPES = FLOW_NODES | {"participant", "lane", "dataObjectReference", "dataStoreReference", "dataInput",
                             "dataOutput", "textAnnotation", "group"}
DRAWN_EDGES = {"sequenceFlow", "messageFlow", "association", "dataInputAssociation", "dataOutputAssociation"}


@dataclass(frozen=True)
class Source:
    repo: str  # owner/name on GitHub
    commit: str
    licence: str  # SPDX id
    licence_file: str  # at the commit
    notice: str | None = None  # NOTICE file at the commit (Apache-2.0 section 4d), if any
    exclude: tuple[str, ...] = ()  # regexes on the path: files never taken
    licence_marker: str | None = None  # text that ``licence_file`` holds (default: from the licence's own text)

    @property
    def url(self) -> str:
        return f"https://github.com/{self.repo}"


#: deliberately broken parser-test fixtures are left out by path as well as by the checks
_BROKEN = r"(?i)(invalid|/failures?/|broken|/error/parse|malformed)"
SOURCES: dict[str, Source] = {
    "flowable": Source("flowable/flowable-engine", "53e93b6681e86dccea720efaa3c0fc2a96f57366", "Apache-2.0",
                       "LICENSE", exclude=(_BROKEN,)),
    "activiti": Source("Activiti/Activiti", "8246044d74d45100bb7867d6c4ff6b2e111a6e91", "Apache-2.0",
                       "LICENSE.txt", exclude=(_BROKEN,)),
    "camunda_examples": Source("camunda/camunda-bpm-examples", "8b86bcf8c32903fb397989469984b8345dbb8d9f",
                               "Apache-2.0", "LICENSE", notice="NOTICE", exclude=(_BROKEN,)),
    # no LICENSE file: MIT is declared in package.json and README.md ("## License\n\nMIT"); copyright Camunda
    "bpmn_auto_layout": Source("bpmn-io/bpmn-auto-layout", "bd2f23545f33b5d761bd999645104d7aef0acf33", "MIT",
                               "package.json", exclude=(_BROKEN,), licence_marker='"license": "MIT"'),
}


@dataclass
class Verdict:
    ok: bool
    reason: str = ""  # why not, when not ok
    nodes: int = 0  # flow nodes drawn in the first diagram
    flows: int = 0  # sequence flows drawn there
    elements: int = 0  # shapes and edges drawn there
    diagrams: int = 0
    key: str = ""  # layout_key
    counts: dict = field(default_factory=dict)  # drawn element type -> count


def _local(el) -> str:
    from lxml import etree
    return etree.QName(el).localname


def _parse(xml: bytes | str):
    from lxml import etree
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                             remove_blank_text=False)
    return etree.fromstring(xml.encode() if isinstance(xml, str) else xml, parser)


def _bounds(shape):
    b = shape.find(f"{{{DC_NS}}}Bounds")
    if b is None:
        return None
    try:
        x, y, w, h = (float(b.get(a)) for a in ("x", "y", "width", "height"))
    except (TypeError, ValueError):
        return None
    if not all(math.isfinite(v) for v in (x, y, w, h)) or w <= 0 or h <= 0:
        return None
    return x, y, w, h


def _waypoints(edge):
    pts = []
    for p in edge.findall(f"{{{OMGDI_NS}}}waypoint"):
        try:
            x, y = float(p.get("x")), float(p.get("y"))
        except (TypeError, ValueError):
            return None
        if not (math.isfinite(x) and math.isfinite(y)):
            return None
        pts.append((x, y))
    return pts


def _dist_to_box(p, box) -> float:
    x, y, w, h = box
    dx = max(x - p[0], 0.0, p[0] - (x + w))
    dy = max(y - p[1], 0.0, p[1] - (y + h))
    return math.hypot(dx, dy)


def _shown(top, elements: dict) -> set[str]:
    """ids bpmn-js can draw on a plane of ``top`` (a process: its content; a collaboration: itself, its
    participants, message flows and artifacts, and the content of the processes its participants reference)."""
    roots = [top]
    if _local(top) == "collaboration":
        roots += [elements[p.get("processRef")] for p in top if isinstance(p.tag, str) and _local(p) == "participant"
                  and p.get("processRef") in elements]
    return {el.get("id") for r in roots for el in r.iter() if isinstance(el.tag, str) and el.get("id")}


def _collapsed_parents(root, elements: dict, shapes: dict) -> set[str]:
    """ids of subprocesses that bpmn-js draws collapsed: no shape, or a shape without ``isExpanded`` whose
    children have no shape either (a subprocess whose children are drawn is taken as expanded, see the doc)."""
    out = set()
    for sid, el in elements.items():
        if _local(el) not in CONTAINERS:
            continue
        kids = [c.get("id") for c in el if isinstance(c.tag, str) and _local(c) in FLOW_NODES]
        if sid not in shapes or not any(k in shapes for k in kids):
            out.add(sid)
    return out


def inspect_model(xml: bytes | str) -> Verdict:
    """Whether a ``.bpmn`` file is a drawable, useful corpus model (see the module doc); a pure function."""
    raw = xml.encode() if isinstance(xml, str) else xml
    if len(raw) > MAX_BYTES:
        return Verdict(False, f"large: over {MAX_BYTES} bytes")
    if b"<!DOCTYPE" in raw[:2000] or b"<!ENTITY" in raw:
        return Verdict(False, "dtd: DTD or entities")
    try:
        root = _parse(raw)
    except Exception as e:  # noqa: BLE001 - any parse error rejects the file
        return Verdict(False, f"xml: not XML: {str(e)[:60]}")
    if not isinstance(root.tag, str) or root.tag != f"{{{MODEL_NS}}}definitions":
        return Verdict(False, "model: not BPMN 2.0 definitions")
    diagrams = root.findall(f"{{{DI_NS}}}BPMNDiagram")
    if not diagrams:
        return Verdict(False, "no_di: no BPMNDiagram", diagrams=0)
    plane = diagrams[0].find(f"{{{DI_NS}}}BPMNPlane")
    if plane is None:
        return Verdict(False, "plane: first diagram has no plane", diagrams=len(diagrams))
    elements = {el.get("id"): el for el in root.iter() if isinstance(el.tag, str) and el.get("id")
                and el.tag.startswith(f"{{{MODEL_NS}}}")}
    top = elements.get(plane.get("bpmnElement"))
    if top is None:  # bpmn-js then shows the first process or collaboration (its findDisplayCandidate)
        top = next((el for el in root if isinstance(el.tag, str) and _local(el) in ("process", "collaboration")), None)
    if top is None or _local(top) not in ("process", "collaboration"):
        return Verdict(False, "plane: first diagram shows no process or collaboration", diagrams=len(diagrams))
    shown = _shown(top, elements)
    shapes, edges = {}, {}
    for sh in plane.iter(f"{{{DI_NS}}}BPMNShape"):
        ref = sh.get("bpmnElement")
        if ref not in elements:
            return Verdict(False, f"unknown: shape for unknown element {ref}", diagrams=len(diagrams))
        if ref in shapes:
            return Verdict(False, f"twice: two shapes for {ref}", diagrams=len(diagrams))
        if _local(elements[ref]) not in DRAWN_SHAPES or ref not in shown:
            return Verdict(False, f"undrawable: shape for {_local(elements[ref])} {ref} that bpmn-js does not draw "
                           "on this plane", diagrams=len(diagrams))
        box = _bounds(sh)
        if box is None:
            return Verdict(False, f"bounds: bad bounds for {ref}", diagrams=len(diagrams))
        shapes[ref] = box
    for ed in plane.iter(f"{{{DI_NS}}}BPMNEdge"):
        ref = ed.get("bpmnElement")
        if ref not in elements:
            return Verdict(False, f"unknown: edge for unknown element {ref}", diagrams=len(diagrams))
        if ref in edges:
            return Verdict(False, f"twice: two edges for {ref}", diagrams=len(diagrams))
        if _local(elements[ref]) not in DRAWN_EDGES or ref not in shown:
            return Verdict(False, f"undrawable: edge for {_local(elements[ref])} {ref} that bpmn-js does not draw "
                           "on this plane", diagrams=len(diagrams))
        wps = _waypoints(ed)
        if not wps or len(wps) < 2:
            return Verdict(False, f"waypoints: edge {ref} without 2 waypoints", diagrams=len(diagrams))
        edges[ref] = wps
    for ref in edges:
        el = elements[ref]
        if _local(el) in ("sequenceFlow", "messageFlow", "association") and not (
                el.get("sourceRef") in shapes and el.get("targetRef") in shapes):
            return Verdict(False, f"ends: {_local(el)} {ref} drawn without its ends", diagrams=len(diagrams))
    counts: dict[str, int] = {}
    for ref in [*shapes, *edges]:
        t = _local(elements[ref])
        counts[t] = counts.get(t, 0) + 1
    n_elements = len(shapes) + len(edges)
    v = Verdict(False, "", diagrams=len(diagrams), elements=n_elements, counts=counts)
    v.nodes = sum(1 for r in shapes if _local(elements[r]) in FLOW_NODES)
    v.flows = sum(1 for r in edges if _local(elements[r]) == "sequenceFlow")
    if v.nodes < MIN_NODES or v.flows < MIN_FLOWS:
        v.reason = f"small: {v.nodes} nodes, {v.flows} sequence flows drawn"
        return v
    if n_elements > MAX_ELEMENTS:
        v.reason = f"large: {n_elements} drawn elements"
        return v
    xs = [c for (x, _, w, _) in shapes.values() for c in (x, x + w)] + [p[0] for w in edges.values() for p in w]
    ys = [c for (_, y, _, h) in shapes.values() for c in (y, y + h)] + [p[1] for w in edges.values() for p in w]
    if max(xs) - min(xs) > MAX_EXTENT or max(ys) - min(ys) > MAX_EXTENT:
        v.reason = f"large: extent over {MAX_EXTENT:.0f} px"
        return v
    # coverage: flow nodes outside collapsed subprocesses, and the sequence flows among them
    collapsed = _collapsed_parents(root, elements, shapes)
    nodes = [i for i, el in elements.items() if _local(el) in FLOW_NODES
             and not (_local(el.getparent()) in CONTAINERS and el.getparent().get("id") in collapsed)]
    node_set = set(nodes)
    flows = [i for i, el in elements.items() if _local(el) == "sequenceFlow" and el.get("sourceRef") in node_set
             and el.get("targetRef") in node_set]
    cov_n = sum(i in shapes for i in nodes) / max(1, len(nodes))
    cov_f = sum(i in edges for i in flows) / max(1, len(flows))
    if cov_n < MIN_COVERAGE or cov_f < MIN_COVERAGE:
        v.reason = f"partial: DI for nodes {cov_n:.2f}, flows {cov_f:.2f}"
        return v
    for ref, wps in edges.items():
        el = elements[ref]
        if _local(el) != "sequenceFlow":
            continue
        s, t = el.get("sourceRef"), el.get("targetRef")
        if _dist_to_box(wps[0], shapes[s]) > END_TOLERANCE or _dist_to_box(wps[-1], shapes[t]) > END_TOLERANCE:
            v.reason = f"stale: sequence flow {ref} does not reach its ends"
            return v
    solid = [(r, shapes[r]) for r in shapes if _local(elements[r]) in FLOW_NODES - CONTAINERS - {"boundaryEvent"}]
    for i, (ra, a) in enumerate(solid):
        for rb, b in solid[i + 1:]:
            ix = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
            iy = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
            if ix > 0 and iy > 0 and ix * iy > 0.5 * min(a[2] * a[3], b[2] * b[3]):
                v.reason = f"overlap: {ra} and {rb} cover each other"
                return v
    v.key = layout_key(root, elements, shapes, edges)
    v.ok = True
    return v


def layout_key(root, elements, shapes, edges) -> str:
    """SHA-1 of what the first diagram draws: element types, names and rounded geometry, ids ignored; two files
    that render alike (copies under other ids, other engine attributes or expressions) share it."""
    items = []
    for ref, (x, y, w, h) in shapes.items():
        el = elements[ref]
        items.append(f"S|{_local(el)}|{(el.get('name') or '').strip()}|{x:.0f},{y:.0f},{w:.0f},{h:.0f}")
    for ref, wps in edges.items():
        el = elements[ref]
        items.append(f"E|{_local(el)}|{(el.get('name') or '').strip()}|" + ";".join(f"{x:.0f},{y:.0f}" for x, y in wps))
    return hashlib.sha1("\n".join(sorted(items)).encode()).hexdigest()


def prepare_open_xml(xml: bytes | str) -> str:
    """The model as rendered: diagrams after the first dropped, subprocesses whose children are drawn on the
    first plane marked ``isExpanded="true"``; all coordinates as the tool wrote them."""
    from lxml import etree
    root = _parse(xml)
    diagrams = root.findall(f"{{{DI_NS}}}BPMNDiagram")
    for d in diagrams[1:]:
        root.remove(d)
    if diagrams:
        plane = diagrams[0].find(f"{{{DI_NS}}}BPMNPlane")
        elements = {el.get("id"): el for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
        drawn = {sh.get("bpmnElement"): sh for sh in plane.iter(f"{{{DI_NS}}}BPMNShape")} if plane is not None else {}
        for ref, sh in drawn.items():
            el = elements.get(ref)
            if el is None or _local(el) not in CONTAINERS or sh.get("isExpanded") == "true":
                continue
            if any(isinstance(c.tag, str) and c.get("id") in drawn for c in el):
                sh.set("isExpanded", "true")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode()


def slug(source: str, path: str) -> str:
    """``<source>__<path-slug>``: the path without the usual Maven resource prefixes and the suffix, each run of
    other characters than ``[A-Za-z0-9.]`` as one ``_``, folders joined by ``.``; a long one shortened with a hash."""
    p = re.sub(r"(^|/)src/(test|main)/resources/", r"\1", path)
    for suf in SUFFIXES:
        if p.lower().endswith(suf):
            p = p[: -len(suf)]
            break
    p = re.sub(r"[^A-Za-z0-9./]+", "_", p).strip("_").replace("/", ".")
    if len(p) > 120:
        p = p[:60] + "_" + hashlib.sha1(path.encode()).hexdigest()[:8] + "_" + p[-50:]
    return f"{source}__{p}"


def list_files(git_dir: Path, source: Source) -> list[tuple[str, int]]:
    """(path, size) of the BPMN files at the source's commit, sorted by path; excluded paths left out."""
    out = subprocess.run(["git", f"--git-dir={git_dir}", "ls-tree", "-r", "-z", "--long", source.commit],
                         check=True, capture_output=True).stdout.decode()
    files = []
    for rec in out.split("\0"):
        if not rec:
            continue
        meta, path = rec.split("\t", 1)
        _, kind, _, size = meta.split()
        if kind != "blob" or not path.lower().endswith(SUFFIXES):
            continue
        if any(re.search(x, path) for x in source.exclude):
            continue
        files.append((path, int(size)))
    return sorted(files)


def read_blobs(git_dir: Path, commit: str, paths: list[str]) -> dict[str, bytes]:
    """path -> content at ``commit`` (one ``git cat-file --batch``)."""
    if not paths:
        return {}
    req = "".join(f"{commit}:{p}\n" for p in paths).encode()
    raw = subprocess.run(["git", f"--git-dir={git_dir}", "cat-file", "--batch"], input=req, check=True,
                         capture_output=True).stdout
    out, pos = {}, 0
    for p in paths:
        nl = raw.index(b"\n", pos)
        head = raw[pos:nl].split()
        if len(head) == 2 and head[1] == b"missing":
            pos = nl + 1
            continue
        size = int(head[2])
        out[p] = raw[nl + 1: nl + 1 + size]
        pos = nl + 1 + size + 1
    return out


def check_commit(git_dir: Path, source: Source) -> None:
    """The mirror holds the pinned commit and its licence file says what ``SOURCES`` says."""
    text = read_blobs(git_dir, source.commit, [source.licence_file]).get(source.licence_file, b"").decode()
    default = {"Apache-2.0": "Apache License", "MIT": "Permission is hereby granted"}
    want = source.licence_marker or default[source.licence]
    if want not in text:
        raise SystemExit(f"{source.repo}@{source.commit[:10]}: {source.licence_file} is not {source.licence}")


def collect(mirrors: dict[str, Path], out_dir: Path | None, limit: int | None = None,
            rejects: list | None = None) -> dict[str, dict]:
    """Inspect every BPMN file of each mirrored source, write the kept ones (at most ``limit`` in all, taken
    round robin over the sources, each in SHA-1-of-path order) to ``out_dir`` with ``sources.json``; returns
    that index. Copies are found in (source, path) order over all kept files, whatever ``limit``."""
    seen: set[str] = set()
    kept: dict[str, list[tuple[str, dict, str]]] = {}
    for name in sorted(mirrors):
        src = SOURCES[name]
        check_commit(mirrors[name], src)
        files = list_files(mirrors[name], src)
        blobs = read_blobs(mirrors[name], src.commit, [p for p, size in files if size <= MAX_BYTES])
        kept[name] = []
        for path, size in files:
            data = blobs.get(path)
            v = inspect_model(data) if data is not None else Verdict(False, f"large: over {MAX_BYTES} bytes")
            if v.ok and v.key in seen:
                v.ok, v.reason = False, "duplicate: layout seen before"
            if not v.ok:
                if rejects is not None:
                    rejects.append({"source": name, "path": path, "reason": v.reason})
                continue
            seen.add(v.key)
            stem = slug(name, path)
            entry = {"source": name, "repo": src.repo, "url": f"{src.url}/blob/{src.commit}/{path}",
                     "commit": src.commit, "path": path, "licence": src.licence,
                     "licence_file": f"{src.url}/blob/{src.commit}/{src.licence_file}",
                     "notice": f"{src.url}/blob/{src.commit}/{src.notice}" if src.notice else None,
                     "sha1": hashlib.sha1(data).hexdigest(), "layout_key": v.key,
                     "nodes": v.nodes, "sequence_flows": v.flows, "elements": v.elements,
                     "diagrams": v.diagrams, "counts": v.counts}
            kept[name].append((stem, entry, data))
    order = []
    # within a source in a fixed pseudo-random order (SHA-1 of the path), so a small sample spreads over its folders
    queues = [sorted(kept[n], key=lambda t: hashlib.sha1(t[1]["path"].encode()).hexdigest()) for n in sorted(kept)]
    while any(queues) and (not limit or len(order) < limit):
        for q in queues:
            if q and (not limit or len(order) < limit):
                order.append(q.pop(0))
    index = {}
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
    for stem, entry, data in sorted(order, key=lambda t: t[0]):
        if stem + ".bpmn" in index:
            raise RuntimeError(f"two files slug to {stem}")
        index[stem + ".bpmn"] = entry
        if out_dir is not None:
            (out_dir / f"{stem}.bpmn").write_text(prepare_open_xml(data), encoding="utf-8")
    if out_dir is not None:
        (out_dir / "sources.json").write_text(json.dumps(index, indent=1, sort_keys=True), encoding="utf-8")
    return index


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mirror", action="append", default=[], metavar="NAME=GIT_DIR",
                    help=f"a git dir of a source ({', '.join(sorted(SOURCES))}) holding its pinned commit")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--limit", type=int, default=None, help="at most N models, round robin over the sources")
    ap.add_argument("--rejects", type=Path, default=None, help="write the rejected files and reasons (JSON)")
    args = ap.parse_args(argv)
    mirrors = {}
    for m in args.mirror:
        name, _, path = m.partition("=")
        if name not in SOURCES or not path:
            ap.error(f"--mirror {m}: NAME must be one of {sorted(SOURCES)}")
        mirrors[name] = Path(path)
    if not mirrors:
        ap.error("give at least one --mirror NAME=GIT_DIR")
    rejects: list = []
    index = collect(mirrors, args.out, args.limit, rejects)
    by_src: dict[str, int] = {}
    for e in index.values():
        by_src[e["source"]] = by_src.get(e["source"], 0) + 1
    reasons: dict[tuple[str, str], int] = {}
    for r in rejects:
        k = (r["source"], r["reason"].split(":")[0])
        reasons[k] = reasons.get(k, 0) + 1
    for name in sorted(mirrors):
        print(f"{name}: {by_src.get(name, 0)} kept, {sum(1 for r in rejects if r['source'] == name)} rejected")
        for (s, why), n in sorted(reasons.items(), key=lambda t: -t[1]):
            if s == name:
                print(f"    {n:5d}  {why}")
    if args.rejects:
        args.rejects.write_text(json.dumps(rejects, indent=1), encoding="utf-8")
    print(f"{len(index)} models in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
