"""The detector's dataset step (issue 16) on the committed corpus sample: boxes on the drawn shapes, keypoints on
ink, a split that never puts one model in two splits, and the same bytes on a second run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")
pytest.importorskip("pymupdf")

from bench.bpmn_detector import dataset as ds  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn" / "corpus" / "sample"
HDBPMN = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "hdbpmn"
SIZE = 800


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("det_ds")
    summary = ds.build(SAMPLE, out, size=SIZE, workers=1, log=lambda s: None)
    coco = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in (out / "annotations").glob("*.json")}
    return out, summary, coco


def _pages(coco):
    for d in coco.values():
        anns: dict = {}
        for a in d["annotations"]:
            anns.setdefault(a["image_id"], []).append(a)
        for im in d["images"]:
            yield im, anns.get(im["id"], [])


def _grey(out: Path, im: dict) -> np.ndarray:
    g = cv2.imread(str(out / im["file_name"]), cv2.IMREAD_GRAYSCALE)
    assert g.shape == (im["height"], im["width"])
    return g.astype(np.float32)


def test_categories_are_bpmn_eval_classes():
    from bench.bpmn_eval import FLOW_CLASSES, SHAPE_CLASSES
    assert ds.CLASSES == SHAPE_CLASSES + [c.split(":", 1)[1] for c in FLOW_CLASSES]
    assert [c["id"] for c in ds.categories()] == list(range(1, len(ds.CLASSES) + 1))


def test_every_page_and_class(built):
    out, summary, coco = built
    pages = list(_pages(coco))
    stems = sorted(p.name[: -len(".truth.bpmn")] for p in SAMPLE.glob("*.truth.bpmn"))
    assert sorted(im["stem"] for im, _ in pages) == stems
    for im, anns in pages:
        assert max(im["width"], im["height"]) in (SIZE, SIZE + 1)  # a clip rounded out to whole pixels
        assert {"renderer", "look", "lang", "variant", "model"} <= im.keys()
        assert im["cropped"] == (im["variant"] == "pasted")
        assert len(anns) > 20
    n = {c: sum(summary["annotations"][s][c] for s in summary["annotations"]) for c in ds.CLASSES}
    for c in ("task", "startEvent", "endEvent", "exclusiveGateway", "sequenceFlow"):
        assert n[c] > 0, c


def test_task_boxes_on_drawn_outlines(built):
    """The band along a task box's border (2 px either side) is much darker than the page."""
    out, _, coco = built
    task = ds.CATEGORY_ID["task"]
    for im, anns in _pages(coco):
        g = _grey(out, im)
        paper = float(np.median(g))
        for a in anns:
            if a["category_id"] != task:
                continue
            x, y, w, h = a["bbox"]
            x0, y0, x1, y1 = round(x), round(y), round(x + w), round(y + h)
            m = np.zeros(g.shape, bool)
            m[max(0, y0 - 2): y1 + 3, max(0, x0 - 2): x1 + 3] = True
            m[y0 + 3: y1 - 2, x0 + 3: x1 - 2] = False
            assert g[m].mean() < paper - 25, (im["stem"], a["bpmn_id"], g[m].mean(), paper)
            # and a band 8 px outside it is paper (the box is not merely somewhere dark)
            o = np.zeros(g.shape, bool)
            o[max(0, y0 - 9): y1 + 10, max(0, x0 - 9): x1 + 10] = True
            o[max(0, y0 - 6): y1 + 7, max(0, x0 - 6): x1 + 7] = False
            assert g[o].mean() > g[m].mean() + 20, (im["stem"], a["bpmn_id"])


def test_flow_keypoints_on_ink(built):
    out, _, coco = built
    flows = {ds.CATEGORY_ID[c] for c in ds.FLOW_CLASSES}
    for im, anns in _pages(coco):
        g = _grey(out, im)
        paper = float(np.median(g))
        for a in anns:
            if a["category_id"] not in flows:
                assert a["num_keypoints"] == 0
                continue
            k = a["keypoints"]
            assert a["num_keypoints"] == 2 and k[2] == k[5] == 2
            assert [k[0], k[1]] == a["waypoints"][0] and [k[3], k[4]] == a["waypoints"][-1]
            for x, y in ((k[0], k[1]), (k[3], k[4])):
                X, Y = round(x), round(y)
                win = g[max(0, Y - 3): Y + 4, max(0, X - 3): X + 4]
                assert win.min() < paper - 100, (im["stem"], a["bpmn_id"], win.min(), paper)
            x, y, w, h = a["bbox"]
            assert w >= 2 * ds.FLOW_PAD - 0.01 and h >= 2 * ds.FLOW_PAD - 0.01


