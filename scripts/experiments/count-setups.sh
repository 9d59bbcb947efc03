#!/usr/bin/env bash
# The instruction-count setups side by side (docs/methodology.md, "Since 2026-12-03"):
#  1. 3 processes each of {system, mimalloc} x {current, multi}: `run --instructions 3` on 200k
#     rows in 2 files, two processes at a time; per query the spread across and within processes;
#  2. the threads-only change (TOKIO_WORKER_THREADS 1 against 4) on both runtimes, mimalloc;
#  3. wall time, glibc malloc against mimalloc, one interleaved gate of the same binary.
# Usage: scripts/experiments/count-setups.sh     Output: results/ci/count-setups-<time>/
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${CARGO_TARGET_DIR:-target}
runner=$(realpath "$target/release/bench-runner")
data_gen=$target/release/data-gen
out=results/ci/count-setups-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
"$data_gen" --rows 200000 --files 2 --out data/gate-200000 --reuse --quiet

count() { # ALLOCATOR RUNTIME WORKERS NAME
  env LOGBENCH_ALLOCATOR="$1" ${3:+TOKIO_WORKER_THREADS=$3} "$runner" run --data data/gate-200000 \
    --iterations 1 --warmup 0 --instructions 3 --instr-runtime "$2" --quiet --out "$out/$4.json"
}
export -f count
export runner out
for i in 0 1 2; do for a in system mimalloc; do for r in current multi; do
  echo "$a $r '' $a-$r-$i"; done; done; done | xargs -P 2 -L 1 bash -c 'count "$@"' _
for r in multi current; do for w in 1 4; do echo "mimalloc $r $w w$w-$r"; done; done |
  xargs -P 2 -L 1 bash -c 'count "$@"' _
python3 scripts/experiments/count_spread.py \
  "glibc, one thread=$out/system-current-*.json" "glibc, multi=$out/system-multi-*.json" \
  "mimalloc, one thread=$out/mimalloc-current-*.json" "mimalloc, multi=$out/mimalloc-multi-*.json" \
  | tee "$out/spread.md"

for a in system mimalloc; do
  printf '#!/bin/sh\nLOGBENCH_ALLOCATOR=%s exec %s "$@"\n' "$a" "$runner" >"$out/bench-runner-$a"
  chmod +x "$out/bench-runner-$a"
done
"$runner" gate --base-bin "$out/bench-runner-system" --new-bin "$out/bench-runner-mimalloc" \
  --instr-runs 0 --max-minutes 6 --out "$out/allocators"
