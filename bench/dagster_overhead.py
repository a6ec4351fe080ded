"""Dagster's share of a document's run, as the UI and the daemon run it (not `pdf-ocr run`'s fresh process).

    .venv/bin/python bench/dagster_overhead.py --pages 50 --executors multiprocess in_process
    .venv/bin/python bench/dagster_overhead.py --kind scan --pages 50 --repeat 1

Builds a document of N pages (``bench/scale.py``'s: the GOST report repeated, read from its text layer, or a
scanned page repeated, OCR'd by Tesseract), registers it as a partition in a
real instance (SQLite, a temporary ``DAGSTER_HOME`` with the repo's ``dagster.yaml``) and runs ``ocr_documents_job``
on it with ``execute_job`` (the run worker's code path: steps in subprocesses with the multiprocess executor, in the
run's process with ``in_process``). Reports the run's duration as Dagster records it (its start and end events, what
the UI shows), the stages' own seconds (``run_metrics``) and the rest: Dagster's step machinery, event writes,
checks, step processes. Each executor runs ``--repeat`` times, alternately.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))


def pipeline_job():
    """The job as the code location builds it from the environment (step subprocesses rebuild it the same way)."""
    from pdf_ocr_pipeline.definitions import build_definitions
    from pdf_ocr_pipeline.settings import Settings

    return build_definitions(Settings.from_env()).resolve_job_def("ocr_documents_job")


def run_once(pdf: Path, home: Path, executor: str) -> dict:
    import dagster as dg

    from pdf_ocr_pipeline.inbox import DocumentRegistry
    from pdf_ocr_pipeline.partitions import document_partitions_def

    data = home / f"data-{executor}-{time.monotonic_ns()}"
    os.environ.update(DAGSTER_HOME=str(home), PDF_OCR_DATA_DIR=str(data), PDF_OCR_EXECUTOR=executor)
    with dg.DagsterInstance.get() as instance:
        doc_id = DocumentRegistry(data).register(pdf)
        instance.add_dynamic_partitions(document_partitions_def.name, [doc_id])
        started = time.perf_counter()
        quiet = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
        with dg.execute_job(dg.reconstructable(pipeline_job), instance=instance, run_config=quiet,
                            tags={"dagster/partition": doc_id}) as result:
            wall = time.perf_counter() - started
            assert result.success, "the run failed"
            stats = instance.get_run_stats(result.run_id)
    from pdf_ocr_pipeline.report import read_table

    metrics = read_table(data, "run_metrics")
    return {"run_s": stats.end_time - stats.start_time, "call_s": wall, "stage_s": metrics["seconds"].sum(),
            "steps": stats.steps_succeeded}


def main() -> None:
    from scale import build

    ap = argparse.ArgumentParser()
    ap.add_argument("--kind", choices=["text", "scan"], default="text")
    ap.add_argument("--pages", type=int, default=50)
    ap.add_argument("--executors", nargs="+", default=["multiprocess", "in_process"])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--one", help="run once with this executor and print the result (used by the driver)")
    ap.add_argument("--pdf", type=Path)
    ap.add_argument("--home", type=Path)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_once(args.pdf, args.home, args.one)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
        pdf = home / f"{args.kind}-{args.pages}.pdf"
        build(args.kind, args.pages, pdf)
        print(f"{'executor':13s} {'kind':4s} {'pages':>5s} {'run s':>6s} {'stages s':>8s} {'outside':>8s} {'steps':>5s} "
              f"{'execute_job s':>13s}")
        for _ in range(args.repeat):
            for executor in args.executors:  # each run from a fresh process, as the run launcher starts one
                out = subprocess.run([sys.executable, __file__, "--one", executor, "--pdf", str(pdf),
                                      "--home", str(home)], capture_output=True, text=True, check=True).stdout
                r = json.loads(next(ln for ln in out.splitlines() if ln.startswith("{")))
                print(f"{executor:13s} {args.kind:4s} {args.pages:5d} {r['run_s']:6.2f} {r['stage_s']:8.2f} "
                      f"{1 - r['stage_s'] / r['run_s']:8.1%} {r['steps']:5d} {r['call_s']:13.2f}", flush=True)


if __name__ == "__main__":
    main()
