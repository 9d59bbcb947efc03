#!/usr/bin/env bash
# Across-process spread of the instruction counts for one setup: N processes of
# `BIN run --instructions 3` on 200k rows in 2 files, two at a time as the gate counts,
# with the environment given as VAR=VALUE arguments. Tables: count_spread.py over the output.
# Usage: scripts/experiments/count-spread.sh OUT N BIN [VAR=VALUE...]
# Output: OUT/p<i>.json, one result file per process.
set -euo pipefail
[[ $# -ge 3 ]] || { echo "usage: count-spread.sh OUT N BIN [VAR=VALUE...]" >&2; exit 2; }
out=$1 n=$2 bin=$(realpath "$3")
shift 3
cd "$(dirname "$0")/../.."
target=${CARGO_TARGET_DIR:-target}
"$target/release/data-gen" --rows 200000 --files 2 --out data/gate-200000 --reuse --quiet
mkdir -p "$out"
# Two processes at a time, as count-setups.sh runs its setups.
seq 0 $((n - 1)) | xargs -P 2 -I '{}' env "$@" "$bin" run --data data/gate-200000 --iterations 1 \
  --warmup 0 --instructions 3 --quiet --out "$out/p{}.json"
