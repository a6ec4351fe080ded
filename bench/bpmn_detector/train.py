"""Train the BPMN detector (``net.Detector``) on ``dataset.py`` folders; resumable; GPU or CPU; ONNX export.

    python -m bench.bpmn_detector.train --data /tmp/det/ds [/tmp/det/ds_hd ...] --out /tmp/det/run \
        [--epochs 30] [--samples 4000] [--batch 32] [--device auto|cuda|cpu] [--workers N] [--max-minutes 9]
        [--export pdf_ocr_pipeline/bpmn/detector/bpmn_detector.onnx]
    python -m bench.bpmn_detector.train --data DS --out RUN --images 4 --steps 1 --batch 4 --device cpu  # smoke

Every epoch draws ``--samples`` crops (``augment.training_crop``) from the train split, seeded by (seed, epoch,
index), so an interrupted run resumed from ``RUN/last.pt`` sees the same crops it would have. After every epoch:
the validation split at full size (``spec.WORKING_LONG_SIDE``) decoded and matched (shapes: class and IoU >= 0.5;
flows: class and both ends within ``END_TOLERANCE``), one JSON line in ``RUN/log.jsonl``, ``RUN/last.pt``
replaced (model, optimiser, schedule, epoch) and ``RUN/best.pt`` when the validation F1 rose. ``--max-minutes``
stops before an epoch that would not end in time (the lent GPU allows 10 minutes a command): run the same
command again to go on. ``--export`` writes ``best.pt`` (else ``last.pt``) as ONNX (dynamic height and width).

On the CPU the same script trains the same network, only slower (about 3 crops of 512 px a second on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from bench.bpmn_detector.augment import CROP, training_crop  # noqa: E402
from bench.bpmn_detector.net import Detector, load_grown  # noqa: E402
from bench.bpmn_detector.targets import encode, objects_from_coco  # noqa: E402
from pdf_ocr_pipeline.bpmn.raster.detector import decode as dec  # noqa: E402
from pdf_ocr_pipeline.bpmn.raster.detector.runtime import detect_page  # noqa: E402
from pdf_ocr_pipeline.bpmn.raster.detector.spec import CLASSES, FLOW_CLASSES, STRIDE  # noqa: E402

#: a flow's end found within this share of the flow's length (at least 12 px) of the true end counts as found
END_TOLERANCE = 0.15
#: steps of linear learning-rate warm-up before the cosine decay
WARMUP_STEPS = 200


# ---------------------------------------------------------------- data

def load_split(data_dirs: list[Path], split: str, limit: int | None = None) -> list[dict]:
    """``[{path, objects, meta}]`` of one split over the dataset folders (sorted, at most ``limit``)."""
    items = []
    for d in data_dirs:
        f = d / "annotations" / f"{split}.json"
        if not f.exists():
            continue
        coco = json.loads(f.read_text(encoding="utf-8"))
        cats = {c["id"]: c["name"] for c in coco["categories"]}
        by_image: dict[int, list] = {}
        for a in coco["annotations"]:
            by_image.setdefault(a["image_id"], []).append(a)
        for im in coco["images"]:
            objs = [o for o in objects_from_coco(by_image.get(im["id"], []), cats) if o["cls"] in CLASSES]
            items.append({"path": str(d / im["file_name"]), "objects": objs,
                          "meta": {k: im.get(k) for k in ("stem", "renderer", "look", "variant", "lang")}})
    items.sort(key=lambda it: it["path"])
    if limit and len(items) > limit:  # spread over every folder and kind, not the first folder's first pages
        step = len(items) / limit
        items = [items[int(i * step)] for i in range(limit)]
    return items


def read_gray(path: str) -> np.ndarray:
    import cv2
    im = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    if im is None:
        raise OSError(f"cannot read {path}")
    return im


class Crops(torch.utils.data.Dataset):
    """``samples`` seeded crops of the items for one epoch. The pages are read once, in the main process, before
    the loader's workers fork (they share them), not once per worker and epoch."""

    def __init__(self, items: list[dict], images: list[np.ndarray], samples: int, seed: int, epoch: int,
                 crop: int = CROP, photo_share: float | None = None, whole_page_share: float = 0.0):
        self.items, self.images, self.samples, self.crop = items, images, samples, crop
        self.seed, self.epoch = seed, epoch
        self.photos = [k for k, it in enumerate(items) if it["meta"].get("variant") == "photo"]
        self.others = [k for k, it in enumerate(items) if it["meta"].get("variant") != "photo"]
        self.photo_share = photo_share if self.photos and self.others else None
        self.whole_page_share = whole_page_share

    def __len__(self) -> int:
        return self.samples

    def __getitem__(self, i: int):
        rnd = random.Random(f"{self.seed}/{self.epoch}/{i}")
        if self.photo_share is None:  # every page alike
            k = rnd.randrange(len(self.items))
        else:  # photos of sketches drawn this often, whatever their number
            k = rnd.choice(self.photos if rnd.random() < self.photo_share else self.others)
        img, objs = training_crop(self.images[k], self.items[k]["objects"], rnd, self.crop,
                                  whole_page_share=self.whole_page_share)
        t = encode(objs, self.crop, self.crop)
        return (torch.from_numpy(img).float().div_(255.0)[None], torch.from_numpy(t["heat"]),
                torch.from_numpy(t["regress"]), torch.from_numpy(t["box_mask"]), torch.from_numpy(t["kp_mask"]))


