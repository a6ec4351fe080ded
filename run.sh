#!/usr/bin/env bash
# One command: set up (first time only) and run the pipeline on the sample PDFs in data/input.
# Arguments go to `pdf-ocr run` (e.g. ./run.sh --pages ocr, or ./run.sh my.pdf --data-dir /tmp/out).
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
exec .venv/bin/pdf-ocr run "$@"
