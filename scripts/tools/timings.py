#!/usr/bin/env python3
"""Two `cargo build --timings` reports side by side: wall time, unit time, the largest units.

usage: scripts/tools/timings.py A.html B.html [--top N]

Reads the unit table cargo writes into its HTML report (`const UNIT_DATA = [...]`) and the
report's "Total time" line. Prints per build: wall seconds, units, summed unit seconds, the
build scripts' compile seconds (host profile: a gauge of machine speed); then the
N units with the most time in A beside the same units in B, with B/A.
"""

import json
import re
import sys


def load(path):
    with open(path, encoding="utf-8") as f:
        html = f.read()
    m = re.search(r"const UNIT_DATA = (\[.*?\]);\s*\n", html, re.S)
    if not m:
        sys.exit(f"{path}: no UNIT_DATA table: not a cargo --timings report")
    units = json.loads(m.group(1))
    total = re.search(r"Total time:</td><td>([0-9.]+)s", html)
    wall = float(total.group(1)) if total else max(u["start"] + u["duration"] for u in units)
    per = {}
    # Build scripts are compiled for the host with the build-override profile, whatever the
    # release profile's debug and codegen settings: their time is a rough gauge of machine
    # speed between two builds that differ in those settings.
    scripts = sum(u["duration"] for u in units if u.get("target", "").strip() == "build-script")
    for u in units:
        key = f'{u["name"]} {u.get("target", "").strip()}'.strip()
        per[key] = per.get(key, 0.0) + u["duration"]
    return wall, len(units), per, scripts


def main():
    args = sys.argv[1:]
    top = 15
    if "--top" in args:
        i = args.index("--top")
        top = int(args[i + 1])
        del args[i : i + 2]
    if len(args) != 2:
        sys.exit(__doc__.strip().splitlines()[2])
    (wa, na, a, ca), (wb, nb, b, cb) = load(args[0]), load(args[1])
    sa, sb = sum(a.values()), sum(b.values())
    print(f"{'':34} {'A':>9} {'B':>9} {'B/A':>6}")
    print(f"{'wall s':34} {wa:9.1f} {wb:9.1f} {wb / wa:6.3f}")
    print(f"{'units':34} {na:9d} {nb:9d}")
    print(f"{'unit time s':34} {sa:9.1f} {sb:9.1f} {sb / sa:6.3f}")
    if ca and cb:
        print(f"{'build scripts (host profile) s':34} {ca:9.1f} {cb:9.1f} {cb / ca:6.3f}")
    for k, v in sorted(a.items(), key=lambda kv: -kv[1])[:top]:
        w = b.get(k)
        ratio = f"{w / v:6.3f}" if w and v else "     -"
        print(f"{k[:34]:34} {v:9.1f} {(w or 0):9.1f} {ratio}")


if __name__ == "__main__":
    main()
