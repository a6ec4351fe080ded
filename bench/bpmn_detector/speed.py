"""CPU time a page of the committed ONNX detector, with the rule-based raster search beside it (same pages, same run).

    .venv/bin/python -m bench.bpmn_detector.speed [--pages 20] [--threads 2] [--corpus DIR] [--baseline OLD.onnx]

Pages: the corpus's PDF pages (default: the committed sample, ``tests/fixtures/bpmn/corpus/sample``) rendered at 150 dpi (the pipeline's pictures, ``document.RASTER_DPI``), grey,
decoded before the clock. Per page: the detector alone (``OnnxDetector.detect``: both sizes, decoded), the
detector's diagram as the pipeline builds it (``extract_detected``: the rules too, no words), and the rules alone
(``extract_raster``, no words); with ``--baseline``, that ONNX file's detector alone on the same pages, in turn with
the committed one. Medians and means in seconds, one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=ROOT / "tests" / "fixtures" / "bpmn" / "corpus" / "sample")
    ap.add_argument("--pages", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dpi", type=float, default=150.0)
    ap.add_argument("--baseline", default=None, help="another ONNX detector (an earlier model) timed beside it")
    args = ap.parse_args(argv)
    os.environ["PDF_OCR_DETECTOR_THREADS"] = str(args.threads)
    import numpy as np
    import pymupdf

    from pdf_ocr_pipeline.bpmn.raster.detector.extract import extract_detected
    from pdf_ocr_pipeline.bpmn.raster.detector.runtime import load
    from pdf_ocr_pipeline.bpmn.raster.extract import extract_raster
    pages = []
    for pdf in sorted(args.corpus.glob("*.pdf"))[: args.pages]:
        with pymupdf.open(pdf) as doc:
            pix = doc[0].get_pixmap(dpi=int(args.dpi), colorspace=pymupdf.csGRAY, alpha=False)
        pages.append(np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.stride)[:, : pix.width].copy())
    det = load()
    base = load(args.baseline) if args.baseline else None
    for d in (det, base):
        if d is not None:
            d.detect(pages[0])  # the session's first run allocates its buffers
    times: dict[str, list[float]] = {"detector": [], "detector_pipeline": [], "rules": []}
    if base is not None:
        times["baseline_detector"] = []
    for gray in pages:
        if base is not None:
            tb = time.perf_counter()
            base.detect(gray)
            times["baseline_detector"].append(time.perf_counter() - tb)
        t0 = time.perf_counter()
        det.detect(gray)
        t1 = time.perf_counter()
        extract_detected(gray, [], page_no=1, dpi=args.dpi)
        t2 = time.perf_counter()
        extract_raster(gray, [], page_no=1, dpi=args.dpi)
        t3 = time.perf_counter()
        times["detector"].append(t1 - t0)
        times["detector_pipeline"].append(t2 - t1)
        times["rules"].append(t3 - t2)
    out = {"pages": len(pages), "threads": args.threads, "dpi": args.dpi, "sizes": sorted({g.shape for g in pages})[:3],
           "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
           **{k: {"median_s": round(statistics.median(v), 3), "mean_s": round(statistics.mean(v), 3)}
              for k, v in times.items()}}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
