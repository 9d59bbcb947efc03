#!/usr/bin/env python3
"""Fails (exit 1, one line) unless a bench-runner result file is clean: every query ok on every
engine named, the same queries on each, and no answer that differs between engines.

    scripts/check-result.py RESULT.json [--engines datafusion,ballista]
"""
import argparse
import json
import sys


def problems(run, engines):
    names = [e["engine"]["name"] for e in run["engines"]]
    out = []
    if not run.get("complete", True):
        out.append("the run is incomplete (complete: false)")
    if engines and names != engines:
        out.append(f"engines {names}, expected {engines}")
    if len({tuple(q["name"] for q in e["queries"]) for e in run["engines"]}) > 1:
        out.append("the engines ran different queries")
    for e in run["engines"]:
        for q in e["queries"]:
            if q["status"] != "ok":
                out.append(f'{e["engine"]["name"]}/{q["name"]} failed: {q.get("error")}')
    for m in run.get("answer_mismatches", []):
        out.append(f'{m["query"]}: answers differ between engines')
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("result")
    ap.add_argument("--engines", default="", help="comma-separated, in order")
    a = ap.parse_args()
    try:
        with open(a.result) as f:
            run = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"check-result: {a.result}: {e}")
    found = problems(run, [x for x in a.engines.split(",") if x])
    if found:
        sys.exit(f"check-result: {a.result}: " + "; ".join(found))
    n = len(run["engines"][0]["queries"]) if run["engines"] else 0
    print(f"check-result: {a.result}: {n} queries ok on "
          f"{' and '.join(e['engine']['name'] for e in run['engines'])}, no answer differs")


if __name__ == "__main__":
    main()