# ---------------------------------------------------------------- loss

def focal_loss(logits: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss (alpha 2, beta 4), over the number of centres."""
    p = torch.sigmoid(logits.float()).clamp(1e-4, 1 - 1e-4)
    pos = gt.eq(1).float()
    neg = 1.0 - pos
    pos_loss = torch.log(p) * (1 - p) ** 2 * pos
    neg_loss = torch.log(1 - p) * p ** 2 * (1 - gt) ** 4 * neg
    return -(pos_loss.sum() + neg_loss.sum()) / pos.sum().clamp(min=1.0)


def masked_l1(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask[:, None].expand_as(pred)
    return (F.l1_loss(pred.float(), target, reduction="none") * m).sum() / m.sum().clamp(min=1.0)


def loss_of(model, batch, device) -> tuple[torch.Tensor, dict]:
    img, heat, reg, box_mask, kp_mask = (t.to(device, non_blocking=True) for t in batch)
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
        h, r = model(img)
    lh = focal_loss(h, heat)
    lb = masked_l1(r[:, 0:4], reg[:, 0:4], box_mask)
    lk = masked_l1(r[:, 4:8], reg[:, 4:8], kp_mask)
    total = lh + lb + lk
    return total, {"heat": lh.item(), "box": lb.item(), "keypoints": lk.item()}


# ---------------------------------------------------------------- validation

def match_counts(dets: list, objects: list[dict]) -> dict[str, list[int]]:
    """``{"shapes": [tp, fp, fn], "flows": [...]}`` for one image (greedy, strongest detection first)."""
    out = {"shapes": [0, 0, 0], "flows": [0, 0, 0]}
    used = set()
    for d in sorted(dets, key=lambda d: -d.score):
        fam = "flows" if d.cls in FLOW_CLASSES else "shapes"
        hit = None
        for j, o in enumerate(objects):
            if j in used or o["cls"] != d.cls:
                continue
            if fam == "shapes":
                ok = dec.iou(d.box, o["box"]) >= 0.5
            else:
                if o.get("tail") is None:
                    continue
                tol = max(12.0, END_TOLERANCE * math.dist(o["tail"], o["head"]))
                ok = math.dist(d.tail, o["tail"]) < tol and math.dist(d.head, o["head"]) < tol
            if ok:
                hit = j
                break
        if hit is None:
            out[fam][1] += 1
        else:
            used.add(hit)
            out[fam][0] += 1
    for j, o in enumerate(objects):
        if j not in used:
            out["flows" if o["cls"] in FLOW_CLASSES else "shapes"][2] += 1
    return out


def f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / max(1, 2 * tp + fp + fn)


def detect_array(model, gray: np.ndarray, device, threshold: float = dec.SCORE_THRESHOLD) -> list:
    """The torch model on one page exactly as the ONNX runtime runs it (``runtime.detect_page``)."""
    def maps(x):
        with torch.no_grad():
            h, r = model(torch.from_numpy(x).to(device))
        return h[0].float().cpu().numpy(), r[0].float().cpu().numpy()
    return detect_page(maps, gray, threshold)


def validate(model, items: list[dict], device, threshold: float = dec.SCORE_THRESHOLD) -> dict:
    model.eval()
    tot = {"shapes": [0, 0, 0], "flows": [0, 0, 0]}
    for it in items:
        gray = read_gray(it["path"])
        c = match_counts(detect_array(model, gray, device, threshold), it["objects"])
        for k in tot:
            tot[k] = [a + b for a, b in zip(tot[k], c[k])]
    model.train()
    s, f = f1(*tot["shapes"]), f1(*tot["flows"])
    return {"shapes_f1": round(s, 4), "flows_f1": round(f, 4), "score": round((s + f) / 2, 4), "counts": tot}


# ---------------------------------------------------------------- the loop

def lr_at(step: int, total: int, base: float) -> float:
    if step < WARMUP_STEPS:
        return base * (step + 1) / WARMUP_STEPS
    return base * 0.5 * (1 + math.cos(math.pi * min(1.0, (step - WARMUP_STEPS) / max(1, total - WARMUP_STEPS))))


def _save(obj, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def train(args) -> dict:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    train_items = load_split(args.data, "train", args.images)
    val_items = load_split(args.data, "val", args.val_images)
    if not train_items:
        raise SystemExit(f"no training images under {args.data}")
    images = [read_gray(it["path"]) for it in train_items]
    print(f"{len(train_items)} training pages, {len(val_items)} validation pages, device {device}", flush=True)
    torch.backends.cudnn.benchmark = True
    model = Detector(grown=args.grown).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    steps_per_epoch = args.steps or math.ceil(args.samples / args.batch)
    total_steps = steps_per_epoch * args.epochs
    state = {"epoch": 0, "step": 0, "best": -1.0, "log": []}
    last = out / "last.pt"
    if last.exists() and not args.restart:
        ck = torch.load(last, map_location=device, weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        state = ck["state"]
        print(f"resumed at epoch {state['epoch']} step {state['step']}", flush=True)
    elif args.init:  # start from trained weights (another run's, or ones back from another machine): a new schedule
        load_grown(model, torch.load(args.init, map_location=device, weights_only=False)["model"])
        print(f"weights from {args.init}" + (" (grown)" if args.grown else ""), flush=True)
    started = time.time()
    epoch_secs = 0.0
    while state["epoch"] < args.epochs:
        if args.max_minutes and (time.time() - started + epoch_secs * 1.1) > args.max_minutes * 60:
            print(f"stopping before epoch {state['epoch'] + 1}: --max-minutes {args.max_minutes}", flush=True)
            break
        t0 = time.time()
        ds = Crops(train_items, images, steps_per_epoch * args.batch, args.seed, state["epoch"],
                   photo_share=args.photo_share, whole_page_share=args.whole_page_share)
        dl = torch.utils.data.DataLoader(ds, batch_size=args.batch, shuffle=False, num_workers=args.workers,
                                         pin_memory=device.type == "cuda", drop_last=True,
                                         persistent_workers=False)
        model.train()
        sums: dict[str, float] = {}
        n = 0
        for batch in dl:
            for gp in opt.param_groups:
                gp["lr"] = lr_at(state["step"], total_steps, args.lr)
            loss, parts = loss_of(model, batch, device)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            opt.step()
            state["step"] += 1
            n += 1
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + v
        state["epoch"] += 1
        row = {"epoch": state["epoch"], "step": state["step"], "seconds": round(time.time() - t0, 1),
               "device": device.type, **{f"loss_{k}": round(v / max(1, n), 4) for k, v in sums.items()}}
        if val_items:
            row["val"] = validate(model, val_items, device)
        state["log"].append(row)
        print(json.dumps(row), flush=True)
        with open(out / "log.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")
        ck = {"model": model.state_dict(), "optimizer": opt.state_dict(), "state": state,
              "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                       if k != "data"} | {"data": [str(d) for d in args.data]}}
        score = row.get("val", {}).get("score", -state["epoch"])
        if score > state["best"]:
            state["best"] = score
            _save(ck, out / "best.pt")
        _save(ck, last)
        if args.mirror:
            # the lent GPU machine returns only what lies under $OUT, 16 MB a file at most: the weights and the
            # log come back (the optimiser's moments stay in RUN, which lasts while the machine stays warm)
            args.mirror.mkdir(parents=True, exist_ok=True)
            weights = {"model": ck["model"], "state": state, "args": {"grown": args.grown}}
            _save(weights, args.mirror / "last_weights.pt")
            if state["best"] == score:
                _save(weights, args.mirror / "best_weights.pt")
            (args.mirror / "log.jsonl").write_text((out / "log.jsonl").read_text(encoding="utf-8"), encoding="utf-8")
        epoch_secs = time.time() - t0
        if args.fit_schedule and args.max_minutes and state["epoch"] < args.epochs:
            # the schedule shrinks to the epochs that fit the time left, so the learning rate still decays to 0
            fit = state["epoch"] + int((args.max_minutes * 60 - (time.time() - started)) / (epoch_secs * 1.05))
            if fit < args.epochs:
                print(f"{fit} epochs fit --max-minutes {args.max_minutes}: the schedule ends there", flush=True)
                args.epochs = max(fit, state["epoch"])
                total_steps = steps_per_epoch * args.epochs
    return state


# ---------------------------------------------------------------- export

def export_onnx(checkpoint: Path, dest: Path, opset: int = 17) -> Path:
    """The checkpoint's network as ONNX, input ``image`` N x 1 x H x W (H, W dynamic), outputs ``heat``,
    ``regress``; the classes and stride in the model's metadata."""
    import onnx
    ck = torch.load(checkpoint, map_location="cpu", weights_only=False)
    model = Detector(grown=bool(ck.get("args", {}).get("grown")))
    model.load_state_dict(ck["model"])
    model.eval()
    dest.parent.mkdir(parents=True, exist_ok=True)
    x = torch.rand(1, 1, 512, 640)
    torch.onnx.export(model, x, str(dest), input_names=["image"], output_names=["heat", "regress"], opset_version=opset,
                      dynamic_axes={"image": {0: "n", 2: "h", 3: "w"}, "heat": {0: "n", 2: "h4", 3: "w4"},
                                    "regress": {0: "n", 2: "h4", 3: "w4"}}, dynamo=False)
    m = onnx.load(str(dest))
    meta = {"classes": ",".join(CLASSES), "stride": str(STRIDE), "epoch": str(ck["state"]["epoch"]),
            "val": json.dumps(ck["state"]["log"][-1].get("val", {}) if ck["state"]["log"] else {})}
    for k, v in meta.items():
        p = m.metadata_props.add()
        p.key, p.value = k, v
    onnx.save(m, str(dest))
    return dest


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, nargs="+", required=True, help="dataset.py output folders")
    ap.add_argument("--out", type=Path, required=True, help="checkpoints and log (resumed from when present)")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--samples", type=int, default=4000, help="crops an epoch")
    ap.add_argument("--steps", type=int, default=None, help="steps an epoch instead of --samples / --batch")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--whole-page-share", type=float, default=0.0,
                    help="share of crops holding the whole page shrunk to fit (augment.training_crop)")
    ap.add_argument("--photo-share", type=float, default=None,
                    help="draw photos (hdBPMN) this share of the time (default: as often as any page)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1))
    ap.add_argument("--images", type=int, default=None, help="use only the first N training images")
    ap.add_argument("--val-images", type=int, default=None, help="validate on the first N validation images")
    ap.add_argument("--max-minutes", type=float, default=None)
    ap.add_argument("--fit-schedule", action="store_true",
                    help="with --max-minutes: shorten the run to the epochs that fit, the schedule decaying to its end")
    ap.add_argument("--restart", action="store_true", help="ignore RUN/last.pt")
    ap.add_argument("--init", type=Path, default=None,
                    help="without RUN/last.pt: start from these weights (a new schedule)")
    ap.add_argument("--grown", action="store_true",
                    help="the network with its grown blocks (net.Detector); --init may hold the plain one's weights")
    ap.add_argument("--export", type=Path, default=None, help="write the best checkpoint as ONNX here")
    ap.add_argument("--export-from", choices=("best", "last"), default="best",
                    help="which checkpoint --export writes (best: the highest validation score)")
    ap.add_argument("--mirror", type=Path, default=None, help="copy the checkpoints and log here after every epoch")
    args = ap.parse_args(argv)
    if args.device == "cpu":
        torch.set_num_threads(os.cpu_count() or 1)
    if args.epochs > 0:
        train(args)
    if args.export:
        ck = args.out / f"{args.export_from}.pt"
        if not ck.exists():
            ck = args.out / "last.pt"
        print(f"exported {ck} -> {export_onnx(ck, args.export)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
