#!/usr/bin/env bash
# A/A calibration of the CI gate: runs `bench-runner gate` N times with BASE and NEW the same
# binary, then `bench-runner calibrate` reports the false-alarm rate and the minimum detectable
# slowdown per query and category on this machine.
# Usage: scripts/experiments/gate-aa.sh [N] [extra gate arguments…]   (default N = 20)
# Output: results/ci/aa-<time>/run-XX/ and results/ci/aa-<time>/calibration.md
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-20}
shift || true
target=${CARGO_TARGET_DIR:-target}
runner=$target/release/bench-runner
out=results/ci/aa-$(date -u +%Y%m%dT%H%M%SZ)

echo "== building the release runner" >&2
cargo build --release --workspace --bin bench-runner
mkdir -p "$out"
# One copy serves as both sides, so nothing can rebuild it halfway.
cp "$runner" "$out/bench-runner"
for i in $(seq -w 1 "$n"); do
  echo "== A/A run $i of $n" >&2
  # Exit 1 (a false alarm) is a result here, not a failure of the script.
  "$out/bench-runner" gate --base-bin "$out/bench-runner" --new-bin "$out/bench-runner" \
    --out "$out/run-$i" "$@" >"$out/run-$i.log" 2>&1 || [ $? -eq 1 ]
  tail -n 1 "$out/run-$i.log" >&2
done
rm -f "$out/bench-runner"
"$runner" calibrate "$out"/run-*/ --markdown "$out/calibration.md" --json "$out/calibration.json"
echo "calibration: $out/calibration.md" >&2
