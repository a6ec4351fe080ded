"""Corpus pages -> detection training data: grey PNGs plus COCO-style JSON (shape boxes, flow boxes + keypoints).

    .venv/bin/python -m bench.bpmn_detector.dataset --corpus /tmp/bpmn_corpus/out2 --out /tmp/bpmn_det/ds
        [--size 1024 | --dpi N] [--pasted crop|page] [--val-percent 10] [--split-by model|writer]
        [--hold-out-renderer sketchy ...] [--hdbpmn ../shared/testdata/hdbpmn] [--workers 2]

Input: a folder built by ``bench.bpmn_corpus.build`` (``<stem>.pdf`` + ``<stem>.truth.bpmn`` + ``<stem>.truth.json``)
and, optionally, hdBPMN photos of the train and val writers (``images/*.jpg`` + ``annotations/*.bpmn``; the test
writers of ``writer_split.csv`` are refused). Every page is rendered in grey with its long side ``--size`` px (or at
``--dpi``); pasted pages are cropped to the picture (``corpus.picture``, page points) unless ``--pasted page``.
Truth comes from ``parse_truth.parse_bpmn`` on ``.truth.bpmn`` (page points), mapped ``x_px = (x_pt - ox) * s``.
Classes are ``bench.bpmn_eval``'s (``eval_class``): 15 shape classes then ``sequenceFlow``, ``messageFlow``,
``association``; ``group`` and types outside them are counted as skipped.

Output folder: ``images/<stem>.png``; ``records/<stem>.json`` (one page's image entry and annotations, the cache
that makes a rerun resume: a record whose parameters match is reused, so a new split costs no rendering);
``annotations/{train,val[,heldout]}.json`` (COCO); ``summary.json`` (counts per split and class). Deterministic:
same inputs and options, same bytes.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import re
import sys
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bpmn_eval import FLOW_CLASSES as _EVAL_FLOWS  # noqa: E402
from bench.bpmn_eval import SHAPE_CLASSES, SKIP, eval_class  # noqa: E402

#: bumped when the rendering or the annotation rules change (older records are then rebuilt)
VERSION = 1
FLOW_CLASSES = [c.split(":", 1)[1] for c in _EVAL_FLOWS]
CLASSES = list(SHAPE_CLASSES) + FLOW_CLASSES
CATEGORY_ID = {c: i + 1 for i, c in enumerate(CLASSES)}
KEYPOINTS = ["tail", "head"]
#: flow boxes: the waypoints' extent grown by this many pixels on each side (a straight flow has no height)
FLOW_PAD = 3.0


def categories() -> list[dict]:
    return [{"id": CATEGORY_ID[c], "name": c, "supercategory": "flow" if c in FLOW_CLASSES else "shape",
             "keypoints": KEYPOINTS, "skeleton": [[1, 2]]} for c in CLASSES]


def _r(v: float) -> float:
    return round(float(v), 2)


def _hash(key: str) -> float:
    """A stable number in [0, 1) for a split key."""
    return int(hashlib.sha1(key.encode("utf-8")).hexdigest()[:8], 16) / 16 ** 8


def split_key(model: str, by: str = "model") -> str:
    """What the split hashes: the model name, or its hdBPMN writer (``writerNNNN``) with ``by="writer"``."""
    if by == "writer":
        m = re.search(r"writer\d+", model)
        if m:
            return m.group(0)
    return model


def val_keys(keys, val_percent: int = 10) -> set[str]:
    """The split keys that go to ``val``: every key whose hash is below ``val_percent`` % (stable as the corpus
    grows), topped up by the next lowest hashes to ``round(n * val_percent / 100)`` keys, at least one when there
    are two or more (a small corpus still gets a val set)."""
    keys = sorted(set(keys), key=lambda k: (_hash(k), k))
    if val_percent <= 0 or not keys:
        return set()
    want = max(1 if len(keys) >= 2 else 0, round(len(keys) * val_percent / 100))
    val = {k for k in keys if _hash(k) < val_percent / 100}
    for k in keys:
        if len(val) >= want:
            break
        val.add(k)
    return val


def split_of(image: dict, val: set[str], hold_out: tuple[str, ...] = (), by: str = "model") -> str:
    """``heldout`` when the image's renderer or look is held out, else ``val`` when its model's (or writer's) key is
    in ``val`` (``val_keys``), else ``train``: one model's renders never straddle train and val."""
    if hold_out and (image.get("renderer") in hold_out or image.get("look") in hold_out):
        return "heldout"
    return "val" if split_key(image["model"], by) in val else "train"


# ---------------------------------------------------------------- sources

def corpus_sources(corpus: Path) -> list[dict]:
    """One entry per built page (``.truth.bpmn`` marks a finished page), sorted by stem."""
    out = []
    for tb in sorted(corpus.glob("*.truth.bpmn")):
        stem = tb.name[: -len(".truth.bpmn")]
        pdf = corpus / f"{stem}.pdf"
        if pdf.exists() and (corpus / f"{stem}.truth.json").exists():
            out.append({"kind": "corpus", "stem": stem, "pdf": str(pdf), "truth_bpmn": str(tb),
                        "truth_json": str(corpus / f"{stem}.truth.json")})
    return out


def hd_scale(ann_path: Path, width_px: int) -> float:
    """hdBPMN DI -> photo pixels: the photo's width over ``backgroundSize`` (the JSON comment atop the annotation)."""
    m = re.search(r'"backgroundSize":\s*([0-9.]+)', Path(ann_path).read_text(encoding="utf-8"))
    return width_px / float(m.group(1)) if m else 1.0


def writer_split(hd: Path) -> dict[str, str]:
    """hdBPMN's ``writer_split.csv`` (at or above ``hd``): writer -> train / val / test."""
    for d in (hd, hd.parent, hd.parent.parent):
        f = d / "writer_split.csv"
        if f.exists():
            with open(f, newline="", encoding="utf-8") as fh:
                return {r["writer"].strip(): r["split"].strip() for r in csv.DictReader(fh)}
    raise FileNotFoundError(f"no writer_split.csv at or above {hd}")


def hdbpmn_sources(hd: Path, log=print) -> list[dict]:
    """hdBPMN photos with their annotation ``.bpmn``, train and val writers only (test writers refused)."""
    split = writer_split(hd)
    out = []
    for img in sorted(list(hd.glob("images/*.jpg")) + list(hd.glob("*/images/*.jpg"))):
        ann = img.parent.parent / "annotations" / f"{img.stem}.bpmn"
        m = re.search(r"writer\d+", img.stem)
        writer = m.group(0) if m else None
        ws = split.get(writer or "")
        if ws not in ("train", "val"):
            log(f"hdBPMN {img.stem}: writer {writer} is {ws or 'unknown'}, refused")
            continue
        if ann.exists():
            out.append({"kind": "hdbpmn", "stem": f"hd_{img.stem}", "image": str(img), "truth_bpmn": str(ann),
                        "writer": writer, "writer_split": ws, "model": img.stem})
    return out


# ---------------------------------------------------------------- pixels and truth

def annotations(diagram, truth_json: dict | None, s: float, ox: float, oy: float, w: int, h: int):
    """The diagram's elements in pixels (``x_px = (x - ox) * s``) as COCO annotations without ids, and a counter
    of the types left out."""
    tj = {e["id"]: e for e in (truth_json or {}).get("elements", []) if e.get("id")}
    skipped: Counter = Counter()

    def px(x, y):
        return (x - ox) * s, (y - oy) * s

    def clip_box(x0, y0, x1, y1):
        x0, x1 = max(0.0, min(x0, x1)), min(float(w), max(x0, x1))
        y0, y1 = max(0.0, min(y0, y1)), min(float(h), max(y0, y1))
        return (x0, y0, x1, y1) if x1 - x0 >= 1 and y1 - y0 >= 1 else None

    out = []
    for e in diagram.elements:
        cls = eval_class(e.type)
        if e.type in SKIP or cls not in CATEGORY_ID:
            skipped[e.type] += 1
            continue
        extra = tj.get(e.id, {})
        ann = {"category_id": CATEGORY_ID[cls], "bpmn_type": e.type, "bpmn_id": e.id, "label": e.label}
        if cls in FLOW_CLASSES:
            pts = [px(x, y) for x, y in e.waypoints]
            if len(pts) < 2:
                skipped[e.type] += 1
                continue
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            box = clip_box(min(xs) - FLOW_PAD, min(ys) - FLOW_PAD, max(xs) + FLOW_PAD, max(ys) + FLOW_PAD)
            kps = []
            for x, y in (pts[0], pts[-1]):
                kps += [_r(x), _r(y), 2] if 0 <= x <= w and 0 <= y <= h else [0, 0, 0]
            ann["waypoints"] = [[_r(x), _r(y)] for x, y in pts]
            ann["keypoints"] = kps
            ann["num_keypoints"] = sum(1 for v in kps[2::3] if v)
            ann["source_id"], ann["target_id"] = e.source_id, e.target_id
        else:
            (x0, y0), (x1, y1) = px(*e.box[:2]), px(*e.box[2:])
            box = clip_box(x0, y0, x1, y1)
            ann["keypoints"] = [0, 0, 0, 0, 0, 0]
            ann["num_keypoints"] = 0
            if e.event_definition:
                ann["event_definition"] = e.event_definition
            if e.markers:
                ann["markers"] = list(e.markers)
            if extra.get("quad"):
                ann["quad"] = [[_r(v) for v in px(*p)] for p in extra["quad"]]
        if box is None:
            skipped[e.type] += 1
            continue
        ann["bbox"] = [_r(box[0]), _r(box[1]), _r(box[2] - box[0]), _r(box[3] - box[1])]
        ann["area"] = _r((box[2] - box[0]) * (box[3] - box[1]))
        ann["iscrowd"] = 0
        lb = extra.get("label_box") or e.label_box
        if lb and e.label:
            (a, b), (c, d) = px(*lb[:2]), px(*lb[2:])
            ann["label_bbox"] = [_r(a), _r(b), _r(c - a), _r(d - b)]
        out.append(ann)
    return out, skipped


def _write_png(path: Path, img) -> None:
    import cv2
    tmp = path.with_name(path.stem + ".tmp.png")
    if not cv2.imwrite(str(tmp), img):
        raise OSError(f"cannot write {tmp}")
    os.replace(tmp, path)


def render_corpus_page(src: dict, params: dict, out: Path) -> dict:
    import numpy as np
    import pymupdf
    from pdf_ocr_pipeline.bpmn.parse_truth import parse_bpmn
    tj = json.loads(Path(src["truth_json"]).read_text(encoding="utf-8"))
    meta = tj.get("corpus", {})
    doc = pymupdf.open(src["pdf"])
    page = doc[0]
    rect = page.rect
    crop = meta.get("variant") == "pasted" and params["pasted"] == "crop" and meta.get("picture")
    if crop:
        rect = pymupdf.Rect(*meta["picture"]) & page.rect
    s = params["dpi"] / 72.0 if params["dpi"] else params["size"] / max(rect.width, rect.height)
    pix = page.get_pixmap(matrix=pymupdf.Matrix(s, s), clip=rect, colorspace=pymupdf.csGRAY, alpha=False)
    img = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.stride)[:, : pix.width]
    doc.close()
    h, w = img.shape
    ox, oy = pix.x / s, pix.y / s  # the pixmap's first pixel (the clip rounded out to whole pixels)
    anns, skipped = annotations(parse_bpmn(Path(src["truth_bpmn"])), tj, s, ox, oy, w, h)
    _write_png(out / "images" / f"{src['stem']}.png", img)
    image = {"file_name": f"images/{src['stem']}.png", "width": w, "height": h, "stem": src["stem"],
             "source": "corpus", "pdf": Path(src["pdf"]).name, "model": meta.get("model", src["stem"]),
             "renderer": meta.get("renderer"), "look": meta.get("look"), "theme": meta.get("theme"),
             "lang": meta.get("lang"), "variant": meta.get("variant"),
             "cropped": bool(crop), "scale_px_per_pt": round(s, 6), "origin_pt": [round(ox, 4), round(oy, 4)]}
    for k in ("dpi", "angle", "noise", "jpeg"):
        if k in meta:
            image["corpus_" + k] = meta[k]
    return {"image": image, "annotations": anns, "skipped": dict(sorted(skipped.items()))}


