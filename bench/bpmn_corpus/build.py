"""Build a corpus folder: every model x theme x variant, with the renderer's truth in page points.

    .venv/bin/python -m bench.bpmn_corpus.build --models DIR --out /tmp/bpmn_corpus/out [--limit N]
        [--themes default bold] [--variants vector scan] [--dpi 150]

``DIR``: ``.bpmn`` files with DI (e.g. from ``bench.bpmn_corpus.sources``). Writes to ``--out``:

- ``<model>-<theme>-vector.pdf``: bpmn-js's drawing printed by Chromium (vector paths, text layer), with
  ``<model>-<theme>-vector.truth.bpmn`` (DI in page points) and ``.truth.json`` (``render_bpmnjs.Truth``);
- ``<model>-<theme>-scan.pdf``: that page rasterised at ``--dpi`` (grey, blur, sensor noise, specks, uneven
  illumination and contrast, JPEG q 60-85), as an image-only page of the same size, so the same truth holds
  (``.truth.bpmn`` / ``.truth.json`` copied). No rotation yet (the truth would need the same rotation).

Resumable: an output whose ``.truth.bpmn`` exists is skipped. One Chromium serves all renders. A model bpmn-js
cannot import is listed in ``failed.txt`` and skipped.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import time
from pathlib import Path

from bench.bpmn_corpus import render_bpmnjs as rb

VARIANTS = ("vector", "scan")


def _seed(name: str) -> int:
    return int(hashlib.sha1(name.encode()).hexdigest()[:8], 16)


def scan_jpeg(page, dpi: int, seed: int) -> bytes:
    """``page`` as a noisy grey scan (JPEG bytes): the steps of ``bench.bpmn_eval._noisy_png`` (blur, Gaussian
    noise, specks, JPEG) plus uneven illumination (a smooth gradient, 0.72-1.0) and reduced contrast; the
    amounts are drawn per page from ``seed``."""
    import cv2
    import numpy as np
    rng = np.random.default_rng(seed)
    pix = page.get_pixmap(dpi=dpi, colorspace="gray")
    img = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.width).astype(np.float32)
    h, w = img.shape
    sigma = rng.uniform(0.4, 0.9)
    img = cv2.GaussianBlur(img, (3, 3), sigma)
    lo, hi = rng.uniform(0, 45), rng.uniform(225, 255)  # ink not quite black, paper not quite white
    img = lo + img * (hi - lo) / 255.0
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ang = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(ang) * xx / max(w, 1) + np.sin(ang) * yy / max(h, 1))
    ramp = (ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1e-6)
    img = img * (1.0 - rng.uniform(0.0, 0.28) * ramp)
    img = img + rng.normal(0, rng.uniform(6, 14), img.shape)
    img[rng.random(img.shape) < 0.002] = 0  # salt and pepper specks
    ok, buf = cv2.imencode(".jpg", np.clip(img, 0, 255).astype(np.uint8),
                           [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(60, 86))])
    return buf.tobytes()


def make_scan(vector_pdf: Path, out_pdf: Path, dpi: int, seed: int) -> None:
    """An image-only one-page PDF of the vector page's size holding its noisy scan."""
    import pymupdf
    with pymupdf.open(vector_pdf) as src:
        page = src[0]
        jpg = scan_jpeg(page, dpi, seed)
        rect = page.rect
    doc = pymupdf.open()
    p = doc.new_page(width=rect.width, height=rect.height)
    p.insert_image(p.rect, stream=jpg)
    tmp = out_pdf.with_suffix(".tmp.pdf")
    doc.save(tmp, garbage=3, deflate=True)
    doc.close()
    tmp.replace(out_pdf)


def build(models: list[Path], out: Path, themes, variants, dpi: int = 150, log=print) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    counts = {"rendered": 0, "scanned": 0, "skipped": 0, "failed": 0}
    failed = out / "failed.txt"
    done_failed = set(failed.read_text().split()) if failed.exists() else set()
    driver_cm = None
    driver = None
    try:
        for m in models:
            for theme in themes:
                stem = f"{m.stem}-{theme}"
                vec = out / f"{stem}-vector.pdf"
                if stem in done_failed:
                    counts["failed"] += 1
                    continue
                need = [v for v in variants if not (out / f"{stem}-{v}.truth.bpmn").exists()]
                if not need:
                    counts["skipped"] += 1
                    continue
                if not (out / f"{stem}-vector.truth.bpmn").exists():
                    if driver is None:
                        driver_cm = rb.chromium()
                        driver = driver_cm.__enter__()
                    try:
                        truth = rb.render(m.read_text(encoding="utf-8"), vec, theme=theme, driver=driver)
                    except Exception as e:  # noqa: BLE001 - reported, the rest of the corpus goes on
                        log(f"{stem}: render failed: {str(e)[:120]}")
                        with open(failed, "a") as f:
                            f.write(stem + "\n")
                        counts["failed"] += 1
                        continue
                    (out / f"{stem}-vector.truth.json").write_text(truth.to_json(), encoding="utf-8")
                    (out / f"{stem}-vector.truth.bpmn").write_text(truth.xml, encoding="utf-8")
                    counts["rendered"] += 1
                if "scan" in variants and not (out / f"{stem}-scan.truth.bpmn").exists():
                    make_scan(vec, out / f"{stem}-scan.pdf", dpi, _seed(stem))
                    shutil.copyfile(out / f"{stem}-vector.truth.json", out / f"{stem}-scan.truth.json")
                    shutil.copyfile(out / f"{stem}-vector.truth.bpmn", out / f"{stem}-scan.truth.bpmn")
                    counts["scanned"] += 1
                if "vector" not in variants:  # the vector page was only a step to the scan
                    for suffix in (".pdf", ".truth.bpmn", ".truth.json"):
                        (out / f"{stem}-vector{suffix}").unlink(missing_ok=True)
    finally:
        if driver_cm is not None:
            driver_cm.__exit__(None, None, None)
    return counts


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=Path, required=True, help="folder of .bpmn files with DI")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--limit", type=int, default=None, help="the first N models (sorted by name)")
    ap.add_argument("--themes", nargs="+", default=["default", "bold"], choices=sorted(rb.THEMES))
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    ap.add_argument("--dpi", type=int, default=150)
    args = ap.parse_args(argv)
    why = rb.available()
    if why:
        ap.exit(2, why + "\n")
    models = sorted(args.models.glob("*.bpmn"))[: args.limit]
    t0 = time.time()
    counts = build(models, args.out, args.themes, args.variants, args.dpi,
                   log=lambda s: print(s, file=sys.stderr))
    print(f"{len(models)} models x {len(args.themes)} themes: {counts} in {time.time() - t0:.0f} s -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
