#!/usr/bin/env python3
"""Fault trials on the compose cluster (`./deploy.sh compose up`, then `bench` or at least its
data-gen): one multi-stage query on Ballista, run by bench-runner in its own container on the
client network, with a fault injected while it runs.

  kill     an executor's program is killed (SIGKILL, as a crash or an OOM kill) while the
           query's job runs; the container's restart policy starts it again, as Kubernetes
           restarts a pod's container
  cut      an executor is disconnected from the cluster network while the job runs, and
           reconnected when the job has ended (or the bound has passed), or after --cut-for
           seconds: a cut shorter than the scheduler's executor timeout (30 s) is a partition
           the scheduler never calls a loss
  restart  the scheduler container is restarted between two queries: one query answered,
           restart, the next query submitted after a varied gap

Trial i of n injects its fault at (i + 0.5) / n x 0.8 of the fault-free job's duration after
the job was seen at the scheduler (restart: the gap is i / n x 4 s), so the trials cover the
query from its first stage to its last. A fault that lands after the job has ended tested
nothing: that trial is made again with the fault at half the delay (three attempts; the misses
are recorded), and `struck_inside` says whether the recorded one struck inside the job. Every
wait is bounded (--bound). The fault-free answer is Ballista's, three runs agreeing, and
DataFusion's from the same files. Per trial: correct (that answer's rows and digest), wrong
answer, error (the runner's recorded message; `upstream_fetch_error` says whether it is Ballista's
known failure on a shuffle stream broken mid-body, `upstream_lost_result` whether the job Completed
with part of its result on the killed executor, which the client then could not fetch), stalled job (Ballista's job neither finished nor
failed, and the runner's --timeout of --bound seconds ended it with a recorded error; the job is
cancelled, and its scheduler log lines are kept with `upstream_stall` saying whether they show
the AQE rollback), hang (the runner itself did not exit), or harness error (the job never
appeared, the query before a restart failed, or the executors were not all registered again
before the next trial); the time from the fault to the job's end (restart: to the next
answer); the stage the job was in; and the time until the scheduler lists every executor again.

A stalled trial is followed by one fault-free run on the same scheduler (`probe_after`): does
the cluster still answer after a stalled job was cancelled? The kill and cut trials need a
fault-free job of at least --min-job seconds (1.0); a shorter one runs with more partitions
(datafusion.execution.target_partitions, recorded under `settings`).

  scripts/tools/faults.py --project logbench --kind kill [--trials 10] [--query agg_distinct_users]
                    [--bound 180] [--min-job 1.0] [--cut-for S] [--set KEY=VALUE ...] [--out results/faults-kill.json]

The job's progress and the executors come from the scheduler's REST API, reached at its
address on the client network (the host has a leg on every private network it made; nothing
else is contacted). Exit status: 0 when no trial hung, no answer was wrong and the harness
never failed, 1 otherwise, 2 for bad arguments or a cluster that is not there.
"""

import argparse
import json
import os
import pathlib
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
PORT = 50050
# Seconds a fault-free run after a stalled job is given (fault-free, the job takes seconds).
PROBE_BOUND = 30


def now():
    return time.monotonic()


