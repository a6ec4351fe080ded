"""Render ``.bpmn`` files with bpmn-js, bpmn-visualization or the sketchy look and score the BPMN stage on the
renders against the renderer's truth.

    .venv/bin/python -m bench.bpmn_corpus.score_renders FILE.bpmn ... [--renderer bpmnjs|bpmnvis|sketchy]
        [--theme default|bold] [--out DIR]

Prints per file and total shapes F1 / flows F1 / labels exact (``bench.bpmn_eval.score``; truth in page points,
no fitted transform). A measurement, never a tuning loop: do not tune on renders of the MIWG reference models.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.bpmn_corpus import render_bpmnjs as rb
from bench.bpmn_corpus import render_bpmnvis as rv
from bench.bpmn_corpus import render_sketchy as rs

#: bpmnvis: bpmn-visualization; sketchy: bpmn-js-sketchy (rough.js, seed 1); both default theme only
RENDERERS = {"bpmnjs": rb, "bpmnvis": rv, "sketchy": rs}


def main(argv=None) -> int:
    from bench.bpmn_eval import FLOW_CLASSES, SHAPE_CLASSES, Score, per_class_table, score
    from pdf_ocr_pipeline.bpmn import extract_diagram
    from pdf_ocr_pipeline.bpmn.model import BpmnDiagram
    from pdf_ocr_pipeline.bpmn.parse_truth import parse_bpmn
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", type=Path, nargs="+")
    ap.add_argument("--renderer", choices=sorted(RENDERERS), default="bpmnjs")
    ap.add_argument("--theme", choices=sorted(rb.THEMES), default="default", help="bpmnjs only")
    ap.add_argument("--out", type=Path, default=None, help="keep the renders here (default: a temp dir)")
    ap.add_argument("--per-class", action="store_true")
    args = ap.parse_args(argv)
    if args.renderer != "bpmnjs" and args.theme != "default":
        ap.error("--theme is for --renderer bpmnjs")
    r = RENDERERS[args.renderer]
    why = r.available()
    if why:
        ap.exit(2, why + "\n")
    out = args.out or Path(tempfile.mkdtemp(prefix=f"{args.renderer}-renders-"))
    total, t0 = Score(), time.time()
    print("| file | shapes | shape F1 | flows | flow F1 | labels exact |\n|---|---|---|---|---|---|")
    with rb.chromium() as driver:
        for f in args.files:
            try:
                truth = r.render_file(f, out, theme=args.theme, driver=driver)
            except Exception as e:  # noqa: BLE001 - a model the renderer cannot import is reported, not fatal
                print(f"| {f.stem} | render failed: {str(e)[:80]} |")
                continue
            pred = extract_diagram(Path(truth.pdf), 1) or BpmnDiagram(page_no=1, width=0.0, height=0.0)
            s = score(pred, parse_bpmn(truth.xml))
            total.add(s)
            _, _, fs, ns = s.prf(SHAPE_CLASSES)
            _, _, ff, nf = s.prf(FLOW_CLASSES)
            print(f"| {f.stem} | {ns} | {fs:.3f} | {nf} | {ff:.3f} | {s.exact}/{s.labels} |")
    _, _, fs, ns = total.prf(SHAPE_CLASSES)
    _, _, ff, nf = total.prf(FLOW_CLASSES)
    print(f"| **total ({args.renderer} {args.theme})** | {ns} | {fs:.3f} | {nf} | {ff:.3f} | {total.exact}/{total.labels} |")
    print(f"\n{time.time() - t0:.0f} s; renders in {out}")
    if args.per_class:
        print(per_class_table(total))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
