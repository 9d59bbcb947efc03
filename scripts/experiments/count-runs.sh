#!/usr/bin/env bash
# Run-to-run and process-to-process spread of the instruction counts, with every region's dump
# kept for per-function comparisons: N processes (two at a time, as the gate counts) of
# `bench-runner count-instructions` under callgrind with the gate's options, RUNS counted runs of
# each query, on 200k rows in 2 files. Extra arguments go to count-instructions (--query NAME,
# --set KEY=VALUE). Tables: scripts/tools/count_runs.py OUT; per function:
# scripts/tools/callgrind_diff.py DUMP DUMP...
# Usage: scripts/experiments/count-runs.sh OUT N RUNS [count-instructions args...]
set -euo pipefail
[[ $# -ge 3 ]] || { echo "usage: count-runs.sh OUT N RUNS [count-instructions args...]" >&2; exit 2; }
out=$1 n=$2 runs=$3
shift 3
cd "$(dirname "$0")/../.."
bin=${CARGO_TARGET_DIR:-target}/release
"$bin/data-gen" --rows 200000 --files 2 --out data/gate-200000 --reuse --quiet
for i in $(seq 1 "$n"); do mkdir -p "$out/p$i"; done
export bin runs out
# shellcheck disable=SC2016 # expanded by the inner bash, per process
seq 1 "$n" | xargs -P 2 -I '{}' bash -c 'valgrind --tool=callgrind --instr-atstart=no \
  --fair-sched=yes --compress-strings=no --compress-pos=no \
  --callgrind-out-file="$out/p$0/callgrind.out.%p" "$bin/bench-runner" count-instructions \
  --data data/gate-200000 --runs "$runs" "$@" > "$out/p$0/log" 2>&1' '{}' "$@"
