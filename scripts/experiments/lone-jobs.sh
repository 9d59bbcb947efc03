#!/usr/bin/env bash
# What a lone Ballista job pays that jobs under load share: CPU seconds and minor page faults
# per job (the load's own serial jobs counted in) of the scheduler and of the executors, per
# query, for lone jobs (constant 1/s, one in flight) and a saturated cluster (Poisson 3/s), on
# one local cluster of 2 executors; and the
# cluster's CPU over 20 s idle. VAR=VALUE arguments go to the cluster's processes (for
# example MIMALLOC_PURGE_DELAY=-1); LONE_ONLY=1 skips the saturated runs.
# Usage: scripts/experiments/lone-jobs.sh OUT [VAR=VALUE...]   (data: data/logs-20000000)
# Output: OUT/phases.txt (utime+stime ticks and minflt of scheduler, executor 1, executor 2,
# before and after each phase), OUT/<query>-<lone|busy>.json (load results); a table on stdout.
set -euo pipefail
[[ $# -ge 1 ]] || { echo "usage: lone-jobs.sh OUT [VAR=VALUE...]" >&2; exit 2; }
out=$1; shift
cd "$(dirname "$0")/../.."
B=${CARGO_TARGET_DIR:-target}/release
D=data/logs-20000000
"$B/data-gen" --rows 20000000 --files 4 --out "$D" --reuse --quiet
mkdir -p "$out"; st=$out/cluster
rm -rf "$st" "$out/phases.txt"
env "$@" "$B/bench-runner" cluster up --state-dir "$st" --executors 2 >/dev/null
trap '"$B/bench-runner" cluster down --state-dir "$st" >/dev/null 2>&1 || true' EXIT
pids=$(python3 -c "import json,sys;s=json.load(open(sys.argv[1]));print(s['scheduler']['pid'],*[e['pid'] for e in s['executors']])" "$st/cluster.json")
snap() { for p in $pids; do awk '{print $14+$15, $10}' "/proc/$p/stat"; done | tr '\n' ' '; }
load() { "$B/bench-runner" load --engine ballista --cluster-state-dir "$st" --data "$D" --quiet "$@"; }
# One of each query first (the cluster's caches warm), then 20 s with nothing running.
load --query agg_status_codes --query sort_top_latency --query filter_one_day --rate 1 \
  --arrivals constant --duration 3 --out "$out/warm.json"
s0=$(snap); sleep 20; echo "idle 20 before $s0 after $(snap)" >> "$out/phases.txt"
modes=("lone --rate 1 --arrivals constant")
[[ ${LONE_ONLY:-0} == 1 ]] || modes+=("busy --rate 3 --arrivals poisson")
for q in sort_top_latency agg_status_codes; do
  for mode in "${modes[@]}"; do
    read -r name args <<< "$mode"
    s0=$(snap)
    # shellcheck disable=SC2086 # the mode's flags, split on purpose
    load --query "$q" --duration 20 --out "$out/$q-$name.json" $args
    echo "$q-$name 0 before $s0 after $(snap)" >> "$out/phases.txt"
  done
done
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
print("| phase | requests | CPU s / request (load's figure) | scheduler ms / job | executors ms / job | minor faults / job |")
print("|---|---:|---:|---:|---:|---:|")
for line in open(f"{out}/phases.txt"):
    p = line.split(); name = p[0]; i = p.index("before")
    b = list(map(int, p[i + 1:i + 7])); a = list(map(int, p[i + 8:i + 14]))
    d = [a[k] - b[k] for k in range(6)]
    if name == "idle":
        print(f"| idle, 20 s | 0 | | {d[0] * 10} ms in all | {(d[2] + d[4]) * 10} ms in all | {d[1] + d[3] + d[5]} in all |")
        continue
    result = json.load(open(f"{out}/{name}.json"))
    r = result["rates"][0]
    n = sum(1 for q in r["requests"] if q.get("started_us") is not None)
    # The load's own serial runs are jobs too: one cold and warm_runs warm per query.
    jobs = n + sum(1 + s.get("warm_runs", 1) for s in result["serial"])
    print(f"| {name} | {n} | {r['cpu_ms_per_request'] / 1e3:.3f} | {d[0] * 10 / jobs:.1f} | "
          f"{(d[2] + d[4]) * 10 / jobs:.0f} | {(d[1] + d[3] + d[5]) / jobs:.0f} |")
PY