def render_hdbpmn(src: dict, params: dict, out: Path) -> dict:
    """A photo in grey, long side ``size`` (``--dpi`` does not apply), truth as ``bench/bpmn_eval.py`` scales it:
    DI x ``image width / backgroundSize`` (the comment at the top of the annotation)."""
    import cv2
    from pdf_ocr_pipeline.bpmn.parse_truth import parse_bpmn
    ann_path = Path(src["truth_bpmn"])
    im = cv2.imread(src["image"], cv2.IMREAD_GRAYSCALE)
    k = hd_scale(ann_path, im.shape[1])
    f = params["size"] / max(im.shape)
    img = cv2.resize(im, (round(im.shape[1] * f), round(im.shape[0] * f)), interpolation=cv2.INTER_AREA)
    h, w = img.shape
    anns, skipped = annotations(parse_bpmn(ann_path, transform=(k, k, 0, 0)), None, f, 0.0, 0.0, w, h)
    _write_png(out / "images" / f"{src['stem']}.png", img)
    image = {"file_name": f"images/{src['stem']}.png", "width": w, "height": h, "stem": src["stem"],
             "source": "hdbpmn", "photo": Path(src["image"]).name, "model": src["model"], "renderer": "hdbpmn",
             "look": "handdrawn", "theme": None, "lang": "en", "variant": "photo", "writer": src["writer"],
             "writer_split": src["writer_split"], "cropped": False, "scale_px_per_pt": round(f, 6),
             "origin_pt": [0.0, 0.0]}
    return {"image": image, "annotations": anns, "skipped": dict(sorted(skipped.items()))}


