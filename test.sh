#!/usr/bin/env bash
# One command: set up (first time only) and run the tests. Arguments go to pytest (e.g. ./test.sh -k sensor).
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh --test
exec .venv/bin/python -m pytest "$@"
