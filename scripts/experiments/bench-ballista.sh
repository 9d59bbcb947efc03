#!/usr/bin/env bash
# DataFusion vs Ballista with 1 and 2 executors, side by side in one run, on one dataset.
# Then the fixed cost per query (trivial queries) and the harness's share of it.
# Usage: scripts/experiments/bench-ballista.sh [ROWS] [ITERATIONS]   (defaults: 20000000, 5)
# Results go to results/local/ballista-bench-<time>/; the table is printed at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
rows=${1:-20000000}
iterations=${2:-5}
target=${CARGO_TARGET_DIR:-target}
runner=$target/release/bench-runner
data=data/ballista-bench-$rows
out=results/local/ballista-bench-$(date -u +%Y%m%dT%H%M%SZ)
state=$out/cluster
mkdir -p "$out"

echo "== building release binaries" >&2
cargo build --release -p data-gen -p bench-runner -p logbench-cluster --bins

if ! "$runner" run --data "$data" --query agg_status_codes --iterations 1 --warmup 0 --quiet \
  --out "$out/probe.json" >/dev/null 2>&1; then
  echo "== generating $rows rows into $data" >&2
  "$target/release/data-gen" --rows "$rows" --files 16 --out "$data" --force
fi
rm -f "$out/probe.json"

cleanup() { "$runner" cluster down --state-dir "$state" >/dev/null 2>&1 || true; }
trap cleanup EXIT

run() { # ENGINE NAME QUERIES-DIR [extra args]
  local engine=$1 name=$2 queries=$3
  shift 3
  echo "== $name" >&2
  "$runner" run --engine "$engine" --data "$data" --queries "$queries" \
    --iterations "$iterations" --warmup 1 --quiet --cluster-state-dir "$state" \
    --out "$out/$name.json" "$@" || true
}

for set in queries scripts/experiments/fixed-cost; do
  tag=$(basename "$set")
  run datafusion "datafusion-$tag" "$set"
  for n in 1 2; do
    "$runner" cluster up --executors "$n" --state-dir "$state" >/dev/null
    run ballista "ballista-${n}x-$tag" "$set"
    "$runner" cluster down --state-dir "$state" >/dev/null
  done
done

echo "== harness share of Ballista's fixed cost (bare SessionContext::remote vs harness)" >&2
"$runner" cluster up --executors 2 --state-dir "$state" >/dev/null
"$runner" overhead --engine ballista --data "$data" --queries scripts/experiments/fixed-cost \
  --cluster-state-dir "$state" --rounds 10 --per-round 5 | tee "$out/overhead.txt"
"$runner" cluster down --state-dir "$state" >/dev/null

python3 - "$out" <<'PY'
import json, sys, os
out = sys.argv[1]
def load(name):
    p = os.path.join(out, name + ".json")
    if not os.path.exists(p):
        return {}
    r = json.load(open(p))
    return {q["name"]: q for q in r["engines"][0]["queries"]}
for tag in ("queries", "fixed-cost"):
    df, b1, b2 = (load(f"{n}-{tag}") for n in ("datafusion", "ballista-1x", "ballista-2x"))
    print(f"\n| query | DataFusion p50 ms | Ballista 1 exec p50 ms | ratio | Ballista 2 exec p50 ms | ratio | sched+exec ms (2 exec, median) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, q in df.items():
        def p50(d):
            x = d.get(name)
            return x["latency"]["p50"] / 1e3 if x and x.get("latency") else float("nan")
        a, b, c = p50(df), p50(b1), p50(b2)
        jobs = (b2.get(name) or {}).get("distributed") or {}
        js = sorted(j["scheduling_ms"] + j["execution_ms"] for j in jobs.get("jobs", []))
        server = js[len(js) // 2] if js else float("nan")
        print(f"| {name} | {a:.1f} | {b:.1f} | {b/a:.2f} | {c:.1f} | {c/a:.2f} | {server} |")
PY
echo "results: $out" >&2
