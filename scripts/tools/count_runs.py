#!/usr/bin/env python3
"""Per query, the counted runs of each process of scripts/experiments/count-runs.sh OUT, their
spread, and how far apart the processes' medians are when each takes its first k runs.
usage: count_runs.py OUT"""
import glob
import re
import statistics
import sys


def dumps(out):
    """{query: {process: [(run, instructions)]}} from the region dumps under OUT/p*/."""
    data = {}
    for proc in sorted(glob.glob(f"{out}/p*")):
        for path in glob.glob(f"{proc}/callgrind.out.*"):
            text = open(path, errors="replace").read()
            region = re.search(r"^desc: Trigger: Client Request: logbench:(\S+):(\d+)$", text, re.M)
            totals = re.findall(r"^totals: (\d+)", text, re.M)
            if region and totals:
                runs = data.setdefault(region.group(1), {}).setdefault(proc.rsplit("/", 1)[1], [])
                runs.append((int(region.group(2)), int(totals[-1])))
    return data


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: count_runs.py OUT")
    data = dumps(sys.argv[1])
    if not data:
        sys.exit(f"count_runs.py: no region dumps under {sys.argv[1]}/p*/")
    print("| query | process | M instructions per run, in run order | spread (max - min) / median |")
    print("|---|---|---|---:|")
    medians = {}
    for query, procs in sorted(data.items()):
        for proc, runs in sorted(procs.items()):
            counts = [ir for _, ir in sorted(runs)]
            spread = (max(counts) - min(counts)) / statistics.median(counts) * 100
            print(f"| {query} | {proc} | {' '.join(f'{c / 1e6:.2f}' for c in counts)} | {spread:.3f} % |")
            medians.setdefault(query, []).append(counts)
    width = min(len(c) for cs in medians.values() for c in cs)
    ks = [k for k in (1, 3, 5, 7, 9, 15) if k <= width]
    print()
    print("| query | " + " | ".join(f"medians of {k} runs apart" for k in ks) + " |")
    print("|---|" + "---:|" * len(ks))
    for query, counts in sorted(medians.items()):
        cells = []
        for k in ks:
            m = [statistics.median(c[:k]) for c in counts]
            cells.append(f"{(max(m) - min(m)) / statistics.median(m) * 100:.3f} %")
        print(f"| {query} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
