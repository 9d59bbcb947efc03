#!/usr/bin/env python3
"""Offline checks of the Kubernetes manifests (no cluster needed).

For every overlay under deploy/k8s/overlays:
  1. render it with `kubectl kustomize`;
  2. validate every object strictly (unknown fields are errors) against the OpenAPI schemas of a
     pinned Kubernetes version, with the kubernetes-validate package;
  3. check that each container's arguments are flags its program accepts (read from the
     program's own --help), that every $(VAR) it uses is defined (in env values: before it),
     that ports line up between programs, probes and Services; that volumes exist and the data
     volume is at one path; that Secrets read are the ones deploy.sh creates; and, where the
     dataset is in an object store, that every program reading it has the endpoint (a Service)
     and the credentials, and the upload writes where the runner reads.
  4. check what a real cluster would hit on day one, which no schema catches: that non-root pods
     can write the volumes they write (no hostPath PersistentVolume: the kubelet makes its
     directory root-owned 0755 and hostPath ignores fsGroup; a hostPath volume without node
     affinity), that every Job has a deadline and deploy.sh never waits for Complete alone,
     that the pods' requests during data-gen and during a bench fit the documented smallest
     cluster (TARGETS), and that a new run changes nothing the long-running pods read
     (rendered twice by `deploy.sh k8s render` with other run parameters: no restart, so no
     Multi-Attach of the ReadWriteOnce volume).
A self-test first shows that the validation rejects a misspelt field, and that each check of 4
rejects the defect it is there for (each put back into the manifests). Then the compose file
that `./deploy.sh compose` runs (deploy/compose.py) is checked against the rendered manifests:
each container's command line, user, read-only root, capabilities and no-new-privileges.

Usage: deploy/check.py [--bin-dir DIR] [--kubernetes-version X.Y.Z]
Exit 0 when everything holds; 1 with one line per problem otherwise.
"""

import argparse
import copy
import os
import re
import subprocess
import sys

import kubernetes_validate
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scale import mebibytes, millicores  # noqa: E402  (Kubernetes quantities, one parser)
from kvars import expand, references  # noqa: E402  ($(VAR) as Kubernetes reads it)

KUBERNETES_VERSION = "1.35.0"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OVERLAYS = os.path.join(ROOT, "deploy", "k8s", "overlays")
PROGRAMS = {"data-gen", "bench-runner", "logbench-scheduler", "logbench-executor"}
DATA_PATH = "/data"
DATA_CLAIM = "logbench-data"
# Secrets the manifests read that deploy.sh creates (they are never in the manifests).
SECRETS = {"logbench-s3": {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}}
# The smallest cluster each overlay is held to, as allocatable CPU (millicores) and memory (MiB)
# per node, less what the cluster's own pods request there.
TARGETS = {
    # minikube start with its defaults: 2 CPUs and, on a host of 8.8 GB or less, 2200 MB
    # (2098 MiB, less the kubelet's 100 MiB eviction threshold). Its system pods request
    # 750m CPU (apiserver 250m, controller-manager 200m, scheduler, etcd, CoreDNS 100m each)
    # and 170 MiB (etcd 100, CoreDNS 70). kind on a 4-core laptop has more of both.
    "local": {"about": "minikube's defaults (1 node, 2 CPUs, 2200 MB)", "nodes": 1,
              "cpu": 2000 - 750, "memory": 2098 - 100 - 170},
    # Three EKS t3.medium nodes (2 vCPU, 4 GiB): 1930m and about 3300 MiB allocatable each,
    # less aws-node and kube-proxy (125m) on each, and CoreDNS (2 x 100m, 70 MiB) on two.
    "multinode": {"about": "3 nodes of 2 vCPU and 4 GiB (EKS t3.medium)", "nodes": 3,
                  "cpu": 1930 - 125 - 100, "memory": 3300 - 70},
}
DEPLOY_SH = os.path.join(ROOT, "deploy.sh")


