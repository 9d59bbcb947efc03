#!/usr/bin/env python3
"""The docker compose file for `./deploy.sh compose`, generated from the Kubernetes manifests.

The manifests are the one source of truth: every container of the compose file takes its
command line, user, read-only root, dropped capabilities, no-new-privileges, CPU and memory
limits and mounts from the pod that runs the same program on Kubernetes (deploy/k8s/base, and
the multinode overlay's patches for the object-store mode). Only what Kubernetes fills in is
filled in here, the way Kubernetes would: the Deployments' restartPolicy Always as the
restart policy `always`, $(VAR) from the ConfigMap and the pod's fields
(POD_NAME becomes executor-N; POD_IP becomes the container's name, which resolves to its
address on the cluster network), Services become network aliases, emptyDir volumes become
named volumes (tmpfs for /tmp), the data claim a named volume.

Topology: the scheduler sits on two private networks, `client` and `cluster`; executors on
`cluster` only; the runner's one-shot containers on `client` only, so every answer they get
crosses the scheduler's Flight proxy. With --store s3, moto's S3 server sits on both (the
runner reads the dataset too). Both networks are internal: nothing leaves the machine and no
port is published.

    deploy/compose.py --executors N --rows N --files N --iterations N|auto --run-id ID
                      [--store volume|s3] [--image logbench:dev] [--moto-image TAG]
                      [--project logbench] [--s3-key ID:SECRET] [--scale F]
                      [--load-rates LIST] [--load-duration S] > compose.yaml
    deploy/compose.py --check   # the compose file's commands against the manifests' (exit 1)
"""

import argparse
import os
import pathlib
import sys

try:
    import yaml
except ImportError:
    sys.exit("compose.py: PyYAML is needed (scripts/ci/pytools.sh installs it, or apt install python3-yaml)")

K8S = pathlib.Path(__file__).resolve().parent / "k8s"
sys.path.insert(0, str(K8S.parent))
from scale import mebibytes, millicores, scale_doc  # noqa: E402  (one parser, one scaling)
from kvars import expand as kexpand  # noqa: E402  ($(VAR) as Kubernetes reads it)
SCHEDULER_PORT = 50050
S3_HOST = "logbench-s3"


class Plain(yaml.SafeDumper):
    """Every value written out in full: no &anchors for values used twice."""

    def ignore_aliases(self, data):
        return True


def docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def find(items, kind, name):
    for d in items:
        if d.get("kind") == kind and d["metadata"]["name"] == name:
            return d
    raise SystemExit(f"compose.py: no {kind} {name} in the manifests")


def pod_spec(workload):
    return workload["spec"]["template"]["spec"]


def named(containers, name):
    for c in containers or []:
        if c["name"] == name:
            return c
    raise SystemExit(f"compose.py: no container {name}")


def manifests(store):
    """The pods' specs as Kubernetes would run them: the base, with the multinode overlay's
    container patches (by container name, as a strategic merge does) for the object store."""
    base = docs(K8S / "base/scheduler.yaml") + docs(K8S / "base/executor.yaml") + docs(K8S / "base/jobs.yaml")
    kustom = docs(K8S / "base/kustomization.yaml")[0]
    config = literals(kustom)
    pods = {
        "scheduler": pod_spec(find(base, "Deployment", "logbench-scheduler")),
        "executor": pod_spec(find(base, "Deployment", "logbench-executor")),
        "data-gen": pod_spec(find(base, "Job", "logbench-data-gen")),
        "bench": pod_spec(find(base, "Job", "logbench-bench")),
        "load": pod_spec(find(base, "Job", "logbench-load")),
    }
    services = [d["metadata"]["name"] for d in base if d["kind"] == "Service"]
    if store == "s3":
        multi = K8S / "overlays/multinode"
        mk = docs(multi / "kustomization.yaml")[0]
        config.update(literals(mk))
        for name, file in [("scheduler", "scheduler.yaml"), ("executor", "executor.yaml"),
                           ("bench", "bench.yaml"), ("load", "load.yaml"), ("data-gen", "data-gen.yaml")]:
            patch = pod_spec(docs(multi / file)[0])
            merge_pod(pods[name], patch)
    return pods, services, config


def literals(kustomization):
    """Every ConfigMap generator's literals, as one environment (the pods read them all)."""
    return dict(s.split("=", 1) for g in kustomization.get("configMapGenerator", [])
                for s in g.get("literals", []))


