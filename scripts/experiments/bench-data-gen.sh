#!/usr/bin/env bash
# The data-gen benchmark: end-to-end vs writer floor (data-gen-bench), then DuckDB vs data-gen.
# Usage: scripts/experiments/bench-data-gen.sh [ROWS] [THREADS]   (defaults: 20000000, all cores)
set -euo pipefail
cd "$(dirname "$0")/../.."
rows=${1:-20000000}
threads=${2:-$(nproc)}
target=${CARGO_TARGET_DIR:-target}

echo "== building release binaries" >&2
cargo build --release -p data-gen --bins

echo "== end-to-end vs writer floor ($rows rows, $threads threads)" >&2
"$target/release/data-gen-bench" --rows "$rows" --threads "$threads"

echo "== DuckDB vs data-gen ($rows rows, $threads threads)" >&2
venv=$target/bench-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet duckdb==2.0.0
fi
"$venv/bin/python" scripts/experiments/duckdb_vs_data_gen.py --data-gen "$target/release/data-gen" \
  --rows "$rows" --threads "$threads"
