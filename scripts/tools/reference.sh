#!/usr/bin/env bash
# Makes RESULT.json the committed reference run: copied into results/reference/ (replacing the
# one there) and its charts rendered by `bench-runner report` into the top-level charts/, which
# README shows. tests/report.rs checks that the two still match byte for byte.
# Usage (from anywhere, release binaries built): scripts/tools/reference.sh RESULT.json [ENGINES]
# ENGINES: the engines the run must hold, in order (default datafusion,ballista,duckdb).
set -euo pipefail
[[ ($# -eq 1 || $# -eq 2) && -f $1 ]] || { echo "usage: scripts/tools/reference.sh RESULT.json [ENGINES]" >&2; exit 2; }
engines=${2:-datafusion,ballista,duckdb}
src=$(realpath "$1")
cd "$(dirname "$0")/../.."
bin=${CARGO_TARGET_DIR:-target}/release
"$bin/bench-runner" check "$src" --engines "$engines"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin/bench-runner" report "$src" --out "$tmp/report" >/dev/null
mkdir -p results/reference charts
rm -f results/reference/*.json charts/*.svg
cp "$src" "results/reference/$(basename "$src")"
cp "$tmp"/report/charts/*.svg charts/
echo "results/reference/$(basename "$src") ($(du -k "$src" | cut -f1) KiB), $(find charts -maxdepth 1 -name "*.svg" | wc -l) charts in charts/"