def merge_pod(pod, patch):
    """The strategic merge of the overlay's pod patches, for the fields they use."""
    for key in ("containers", "initContainers"):
        for pc in patch.get(key, []):
            if pc.get("$patch") == "delete":
                pod[key] = [c for c in pod.get(key, []) if c["name"] != pc["name"]]
                continue
            existing = [c for c in pod.get(key, []) if c["name"] == pc["name"]]
            if existing:
                c = existing[0]
                for k, v in pc.items():
                    if k == "volumeMounts":
                        drop = {m["name"] for m in v if m.get("$patch") == "delete"}
                        c[k] = [m for m in c.get(k, []) if m["name"] not in drop] + [
                            m for m in v if m.get("$patch") != "delete"]
                    else:
                        c[k] = v
            else:
                pod.setdefault(key, []).append(pc)
    for v in patch.get("volumes", []):
        pod["volumes"] = [x for x in pod.get("volumes", []) if x["name"] != v["name"]]
        if v.get("$patch") != "delete":
            pod["volumes"].append(v)


def expand(arg, env):
    try:
        return kexpand(arg, env, strict=True)
    except ValueError as e:
        raise SystemExit(f"compose.py: {e}")


def command(container, env):
    return [expand(a, env) for a in container.get("command", []) + container.get("args", [])]


def service(pod, container, env, project, volumes, name):
    """One compose service running `container` of `pod` as Kubernetes would."""
    psc = pod.get("securityContext", {})
    csc = container.get("securityContext", {})
    s = {
        "image": None,
        "command": command(container, env),
        "user": f"{psc['runAsUser']}:{psc['runAsGroup']}",
        "read_only": bool(csc.get("readOnlyRootFilesystem")),
        "cap_drop": list(csc.get("capabilities", {}).get("drop", [])),
        "security_opt": ["no-new-privileges:true"] if csc.get("allowPrivilegeEscalation") is False else [],
    }
    limits = container.get("resources", {}).get("limits", {})
    if "cpu" in limits:
        # Docker refuses a limit above the machine's CPUs, where Kubernetes would not
        # schedule the pod on such a node: capped at what this machine has.
        s["cpus"] = min(millicores(limits["cpu"]) / 1000, float(os.cpu_count() or 1))
    if "memory" in limits:
        s["mem_limit"] = round(mebibytes(limits["memory"]) * 1048576)
    kinds = {v["name"]: v for v in pod.get("volumes", [])}
    mounts, tmpfs = [], []
    for m in container.get("volumeMounts", []):
        v = kinds[m["name"]]
        ro = ":ro" if m.get("readOnly") else ""
        if "persistentVolumeClaim" in v:
            mounts.append(f"data:{m['mountPath']}{ro}")
            volumes.add("data")
        elif m["mountPath"] == "/tmp":
            tmpfs.append("/tmp")
        else:
            vol = f"{m['name']}-{name}" if m["name"] == "work" else m["name"]
            mounts.append(f"{vol}:{m['mountPath']}{ro}")
            volumes.add(vol)
    if mounts:
        s["volumes"] = mounts
    if tmpfs:
        s["tmpfs"] = tmpfs
    if container.get("envFrom"):
        s["environment"] = {k: v for k, v in env.items() if not k.startswith("POD_")}
    return s


