"""Models for the corpus: hdBPMN's annotation ``.bpmn`` files of the train and validation writers only.

    .venv/bin/python -m bench.bpmn_corpus.sources HDBPMN_CHECKOUT OUT_DIR [--splits train val] [--limit N]

``HDBPMN_CHECKOUT``: a checkout (or ``git archive``) of dwslab/hdBPMN holding ``data/annotations/exNN/*.bpmn`` and
``data/writer_split.csv`` (see MANIFEST.md). The test writers are never listed: they are kept aside for
evaluation. Each model is written to ``OUT_DIR/<stem>.bpmn`` prepared for rendering (``prepare_xml``):

- hdBPMN's DI is in pixels of the sketch scaled to ``backgroundSize`` wide, so tasks are 60-140 px and events are
  ellipses. The whole DI (bounds, label bounds, waypoints) is scaled uniformly so the model's median task has the
  area of bpmn-js's default 100 x 80 (median event 36 x 36 when there are no tasks; factor clamped to 0.3-3);
- events are made square about their centre (side = mean of width and height), as every BPMN tool draws them
  (bpmn-js draws a circle of that diameter whatever the bounds, and the truth box then matches the drawing).

Nothing else changes: labels, line breaks, label positions and flow routes are the writer's.

Tool-made models from openly licensed repositories (Activiti, Flowable, Camunda examples, bpmn-auto-layout):
``sources_open.py``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import re
import statistics
from collections import defaultdict
from pathlib import Path

DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
OMGDI_NS = "http://www.omg.org/spec/DD/20100524/DI"
TRAIN_SPLITS = ("train", "val")
TASK_AREA = 100 * 80
EVENT_AREA = 36 * 36
_STEM = re.compile(r"^(ex\d+)_(writer\d+)$")
_EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
_TASKS = {"task", "userTask", "serviceTask", "sendTask", "receiveTask", "manualTask", "scriptTask",
          "businessRuleTask", "callActivity"}


def _data_dir(checkout: Path) -> Path:
    checkout = Path(checkout)
    return checkout / "data" if (checkout / "data" / "writer_split.csv").exists() else checkout


def writer_splits(checkout: Path) -> dict[str, str]:
    """writer id -> ``train`` / ``val`` / ``test`` from ``writer_split.csv``."""
    with open(_data_dir(checkout) / "writer_split.csv", newline="", encoding="utf-8") as f:
        return {r["writer"]: r["split"] for r in csv.DictReader(f)}


def list_models(checkout: Path, splits=TRAIN_SPLITS) -> dict[str, list[Path]]:
    """split -> annotation files of that split's writers, sorted. ``test`` is refused: it is kept aside."""
    if "test" in splits:
        raise ValueError("hdBPMN's test writers are kept aside for evaluation: never render or tune on them")
    by_writer = writer_splits(checkout)
    out: dict[str, list[Path]] = {s: [] for s in splits}
    for f in sorted((_data_dir(checkout) / "annotations").glob("ex*/*.bpmn")):
        m = _STEM.match(f.stem)
        split = by_writer.get(m.group(2)) if m else None
        if split in out:
            out[split].append(f)
    return out


def sample(files: list[Path], limit: int | None) -> list[Path]:
    """Up to ``limit`` files, round robin over the exercises (ex00-ex10) so a small sample covers all of them;
    within an exercise in a fixed pseudo-random order (SHA-1 of the name), so writers and splits mix."""
    if not limit or limit >= len(files):
        return list(files)
    by_ex = defaultdict(list)
    for f in files:
        by_ex[f.stem.split("_")[0]].append(f)
    queues = [sorted(by_ex[k], key=lambda p: hashlib.sha1(p.name.encode()).hexdigest()) for k in sorted(by_ex)]
    out, i = [], 0
    while len(out) < limit:
        q = queues[i % len(queues)]
        if q:
            out.append(q.pop(0))
        i += 1
    return sorted(out)


def _local(el) -> str:
    from lxml import etree
    return etree.QName(el).localname


def prepare_xml(xml: bytes | str) -> tuple[str, float]:
    """The model with its DI rescaled and events squared (see the module doc); returns (xml, scale factor)."""
    from lxml import etree
    root = etree.fromstring(xml.encode() if isinstance(xml, str) else xml, etree.XMLParser(huge_tree=True))
    types = {el.get("id"): _local(el) for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    areas = defaultdict(list)
    shapes = list(root.iter(f"{{{DI_NS}}}BPMNShape"))
    for sh in shapes:
        b = sh.find(f"{{{DC_NS}}}Bounds")
        t = types.get(sh.get("bpmnElement"), "")
        if b is not None and (t in _TASKS or t in _EVENTS):
            areas["task" if t in _TASKS else "event"].append(float(b.get("width")) * float(b.get("height")))
    if areas["task"]:
        k = (TASK_AREA / statistics.median(areas["task"])) ** 0.5
    elif areas["event"]:
        k = (EVENT_AREA / statistics.median(areas["event"])) ** 0.5
    else:
        k = 1.0
    k = min(3.0, max(0.3, k))
    for b in root.iter(f"{{{DC_NS}}}Bounds", f"{{{OMGDI_NS}}}waypoint"):
        for a in ("x", "y", "width", "height"):
            if b.get(a) is not None:
                b.set(a, f"{float(b.get(a)) * k:.1f}")
    for sh in shapes:
        b = sh.find(f"{{{DC_NS}}}Bounds")
        if b is None or types.get(sh.get("bpmnElement")) not in _EVENTS:
            continue
        x, y, w, h = (float(b.get(a)) for a in ("x", "y", "width", "height"))
        s = (w + h) / 2
        b.set("x", f"{x + w / 2 - s / 2:.1f}")
        b.set("y", f"{y + h / 2 - s / 2:.1f}")
        b.set("width", f"{s:.1f}")
        b.set("height", f"{s:.1f}")
    # the element alone: the {"backgroundSize": ...} comment before it no longer applies and is dropped
    body = etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode()
    return body, k


def prepare(checkout: Path, out_dir: Path, splits=TRAIN_SPLITS, limit: int | None = None) -> list[Path]:
    """Write the prepared models of ``splits`` (at most ``limit``, spread over splits and exercises) to
    ``out_dir``; existing files are kept. Returns the written paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = [f for s, fs in list_models(checkout, splits).items() for f in fs]
    written = []
    for f in sample(sorted(files, key=lambda p: p.stem), limit):
        dst = out_dir / f.name
        if not dst.exists():
            dst.write_text(prepare_xml(f.read_bytes())[0], encoding="utf-8")
        written.append(dst)
    return written


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkout", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--splits", nargs="+", default=list(TRAIN_SPLITS), choices=list(TRAIN_SPLITS))
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args(argv)
    models = list_models(args.checkout, args.splits)
    for s, fs in models.items():
        print(f"{s}: {len(fs)} models, {len({f.stem.split('_')[1] for f in fs})} writers")
    written = prepare(args.checkout, args.out, args.splits, args.limit)
    print(f"{len(written)} prepared models in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
