#!/usr/bin/env bash
# The gate on two known changes, both sides the same binary (docs/gate-calibration.md):
#  1. batch_size 8192 -> 4096 (`--new-set datafusion.execution.batch_size=4096`): a small,
#     real slowdown on most queries;
#  2. a threads-only change: tokio's worker threads 1 -> 4 (TOKIO_WORKER_THREADS, set by a
#     wrapper each side runs as its binary), the same plan and partitions; the multi-threaded
#     instruction count sees it on the queries whose tasks hand work across threads.
# Judged with the shipped thresholds. Exit 1 from a gate that flags is a result, not a failure.
# Usage: scripts/experiments/gate-known-changes.sh [extra gate arguments…]
# Output: results/ci/known-<time>/{batch-size,threads}/ and their logs
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${CARGO_TARGET_DIR:-target}
out=results/ci/known-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
# One copy serves as both sides, so nothing can rebuild it halfway.
cp "$target/release/bench-runner" "$out/bench-runner"
runner=$(realpath "$out/bench-runner")
gate() { # NAME ARGS…
  local name=$1
  shift
  echo "== gate: $name" >&2
  "$runner" gate --out "$out/$name" "$@" >"$out/$name.log" 2>&1 || [ $? -eq 1 ]
  tail -n 1 "$out/$name.log" >&2
}
gate batch-size --base-bin "$runner" --new-bin "$runner" \
  --new-set datafusion.execution.batch_size=4096 "$@"
for w in 1 4; do
  printf '#!/bin/sh\nTOKIO_WORKER_THREADS=%s exec %s "$@"\n' "$w" "$runner" >"$out/bench-runner-w$w"
  chmod +x "$out/bench-runner-w$w"
done
gate threads --base-bin "$out/bench-runner-w1" --new-bin "$out/bench-runner-w4" "$@"
rm -f "$out/bench-runner" "$out"/bench-runner-w*
echo "results: $out" >&2
