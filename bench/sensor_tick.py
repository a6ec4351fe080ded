"""A busy inbox: how long the folder sensor's ticks take with 10,000 files, and adding 1,000 partitions at once.

    .venv/bin/python bench/sensor_tick.py [--files 10000]

Ticks run against a real (temporary, SQLite) Dagster instance, as the daemon runs them. The first ticks hash the
new files, at most ``max_files_per_tick`` (500) each; once every file is known a tick only lists and stats.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import dagster as dg

from pdf_ocr_pipeline.resources import WarehouseResource
from pdf_ocr_pipeline.sensors import build_new_documents_sensor


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, dg.instance_for_test() as instance:
        inbox = Path(tmp) / "input"
        inbox.mkdir()
        old = time.time() - 3600
        for i in range(args.files):
            f = inbox / f"document-{i:05d}.pdf"
            f.write_bytes(b"%PDF-1.7\n% " + os.urandom(4096) + b"\n%%EOF\n")
            os.utime(f, (old, old))
        warehouse = WarehouseResource(data_dir=str(Path(tmp) / "data"), inbox_dir=str(inbox))
        sensor = build_new_documents_sensor(min_file_age_s=10, max_files_per_tick=500)
        cursor, tick, requested = None, 0, 0
        times = []
        while True:
            ctx = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"warehouse": warehouse})
            started = time.perf_counter()
            result = sensor(ctx)
            for request in result.dynamic_partitions_requests or []:
                instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
            times.append(time.perf_counter() - started)
            cursor, tick = result.cursor, tick + 1
            requested += len(result.run_requests)
            if not result.run_requests:
                break
        print(f"{args.files} files: {tick - 1} ticks took them on ({requested} runs requested, "
              f"{len(instance.get_dynamic_partitions('documents'))} partitions); "
              f"slowest of those ticks {max(times[:-1]):.2f} s (partitions added in the same step)")
        print(f"a steady tick (nothing new) over {args.files} files: {times[-1]:.2f} s; "
              f"cursor {len(json.dumps(json.loads(cursor))) / 1e6:.1f} MB")
        keys = [f"bulk-{i}" for i in range(1000)]
        started = time.perf_counter()
        instance.add_dynamic_partitions("documents", keys)
        print(f"adding 1,000 partitions at once: {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
