#!/usr/bin/env python3
"""How far apart the two sides of A/A gates are per query when a side's counted runs are
reduced to one figure in different ways: the median of the first 3 runs (what every query got
before `-- instr-runs:`), the median of all (what the gate takes), the mean, the minimum. Reads each gate's instructions/{base,new}.json.
usage: aa_estimators.py AA-DIR   (the output of scripts/experiments/gate-aa.sh)"""
import glob
import json
import statistics
import sys


def runs(path):
    """{query: [instructions of each counted run]} of one side's result file."""
    out = {}
    for engine in json.load(open(path))["engines"]:
        for q in engine["queries"]:
            if q.get("instructions"):
                out[q["name"]] = q["instructions"]["runs"]
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: aa_estimators.py AA-DIR")
    gates = []
    for d in sorted(glob.glob(f"{sys.argv[1]}/run-*/")):
        if not glob.glob(f"{d}comparison.json"):
            print(f"aa_estimators.py: skipping {d}: not finished (no comparison.json)", file=sys.stderr)
            continue
        try:
            gates.append((runs(f"{d}instructions/base.json"), runs(f"{d}instructions/new.json")))
        except (OSError, KeyError, ValueError) as e:
            print(f"aa_estimators.py: skipping {d}: {e}", file=sys.stderr)
    if not gates:
        sys.exit(f"aa_estimators.py: no gate with instructions/{{base,new}}.json under {sys.argv[1]}")
    ways = {
        "median of 3": lambda r: statistics.median(r[:3]),
        "median": statistics.median,
        "mean": statistics.fmean,
        "minimum": min,
    }
    print(f"Largest |NEW/BASE - 1| over {len(gates)} A/A gates, by how a side's runs become one figure.")
    print()
    print("| query | runs a side | " + " | ".join(ways) + " |")
    print("|---|---:|" + "---:|" * len(ways))
    for query in sorted(gates[0][0]):
        n = min(len(side[query]) for g in gates for side in g)
        cells = []
        for f in ways.values():
            dev = max(abs(f(b[query]) / f(a[query]) - 1) for a, b in gates)
            cells.append(f"{dev * 100:.3f} %")
        print(f"| {query} | {n} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