class Cluster:
    def __init__(self, project):
        self.p = project
        cdir = ROOT / f".bench/compose-{project}"
        self.cfile = cdir / "compose.yaml"
        if not self.cfile.exists():
            sys.exit(f"faults.py: no compose cluster '{project}' ({self.cfile} missing): ./deploy.sh compose up")
        settings = dict(line.split("=", 1) for line in (cdir / "settings").read_text().split())
        self.executors = int(settings["executors"])
        self.store = settings["store"]
        plugin = subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0
        self.compose = ["docker", "compose"] if plugin else ["docker-compose"]
        self._url = None
        # Engine settings (KEY=VALUE) every query of the trials runs with.
        self.settings = []

    def dc(self, *args, timeout=120, check=True):
        return subprocess.run(self.compose + ["-p", self.p, "-f", str(self.cfile), *args],
                              capture_output=True, text=True, timeout=timeout, check=check)

    @staticmethod
    def docker(*args, timeout=60, check=True):
        return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=check)

    def url(self, fresh=False):
        """The scheduler's REST API at its address on the client network."""
        if self._url is None or fresh:
            nets = json.loads(self.docker("inspect", "-f", "{{json .NetworkSettings.Networks}}",
                                          f"{self.p}-scheduler").stdout)
            ip = next((n["IPAddress"] for name, n in nets.items() if name.endswith("_client")), "")
            self._url = f"http://{ip}:{PORT}" if ip else None
        return self._url

    def get(self, path):
        url = self.url()
        if not url:
            return None
        try:
            with urllib.request.urlopen(url + path, timeout=2) as r:
                return json.load(r)
        except Exception:
            return None

    def jobs(self):
        return {j["job_id"]: j for j in self.get("/api/jobs") or []}

    def registered(self, since_ms=None):
        """Executors with a heartbeat in the last 15 s (three heartbeats), or since `since_ms`
        (wall clock, ms): a dead executor stays listed until the scheduler expires it."""
        floor = since_ms if since_ms is not None else time.time() * 1000 - 15_000
        return sorted(e["id"] for e in self.get("/api/executors") or []
                      if (e.get("last_seen") or 0) >= floor)

    def new_jobs(self, before):
        """Jobs not in `before`, oldest first (`bench-runner once` submits exactly one). While
        a job runs, num_stages counts the stages planned so far: Ballista's adaptive planner
        adds the next one as the last finishes."""
        return sorted((j for k, j in self.jobs().items() if k not in before), key=lambda j: j["start_time"])

    def program_pid(self, name):
        """The host PID of the container's program while it runs, else None. A container that
        is being restarted has no program: docker reports its PID as 0, and signalling 0 would
        kill this harness's own process group (in CI: the tests, cargo and the step's timeout)."""
        r = self.docker("inspect", "-f", "{{.State.Running}} {{.State.Restarting}} {{.State.Pid}}",
                        name, check=False)
        parts = r.stdout.split()
        if r.returncode != 0 or len(parts) != 3 or parts[:2] != ["true", "false"]:
            return None
        pid = int(parts[2])
        return pid if pid > 1 else None

    def wait_running(self, name, bound=60):
        """The container's program's PID once it runs (bounded)."""
        pid, _ = poll(lambda: self.program_pid(name), bound, step=0.1)
        if pid is None:
            raise RuntimeError(f"{name}: its program is not running after {bound} s")
        return pid

    def crash(self, name):
        """SIGKILL to the container's program, as a crash or an OOM kill does: the restart
        policy (the Deployment's restartPolicy: Always) starts it again, same executor id.
        `docker kill` would count as a manual stop, which no restart policy undoes; it is the
        fallback where this process may not signal the container's (not root), followed by
        `docker start`."""
        pid = self.wait_running(name)
        try:
            os.kill(pid, signal.SIGKILL)
        except PermissionError:
            self.docker("kill", name)
            self.docker("start", name)

    def start_query(self, name, query, bound, engine="ballista"):
        """`bench-runner once` in the bench service's container (client network, its
        lock-down): the query executed once on Ballista, so the run the fault lands in is the
        only one. It waits up to `bound` for an executor, then up to `bound` for the answer.
        With engine="datafusion" the same container answers it alone, from the same files."""
        self.docker("rm", "-f", name, check=False)
        where = [f"--scheduler=logbench-scheduler:{PORT}", f"--ready-timeout={int(bound)}"] if engine == "ballista" else []
        sets = [f"--set={kv}" for kv in self.settings]
        self.dc("run", "-d", "--name", name, "bench", "bench-runner", "once", "--data=/data/logs",
                f"--engine={engine}", *where, f"--query={query}", f"--timeout={int(bound)}", *sets)

    def scheduler_lines(self, needle, since):
        """The scheduler's log lines since `since` (RFC 3339) that contain `needle`."""
        r = self.docker("logs", "--since", since, f"{self.p}-scheduler", check=False)
        return [l for l in (r.stdout + r.stderr).splitlines() if needle in l]

    def exited(self, name):
        """The container's exit code once it has stopped, else None."""
        r = self.docker("inspect", "-f", "{{.State.Running}} {{.State.ExitCode}}", name, check=False)
        if r.returncode != 0:
            return -1
        running, code = r.stdout.split()
        return None if running == "true" else int(code)

    def result(self, name):
        """The JSON line `bench-runner once` printed, or its last error line."""
        r = self.docker("logs", name, check=False)
        for line in reversed(r.stdout.splitlines()):
            if line.startswith("{"):
                return json.loads(line)
        tail = (r.stderr.strip().splitlines() or ["no output"])[-1]
        return {"ok": False, "error": tail[:300]}

    def settle(self, bound=30):
        """Cancels the jobs still queued or running (a stalled job would hold task slots into
        the next trial) and waits, bounded, until none is; the ids cancelled."""
        cancelled = []
        for k, j in self.jobs().items():
            if j["status"] in ("Queued", "Running"):
                try:
                    urllib.request.urlopen(urllib.request.Request(f"{self.url()}/api/job/{k}", method="PATCH"), timeout=5)
                except Exception:
                    pass
                cancelled.append(k)
        poll(lambda: not any(j["status"] in ("Queued", "Running") for j in self.jobs().values()), bound)
        return cancelled


