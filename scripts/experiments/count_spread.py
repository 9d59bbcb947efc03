#!/usr/bin/env python3
"""Per query: instructions per execution across result files (one per process) of one config.
usage: spread.py LABEL=glob ...  -> table of median count, cross-process spread, within spread"""
import glob, json, sys, statistics
configs = [a.split("=", 1) for a in sys.argv[1:]]
data = {}
for label, pat in configs:
    files = sorted(glob.glob(pat))
    per = {}
    for f in files:
        d = json.load(open(f))
        eng = [e for e in d["engines"] if e["engine"]["name"] == "datafusion"][0]
        for q in eng["queries"]:
            c = q.get("instructions")
            if c:
                per.setdefault(q["name"], []).append((c["per_execution"], c["spread_ppm"]))
    data[label] = (len(files), per)
qs = sorted({q for _, (n, per) in data.items() for q in per})
hdr = "| query | " + " | ".join(f"{l}: M/exec, across {data[l][0]} processes, within (median)" for l, _ in configs) + " |"
print(hdr)
print("|---|" + "---:|" * len(configs))
for q in qs:
    cells = []
    for l, _ in configs:
        v = data[l][1].get(q)
        if not v:
            cells.append("-"); continue
        counts = [x[0] for x in v]; med = statistics.median(counts)
        across = (max(counts) - min(counts)) / med * 100
        within = statistics.median([x[1] for x in v]) / 1e4
        cells.append(f"{med/1e6:.2f} M, {across:.3f} %, {within:.3f} %")
    print(f"| {q} | " + " | ".join(cells) + " |")
