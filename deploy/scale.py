#!/usr/bin/env python3
"""Scales the rendered manifests' CPU and memory by a factor (`./deploy.sh k8s up --scale F`).

    kubectl kustomize DIR | deploy/scale.py --scale F | kubectl apply -f -

The manifests are sized for the smallest cluster deploy/check.py holds them to (minikube's
defaults: 2 CPUs, 2200 MB). On a larger one, --scale multiplies every container's requests and
limits in the Deployments and Jobs, and the executors' --vcores (task slots, one per CPU of
their limit) and --memory-pool (the same share of their memory limit) with them. Other objects
pass through unchanged.
"""

import argparse
import math
import re
import sys

import yaml

MI = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024 * 1024,
      "k": 1000 / 1048576, "M": 1e6 / 1048576, "G": 1e9 / 1048576}


def millicores(q):
    q = str(q)
    return float(q[:-1]) if q.endswith("m") else float(q) * 1000


def mebibytes(q):
    q = str(q)
    for unit in sorted(MI, key=len, reverse=True):
        if q.endswith(unit):
            return float(q[: -len(unit)]) * MI[unit]
    return float(q) / 1048576


def cpu_text(m):
    m = max(1, round(m))
    return str(m // 1000) if m % 1000 == 0 else f"{m}m"


def mem_text(mi):
    mi = max(1, round(mi))
    return f"{mi // 1024}Gi" if mi % 1024 == 0 else f"{mi}Mi"


def scale_args(args, factor, cpu_limit_m):
    out = []
    for a in args:
        m = re.fullmatch(r"--memory-pool=(\d+)([KMG])", a)
        if m:
            a = f"--memory-pool={max(1, round(int(m.group(1)) * factor))}{m.group(2)}"
        elif a.startswith("--vcores=") and cpu_limit_m is not None:
            a = f"--vcores={max(1, math.floor(cpu_limit_m / 1000 + 0.5))}"
        out.append(a)
    return out


def scale_doc(d, factor):
    if d.get("kind") not in ("Deployment", "Job"):
        return d
    spec = d["spec"]["template"]["spec"]
    for c in spec.get("initContainers", []) + spec.get("containers", []):
        res = c.get("resources", {})
        for part in ("requests", "limits"):
            r = res.get(part, {})
            if "cpu" in r:
                r["cpu"] = cpu_text(millicores(r["cpu"]) * factor)
            if "memory" in r:
                r["memory"] = mem_text(mebibytes(r["memory"]) * factor)
        if c.get("command") == ["logbench-executor"]:
            limit = res.get("limits", {}).get("cpu")
            c["args"] = scale_args(c.get("args", []), factor, millicores(limit) if limit else None)
    return d


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, required=True)
    a = ap.parse_args()
    if not a.scale > 0:
        sys.exit("scale.py: --scale must be above zero")
    docs = [scale_doc(d, a.scale) for d in yaml.safe_load_all(sys.stdin) if d]
    yaml.safe_dump_all(docs, sys.stdout, sort_keys=False, width=120)


if __name__ == "__main__":
    main()