def disconnect(c, net, victim):
    """`docker network disconnect`, waiting for the victim to be running (not restarting) and
    trying again when the daemon refuses; docker's own message if it never succeeds."""
    last = ""
    for _ in range(3):
        r = c.docker("network", "disconnect", net, victim, check=False)
        if r.returncode == 0:
            return
        last = (r.stderr or r.stdout).strip()
        poll(lambda: c.docker("inspect", "-f", "{{.State.Running}} {{.State.Restarting}}", victim,
                              check=False).stdout.strip() == "true false", 30, step=0.2)
    raise RuntimeError(f"docker network disconnect {net} {victim} failed 3 times: {last}")


def poll(cond, bound, step=0.1):
    """Calls cond() until it returns something truthy or `bound` seconds pass; (value, seconds)."""
    start = now()
    while True:
        v = cond()
        if v:
            return v, now() - start
        if now() - start >= bound:
            return None, now() - start
        time.sleep(step)


def answer_of(result):
    """(rows and digests, None) for an answer, (None, the error) otherwise."""
    if result.get("ok"):
        return {k: result.get(k) for k in ("rows", "digest", "ordered")}, None
    return None, (result.get("error") or "failed").splitlines()[0][:300]


def wait_exit(c, name, bound):
    """The runner's exit code, or None when it did not exit within `bound` (it is removed)."""
    code, _ = poll(lambda: (lambda x: (x,) if x is not None else None)(c.exited(name)), bound)
    return code[0] if code else None


def run_to_end(c, name, query, bound, engine="ballista"):
    """Runs the query to its end (bounded); its answer or error, seconds, and its job."""
    started = now()
    c.start_query(name, query, bound, engine)
    code = wait_exit(c, name, 2 * bound + 30)
    elapsed = now() - started
    if code is None:
        c.docker("rm", "-f", name, check=False)
        return None, "hang", elapsed, None
    res = c.result(name)
    c.docker("rm", "-f", name, check=False)
    ans, err = answer_of(res)
    return ans, err, elapsed, c.jobs().get(res.get("job_id") or "")


def reference(c, query, bound):
    """Three fault-free runs: the answer (all three must agree), the job's median duration
    and its number of stages."""
    answers, durations, stages = [], [], 0
    retried = False
    for k in range(3):
        ans, err, elapsed, job = run_to_end(c, f"{c.p}-trial-ref", query, bound)
        if ans is None and not retried and "timed out" in (err or ""):
            # Ballista's job can stall without a fault too (a warm CI run, 2026-12-02, in the
            # reference runs of --kind restart). The runner cancels it; one more run is
            # allowed, and said, before the reference is given up.
            retried = True
            print(f"faults.py: the fault-free run of {query} stalled ({err}); running it again", file=sys.stderr)
            ans, err, elapsed, job = run_to_end(c, f"{c.p}-trial-ref", query, bound)
        if ans is None:
            sys.exit(f"faults.py: the fault-free run of {query} failed: {err}")
        answers.append(ans)
        if job and job["end_time"]:
            durations.append((job["end_time"] - job["start_time"]) / 1000)
            stages = job["num_stages"]
    if any(a != answers[0] for a in answers):
        sys.exit(f"faults.py: three fault-free runs of {query} gave different answers: {answers}")
    # The answer every trial is held to is DataFusion's too, from the same files.
    df, err, _, _ = run_to_end(c, f"{c.p}-trial-ref-df", query, bound, engine="datafusion")
    if df is None:
        sys.exit(f"faults.py: {query} on DataFusion failed: {err}")
    if (df["rows"], df["digest"]) != (answers[0]["rows"], answers[0]["digest"]):
        sys.exit(f"faults.py: {query}: Ballista's fault-free answer {answers[0]} is not DataFusion's {df}")
    if not stages:
        sys.exit("faults.py: the scheduler does not list the reference runs' jobs")
    job_s = statistics.median(durations)
    print(f"reference: {query}: {stages} stages, {answers[0]['rows']} rows, job "
          f"{min(durations):.2f}-{max(durations):.2f} s (median {job_s:.2f} s) over 3 runs", flush=True)
    return answers[0], job_s, stages