def build(a):
    pods, services, config = manifests(a.store)
    if a.scale != 1:
        # As `deploy.sh k8s --scale` scales the rendered manifests.
        for pod in pods.values():
            scale_doc({"kind": "Job", "spec": {"template": {"spec": pod}}}, a.scale)
    config.update(LOGBENCH_ROWS=a.rows, LOGBENCH_FILES=a.files, LOGBENCH_ITERATIONS=a.iterations,
                  LOGBENCH_RUN_ID=a.run_id, LOGBENCH_IMAGE=a.image,
                  LOGBENCH_LOAD_RATES=a.load_rates, LOGBENCH_LOAD_DURATION=a.load_duration)
    if a.store == "s3":
        key_id, secret = a.s3_key.split(":", 1)
        config.update(AWS_ENDPOINT=f"http://{S3_HOST}:9000", AWS_ACCESS_KEY_ID=key_id,
                      AWS_SECRET_ACCESS_KEY=secret)
    p = a.project
    volumes = set()
    out = {"services": {}, "networks": {}, "volumes": {}}
    for net in ("client", "cluster"):
        out["networks"][net] = {"internal": True, "labels": {"io.logbench.project": p}}

    def add(name, pod, container, env, networks, **extra):
        s = service(pod, container, env, p, volumes, name)
        s["image"] = a.image
        s["networks"] = networks
        s["labels"] = {"io.logbench.project": p, "io.logbench.role": name}
        s.update(extra)
        out["services"][name] = s

    sched = pods["scheduler"]
    add("scheduler", sched, named(sched["containers"], "scheduler"), dict(config),
        {"client": {"aliases": list(services)}, "cluster": {"aliases": list(services)}},
        container_name=f"{p}-scheduler", hostname="scheduler", restart="always")
    ex = pods["executor"]
    for i in range(1, a.executors + 1):
        cname = f"{p}-executor-{i}"
        env = dict(config, POD_NAME=f"executor-{i}", POD_IP=cname)
        add(f"executor-{i}", ex, named(ex["containers"], "executor"), env, ["cluster"],
            container_name=cname, hostname=cname, depends_on=["scheduler"], restart="always")
    if a.store == "s3":
        out["services"]["s3"] = {
            "image": a.moto_image,
            "command": ["-H", "0.0.0.0", "-p", "9000"],
            "user": "65532:65532", "read_only": True, "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges:true"], "tmpfs": ["/tmp"],
            "container_name": f"{p}-s3",
            "networks": {"client": {"aliases": [S3_HOST]}, "cluster": {"aliases": [S3_HOST]}},
            "labels": {"io.logbench.project": p, "io.logbench.role": "s3"},
        }
        # Replaces the overlay's MinIO-client init container: an unsigned PUT creates the bucket
        # in moto (it accepts unsigned requests), and an existing one answers 409.
        bucket = config["LOGBENCH_BUCKET"]
        out["services"]["bucket"] = {
            "image": a.moto_image, "profiles": ["tools"],
            "entrypoint": ["/usr/bin/python3.11", "-c",
                           "import sys, urllib.request, urllib.error\n"
                           f"r = urllib.request.Request('http://{S3_HOST}:9000/{bucket}', method='PUT')\n"
                           "try: urllib.request.urlopen(r, timeout=30)\n"
                           "except urllib.error.HTTPError as e:\n"
                           "    if e.code != 409: sys.exit(f'bucket: HTTP {e.code}')\n"],
            "user": "65532:65532", "read_only": True, "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges:true"], "networks": ["client"],
        }
    dg = pods["data-gen"]
    if a.store == "s3":
        add("data-gen", dg, named(dg["initContainers"], "data-gen"), dict(config), [],
            network_mode="none", profiles=["tools"])
        out["services"]["data-gen"].pop("networks")
        add("upload", dg, named(dg["containers"], "upload"), dict(config), ["client"], profiles=["tools"])
    else:
        add("data-gen", dg, named(dg["containers"], "data-gen"), dict(config), [],
            network_mode="none", profiles=["tools"])
        out["services"]["data-gen"].pop("networks")
    bench = pods["bench"]
    add("bench", bench, named(bench["containers"], "bench-runner"), dict(config), ["client"],
        profiles=["tools"])
    # The load sweep (deploy.sh bench --load-rates): the Job's DataFusion sweep, then its
    # Ballista one, each a service of its own, run one after the other as the Job runs them.
    load = pods["load"]
    add("load-datafusion", load, named(load["initContainers"], "load-datafusion"), dict(config),
        ["client"], profiles=["tools"])
    add("load-ballista", load, named(load["containers"], "load-ballista"), dict(config),
        ["client"], profiles=["tools"])
    # The readiness check: the scheduler has registered every executor.
    waiter = dict(out["services"]["bench"])
    waiter.pop("volumes", None)
    waiter.pop("environment", None)
    waiter["command"] = ["bench-runner", "cluster", "executors",
                         f"--scheduler=logbench-scheduler:{SCHEDULER_PORT}",
                         f"--wait-for={a.executors}", "--timeout=180"]
    waiter["labels"] = {"io.logbench.project": p, "io.logbench.role": "wait"}
    out["services"]["wait"] = waiter
    for v in sorted(volumes):
        out["volumes"][v] = {"labels": {"io.logbench.project": p}}
    return out


