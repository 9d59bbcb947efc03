#!/usr/bin/env python3
"""Waits for a Kubernetes Job or Deployment and ends on every outcome, never only on success.

    deploy/kwait.py [--namespace logbench] job NAME --timeout SECONDS
    deploy/kwait.py [--namespace logbench] deployment NAME --timeout SECONDS

`kubectl wait --for=condition=complete` waits out its whole timeout when a Job has failed
(with backoffLimit 0 a failed Job never completes), and so does `rollout status` for a pod that
cannot pull its image or be scheduled. This polls the object and its pods instead, and stops on:

  0  the Job completed / every replica of the Deployment is updated and ready
  1  the Job failed (Failed condition: a container exited non-zero, or activeDeadlineSeconds)
  3  a pod is stuck: an image that cannot be pulled, a container that cannot be created or
     keeps crashing, or a pod the scheduler cannot place, for longer than --stuck-after
  4  the timeout passed

On 1, 3 and 4 it prints to stderr what each pod's containers are doing, init containers
included (waiting and why, or exit code), the last log lines of every container that ran, and
the pod's warning events. On stdout, for a Job, one line `exit_code=N`: the exit code of the
pod's main (first) container, when it has ended. Only `kubectl` is needed (stdlib Python).
"""

import argparse
import json
import os
import subprocess
import sys
import time

# Waiting reasons that do not clear by themselves.
STUCK = {
    "ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull",
    "CreateContainerConfigError", "CreateContainerError", "CrashLoopBackOff", "RunContainerError",
}
POLL_S = float(os.environ.get("LOGBENCH_KWAIT_POLL_S", "2"))


def kubectl(ns, *args, check=True):
    r = subprocess.run(["kubectl", "-n", ns, *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)}: {r.stderr.strip() or 'exit ' + str(r.returncode)}")
    return r


def get(ns, *args):
    r = kubectl(ns, "get", *args, "-o", "json", check=False)
    if r.returncode != 0:
        if "NotFound" in r.stderr or "not found" in r.stderr:
            return None
        raise RuntimeError(f"kubectl get {' '.join(args)}: {r.stderr.strip()}")
    return json.loads(r.stdout)


def pods_of(ns, selector):
    out = get(ns, "pods", "-l", selector)
    return out["items"] if out else []


def container_states(pod):
    """(kind, name, state, detail) for every container, init containers first."""
    st = pod.get("status", {})
    rows = []
    for kind, key, spec_key in (("init container", "initContainerStatuses", "initContainers"),
                                ("container", "containerStatuses", "containers")):
        statuses = {s["name"]: s for s in st.get(key, []) or []}
        for c in pod["spec"].get(spec_key, []) or []:
            s = statuses.get(c["name"], {})
            state = s.get("state", {})
            if "terminated" in state:
                t = state["terminated"]
                rows.append((kind, c["name"], "terminated",
                             f"exit code {t.get('exitCode')} ({t.get('reason', '')})"
                             + (f": {t['message'].strip()}" if t.get("message") else "")))
            elif "waiting" in state:
                w = state["waiting"]
                rows.append((kind, c["name"], "waiting",
                             w.get("reason", "") + (f": {w['message'].strip()}" if w.get("message") else "")))
            elif "running" in state:
                rows.append((kind, c["name"], "running", f"since {state['running'].get('startedAt', '?')}"))
            else:
                rows.append((kind, c["name"], "not started", ""))
    return rows


def stuck_reason(pod):
    """Why this pod cannot make progress, or None."""
    st = pod.get("status", {})
    for key in ("initContainerStatuses", "containerStatuses"):
        for s in st.get(key, []) or []:
            w = s.get("state", {}).get("waiting")
            if w and w.get("reason") in STUCK:
                msg = (w.get("message") or "").strip()
                return f"container {s['name']}: {w['reason']}" + (f" ({msg})" if msg else "")
    for c in st.get("conditions", []) or []:
        if c.get("type") == "PodScheduled" and c.get("status") == "False":
            return f"not scheduled: {c.get('reason', '')}: {(c.get('message') or '').strip()}"
    return None


def main_exit_code(pod):
    main = pod["spec"]["containers"][0]["name"]
    for s in pod.get("status", {}).get("containerStatuses", []) or []:
        t = s.get("state", {}).get("terminated")
        if s["name"] == main and t is not None:
            return t.get("exitCode")
    return None