def test_split_never_straddles_a_model():
    images = [{"model": f"ex{i % 13:02d}_writer{i % 37:04d}", "renderer": r, "look": r}
              for i in range(400) for r in ("bpmnjs", "bpmnvis", "sketchy")]
    for by in ("model", "writer"):
        keys = [ds.split_key(im["model"], by) for im in images]
        val = ds.val_keys(keys, 10)
        assert len(val) >= round(len(set(keys)) * 0.1) and len(val) < len(set(keys)) / 4
        where: dict = {}
        for im in images:
            where.setdefault(ds.split_key(im["model"], by), set()).add(ds.split_of(im, val, (), by))
        assert all(len(v) == 1 for v in where.values())
        assert {next(iter(v)) for v in where.values()} == {"train", "val"}
    held = [ds.split_of(im, set(), ("sketchy",)) for im in images]
    assert all((h == "heldout") == (im["renderer"] == "sketchy") for h, im in zip(held, images))
    # a small corpus still gets one val model; the threshold keys stay val as the corpus grows
    assert len(ds.val_keys(["a", "b", "c"], 10)) == 1
    big = [f"m{i}" for i in range(2000)]
    assert {k for k in big[:200] if ds._hash(k) < 0.1} <= ds.val_keys(big, 10)


def test_split_files_and_hold_out(built, tmp_path):
    out, summary, coco = built
    models = [set(summary["models"][s]) for s in summary["models"]]
    assert all(not (a & b) for i, a in enumerate(models) for b in models[i + 1:])
    # a held-out renderer reuses the records (no rendering) and moves its pages only
    s2 = ds.build(SAMPLE, out, size=SIZE, hold_out=("sketchy",), log=lambda s: None)
    held = json.loads((out / "annotations" / "heldout.json").read_text(encoding="utf-8"))
    assert {im["renderer"] for im in held["images"]} == {"sketchy"}
    assert s2["images"]["heldout"] == sum(1 for p in SAMPLE.glob("*sketchy*.truth.bpmn"))
    ds.build(SAMPLE, out, size=SIZE, log=lambda s: None)  # back to the fixture's state
    assert not (out / "annotations" / "heldout.json").exists()


def test_deterministic(built, tmp_path):
    out, _, _ = built
    out2 = tmp_path / "again"
    ds.build(SAMPLE, out2, size=SIZE, workers=2, log=lambda s: None)
    for p in sorted((out / "annotations").glob("*.json")) + [out / "summary.json"]:
        assert (out2 / p.relative_to(out)).read_bytes() == p.read_bytes(), p.name
    for p in sorted((out / "images").glob("*.png"))[:4]:
        assert (out2 / "images" / p.name).read_bytes() == p.read_bytes()


@pytest.mark.skipif(not (HDBPMN / "writer_split.csv").exists(), reason="no hdBPMN in ../shared/testdata")
def test_hdbpmn_photos_train_val_writers_only(tmp_path):
    import csv
    split = {r["writer"]: r["split"] for r in csv.DictReader(open(HDBPMN / "writer_split.csv", encoding="utf-8"))}
    srcs = ds.hdbpmn_sources(HDBPMN, log=lambda s: None)
    assert srcs and all(split[s["writer"]] in ("train", "val") for s in srcs)
    rec = ds.make_record(srcs[0], {"version": ds.VERSION, "size": 512, "dpi": None, "pasted": "crop"},
                         _mk(tmp_path))
    g = cv2.imread(str(tmp_path / rec["image"]["file_name"]), cv2.IMREAD_GRAYSCALE).astype(np.float32)
    bands = []
    for a in rec["annotations"]:
        if a["category_id"] == ds.CATEGORY_ID["task"]:
            x, y, w, h = (round(v) for v in a["bbox"])
            m = np.zeros(g.shape, bool)
            m[max(0, y - 3): y + h + 4, max(0, x - 3): x + w + 4] = True
            m[y + 4: y + h - 3, x + 4: x + w - 3] = False
            bands.append(g[m].mean())
    assert bands and np.mean(bands) < np.median(g) - 10  # hand-drawn outlines, looser annotations


def _mk(p: Path) -> Path:
    (p / "images").mkdir(parents=True, exist_ok=True)
    (p / "records").mkdir(parents=True, exist_ok=True)
    return p