# A stream from the lost executor broken mid-body, as Ballista 55's range shuffle reader (the
# ordered merge of the last stage) passes it on: a tonic status inside an Arrow error, which its
# task-failure mapping makes a non-retryable execution error, so the job fails instead of
# re-running the lost map output (docs/findings/range-shuffle-transport-error.md).
TRANSPORT = ("h2 protocol error", "error reading a body", "transport error", "connection reset",
             "broken pipe")


def upstream_fetch_error(err, job_status):
    """Whether a trial's error is that known failure: the job ended Failed on a task's
    non-retryable execution error whose cause is a broken transport stream."""
    low = (err or "").lower()
    return (job_status == "Failed" and "runtime execution error" in low
            and any(s in low for s in TRANSPORT))


def upstream_lost_result(err, job_status, victim_id):
    """Whether a trial's error is Ballista's lost result: the job Completed, but part of its
    final stage's output was on the killed executor, and the client's fetch of it (through the
    scheduler's flight proxy, the one path that connects with "Error connecting to Ballista
    executor") could not reach it. The scheduler notices the loss only at the heartbeat timeout
    and re-runs the lost output of running jobs only (docs/findings/completed-job-lost-output.md)."""
    low = (err or "").lower()
    return (job_status == "Completed"
            and f"shuffle fetch partition error from executor {victim_id.lower()}," in low
            and "error connecting to ballista executor" in low)


def fetch_stage(err):
    """The stage a shuffle fetch error names (`map_stage N`), or None."""
    m = re.search(r"map_stage (\d+)", err or "")
    return int(m.group(1)) if m else None


def classify(ans, err, ref):
    if err == "hang":
        return "hang"
    if err and "timed out after" in err:
        # Ballista's job stalled and the runner's own limit (--timeout, the bound) ended it.
        return "stalled job"
    if err:
        return "error"
    return "correct" if ans == ref else "wrong answer"


def finish(c, name, code, ref):
    """A trial's runner after it exited with `code` (None: it did not): the outcome, the
    error, and the jobs cancelled because they were still running; the runner is removed."""
    if code is None:
        outcome, err = "hang", "runner did not exit"
    else:
        ans, err = answer_of(c.result(name))
        outcome = classify(ans, err, ref)
    c.docker("rm", "-f", name, check=False)
    return outcome, err, c.settle()


def wait_all_registered(c, bound):
    """Seconds until every executor heartbeats, or None after `bound`."""
    value, secs = poll(lambda: len(c.registered()) >= c.executors, bound, step=0.2)
    return secs if value else None


def trial_executor(c, kind, i, n, query, ref, ref_job_s, stages, bound, cut_for=None):
    """One fault while the job runs. A fault that lands after the job has ended tests nothing:
    the trial is then made again with the fault at half the delay, up to three attempts, and
    the misses are recorded."""
    delay = (i + 0.5) / n * 0.8 * ref_job_s
    missed = []
    for attempt in range(3):
        t = executor_attempt(c, kind, i, query, ref, delay, stages, bound, cut_for)
        if t["struck_inside"] or t["outcome"] in ("hang", "harness error", "wrong answer"):
            break
        missed.append(t["fault_at_s"])
        delay /= 2
    t["missed_at_s"] = missed
    return t


