#!/usr/bin/env bash
# GPU smoke run (issue #3): the real engine through `pdf-ocr run --engine deepseek-vllm` on a few pages, against
# `pdf-ocr serve` with DeepSeek-OCR's architecture and dummy weights (the output text is noise; the plumbing,
# batching, retries, Tesseract fallback and metrics are real). Runs ON the lent GPU machine after the shared/gpu
# kit is installed, with the pipeline's own wheels (pymupdf, polars, dagster, ...) carried to /tmp/whl and
# Tesseract's language data to /tmp/tessdata. Writes the run's log and tables to $OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/smoke-out}
MODEL=${MODEL:-/tmp/gpu/payload/model}
mkdir -p "$OUT"
export PYTHONPATH=/tmp/site:$PWD VLLM_USE_FLASHINFER_SAMPLER=0 VLLM_NO_USAGE_STATS=1 HF_HUB_OFFLINE=1 \
  TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1

# Install only the carried wheels whose distribution the GPU image lacks (its torch, numpy, pydantic stay).
python3 - <<'PY'
import glob, re, subprocess, sys
from importlib.metadata import PackageNotFoundError, version
missing = []
for whl in sorted(glob.glob("/tmp/whl/*.whl")):
    name = re.sub(r"[-_.]+", "-", whl.rsplit("/", 1)[1].split("-")[0]).lower()
    try:
        version(name)
    except PackageNotFoundError:
        missing.append(whl)
print("installing", len(missing), "wheels:", " ".join(w.rsplit("/", 1)[1].split("-")[0] for w in missing))
subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile",
                "--no-cache-dir", "--target", "/tmp/site", *missing], check=True)
PY
python3 -c "import sys; sys.path.insert(0, 'bench'); import gpu_engine; gpu_engine._install_plugin_entry_point()"

# The Transformers engine (issue 18) on a tiny random DeepSeek-OCR-2 config: real generate, real batching, parsed
# into OcrPages. These tests skip on CI, which has no torch (the registry's Linux torch brings 5.7 GB of CUDA
# libraries); the GPU image has torch and transformers. bench/transformers_engine.py measures the engine here.
python3 -m pytest -q -o addopts="" -p no:cacheprovider tests/engines/test_deepseek_transformers.py \
  tests/engines/test_families.py 2>&1 | tee "$OUT/transformers_tests.log"

python3 -m pdf_ocr_pipeline.cli serve --model "$MODEL" --load-format dummy --port 8000 --max-num-seqs 64 \
  --gpu-memory-utilization 0.5 --api-server-count 2 >"$OUT/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; pkill -f "vllm.entrypoints" 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  curl -sf http://127.0.0.1:8000/v1/models >/dev/null && break
  kill -0 $server 2>/dev/null || { tail -50 "$OUT/server.log"; exit 1; }
  sleep 1
done

export PDF_OCR_ENGINE=deepseek-vllm PDF_OCR_MODEL="$MODEL" PDF_OCR_VLLM_URLS=http://127.0.0.1:8000 \
  TESSDATA_PREFIX=/tmp/tessdata DAGSTER_HOME=
data=$(mktemp -d)
set +e
python3 -m pdf_ocr_pipeline.cli run data/input/linn-scan.pdf data/input/A.1.0.pdf data/input/huckleberry-finn-p22.pdf \
  --data-dir "$data" --pages ocr 2>&1 | tee "$OUT/run.log"
rc=${PIPESTATUS[0]}
set -e
echo "pdf-ocr run exit code: $rc"
python3 - "$data" <<'PY' | tee "$OUT/ocr_pages.txt"
import sys, polars as pl
d = sys.argv[1]
pl.Config.set_tbl_cols(-1); pl.Config.set_tbl_width_chars(250); pl.Config.set_fmt_str_lengths(60)
t = pl.read_parquet(f"{d}/warehouse/ocr_pages/*.parquet")
print(t.select("doc_id", "page_no", "engine", "model", "source", "attempts", "tokens_in", "tokens_out",
               "finish_reason", "latency_s", "error"))
print(t.select("doc_id", "page_no", pl.col("raw_output").str.slice(0, 120)))
print(pl.read_parquet(f"{d}/warehouse/run_metrics/*.parquet").select(
    "doc_id", "stage", "pages", "pages_ocr", "pages_fallback", "failures", "seconds", "pages_per_s", "tokens_out",
    "tokens_per_s", "engine_busy_share", "gpu_memory_mb", "engine"))
PY
cp -r "$data/warehouse/ocr_pages" "$OUT/" 2>/dev/null || true
