#!/usr/bin/env bash
# Set up (first time only) and open the Dagster UI on http://127.0.0.1:3000 with the sensor and schedule running.
# Runs and their history are kept in data/dagster_home. Set DAGSTER_HOST=0.0.0.0 to listen beyond this machine.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
export DAGSTER_HOME="${DAGSTER_HOME:-$PWD/data/dagster_home}"
mkdir -p "$DAGSTER_HOME"
[ -f "$DAGSTER_HOME/dagster.yaml" ] || cp dagster.yaml "$DAGSTER_HOME/dagster.yaml"
exec .venv/bin/dagster dev -w workspace.yaml -h "${DAGSTER_HOST:-127.0.0.1}" -p "${DAGSTER_PORT:-3000}"
