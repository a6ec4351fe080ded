"""Pack ``dataset.py`` folders for the lent GPU machine: JPEG pages, the COCO files, cut into parts that fit a call.

    .venv/bin/python -m bench.bpmn_detector.pack --data /tmp/det/ds /tmp/det/ds_hd --out .det \
        [--splits train val] [--variants vector photo none] [--quality 85] [--long-side 1024] [--part-mb 40]
    # on the machine, one call a part, back to back (/tmp lasts while the machine stays warm):
    mkdir -p /tmp/det && cat .det/part-K | tar -x -C /tmp/det

Each dataset folder becomes ``<name>/`` with ``images/*.jpg`` (grey) and ``annotations/<split>.json`` whose
``file_name`` points at them; pages shrunk to ``--long-side`` have their annotations scaled alike. The tar stream
is cut into ``part-0``, ``part-1``, ... of at most ``--part-mb`` MB, each carried by one call.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _scale_ann(a: dict, f: float) -> dict:
    a = dict(a)
    for k in ("bbox", "label_bbox"):
        if a.get(k):
            a[k] = [v * f for v in a[k]]
    if a.get("waypoints"):
        a["waypoints"] = [[x * f, y * f] for x, y in a["waypoints"]]
    if a.get("keypoints"):
        kp = list(a["keypoints"])
        for i in (0, 1, 3, 4):
            kp[i] *= f
        a["keypoints"] = kp
    return a


def pack(data: list[Path], out: Path, splits: list[str], variants: list[str], quality: int, long_side: int,
         part_mb: float) -> list[Path]:
    import cv2
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        def add(name: str, payload: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
        for d in data:
            for sp in splits:
                f = d / "annotations" / f"{sp}.json"
                if not f.exists():
                    continue
                coco = json.loads(f.read_text(encoding="utf-8"))
                keep, scale = [], {}
                for im in coco["images"]:
                    if str(im.get("variant")).lower() not in variants:
                        continue
                    g = cv2.imread(str(d / im["file_name"]), cv2.IMREAD_GRAYSCALE)
                    k = min(1.0, long_side / max(g.shape))
                    if k < 1.0:
                        g = cv2.resize(g, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
                    name = f"images/{Path(im['file_name']).stem}.jpg"
                    add(f"{d.name}/{name}", cv2.imencode(".jpg", g, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes())
                    keep.append(dict(im, file_name=name, width=g.shape[1], height=g.shape[0],
                                     scale_px_per_pt=im.get("scale_px_per_pt", 1.0) * k))
                    scale[im["id"]] = k
                coco["images"] = keep
                coco["annotations"] = [_scale_ann(a, scale[a["image_id"]]) for a in coco["annotations"]
                                       if a["image_id"] in scale]
                add(f"{d.name}/annotations/{sp}.json", json.dumps(coco).encode("utf-8"))
                print(f"{d.name}/{sp}: {len(keep)} pages")
    blob = buf.getvalue()
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("part-*"):
        old.unlink()
    size = int(part_mb * 1e6)
    parts = []
    for i in range(0, len(blob), size):
        p = out / f"part-{i // size}"
        p.write_bytes(blob[i:i + size])
        parts.append(p)
    print(f"{len(blob) / 1e6:.1f} MB in {len(parts)} parts -> {out}")
    return parts


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, nargs="+", required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--splits", nargs="+", default=["train", "val"])
    ap.add_argument("--variants", nargs="+", default=["vector", "photo", "none"],
                    help="page variants to carry (none: pages without one, the tool-made models)")
    ap.add_argument("--quality", type=int, default=85)
    ap.add_argument("--long-side", type=int, default=1024)
    ap.add_argument("--part-mb", type=float, default=40.0)
    args = ap.parse_args(argv)
    pack(args.data, args.out, args.splits, [v.lower() for v in args.variants], args.quality, args.long_side,
         args.part_mb)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
