#!/usr/bin/env python3
"""Self cost (instructions) per function in callgrind dumps, and the functions whose cost
differs most between them: where two counts of the same query part.
usage: callgrind_diff.py DUMP DUMP... [--top N]"""
import argparse
import collections


def self_costs(path):
    """{function: instructions spent in it, callees excluded}, and the dump's total."""
    costs, fn, skip, total = collections.Counter(), None, False, None
    with open(path, errors="replace") as f:
        for line in f:
            if skip:  # the line after calls= is the call's inclusive cost, not self cost
                skip = False
                continue
            if line.startswith("fn="):
                fn = line[3:].strip()
            elif line.startswith("calls="):
                skip = True
            elif line.startswith("totals:"):
                total = int(line.split()[1])
            elif fn and line[:1] and (line[0].isdigit() or line[0] in "+-*"):
                parts = line.split()
                if len(parts) >= 2:
                    costs[fn] += int(parts[1])
    return costs, total


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dumps", nargs="+", metavar="DUMP")
    parser.add_argument("--top", type=int, default=25, help="functions shown (25)")
    opts = parser.parse_args()
    args, top = opts.dumps, opts.top
    if len(args) < 2:
        parser.error("two dumps or more")
    data = [self_costs(p) for p in args]
    for path, (costs, total) in zip(args, data):
        print(f"{path}: total {total:,}, self costs sum to {sum(costs.values()):,}")
    totals = [t for _, t in data if t is not None]
    if totals:
        print(f"totals range over {max(totals) - min(totals):,}")
    names = set().union(*(c for c, _ in data))
    rows = sorted(((max(v) - min(v), f, v) for f in names
                   for v in [[c.get(f, 0) for c, _ in data]]), reverse=True)
    for r, f, v in rows[:top]:
        print(f"{r:>12,}  " + " ".join(f"{x:>13,}" for x in v) + f"  {f[:100]}")


if __name__ == "__main__":
    main()