def executor_attempt(c, kind, i, query, ref, delay, stages, bound, cut_for):
    victim = f"{c.p}-executor-{i % c.executors + 1}"
    name = f"{c.p}-trial-{kind}-{i}"
    net = f"{c.p}_cluster"
    # The victim's program runs before the query starts: one killed by the previous attempt
    # may still be restarting.
    c.wait_running(victim)
    before = set(c.jobs())
    c.start_query(name, query, bound)
    job, _ = poll(lambda: next(iter(c.new_jobs(before)), None), 90)
    if job is None:
        c.docker("rm", "-f", name, check=False)
        return {"trial": i, "outcome": "harness error", "error": "harness: the job never appeared at the scheduler",
                "struck_inside": False, "fault_at_s": round(delay, 3)}
    submitted = now()
    # Within the first 80 % of the fault-free job: the job is seen by polling, so a fault
    # planned near its end would land after it.
    poll(lambda: now() - submitted >= delay, delay + 1, step=0.02)
    at = c.jobs().get(job["job_id"], job)
    moment = f"stage {min(at['completed_stages'] + 1, stages)} of {stages}"
    if at["status"] in ("Completed", "Failed"):
        moment = "after the job ended"
    fault, fault_ms = now(), time.time() * 1000
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    if kind == "kill":
        c.crash(victim)
    else:
        disconnect(c, net, victim)
    def ended():
        j = c.jobs().get(job["job_id"])
        return j if j and j["status"] in ("Completed", "Failed") else None
    # A cut lasts until the job ends, or --cut-for seconds when given.
    end, _ = poll(ended, min(bound, cut_for) if kind == "cut" and cut_for else bound, step=0.1)
    if kind == "cut":
        c.docker("network", "connect", net, victim)
        if end is None:
            end, _ = poll(ended, max(0.0, bound - (now() - fault)), step=0.1)
    job_end = now()
    victim_id = f"executor-{i % c.executors + 1}"
    # The runner's exit and the victim's return (a heartbeat after the fault), both bounded.
    code, rejoin = None, None
    while True:
        if code is None:
            code = c.exited(name)
        if rejoin is None and victim_id in c.registered(since_ms=fault_ms):
            rejoin = now() - fault
        if (code is not None and rejoin is not None) or now() - job_end > bound:
            break
        time.sleep(0.1)
    if code is None:
        code = wait_exit(c, name, 2 * bound + 30)
    outcome, err, cancelled = finish(c, name, code, ref)
    if rejoin is None:
        # Left as it is, the next trial would run on fewer executors: restarted, and recorded.
        c.docker("restart", "-t", "5", victim)
    # The next trial starts with every executor heartbeating; a cluster that does not get
    # there is the harness failing, not an outcome.
    ready = wait_all_registered(c, bound)
    # Inside the job: it had not ended when the fault struck (it ended after it, or never).
    struck = at["status"] not in ("Completed", "Failed") and not (end and end.get("end_time") and end["end_time"] <= fault_ms)
    # Ballista's known stall (the AQE rollback after a lost executor's map output): its own
    # lines in the scheduler's log, kept with the trial.
    stall_lines = c.scheduler_lines(job["job_id"], since) if outcome == "stalled job" else []
    trial = {
        "trial": i, "victim": victim, "fault_at_s": round(delay, 3), "moment": moment,
        "struck_inside": struck,
        "outcome": outcome, "error": err, "job_id": job["job_id"],
        "recovery_s": round(job_end - fault, 3) if end else None,
        "job_status": end["status"] if end else "no end within the bound",
        "rejoin_s": round(rejoin, 3) if rejoin is not None else None,
        "rejoined": rejoin is not None,
        "all_registered_before_next": ready is not None,
        "cut_for_s": cut_for if kind == "cut" else None,
        "cancelled_jobs": cancelled,
    }
    if outcome == "error":
        trial["upstream_fetch_error"] = upstream_fetch_error(err, trial["job_status"])
        trial["upstream_lost_result"] = upstream_lost_result(err, trial["job_status"], victim_id)
        trial["fetch_stage"] = fetch_stage(err)
    if outcome == "stalled job":
        # Cancelled by the runner at its limit or by settle(): no longer queued or running.
        final = (c.jobs().get(job["job_id"]) or {}).get("status", "not listed")
        trial["job_final_status"] = final
        trial["upstream_stall"] = final not in ("Queued", "Running") and any("Roll back running" in l for l in stall_lines)
        trial["scheduler_log"] = [l[:400] for l in stall_lines[-20:]]
        # Does the cluster still answer? A fault-free run of the same query on the same
        # scheduler, the stalled job cancelled and every executor registered.
        ans, perr, secs, pjob = run_to_end(c, f"{c.p}-trial-probe", query, PROBE_BOUND)
        trial["probe_after"] = {"outcome": classify(ans, perr, ref), "error": perr, "seconds": round(secs, 3),
                                "job_status": (pjob or {}).get("status")}
        c.settle()
    if ready is None:
        trial["outcome"], trial["error"] = "harness error", f"harness: {c.executors} executors not registered within {bound} s"
    return trial


