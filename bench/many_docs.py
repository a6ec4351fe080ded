"""Many small documents, one GPU engine: do pages of several documents share the engine's batches?

The real path a user has: `dagster dev` (webserver + daemon), PDFs dropped into the inbox, the sensor launching one
run per document, the OCR step sending pages to a vLLM server (`PDF_OCR_ENGINE=deepseek-vllm`). Only the server is
a stand-in (no GPU here): an OpenAI-compatible endpoint that behaves like continuous batching, each page holding
one of ``--slots`` sequence slots for ``--page-s`` seconds (its decode), however many other pages are in flight.
It records how many pages were in flight at once: the batch the GPU would have decoded together.

Two instance settings, same documents, same stand-in:
- one document at a time: ``max_concurrent_runs: 1``;
- side by side: the shipped ``dagster.yaml`` (4 runs at once; the OCR step takes no pool with vLLM servers).

    .venv/bin/python bench/many_docs.py --docs 8 --pages 2 --page-s 8
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.dagster_dev import dagster_dev, fresh_instance_dirs, gql  # noqa: E402
from tests.fakes import OpenAIServerStandIn  # noqa: E402

ANSWER = "<|ref|>text<|/ref|><|det|>[[100, 100, 900, 300]]<|/det|>\nA page of a small document.\n"


class BatchingStandIn(OpenAIServerStandIn):
    slots: threading.Semaphore
    page_s: float
    lock = threading.Lock()
    in_flight = 0
    peak = 0
    pages = 0
    timeline: list[tuple[float, int]] = []

    def do_POST(self):
        self.read_body()
        cls = BatchingStandIn
        with cls.slots:
            with cls.lock:
                cls.in_flight += 1
                cls.pages += 1
                cls.peak = max(cls.peak, cls.in_flight)
                cls.timeline.append((time.time(), cls.in_flight))
            time.sleep(cls.page_s)
            with cls.lock:
                cls.in_flight -= 1
                cls.timeline.append((time.time(), cls.in_flight))
        self.send_json(self.completion(ANSWER, 282, 20))


def make_scans(folder: Path, docs: int, pages: int) -> None:
    """``docs`` image-only PDFs (no text layer, so every page goes to the OCR engine), distinct pixels each."""
    import pymupdf as fitz
    from PIL import Image, ImageDraw

    for d in range(docs):
        pdf = fitz.open()
        for p in range(pages):
            img = Image.new("L", (850, 1100), 255)
            draw = ImageDraw.Draw(img)
            for line in range(30):
                draw.text((60, 60 + line * 32), f"document {d} page {p} line {line} " + "x" * (line % 17), fill=0)
            buf = io.BytesIO()
            img.save(buf, format="PNG")
            page = pdf.new_page(width=612, height=792)
            page.insert_image(page.rect, stream=buf.getvalue())
        pdf.save(folder / f"small-{d:02d}.pdf")


def finished_runs(client) -> dict[str, int]:
    query = "{ runsOrError { ... on Runs { results { status } } } }"
    runs = gql(client, query)["runsOrError"]["results"]
    counts: dict[str, int] = {}
    for r in runs:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return counts


def measure(label: str, max_runs: int, args, server_url: str) -> dict:
    cls = BatchingStandIn
    cls.in_flight, cls.peak, cls.pages, cls.timeline = 0, 0, 0, []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        home, inbox, data = fresh_instance_dirs(tmp)
        yaml = (home / "dagster.yaml").read_text()
        (home / "dagster.yaml").write_text(yaml.replace("max_concurrent_runs: 4", f"max_concurrent_runs: {max_runs}"))
        env = {"PDF_OCR_DATA_DIR": str(data), "PDF_OCR_INBOX_DIR": str(inbox), "PDF_OCR_SENSOR_INTERVAL_S": "2",
               "PDF_OCR_MIN_FILE_AGE_S": "0", "PDF_OCR_ENGINE": "deepseek-vllm", "PDF_OCR_VLLM_URLS": server_url,
               "PDF_OCR_PAGES": "ocr", "PDF_OCR_DPI": "100"}
        staging = tmp / "staging"
        staging.mkdir()
        make_scans(staging, args.docs, args.pages)
        with dagster_dev(home, tmp / "dagster.log", env) as (client, _):
            started = time.time()
            for f in sorted(staging.iterdir()):
                f.rename(inbox / f.name)
            while True:
                counts = finished_runs(client)
                done = sum(counts.get(s, 0) for s in ("SUCCESS", "FAILURE", "CANCELED"))
                if done >= args.docs or time.time() - started > args.timeout_s:
                    break
                time.sleep(1)
            wall = time.time() - started
    t0 = cls.timeline[0][0] if cls.timeline else 0
    busy = sum(b[0] - a[0] for a, b in zip(cls.timeline, cls.timeline[1:]) if a[1] > 0)
    return {"mode": label, "max_concurrent_runs": max_runs, "docs": args.docs, "pages": cls.pages,
            "runs": counts, "wall_s": round(wall, 1), "peak_pages_in_one_batch": cls.peak,
            "engine_busy_s": round(busy, 1), "engine_span_s": round(cls.timeline[-1][0] - t0, 1) if t0 else None}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=8)
    ap.add_argument("--pages", type=int, default=2, help="pages per document")
    ap.add_argument("--page-s", type=float, default=8.0, help="the stand-in's decode time of one page")
    ap.add_argument("--slots", type=int, default=256, help="the stand-in's sequence slots (vLLM's max_num_seqs)")
    ap.add_argument("--timeout-s", type=float, default=900)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "many_docs_results.jsonl")
    args = ap.parse_args()
    BatchingStandIn.slots = threading.Semaphore(args.slots)
    BatchingStandIn.page_s = args.page_s
    server = ThreadingHTTPServer(("127.0.0.1", 0), BatchingStandIn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    results = [measure("one document at a time", 1, args, url), measure("side by side", 4, args, url)]
    results[1]["gain"] = round(results[0]["wall_s"] / results[1]["wall_s"], 2)
    with open(args.out, "a") as f:
        for r in results:
            r["date"] = time.strftime("%Y-%m-%d")
            print(json.dumps(r, ensure_ascii=False))
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    server.shutdown()


if __name__ == "__main__":
    main()