def render(overlay):
    out = subprocess.run(
        ["kubectl", "kustomize", overlay], check=True, capture_output=True, text=True
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def validate(doc, version):
    """The schema errors of one object (empty when it is valid)."""
    try:
        kubernetes_validate.validate(doc, version, strict=True)
        return []
    except kubernetes_validate.ValidationError as e:
        return [f"{doc['kind']}/{doc['metadata']['name']}: {e.message} at {'.'.join(map(str, e.path))}"]
    except kubernetes_validate.SchemaNotFoundError as e:
        return [f"{doc['kind']}/{doc['metadata']['name']}: no schema ({e})"]


def self_test(docs, version):
    """A misspelt field must be caught, or the strict validation is not working."""
    dep = copy.deepcopy(next(d for d in docs if d["kind"] == "Deployment"))
    port = dep["spec"]["template"]["spec"]["containers"][0]["ports"][0]
    port["containerPorrt"] = port.pop("containerPort")
    dep["spec"]["template"]["spec"]["restartPolicyy"] = "Always"
    if not validate(dep, version):
        sys.exit("check.py: self-test failed: a misspelt field passed validation")


_help_cache = {}


def accepted_flags(bin_dir, program, subcommand):
    key = (program, subcommand)
    if key not in _help_cache:
        cmd = [os.path.join(bin_dir, program)] + ([subcommand] if subcommand else []) + ["--help"]
        text = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        _help_cache[key] = set(re.findall(r"(--[a-z0-9][a-z0-9-]*)", text))
    return _help_cache[key]


def pod_specs(docs):
    for d in docs:
        if d["kind"] in ("Deployment", "Job"):
            yield d, d["spec"]["template"]["metadata"].get("labels", {}), d["spec"]["template"]["spec"]
        elif d["kind"] == "Pod":
            yield d, d["metadata"].get("labels", {}), d["spec"]


def flag_values(args):
    out = {}
    for a in args:
        if a.startswith("--"):
            name, _, value = a.partition("=")
            out[name] = value
    return out


def check(docs, bin_dir):
    problems = []
    name = lambda d: f"{d['kind']}/{d['metadata']['name']}"  # noqa: E731
    configmaps = {d["metadata"]["name"]: d.get("data", {}) for d in docs if d["kind"] == "ConfigMap"}
    services = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
    claims = {d["metadata"]["name"] for d in docs if d["kind"] == "PersistentVolumeClaim"}
    ports_of = {}  # component -> {port name: number}, all containers of its pods
    flags_of = {}  # component -> {flag: value}, of the pod's main (first) container
    flags_by_container = {}  # container name -> {flag: value}
    env_of = {}  # container name -> {variable: value or None (from a Secret)}
    for d, labels, spec in pod_specs(docs):
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        component = labels.get("app.kubernetes.io/component", spec["containers"][0]["name"])
        for c in spec.get("initContainers", []) + spec["containers"]:
            where = f"{name(d)} container {c['name']}"
            cmd = c.get("command", [])
            args = c.get("args", [])
            # Variables in the order Kubernetes defines them: envFrom, then env; a $(VAR) in
            # an env value only sees the ones before it.
            env = {}
            for ef in c.get("envFrom", []):
                if "secretRef" in ef:
                    keys = SECRETS.get(ef["secretRef"]["name"])
                    if keys is None:
                        problems.append(f"{where}: envFrom Secret {ef['secretRef']['name']} is not one deploy.sh creates")
                    else:
                        env.update({k: None for k in keys})
                    continue
                ref = ef.get("configMapRef", {}).get("name")
                if ref not in configmaps:
                    problems.append(f"{where}: envFrom {ef} is not a ConfigMap in the manifests")
                else:
                    env.update(configmaps[ref])
            for e in c.get("env", []):
                value = e.get("value")
                for var in references(value):
                    if var not in env:
                        problems.append(f"{where}: env {e['name']} uses $({var}), which is not defined before it")
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref is not None:
                    keys = SECRETS.get(ref["name"])
                    if keys is None or ref["key"] not in keys:
                        problems.append(f"{where}: env {e['name']} reads Secret {ref['name']} key {ref['key']}, which deploy.sh does not create")
                env[e["name"]] = value
            env_of[c["name"]] = env
            for a in args:
                for var in references(a):
                    if var not in env:
                        problems.append(f"{where}: argument {a} uses $({var}), which is not defined")
            if cmd and cmd[0] in PROGRAMS:
                sub = args[0] if cmd[0] == "bench-runner" and args and not args[0].startswith("-") else None
                accepted = accepted_flags(bin_dir, cmd[0], sub)
                for a in args:
                    if a.startswith("--") and a.partition("=")[0] not in accepted:
                        problems.append(f"{where}: {cmd[0]}{' ' + sub if sub else ''} does not accept {a.partition('=')[0]}")
            ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                p = c.get(probe, {}).get("httpGet", {}).get("port")
                if p is not None and p not in ports and p not in ports.values():
                    problems.append(f"{where}: {probe} port {p} is not a container port")
            for m in c.get("volumeMounts", []):
                v = volumes.get(m["name"])
                if v is None:
                    problems.append(f"{where}: mounts volume {m['name']}, which the pod does not define")
                    continue
                claim = v.get("persistentVolumeClaim", {}).get("claimName")
                if claim and claim not in claims:
                    problems.append(f"{where}: claim {claim} is not in the manifests")
                if claim == DATA_CLAIM and m["mountPath"] != DATA_PATH:
                    problems.append(f"{where}: data volume at {m['mountPath']}, not {DATA_PATH}")
            ports_of.setdefault(component, {}).update(ports)
            flags = flag_values([expand(a, env) for a in args])
            flags_by_container[c["name"]] = flags
            if c is spec["containers"][0]:
                flags_of[component] = flags

    # Services select pods whose ports they name.
    for s in services.values():
        sel = s["spec"].get("selector", {})
        comp = sel.get("app.kubernetes.io/component")
        if comp not in ports_of:
            problems.append(f"Service/{s['metadata']['name']}: selects no pod ({sel})")
            continue
        for p in s["spec"]["ports"]:
            t = p.get("targetPort", p["port"])
            number = ports_of[comp].get(t, t if isinstance(t, int) else None)
            if number is None:
                problems.append(f"Service/{s['metadata']['name']}: targetPort {t} is not a port of {comp}")
            elif number != p["port"]:
                problems.append(f"Service/{s['metadata']['name']}: port {p['port']} forwards to {number}")

    def service_port(host, where):
        s = services.get(host)
        if s is None:
            problems.append(f"{where}: {host} is not a Service")
            return None
        return s["spec"]["ports"][0]["port"]

    sched, execu, bench = flags_of.get("scheduler", {}), flags_of.get("executor", {}), flags_of.get("bench", {})
    if sched:
        if int(sched.get("--bind-port", 50050)) != ports_of["scheduler"].get("scheduler"):
            problems.append("scheduler: --bind-port differs from its container port")
        service_port(sched.get("--external-host", ""), "scheduler --external-host")
        if "--flight-proxy" not in sched:
            problems.append("scheduler: no --flight-proxy (the runner would need executor access)")
    if execu:
        for flag, port in (("--flight-port", "flight"), ("--grpc-port", "grpc"), ("--health-port", "health")):
            if int(execu.get(flag, -1)) != ports_of["executor"].get(port):
                problems.append(f"executor: {flag} differs from its container port {port}")
        host = execu.get("--scheduler-host", "")
        if not services.get(host, {}).get("spec", {}).get("publishNotReadyAddresses"):
            problems.append(f"executor: registers through {host}, which does not publish not-ready addresses")
        if service_port(host, "executor --scheduler-host") != int(execu.get("--scheduler-port", 50050)):
            problems.append("executor: --scheduler-port differs from the Service's port")
    # The Ballista clients: the bench, and the load sweep's Ballista container.
    clients = [("bench", bench)]
    if "load-ballista" in flags_by_container:
        clients.append(("load-ballista", flags_by_container["load-ballista"]))
    for who, flags in clients:
        if not flags:
            continue
        host, _, port = flags.get("--scheduler", ":").rpartition(":")
        if service_port(host, f"{who} --scheduler") != int(port or 0):
            problems.append(f"{who}: --scheduler port differs from the Service's port")
        if flags.get("--event-log-dir") != sched.get("--event-log-dir"):
            problems.append(f"{who}: --event-log-dir is not where the scheduler writes its event log")
    for who in ("load-datafusion", "load-ballista"):
        if who in flags_by_container and flags_by_container[who].get("--data") != bench.get("--data"):
            problems.append(f"{who}: --data is not the dataset the bench reads")
    if bench:
        data = bench.get("--data", "")
        if data.startswith("s3://"):
            problems += check_object_store(data, services, flags_by_container, env_of)
    return problems


def check_object_store(data, services, flags_by_container, env_of):
    """The dataset is in a bucket: the programs that read it (runner, scheduler, executors) and
    the upload all have the credentials from the Secret and the endpoint, which is a Service
    with that port; the upload writes where the runner reads, what data-gen wrote."""
    problems = []
    for c in ("bench-runner", "scheduler", "executor", "upload"):
        env = env_of.get(c)
        if env is None:
            problems.append(f"dataset in {data}, but no {c} container")
            continue
        for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT", "AWS_REGION"):
            if var not in env:
                problems.append(f"{c}: reads {data} without {var}")
        endpoint = env.get("AWS_ENDPOINT") or ""
        m = re.match(r"https?://([^:/]+):(\d+)", endpoint)
        if endpoint and not m:
            problems.append(f"{c}: AWS_ENDPOINT {endpoint} has no host:port")
        elif m:
            s = services.get(m.group(1))
            if s is None or int(m.group(2)) not in [p["port"] for p in s["spec"]["ports"]]:
                problems.append(f"{c}: AWS_ENDPOINT {endpoint} is not a Service port in the manifests")
            if endpoint.startswith("http://") and env.get("AWS_ALLOW_HTTP") != "true":
                problems.append(f"{c}: plain-HTTP AWS_ENDPOINT without AWS_ALLOW_HTTP=true")
    upload = flags_by_container.get("upload", {})
    if upload.get("--to", "").rstrip("/") != data.rstrip("/"):
        problems.append(f"upload --to {upload.get('--to')} is not where bench reads ({data})")
    if upload.get("--data") != flags_by_container.get("data-gen", {}).get("--out"):
        problems.append("upload --data is not where data-gen writes (--out)")
    return problems


def non_root(spec, c):
    psc, csc = spec.get("securityContext", {}), c.get("securityContext", {})
    user = csc.get("runAsUser", psc.get("runAsUser"))
    return bool(csc.get("runAsNonRoot", psc.get("runAsNonRoot"))) or (user is not None and user != 0)


def check_volumes(docs):
    """Non-root pods can write what they write. A hostPath directory is made by the kubelet as
    root with mode 0755 (DirectoryOrCreate) and hostPath ignores fsGroup: a PersistentVolume or
    pod volume of that kind, written by a non-root container, fails at the first write. A
    hostPath PersistentVolume also needs node affinity, or pods on other nodes see other
    directories."""
    problems = []
    pvs = [d for d in docs if d["kind"] == "PersistentVolume"]
    for pv in pvs:
        if "hostPath" in pv["spec"] and not pv["spec"].get("nodeAffinity"):
            problems.append(f"PersistentVolume/{pv['metadata']['name']}: hostPath without nodeAffinity (pods on other nodes see other directories)")
    host_claims = {d["metadata"]["name"] for d in docs if d["kind"] == "PersistentVolumeClaim"
                   and any("hostPath" in pv["spec"] and (d["spec"].get("volumeName") == pv["metadata"]["name"]
                           or d["spec"].get("storageClassName") == pv["spec"].get("storageClassName"))
                           for pv in pvs)}
    for d, _, spec in pod_specs(docs):
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for c in spec.get("initContainers", []) + spec["containers"]:
            if not non_root(spec, c):
                continue
            for m in c.get("volumeMounts", []):
                v = volumes.get(m["name"], {})
                claim = v.get("persistentVolumeClaim", {}).get("claimName")
                if m.get("readOnly") or not ("hostPath" in v or claim in host_claims):
                    continue
                problems.append(f"{d['kind']}/{d['metadata']['name']} container {c['name']}: writes {m['mountPath']} as a "
                                "non-root user on a hostPath volume, which the kubelet creates root-owned 0755 (fsGroup does not apply)")
    return problems


def check_jobs(docs, deploy_text):
    """Every Job ends on its own (a deadline) and deploy.sh waits for either end."""
    problems = []
    for d in docs:
        if d["kind"] == "Job":
            if not d["spec"].get("activeDeadlineSeconds"):
                problems.append(f"Job/{d['metadata']['name']}: no activeDeadlineSeconds (a stuck Job never ends)")
            if d["spec"].get("backoffLimit") is None:
                problems.append(f"Job/{d['metadata']['name']}: no backoffLimit (a failing run is retried 6 times)")
    for i, line in enumerate(deploy_text.splitlines(), 1):
        code = line.split("#", 1)[0]
        if re.search(r"\bwait\b.*--for[= ]condition=complete", code, re.I) or "rollout status" in code:
            problems.append(f"deploy.sh:{i}: waits for success only ({code.strip()[:60]}...): a failed Job or a pod that "
                            "cannot start is waited out to the timeout; wait with deploy/kwait.py")
    return problems


def pod_request(spec):
    """What the scheduler reserves for a pod: its containers' requests added up, or the largest
    init container's, whichever is more."""
    def req(c, k):
        r = c.get("resources", {}).get("requests", {})
        return (millicores if k == "cpu" else mebibytes)(r[k]) if k in r else 0
    return {k: max(sum(req(c, k) for c in spec["containers"]),
                   max([req(c, k) for c in spec.get("initContainers", [])] or [0]))
            for k in ("cpu", "memory")}


def check_fit(docs, overlay):
    """The pods running during data-gen and during a bench fit the overlay's target cluster:
    placed largest first on the first node with room, those that must share the scheduler's
    node (required pod affinity to it) beside it."""
    target = TARGETS.get(overlay)
    if target is None:
        return [f"no target cluster size for overlay {overlay} in TARGETS"]
    problems = []
    always, jobs = [], {}
    for d, labels, spec in pod_specs(docs):
        replicas = d["spec"].get("replicas", 1) if d["kind"] == "Deployment" else 1
        affinity = spec.get("affinity", {}).get("podAffinity", {}).get("requiredDuringSchedulingIgnoredDuringExecution", [])
        pinned = any(t.get("labelSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component") == "scheduler"
                     for t in affinity) or labels.get("app.kubernetes.io/component") == "scheduler"
        pods = [(f"{d['metadata']['name']}", pod_request(spec), pinned)] * replicas
        if d["kind"] == "Job":
            jobs[d["metadata"]["labels"].get("logbench.io/part", d["metadata"]["name"])] = pods
        else:
            always += pods
    for phase, extra in sorted(jobs.items()):
        nodes = [{"cpu": target["cpu"], "memory": target["memory"]} for _ in range(target["nodes"])]
        pods = always + extra
        # The scheduler's node first (pinned pods), then the rest largest first.
        order = [p for p in pods if p[2]] + sorted((p for p in pods if not p[2]), key=lambda p: -p[1]["cpu"])
        for name, r, pinned in order:
            candidates = nodes[:1] if pinned else nodes
            node = next((n for n in candidates if n["cpu"] >= r["cpu"] and n["memory"] >= r["memory"]), None)
            if node is None:
                total = {k: sum(p[1][k] for p in pods) for k in ("cpu", "memory")}
                problems.append(
                    f"during {phase}: pod {name} ({r['cpu']:.0f}m CPU, {r['memory']:.0f} MiB) does not fit "
                    f"{'the scheduler' + chr(39) + 's node' if pinned else 'any node'} of {target['about']}; "
                    f"all pods request {total['cpu']:.0f}m CPU and {total['memory']:.0f} MiB against "
                    f"{target['nodes']} x {target['cpu']}m and {target['memory']} MiB free for them")
                break
            node["cpu"] -= r["cpu"]
            node["memory"] -= r["memory"]
    return problems


def deploy_render(overlay, run_id, rows, iterations):
    """`deploy.sh k8s render`: the manifests up and bench apply for these settings."""
    cmd = [DEPLOY_SH, "k8s", "render", "--overlay", overlay, "--image", "logbench:check", "--executors", "2",
           "--rows", str(rows), "--files", "1", "--iterations", str(iterations), "--scale", "1",
           "--storage-class", "", "--base", "local"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=dict(os.environ, LOGBENCH_RUN_ID=run_id)).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def check_churn(a, b):
    """What the long-running pods read is the same for two runs: a change there restarts the
    scheduler (it may come back on another node while the results pod holds the ReadWriteOnce
    volume there: Multi-Attach) and the executors."""
    def long_running(docs):
        out = {}
        for d in docs:
            if d["kind"] in ("Deployment", "Service", "PersistentVolumeClaim", "PersistentVolume"):
                out[f"{d['kind']}/{d['metadata']['name']}"] = d
        return out
    la, lb = long_running(a), long_running(b)
    return [f"{k}: differs between two runs (another run id, rows and iterations): every run restarts it"
            for k in sorted(la) if la[k] != lb.get(k)]


def check_dockerfile_source():
    """deploy/Dockerfile.source copies exactly what `cargo build` reads (the workspace's members,
    its manifest and lock file, and queries/, which bench-runner embeds), so that an edit
    elsewhere leaves its build layer cached; and hands the commit to the build, since .git is
    not in the context."""
    import tomllib
    with open(os.path.join(ROOT, "Cargo.toml"), "rb") as f:
        members = set(tomllib.load(f)["workspace"]["members"])
    with open(os.path.join(ROOT, "deploy", "Dockerfile.source")) as f:
        text = f.read()
    copied = set()
    for line in text.splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            copied.update(w.rstrip("/") for w in words[1:-1] if not w.startswith("--"))
    problems = []
    want = members | {"Cargo.toml", "Cargo.lock", "queries"}
    if copied != want:
        problems.append(f"Dockerfile.source copies {sorted(copied)}, not what the build reads {sorted(want)}")
    if "LOGBENCH_GIT_COMMIT=" not in text:
        problems.append("Dockerfile.source does not hand REVISION to the build (LOGBENCH_GIT_COMMIT): results record commit unknown")
    return problems


def self_test_checks(docs, overlay):
    """Each day-one check rejects the defect it is for, put back into these manifests."""
    failures = []
    old = copy.deepcopy(docs)
    old.append({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "logbench-data"},
                "spec": {"storageClassName": "logbench-local", "hostPath": {"path": "/var/lib/logbench", "type": "DirectoryOrCreate"}}})
    for d in old:
        if d["kind"] == "PersistentVolumeClaim" and d["metadata"]["name"] == DATA_CLAIM:
            d["spec"]["storageClassName"] = "logbench-local"
    if not any("root-owned" in p for p in check_volumes(old)) or not any("nodeAffinity" in p for p in check_volumes(old)):
        failures.append("a hostPath data volume written by uid 65532 passed")
    old = copy.deepcopy(docs)
    for d in old:
        if d["kind"] == "Job":
            d["spec"].pop("activeDeadlineSeconds", None)
    if not check_jobs(old, 'kube -n "$ns" wait --for=condition=complete "job/$job" --timeout="$timeout"\n'):
        failures.append("a Job without a deadline, and a wait for Complete alone, passed")
    old = copy.deepcopy(docs)
    for _, _, spec in pod_specs(old):
        for c in spec["containers"]:
            if c.get("command") == ["logbench-executor"]:
                c["resources"]["requests"] = {"cpu": "2", "memory": "4Gi"}
    if not check_fit(old, overlay):
        failures.append("executors requesting 2 CPUs and 4 GiB each fit")
    moved = copy.deepcopy(docs)
    for d in moved:
        if d["kind"] == "Deployment":
            d["spec"]["template"]["spec"]["containers"][0].setdefault("envFrom", []).append({"configMapRef": {"name": "logbench-run"}})
    if not check_churn(docs, moved):
        failures.append("a Deployment reading the run's ConfigMap passed")
    if failures:
        sys.exit(f"check.py: self-test failed ({overlay}): " + "; ".join(failures))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    ap.add_argument("--bin-dir", default=os.path.join(target, "release"))
    ap.add_argument("--kubernetes-version", default=KUBERNETES_VERSION)
    a = ap.parse_args()
    failed = False
    with open(DEPLOY_SH) as f:
        deploy_text = f.read()
    overlays = sorted(os.listdir(OVERLAYS))
    for i, o in enumerate(overlays):
        docs = render(os.path.join(OVERLAYS, o))
        if i == 0:
            self_test(docs, a.kubernetes_version)
        problems = [p for d in docs for p in validate(d, a.kubernetes_version)]
        problems += check(docs, a.bin_dir)
        self_test_checks(docs, o)
        problems += check_volumes(docs) + check_jobs(docs, deploy_text) + check_fit(docs, o)
        problems += check_churn(deploy_render(o, "k8s-check-a", 1000, 1), deploy_render(o, "k8s-check-b", 2000, 3))
        kinds = sorted({d["kind"] for d in docs})
        if problems:
            failed = True
            for p in problems:
                print(f"check.py: {o}: {p}", file=sys.stderr)
        else:
            print(
                f"check.py: overlay {o}: {len(docs)} objects ({', '.join(kinds)}) valid against "
                f"Kubernetes {a.kubernetes_version} (strict); flags, env, ports and volumes line up; "
                f"volumes writable by uid 65532, Jobs with deadlines and waited for either end, "
                f"requests fit {TARGETS[o]['about']}, a new run restarts nothing"
            )
    for p in check_dockerfile_source():
        failed = True
        print(f"check.py: {p}", file=sys.stderr)
    import compose

    if not compose.check():
        failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
