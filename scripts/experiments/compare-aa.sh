#!/usr/bin/env bash
# A/A calibration of plain `bench-runner compare`: N sequential `run`s of one binary on one
# dataset, then `bench-runner calibrate --sequential` judges every earlier run against every
# later one as `compare` does, and reports false alarms and the floor plain compares need.
# Usage: scripts/experiments/compare-aa.sh DATA [N] [extra run arguments…]   (default N = 12)
# Output: results/ci/compare-aa-<time>/run-XX.json and calibration.md
set -euo pipefail
cd "$(dirname "$0")/../.."
data=${1:?usage: scripts/experiments/compare-aa.sh DATA [N] [extra run arguments…]}
n=${2:-12}
shift 2 || shift || true
target=${CARGO_TARGET_DIR:-target}
runner=$target/release/bench-runner
out=results/ci/compare-aa-$(date -u +%Y%m%dT%H%M%SZ)

echo "== building the release runner" >&2
cargo build --release --workspace --bin bench-runner
mkdir -p "$out"
# One copy for every run, so nothing can rebuild it halfway.
cp "$runner" "$out/bench-runner"
for i in $(seq -w 1 "$n"); do
  echo "== run $i of $n" >&2
  "$out/bench-runner" run --data "$data" --iterations 8 --quiet --out "$out/run-$i.json" "$@"
done
rm -f "$out/bench-runner"
"$runner" calibrate --sequential "$out"/run-*.json --markdown "$out/calibration.md" --json "$out/calibration.json"
echo "calibration: $out/calibration.md" >&2