def make_record(src: dict, params: dict, out: Path) -> dict:
    """One page's record, from ``records/<stem>.json`` when its parameters match, else rendered (PNG first, the
    record last: a record marks a finished page)."""
    rec_path = out / "records" / f"{src['stem']}.json"
    png = out / "images" / f"{src['stem']}.png"
    if rec_path.exists() and png.exists():
        try:
            rec = json.loads(rec_path.read_text(encoding="utf-8"))
            if rec.get("params") == params:
                return rec
        except json.JSONDecodeError:
            pass
    rec = (render_hdbpmn if src["kind"] == "hdbpmn" else render_corpus_page)(src, params, out)
    rec = {"params": params, **rec}
    tmp = rec_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(rec, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    os.replace(tmp, rec_path)
    return rec


def _make_record_args(a):
    return make_record(*a)


# ---------------------------------------------------------------- the dataset

def assemble(records: list[dict], out: Path, val_percent: int = 10, hold_out: tuple[str, ...] = (),
             by: str = "model") -> dict:
    """COCO files per split from the records (sorted by stem; image ids by that order, annotation ids in turn)
    and ``summary.json``; returns the summary."""
    records = sorted(records, key=lambda r: r["image"]["stem"])
    splits: dict[str, dict] = {}
    ann_id = 0
    summary = {"images": {}, "annotations": {}, "models": {}, "by_renderer_variant": {}, "skipped": {}}
    rv: dict = defaultdict(Counter)
    skipped: Counter = Counter()
    models: dict = defaultdict(set)
    # the val keys are drawn over the pages that are not held out
    val = val_keys([split_key(r["image"]["model"], by) for r in records
                    if split_of(r["image"], set(), hold_out, by) != "heldout"], val_percent)
    for img_id, rec in enumerate(records, 1):
        image = {"id": img_id, **rec["image"]}
        sp = split_of(image, val, hold_out, by)
        image["split"] = sp
        d = splits.setdefault(sp, {"images": [], "annotations": []})
        d["images"].append(image)
        for a in rec["annotations"]:
            ann_id += 1
            d["annotations"].append({"id": ann_id, "image_id": img_id, **a})
        rv[sp][f"{image['renderer']}/{image['variant']}"] += 1
        models[sp].add(image["model"])
        skipped.update(rec.get("skipped", {}))
    (out / "annotations").mkdir(parents=True, exist_ok=True)
    for old in (out / "annotations").glob("*.json"):
        if old.stem not in splits:
            old.unlink()
    params = records[0]["params"] if records else {}
    for sp, d in sorted(splits.items()):
        coco = {"info": {"description": "BPMN detector dataset (bench/bpmn_detector/dataset.py)", "version": VERSION,
                         "params": params, "split": sp, "val_percent": val_percent, "split_by": by,
                         "hold_out": sorted(hold_out)},
                "images": d["images"], "annotations": d["annotations"], "categories": categories()}
        (out / "annotations" / f"{sp}.json").write_text(json.dumps(coco, ensure_ascii=False, sort_keys=True),
                                                         encoding="utf-8")
        names = {c: 0 for c in CLASSES}
        for a in d["annotations"]:
            names[CLASSES[a["category_id"] - 1]] += 1
        summary["images"][sp] = len(d["images"])
        summary["annotations"][sp] = names
        summary["models"][sp] = sorted(models[sp])
        summary["by_renderer_variant"][sp] = dict(sorted(rv[sp].items()))
    summary["skipped"] = dict(sorted(skipped.items()))
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1, sort_keys=True),
                                      encoding="utf-8")
    return summary