def trial_restart(c, i, n, query, ref, bound):
    first, err, _, _ = run_to_end(c, f"{c.p}-trial-restart-{i}a", query, bound)
    if first != ref:
        return {"trial": i, "outcome": "harness error", "error": f"harness: the query before the restart: {err or first}",
                "struck_inside": False}
    gap = i / n * 4.0
    fault = now()
    c.docker("restart", "-t", "10", f"{c.p}-scheduler")
    c.url(fresh=True)
    poll(lambda: now() - fault >= gap, gap + 1, step=0.02)
    name = f"{c.p}-trial-restart-{i}b"
    c.start_query(name, query, bound)
    registered_after = None
    while True:
        if registered_after is None and len(c.registered()) >= c.executors:
            registered_after = now() - fault
        code = c.exited(name)
        if code is not None or now() - fault > 2 * bound + 30:
            break
        time.sleep(0.1)
    answered = now() - fault
    outcome, err, cancelled = finish(c, name, code, ref)
    if registered_after is None:
        rejoin = wait_all_registered(c, 60)
        registered_after = None if rejoin is None else answered + rejoin
    if registered_after is None:
        outcome, err = "harness error", f"harness: {c.executors} executors not registered again within 60 s"
    return {
        "trial": i, "gap_s": round(gap, 3), "moment": f"{gap:.1f} s after the restart began",
        # The restart strikes between two queries: the second is the one that meets it.
        "struck_inside": True,
        "outcome": outcome, "error": err,
        "recovery_s": round(answered, 3) if outcome == "correct" else None,
        "rejoin_s": round(registered_after, 3) if registered_after is not None else None,
        "rejoined": registered_after is not None,
        "cancelled_jobs": cancelled,
    }


def summary(kind, trials):
    label = {"kill": "executor killed", "cut": "executor cut off and reconnected",
             "restart": "scheduler restarted between two queries"}[kind]
    counts = {}
    for t in trials:
        counts[t["outcome"]] = counts.get(t["outcome"], 0) + 1
    rec = [t["recovery_s"] for t in trials if t.get("recovery_s") is not None and t["outcome"] == "correct"]
    rej = [t["rejoin_s"] for t in trials if t.get("rejoin_s") is not None]
    parts = [f"{counts.get('correct', 0)}/{len(trials)} correct"]
    for k in ("error", "stalled job", "wrong answer", "hang", "harness error"):
        if counts.get(k):
            parts.append(f"{counts[k]} {k}{'s' if counts[k] > 1 else ''}")
    line = f"{label}: " + ", ".join(parts)
    if rec:
        line += f"; recovery (fault to answer) median {statistics.median(rec):.1f} s, max {max(rec):.1f} s"
    if rej:
        line += f"; all executors registered again: median {statistics.median(rej):.1f} s"
    probes = [t["probe_after"]["outcome"] for t in trials if "probe_after" in t]
    if probes:
        line += f"; the fault-free run after each stall: {', '.join(probes)}"
    not_back = sum(1 for t in trials if not t.get("rejoined", True))
    if not_back:
        line += f"; {not_back} did not rejoin within the bound"
    return line, counts


PARTITIONS = "datafusion.execution.target_partitions"