def report(ns, pods, headline):
    err = sys.stderr
    print(f"kwait: {headline}", file=err)
    for pod in pods:
        name = pod["metadata"]["name"]
        print(f"  pod {name} ({pod.get('status', {}).get('phase', '?')})", file=err)
        states = container_states(pod)
        for kind, c, state, detail in states:
            print(f"    {kind} {c}: {state}{', ' + detail if detail else ''}", file=err)
        for kind, c, state, _ in states:
            if state in ("terminated", "running"):
                logs = kubectl(ns, "logs", name, "-c", c, "--tail=40", check=False)
                text = (logs.stdout or logs.stderr).rstrip()
                print(f"  --- last log lines of {name}/{c} ---", file=err)
                print("\n".join("    " + line for line in text.splitlines()) or "    (none)", file=err)
        events = get(ns, "events", "--field-selector", f"involvedObject.name={name}")
        warnings = [e for e in (events or {}).get("items", []) if e.get("type") == "Warning"]
        if warnings:
            print(f"  --- warning events of {name} ---", file=err)
            for e in warnings[-10:]:
                print(f"    {e.get('reason', '')}: {(e.get('message') or '').strip()}", file=err)


def poll(ns, kind, name, timeout, stuck_after, examine):
    """Polls KIND NAME until examine(object) gives an exit status, a pod is stuck, or the
    timeout passes. examine returns (its pods, a status or None, what is still awaited)."""
    deadline = time.monotonic() + timeout
    stuck_since = {}
    while True:
        obj = get(ns, kind, name)
        if obj is None:
            print(f"kwait: {kind} {name} does not exist", file=sys.stderr)
            return 1
        pods, rc, awaited = examine(obj)
        if rc is None:
            rc = check_stuck(ns, pods, stuck_since, stuck_after, f"{kind} {name}")
        if rc is not None:
            return rc
        if time.monotonic() > deadline:
            report(ns, pods, f"{kind} {name}: {awaited} after {timeout:.0f} s")
            return 4
        time.sleep(POLL_S)


def job_outcome(ns, name):
    def examine(job):
        pods = pods_of(ns, f"job-name={name}")
        conds = {c["type"]: c for c in job.get("status", {}).get("conditions", []) or []
                 if c.get("status") == "True"}
        code = next((main_exit_code(p) for p in pods if main_exit_code(p) is not None), None)
        if "Complete" in conds:
            print(f"exit_code={code if code is not None else 0}")
            return pods, 0, None
        if "Failed" in conds:
            c = conds["Failed"]
            report(ns, pods, f"job {name} failed ({c.get('reason', '')}: {(c.get('message') or '').strip()})")
            if code is not None:
                print(f"exit_code={code}")
            return pods, 1, None
        return pods, None, "neither completed nor failed"
    return examine


def deployment_outcome(ns):
    def examine(d):
        sel = ",".join(f"{k}={v}" for k, v in d["spec"]["selector"].get("matchLabels", {}).items())
        pods = pods_of(ns, sel)
        want = d["spec"].get("replicas", 1)
        st = d.get("status", {})
        if (st.get("observedGeneration", 0) >= d["metadata"].get("generation", 0)
                and st.get("updatedReplicas", 0) == want and st.get("readyReplicas", 0) == want
                and st.get("replicas", 0) == want):
            return pods, 0, None
        return pods, None, f"{st.get('readyReplicas', 0)} of {want} replicas ready"
    return examine


def check_stuck(ns, pods, stuck_since, stuck_after, what):
    now = time.monotonic()
    for p in pods:
        why = stuck_reason(p)
        key = p["metadata"]["name"]
        if why is None:
            stuck_since.pop(key, None)
            continue
        since = stuck_since.setdefault(key, now)
        if now - since >= stuck_after:
            report(ns, pods, f"{what} is stuck: pod {key}, {why}")
            return 3
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--namespace", "-n", default="logbench")
    ap.add_argument("kind", choices=["job", "deployment"])
    ap.add_argument("name")
    ap.add_argument("--timeout", type=float, required=True, help="seconds")
    ap.add_argument("--stuck-after", type=float,
                    default=float(os.environ.get("LOGBENCH_KWAIT_STUCK_S", "90")),
                    help="seconds a pod may stay stuck before the wait ends (default 90)")
    a = ap.parse_args()
    try:
        examine = job_outcome(a.namespace, a.name) if a.kind == "job" else deployment_outcome(a.namespace)
        sys.exit(poll(a.namespace, a.kind, a.name, a.timeout, a.stuck_after, examine))
    except RuntimeError as e:
        sys.exit(f"kwait: {e}")


if __name__ == "__main__":
    main()
