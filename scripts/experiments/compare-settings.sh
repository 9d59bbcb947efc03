#!/usr/bin/env bash
# Two settings compared as a user would (issue 33's acceptance): plain `run`s of one binary on
# 4M rows in 40 files, the default against `target_partitions=1`, both counting instructions
# (`--instructions 3`, two counting processes: one per core), then `bench-runner compare A B`. Its exit code is kept in exit-code.
# Usage: [COUNTED=N] scripts/experiments/compare-settings.sh [ROWS] [extra run arguments for both…]
# (COUNTED: counted runs per query, default 3)
# Output: results/ci/settings-<time>/{default,partitions-1}.json, comparison.{md,json}, compare.txt
set -euo pipefail
cd "$(dirname "$0")/../.."
rows=${1:-4000000}
shift || true
target=${CARGO_TARGET_DIR:-target}
out=results/ci/settings-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
# One copy for both runs, so nothing can rebuild it halfway.
cp "$target/release/bench-runner" "$out/bench-runner"
data=data/settings-$rows
"$target/release/data-gen" --rows "$rows" --files 40 --out "$data" --reuse --quiet
run() { # NAME ARGS…
  local name=$1
  shift
  echo "== run: $name" >&2
  /usr/bin/time -f "$name: %e s" "$out/bench-runner" run --data "$data" --iterations 8 \
    --instructions "${COUNTED:-3}" --instr-processes 2 --quiet --out "$out/$name.json" "$@"
}
run default "$@"
run partitions-1 --set datafusion.execution.target_partitions=1 "$@"
rc=0
"$out/bench-runner" compare "$out/default.json" "$out/partitions-1.json" \
  --markdown "$out/comparison.md" --json "$out/comparison.json" >"$out/compare.txt" || rc=$?
echo "$rc" >"$out/exit-code"
rm -f "$out/bench-runner"
cat "$out/compare.txt"
echo "compare exited $rc; results: $out" >&2