def check():
    """Each compose service's command is the manifests' (rendered by kubectl kustomize, so the
    overlays' patches apply as Kubernetes applies them), with the same values filled in."""
    import subprocess
    bad = 0
    for store, overlay in (("volume", "local"), ("s3", "multinode")):
        before = bad
        rendered = list(yaml.safe_load_all(subprocess.run(
            ["kubectl", "kustomize", str(K8S / "overlays" / overlay)], check=True,
            capture_output=True, text=True).stdout))
        a = argparse.Namespace(executors=2, rows=1000, files=1, iterations=1, run_id="x",
                               store=store, image="i", moto_image="m", project="p",
                               s3_key="k:s", scale=1, load_rates="1,2", load_duration="5")
        out = build(a)["services"]
        cm = {k: v for d in rendered if d["kind"] == "ConfigMap" for k, v in d.get("data", {}).items()}
        env = dict(cm, LOGBENCH_ROWS=1000, LOGBENCH_FILES=1, LOGBENCH_ITERATIONS=1, LOGBENCH_RUN_ID="x",
                   LOGBENCH_LOAD_RATES="1,2", LOGBENCH_LOAD_DURATION="5")
        if store == "s3":
            env.update(AWS_ENDPOINT=f"http://{S3_HOST}:9000", AWS_ACCESS_KEY_ID="k",
                       AWS_SECRET_ACCESS_KEY="s")
        pairs = [("scheduler", "Deployment", "logbench-scheduler", "containers", "scheduler", {}),
                 ("executor-1", "Deployment", "logbench-executor", "containers", "executor",
                  {"POD_NAME": "executor-1", "POD_IP": "p-executor-1"}),
                 ("bench", "Job", "logbench-bench", "containers", "bench-runner", {}),
                 ("load-datafusion", "Job", "logbench-load", "initContainers", "load-datafusion", {}),
                 ("load-ballista", "Job", "logbench-load", "containers", "load-ballista", {})]
        if store == "s3":
            pairs += [("data-gen", "Job", "logbench-data-gen", "initContainers", "data-gen", {}),
                      ("upload", "Job", "logbench-data-gen", "containers", "upload", {})]
        else:
            pairs += [("data-gen", "Job", "logbench-data-gen", "containers", "data-gen", {})]
        for svc, kind, name, key, cname, fields in pairs:
            pod = pod_spec(find(rendered, kind, name))
            c = named(pod[key], cname)
            want = command(c, dict(env, **fields))
            got = out[svc]["command"]
            psc, csc = pod["securityContext"], c["securityContext"]
            locked = (out[svc]["user"] == f"{psc['runAsUser']}:{psc['runAsGroup']}"
                      and out[svc]["read_only"] == csc["readOnlyRootFilesystem"]
                      and out[svc]["cap_drop"] == csc["capabilities"]["drop"]
                      and ("no-new-privileges:true" in out[svc]["security_opt"])
                      == (csc["allowPrivilegeEscalation"] is False))
            if got != want or not locked:
                bad += 1
                print(f"compose.py: {overlay}: {svc} differs from {kind} {name}/{cname}:\n"
                      f"  compose:    {got}\n  kubernetes: {want}", file=sys.stderr)
        if bad == before:
            print(f"compose.py: {overlay} overlay: {len(pairs)} containers' commands and security settings match")
    return bad == 0


def iterations(v):
    """bench-runner's --iterations: auto, or a whole number above zero."""
    if v == "auto" or (v.isdigit() and int(v) > 0):
        return v
    raise argparse.ArgumentTypeError(f"auto or a whole number above zero, not '{v}'")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--executors", type=int, default=2)
    ap.add_argument("--rows", type=int, default=200_000_000)
    ap.add_argument("--files", type=int, default=40)
    ap.add_argument("--iterations", type=iterations, default="auto")
    ap.add_argument("--run-id", default="compose")
    ap.add_argument("--store", choices=["volume", "s3"], default="volume")
    ap.add_argument("--image", default="logbench:dev")
    ap.add_argument("--moto-image", default="logbench-moto:dev")
    ap.add_argument("--project", default="logbench")
    ap.add_argument("--s3-key", default="logbench:logbench-secret")
    ap.add_argument("--scale", type=float, default=1, help="the pods' requests and limits times this")
    ap.add_argument("--load-rates", default="1", help="the load sweep's rates (requests/s, comma-separated)")
    ap.add_argument("--load-duration", default="30", help="seconds of arrivals per rate of the load sweep")
    a = ap.parse_args()
    if a.check:
        sys.exit(0 if check() else 1)
    if a.executors < 1:
        sys.exit("compose.py: --executors must be at least 1")
    sys.stdout.write("# Written by deploy/compose.py from deploy/k8s; not committed.\n")
    yaml.dump(build(a), sys.stdout, Dumper=Plain, sort_keys=False, width=120)


if __name__ == "__main__":
    main()
