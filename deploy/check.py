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
A self-test first shows that the validation rejects a misspelt field. Then the compose file
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

KUBERNETES_VERSION = "1.35.0"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OVERLAYS = os.path.join(ROOT, "deploy", "k8s", "overlays")
PROGRAMS = {"data-gen", "bench-runner", "logbench-scheduler", "logbench-executor"}
DATA_PATH = "/data"
DATA_CLAIM = "logbench-data"
# Secrets the manifests read that deploy.sh creates (they are never in the manifests).
SECRETS = {"logbench-s3": {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}}


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
                for var in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", value or ""):
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
                for var in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", a):
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
    if bench:
        host, _, port = bench.get("--scheduler", ":").rpartition(":")
        if service_port(host, "bench --scheduler") != int(port or 0):
            problems.append("bench: --scheduler port differs from the Service's port")
        if bench.get("--event-log-dir") != sched.get("--event-log-dir"):
            problems.append("bench: --event-log-dir is not where the scheduler writes its event log")
        data = bench.get("--data", "")
        if data.startswith("s3://"):
            problems += check_object_store(data, services, flags_by_container, env_of)
    return problems


def expand(arg, env):
    """An argument with $(VAR) replaced as Kubernetes does (values from a Secret stay)."""
    return re.sub(
        r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
        lambda m: env[m.group(1)] if env.get(m.group(1)) is not None else m.group(0),
        arg,
    )


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


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    ap.add_argument("--bin-dir", default=os.path.join(target, "release"))
    ap.add_argument("--kubernetes-version", default=KUBERNETES_VERSION)
    a = ap.parse_args()
    failed = False
    overlays = sorted(os.listdir(OVERLAYS))
    for i, o in enumerate(overlays):
        docs = render(os.path.join(OVERLAYS, o))
        if i == 0:
            self_test(docs, a.kubernetes_version)
        problems = [p for d in docs for p in validate(d, a.kubernetes_version)]
        problems += check(docs, a.bin_dir)
        kinds = sorted({d["kind"] for d in docs})
        if problems:
            failed = True
            for p in problems:
                print(f"check.py: {o}: {p}", file=sys.stderr)
        else:
            print(
                f"check.py: overlay {o}: {len(docs)} objects ({', '.join(kinds)}) valid against "
                f"Kubernetes {a.kubernetes_version} (strict); flags, env, ports and volumes line up"
            )
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import compose

    if not compose.check():
        failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