def lengthen(c, a, ref, job_s, stages):
    """A fault is placed inside the job by time, from a job seen by polling: a job shorter
    than --min-job ends before the fault lands (a warm 300k-row job takes 0.1-0.3 s, nearly
    all of it the scheduling of its tasks). The query then runs with four times the
    partitions, so each stage has more tasks, up to 1024: a longer job and the same answer
    (the reference is made again and held to DataFusion's). Measured on 2 executors at 300k
    rows (2026-12-04): 16 partitions 0.25 s, 64 0.69 s, 128 1.1-1.5 s, 256 2.7-3.0 s.
    A smaller batch size did not lengthen it (0.24 s at 8192 rows, 0.39 s at 32)."""
    partitions = 16
    while job_s < a.min_job:
        if any(kv.startswith(PARTITIONS + "=") for kv in a.set) or partitions >= 1024:
            sys.exit(f"faults.py: the fault-free job of {a.query} takes {job_s:.2f} s, under --min-job "
                     f"{a.min_job} s: a fault cannot be placed inside it (more rows, or --set {PARTITIONS}=N)")
        partitions *= 4
        print(f"faults.py: the fault-free job took {job_s:.2f} s, under --min-job {a.min_job} s: "
              f"running the query with {PARTITIONS}={partitions}", flush=True)
        c.settings = [kv for kv in c.settings if not kv.startswith(PARTITIONS + "=")] + [f"{PARTITIONS}={partitions}"]
        ref, job_s, stages = reference(c, a.query, a.bound)
    return ref, job_s, stages


def main():
    ap = argparse.ArgumentParser(description="Fault trials on the compose cluster.")
    ap.add_argument("--project", default="logbench")
    ap.add_argument("--kind", choices=["kill", "cut", "restart"], required=True)
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--query", default="agg_distinct_users")
    ap.add_argument("--bound", type=float, default=180, help="seconds before a query counts as hung")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="engine setting for every run of the query (repeatable)")
    ap.add_argument("--cut-for", type=float, help="cut: reconnect after this many seconds, "
                    "if the job has not ended by then")
    ap.add_argument("--min-job", type=float, default=1.0,
                    help="seconds the fault-free job must last for a fault to land inside it")
    ap.add_argument("--out", help="JSON file for the trials and their summary")
    a = ap.parse_args()
    if a.trials < 1:
        sys.exit("faults.py: --trials must be at least 1")
    if a.cut_for is not None and a.cut_for <= 0:
        sys.exit("faults.py: --cut-for must be more than 0 seconds")
    bad = [kv for kv in a.set if "=" not in kv]
    if bad:
        sys.exit(f"faults.py: --set {bad[0]}: expected KEY=VALUE")
    c = Cluster(a.project)
    c.settings = list(a.set)
    if c.store != "volume":
        sys.exit("faults.py: trials run on the volume store (./deploy.sh compose up --store volume)")
    if wait_all_registered(c, 120) is None:
        sys.exit(f"faults.py: the scheduler does not list {c.executors} executors")
    ref, ref_job_s, stages = reference(c, a.query, a.bound)
    if a.kind != "restart":
        ref, ref_job_s, stages = lengthen(c, a, ref, ref_job_s, stages)
    trials = []
    for i in range(a.trials):
        if a.kind == "restart":
            t = trial_restart(c, i, a.trials, a.query, ref, a.bound)
        else:
            t = trial_executor(c, a.kind, i, a.trials, a.query, ref, ref_job_s, stages, a.bound, a.cut_for)
        trials.append(t)
        extra = f" ({t['error']})" if t.get("error") else ""
        rec = f"{t['recovery_s']:.2f} s" if t.get("recovery_s") is not None else "-"
        print(f"trial {i + 1}/{a.trials}: {t.get('moment', '')}: {t['outcome']}{extra}; "
              f"recovery {rec}; rejoin {t.get('rejoin_s')}", flush=True)
    line, counts = summary(a.kind, trials)
    print(line)
    if a.out:
        out = pathlib.Path(a.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        doc = {"kind": a.kind, "query": a.query, "executors": c.executors, "bound_s": a.bound,
               "settings": c.settings,
               "reference": {"job_s": ref_job_s, "stages": stages, "answer": ref},
               "trials": trials, "counts": counts, "summary": line}
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=2) + "\n")
        tmp.replace(out)
    sys.exit(1 if counts.get("hang") or counts.get("wrong answer") or counts.get("harness error") else 0)


if __name__ == "__main__":
    main()