def build(corpus: Path | None, out: Path, *, size: int = 1024, dpi: float | None = None, pasted: str = "crop",
          hdbpmn: Path | None = None, val_percent: int = 10, hold_out: tuple[str, ...] = (), by: str = "model",
          workers: int = 1, log=print) -> dict:
    """Render every page (or reuse its record) and write the split COCO files; returns the summary."""
    if pasted not in ("crop", "page"):
        raise ValueError("pasted: crop or page")
    params = {"version": VERSION, "size": int(size), "dpi": dpi, "pasted": pasted}
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "records").mkdir(parents=True, exist_ok=True)
    srcs = corpus_sources(corpus) if corpus else []
    if hdbpmn:
        srcs += hdbpmn_sources(hdbpmn, log)
    stems = [s["stem"] for s in srcs]
    if len(set(stems)) != len(stems):
        raise ValueError("duplicate stems")
    args = [(s, params, out) for s in srcs]
    if workers > 1 and len(args) > 1:
        with ProcessPoolExecutor(workers) as ex:
            records = list(ex.map(_make_record_args, args, chunksize=4))
    else:
        records = [make_record(*a) for a in args]
    return assemble(records, out, val_percent, tuple(hold_out), by)


def table(summary: dict) -> str:
    sps = sorted(summary["images"])
    lines = ["| class | " + " | ".join(sps) + " |", "|---|" + "---|" * len(sps)]
    for c in CLASSES:
        lines.append(f"| {c} | " + " | ".join(str(summary["annotations"][s][c]) for s in sps) + " |")
    lines.append("| **images** | " + " | ".join(str(summary["images"][s]) for s in sps) + " |")
    lines.append("| **models** | " + " | ".join(str(len(summary["models"][s])) for s in sps) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=None, help="a folder built by bench.bpmn_corpus.build")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--size", type=int, default=1024, help="long side of each image in px (default 1024)")
    ap.add_argument("--dpi", type=float, default=None, help="render PDF pages at this dpi instead of --size")
    ap.add_argument("--pasted", choices=("crop", "page"), default="crop",
                    help="pasted pages: crop to the picture (default) or keep the whole text page")
    ap.add_argument("--hdbpmn", type=Path, default=None,
                    help="hdBPMN folder (images/, annotations/, writer_split.csv at or above): train/val writers")
    ap.add_argument("--val-percent", type=int, default=10)
    ap.add_argument("--split-by", choices=("model", "writer"), default="model")
    ap.add_argument("--hold-out-renderer", nargs="*", default=[],
                    help="renderer or look names (bpmnjs, bpmnvis, sketchy, hdbpmn, bold ...) put in 'heldout'")
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    args = ap.parse_args(argv)
    if not args.corpus and not args.hdbpmn:
        ap.error("--corpus and/or --hdbpmn")
    summary = build(args.corpus, args.out, size=args.size, dpi=args.dpi, pasted=args.pasted, hdbpmn=args.hdbpmn,
                    val_percent=args.val_percent, hold_out=tuple(args.hold_out_renderer), by=args.split_by,
                    workers=args.workers, log=lambda s: print(s, file=sys.stderr))
    print(table(summary))
    for sp, rv in summary["by_renderer_variant"].items():
        print(f"{sp}: " + ", ".join(f"{k} {v}" for k, v in rv.items()))
    if summary["skipped"]:
        print("skipped types:", summary["skipped"])
    print(f"-> {args.out}/annotations/*.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
