//! A real Ballista cluster: scheduler and executors as separate processes on 127.0.0.1,
//! driven through the `bench-runner` binary. Every process a test starts is stopped when the
//! test ends, pass or fail (the guards below stop them by PID).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bench_runner::ballista_cluster::events::TaskRun;
use bench_runner::results::{RunResult, Status};

mod common;
use common::{ClusterGuard, bench_runner, generate, ok, text, workload};

fn generated(name: &str, rows: u64, files: u64) -> PathBuf {
    generate(
        &Path::new(env!("CARGO_TARGET_TMPDIR")).join(name),
        rows,
        files,
        65_536,
    )
}

/// 300k rows in 4 files, for answers.
fn small() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| generated("ballista-small", 300_000, 4))
}

/// Kills a background child when dropped.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "{what}: not within {timeout:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn ballista_answers_like_datafusion_and_spreads_the_work() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r.json");
    // No cluster is running for this state dir: the run starts one (2 executors) and stops it.
    let child = Command::new(env!("CARGO_BIN_EXE_bench-runner"))
        .args([
            "run",
            "--engine",
            "datafusion,ballista",
            "--data",
            small().to_str().unwrap(),
            "--queries",
            workload().to_str().unwrap(),
            "--iterations",
            "2",
            "--warmup",
            "0",
            "--vcores",
            "2",
            "--cluster-state-dir",
            tmp.path().join("none").to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let embedded_dir = format!("logbench-cluster-{}", child.id());
    let o = child.wait_with_output().unwrap();
    ok(&o);
    let r = RunResult::read(&out).unwrap();
    r.validate().unwrap();
    assert!(r.answer_mismatches.is_empty(), "{:?}", r.answer_mismatches);
    assert_eq!(r.engines.len(), 2);
    let (df, ba) = (&r.engines[0], &r.engines[1]);
    assert_eq!(ba.engine.name, "ballista");
    let cluster = ba.engine.cluster.as_ref().expect("cluster recorded");
    assert_eq!(cluster.kind, "embedded");
    assert_eq!(cluster.executors.len(), 2);
    // Ballista's changed defaults are visible in the result.
    assert_eq!(ba.engine.target_partitions, 16);
    assert!(
        ba.engine
            .changed_settings
            .contains_key("datafusion.optimizer.prefer_hash_join")
    );
    assert_eq!(ba.table_rows, 300_000);

    let mut multi_stage = 0;
    for (d, b) in df.queries.iter().zip(&ba.queries) {
        assert_eq!(d.name, b.name);
        assert_eq!(b.status, Status::Ok, "{}: {:?}", b.name, b.error);
        assert_eq!(
            d.answer, b.answer,
            "{}: same digest on both engines",
            b.name
        );
        let dist = b.distributed.as_ref().expect("job data");
        assert_eq!(dist.jobs.len(), 2, "one job per measured iteration");
        let details = dist.details.as_ref().expect("job details");
        assert!(
            b.plans.as_ref().unwrap().distributed.is_some(),
            "{}: distributed plan",
            b.name
        );
        let tasks = details
            .tasks_per_executor
            .as_ref()
            .expect("tasks per executor from the event log");
        assert!(tasks.values().sum::<u64>() >= details.stage_count as u64);
        if details.stage_count > 1 {
            multi_stage += 1;
            assert_eq!(
                tasks.len(),
                2,
                "{}: a multi-stage query ran tasks on both executors: {tasks:?}",
                b.name
            );
            assert!(
                details
                    .stages
                    .iter()
                    .all(|s| s.span.as_ref().is_some_and(|x| x.tasks > 0)),
                "{}: every stage ran tasks: {:?}",
                b.name,
                details.stages
            );
        }
    }
    assert!(
        multi_stage >= 6,
        "most of the workload is multi-stage ({multi_stage})"
    );

    // The cluster started for the run is gone: no process names its directory any more.
    let left: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(&embedded_dir))
        .collect();
    assert!(left.is_empty(), "left running: {left:?}");
    assert!(
        !std::env::temp_dir()
            .join(&embedded_dir)
            .join("cluster.json")
            .exists()
    );
}

#[test]
fn a_dataset_the_cluster_cannot_read_is_an_error_not_an_empty_answer() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let tmp = tempfile::tempdir().unwrap();
    let guard = ClusterGuard::up(
        &tmp.path().join("c"),
        &["--executors", "1", "--vcores", "2"],
    );
    let state = guard.state();
    // A copy of the dataset that the client registers, then moves away: the scheduler and
    // executors look for files that are no longer where the client saw them.
    let copy = tmp.path().join("data");
    std::fs::create_dir(&copy).unwrap();
    for e in std::fs::read_dir(small()).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), copy.join(e.file_name())).unwrap();
    }
    let (_, info) = bench_runner::dataset::verify(&copy, false).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use bench_runner::engine::Engine;
        let engine = bench_runner::engine::ballista::BallistaEngine::connect(
            &state.scheduler_address(),
            &[],
            Some(state.event_log_dir.clone()),
        )
        .await
        .unwrap();
        let location = bench_runner::store::DataLocation::Dir(copy.clone());
        engine.register("logs", &location).await.unwrap();
        assert_eq!(
            bench_runner::dataset::check_rows(&engine, "logs", &info)
                .await
                .unwrap(),
            300_000
        );
        std::fs::rename(&copy, tmp.path().join("moved")).unwrap();
        let err = bench_runner::dataset::check_rows(&engine, "logs", &info)
            .await
            .expect_err("a path the cluster cannot read must not pass");
        let msg = err.to_string();
        assert!(msg.contains("dataset"), "{msg}");
    });
}

#[test]
fn an_unreachable_scheduler_is_a_clear_error_within_seconds() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    // Nothing listens on this port.
    let port = free_port();
    let start = Instant::now();
    let o = common::run(
        small(),
        &[
            "--engine",
            "ballista",
            "--queries",
            workload().to_str().unwrap(),
            "--scheduler",
            &format!("127.0.0.1:{port}"),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(
        err.contains(&format!("127.0.0.1:{port}")) && err.contains("unreachable"),
        "{err}"
    );
    assert!(start.elapsed() < Duration::from_secs(20));

    // Something accepts connections but never answers: bounded by the connect timeout.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let start = Instant::now();
    let o = common::run(
        small(),
        &[
            "--engine",
            "ballista",
            "--queries",
            workload().to_str().unwrap(),
            "--scheduler",
            &format!("127.0.0.1:{port}"),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("did not answer"),
        "{}",
        text(&o.stderr)
    );
    assert!(start.elapsed() < Duration::from_secs(30));
}

/// Which running job's event log holds `marker` and at least one finished task.
/// The jobs whose event log is still open (`<job>.eventlog.running`) and mentions `marker`.
fn running_jobs_with(events: &Path, marker: &str) -> Vec<String> {
    std::fs::read_dir(events)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let job = name.strip_suffix(".eventlog.running")?.to_string();
                    let t = std::fs::read_to_string(e.path()).unwrap_or_default();
                    t.contains(marker).then_some(job)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A task of a job: (stage, task id).
type Task = (u32, u32);

/// The tasks of `job` an executor's log says it started ("Execute task : [TID job/stage.attempt/
/// task.attempt]"), as (stage, task) pairs: those it finished, and those it did not.
fn tasks_in_log(log: &Path, job: &str) -> (Vec<Task>, Vec<Task>) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let prefix = format!("[TID {job}/");
    let ids = |what: &str| -> Vec<Task> {
        text.lines()
            .filter(|l| l.contains(what))
            .filter_map(|l| {
                let rest = &l[l.find(&prefix)? + prefix.len()..];
                let (stage, rest) = rest.split_once('.')?;
                let (_, rest) = rest.split_once('/')?;
                let (task, _) = rest.split_once('.')?;
                Some((stage.parse().ok()?, task.parse().ok()?))
            })
            .collect()
    };
    let finished = ids("Finished task");
    let unfinished = ids("Execute task")
        .into_iter()
        .filter(|t| !finished.contains(t))
        .collect();
    (finished, unfinished)
}

/// The task ends of a finished job (the runner's own event-log reader), and its `JobEnd` line.
fn job_log(events: &Path, job: &str) -> (Vec<TaskRun>, String) {
    let text = std::fs::read_to_string(bench_runner::ballista_cluster::events::log_path(
        events, job,
    ))
    .expect("the job's event log is closed once the job ends");
    let tasks = bench_runner::ballista_cluster::events::parse_tasks(&text).unwrap();
    let end = text
        .lines()
        .find(|l| l.contains("\"ev\":\"JobEnd\""))
        .unwrap_or_default()
        .to_string();
    (tasks, end)
}

/// What the event log of an `agg_distinct_users` job holds (its EXPLAIN job's plan starts with
/// `Explain`).
const QUERY_JOB: &str = "\"logical_plan\":\"Sort: logs.region";

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[test]
fn an_executor_killed_while_it_runs_tasks_is_survived_and_a_restarted_one_rejoins() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let data = generated("ballista-loss", 4_000_000, 8);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("c");
    let guard = ClusterGuard::up(
        &dir,
        &[
            "--executors",
            "2",
            "--vcores",
            "2",
            "--heartbeat-interval-seconds",
            "1",
            "--executor-timeout-seconds",
            "6",
            "--expire-dead-executor-interval-seconds",
            "1",
            "--task-distribution",
            "round-robin",
        ],
    );
    let state = guard.state();
    let victim = state.executors[1].clone();
    let survivor = state.executors[0].id.clone();

    // The reference answer, from local DataFusion.
    let reference = tmp.path().join("df.json");
    ok(&common::run(
        &data,
        &[
            "--engine",
            "datafusion",
            "--query",
            "agg_distinct_users",
            "--iterations",
            "1",
            "--warmup",
            "0",
            "--quiet",
            "--out",
            reference.to_str().unwrap(),
        ],
    ));
    let reference = RunResult::read(&reference).unwrap();

    let out = tmp.path().join("loss.json");
    let mut run = ChildGuard(
        Command::new(env!("CARGO_BIN_EXE_bench-runner"))
            .args(["run", "--engine", "ballista", "--data"])
            .arg(&data)
            .args([
                "--query",
                "agg_distinct_users",
                "--query",
                "agg_status_codes",
            ])
            .args(["--iterations", "3", "--warmup", "0", "--timeout", "120"])
            .args(["--quiet", "--cluster-state-dir"])
            .arg(&dir)
            .arg("--out")
            .arg(&out)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // SIGKILL the victim at a moment its own log shows it, in a job of the distinct-count query
    // (not the EXPLAIN job before it), with at least one task finished (its shuffle output is
    // lost with it) and one started and not finished: the kill lands in the middle of its work.
    let mut hit: Option<(String, Vec<Task>)> = None;
    let deadline = Instant::now() + Duration::from_secs(120);
    while hit.is_none() {
        assert!(
            Instant::now() < deadline,
            "the victim never had a task finished and one running in the query's job"
        );
        for job in running_jobs_with(&state.event_log_dir, QUERY_JOB) {
            let (finished, running) = tasks_in_log(&victim.log, &job);
            if !finished.is_empty() && !running.is_empty() {
                hit = Some((job, running));
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let (job, seen_running) = hit.unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(victim.pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("the victim executor is ours to kill");
    let killed_ms = now_ms();

    let deadline = Instant::now() + Duration::from_secs(300);
    let code = loop {
        if let Some(s) = run.0.try_wait().unwrap() {
            break s.code();
        }
        assert!(
            Instant::now() < deadline,
            "the run ends after an executor loss"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut stderr = String::new();
    use std::io::Read;
    run.0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();

    // The victim's log, final now: it had finished tasks of the job, and had tasks running that
    // never finished.
    let (finished, interrupted) = tasks_in_log(&victim.log, &job);
    assert!(
        !finished.is_empty() && !interrupted.is_empty(),
        "the kill landed mid-task: running a moment before it {seen_running:?}, finished {finished:?}, never finished {interrupted:?}"
    );

    // The query completed, every run with DataFusion's answer, and the run went on.
    assert_eq!(code, Some(0), "{stderr}");
    let r = RunResult::read(&out).unwrap();
    r.validate().unwrap();
    let qs = &r.engines[0].queries;
    assert_eq!(qs.len(), 2);
    assert_eq!(qs[0].status, Status::Ok, "{:?}", qs[0].error);
    assert!(
        qs[0]
            .answer
            .as_ref()
            .unwrap()
            .agrees(reference.engines[0].queries[0].answer.as_ref().unwrap()),
        "completed on the survivor with DataFusion's answer"
    );
    assert_eq!(qs[1].status, Status::Ok, "{:?}", qs[1].error);

    // The scheduler's event log of the hit job: it succeeded; the victim reported no end for
    // the tasks it was running; every stage the victim worked in (its finished tasks' output
    // died with it) ran again on the survivor, in tasks launched after the kill.
    let (tasks, end) = job_log(&state.event_log_dir, &job);
    assert!(
        end.contains("Succeeded") || end.contains("Successful"),
        "{end}"
    );
    for (stage, task) in interrupted.iter().chain(&finished) {
        assert!(
            finished.contains(&(*stage, *task))
                || !tasks.iter().any(|t| t.task_id == *task
                    && t.stage_id == *stage
                    && t.executor_id == victim.id),
            "task {stage}/{task} ended on the victim after all"
        );
        let rerun: Vec<&TaskRun> = tasks
            .iter()
            .filter(|t| {
                t.stage_id == *stage
                    && t.executor_id == survivor
                    && t.launch_ms >= killed_ms.saturating_sub(5)
                    && t.ok
            })
            .collect();
        assert!(
            !rerun.is_empty(),
            "stage {stage}: no task re-run on the survivor after the kill: {tasks:?}"
        );
    }
    // The survivor did the whole job itself, the victim's finished share included: as many
    // successful tasks as a later run of the same query (on the survivor alone) had in all.
    let ok_on = |tasks: &[TaskRun], who: &str| {
        tasks
            .iter()
            .filter(|t| t.executor_id == who && t.ok)
            .count()
    };
    let later: Vec<usize> = std::fs::read_dir(&state.event_log_dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.ok()?.file_name().to_string_lossy().into_owned();
            let other = name.strip_suffix(".eventlog")?;
            let text = std::fs::read_to_string(state.event_log_dir.join(&name)).ok()?;
            (other != job && text.contains(QUERY_JOB))
                .then(|| job_log(&state.event_log_dir, other).0.len())
        })
        .collect();
    assert!(
        !later.is_empty(),
        "the measured runs after the loss left event logs"
    );
    let whole = *later.iter().max().unwrap();
    assert!(
        ok_on(&tasks, &survivor) >= whole,
        "the survivor ran {} of the job's {whole} tasks",
        ok_on(&tasks, &survivor)
    );

    // Nothing was launched on the victim after it died.
    assert!(
        tasks
            .iter()
            .all(|t| t.executor_id != victim.id || t.launch_ms <= killed_ms),
        "{tasks:?}"
    );
    let after_kill = tasks
        .iter()
        .filter(|t| t.executor_id == survivor && t.launch_ms >= killed_ms)
        .count();
    eprintln!(
        "executor loss: job {job}; the victim's tasks (stage, task): finished {finished:?}, running at the kill {interrupted:?}; {} task ends in the job, {} from the victim, {after_kill} launched on the survivor after the kill, {} on the survivor in all (a later run of the query: {whole} tasks); cold run {:?} us; measured {:?} us",
        tasks.len(),
        tasks.iter().filter(|t| t.executor_id == victim.id).count(),
        ok_on(&tasks, &survivor),
        qs[0].cold_us,
        qs[0].latency.as_ref().map(|l| (l.min, l.max)),
    );

    // The scheduler notices the loss, and `cluster status` shows it.
    wait_until(
        "the loss shows in cluster status",
        Duration::from_secs(30),
        || {
            let s = guard.status();
            let v = s.executors.iter().find(|e| e.id == victim.id).unwrap();
            !v.registered && !v.process_alive && s.registered() == 1
        },
    );

    // A restarted executor rejoins, and the next query runs tasks on it.
    ok(&bench_runner(&[
        "cluster",
        "restart-executor",
        &victim.id,
        "--state-dir",
        dir.to_str().unwrap(),
    ]));
    let s = guard.status();
    assert_eq!(s.registered(), 2);
    let again = tmp.path().join("again.json");
    ok(&common::run(
        &data,
        &[
            "--engine",
            "ballista",
            "--queries",
            workload().to_str().unwrap(),
            "--query",
            "agg_status_codes",
            "--iterations",
            "2",
            "--warmup",
            "0",
            "--quiet",
            "--cluster-state-dir",
            dir.to_str().unwrap(),
            "--out",
            again.to_str().unwrap(),
        ],
    ));
    let r = RunResult::read(&again).unwrap();
    let details = r.engines[0].queries[0]
        .distributed
        .as_ref()
        .and_then(|d| d.details.as_ref())
        .unwrap();
    let tasks = details.tasks_per_executor.as_ref().unwrap();
    assert!(
        tasks.get(&victim.id).copied().unwrap_or(0) > 0,
        "the restarted executor ran tasks: {tasks:?}"
    );
}

#[test]
fn a_cluster_started_for_a_run_dies_with_the_runner_even_when_it_is_killed() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    // The embedded cluster's state goes under the runner's temporary directory.
    let tmp = tempfile::tempdir().unwrap();
    let runner = ChildGuard(
        Command::new(env!("CARGO_BIN_EXE_bench-runner"))
            .args(["run", "--engine", "ballista", "--executors", "2"])
            .arg("--data")
            .arg(small())
            .args(["--query", "agg_distinct_users", "--iterations", "1000"])
            .args(["--warmup", "0", "--quiet", "--cluster-state-dir"])
            .arg(tmp.path().join("no-cluster-here"))
            .env("TMPDIR", tmp.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let state_dir = tmp
        .path()
        .join(format!("logbench-cluster-{}", runner.0.id()));
    // Whatever happens below, nothing outlives the test.
    let _cleanup = ClusterGuard::adopt(&state_dir);
    let mut pids = Vec::new();
    wait_until(
        "the runner's cluster running a job",
        Duration::from_secs(120),
        || {
            let Ok(Some(s)) = bench_runner::ballista_cluster::local::ClusterState::load(&state_dir)
            else {
                return false;
            };
            let jobs = std::fs::read_dir(&s.event_log_dir).map_or(0, |d| d.count());
            pids = std::iter::once(s.scheduler.pid)
                .chain(s.executors.iter().map(|e| e.pid))
                .collect();
            s.executors.len() == 2 && jobs > 0
        },
    );
    let _cleanup = ClusterGuard::adopt(&state_dir);
    assert!(
        pids.iter()
            .all(|p| bench_runner::ballista_cluster::local::ours_alive(*p))
    );

    // SIGKILL: the runner runs no cleanup of its own.
    let mut runner = runner;
    runner.0.kill().unwrap();
    runner.0.wait().unwrap();
    wait_until(
        "the scheduler and both executors gone after the runner was killed",
        Duration::from_secs(15),
        || {
            pids.iter()
                .all(|p| !bench_runner::ballista_cluster::local::ours_alive(*p))
        },
    );
}

/// A workload of two queries: a join on an inequality against 20,000 of the rows (6 billion
/// row pairs: tens of seconds on the small dataset, in steps of 8192 x 20,000 pairs, so a
/// cancelled task stops within a fraction of a second), then `agg_status_codes`.
fn slow_then_quick(dir: &Path) -> PathBuf {
    let queries = dir.join("queries");
    std::fs::create_dir_all(&queries).unwrap();
    std::fs::write(
        queries.join("a_slow_join.sql"),
        "-- name: a_slow_join\n-- category: custom\n-- intent: far past any short limit\n\
         SELECT COUNT(*) AS pairs FROM logs a \
         JOIN (SELECT latency_ms FROM logs LIMIT 20000) b ON a.latency_ms < b.latency_ms;\n",
    )
    .unwrap();
    std::fs::copy(
        workload().join("agg_status_codes.sql"),
        queries.join("b_agg_status_codes.sql"),
    )
    .unwrap();
    queries
}

/// The scheduler's jobs, as `bench-runner cluster jobs --json` lists them (its REST API).
fn scheduler_jobs(addr: &str) -> Vec<bench_runner::ballista_cluster::rest::Job> {
    let o = bench_runner(&["cluster", "jobs", "--scheduler", addr, "--json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// `--timeout 1` on a query that takes minutes: the query is recorded as timed out with its
/// job, the job is cancelled in the scheduler (none is left queued or running), the next
/// query is measured, and the run exits 1.
#[test]
fn a_query_past_its_time_limit_has_its_job_cancelled_and_the_run_goes_on() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let tmp = tempfile::tempdir().unwrap();
    let queries = slow_then_quick(tmp.path());
    let state = tmp.path().join("cluster");
    let guard = ClusterGuard::up(&state, &["--executors", "2", "--vcores", "1"]);
    let addr = guard.state().scheduler_address();
    let out = tmp.path().join("r.json");
    let started = Instant::now();
    let o = common::run(
        small(),
        &[
            "--engine",
            "ballista",
            "--queries",
            queries.to_str().unwrap(),
            "--iterations",
            "2",
            "--timeout",
            "1",
            "--cluster-state-dir",
            state.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ],
    );
    let took = started.elapsed();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let r = RunResult::read(&out).unwrap();
    r.validate().unwrap();
    assert!(r.complete);
    assert_eq!(r.arguments.timeout_seconds, Some(1.0));
    let q = &r.engines[0].queries;
    assert_eq!(q[0].name, "a_slow_join");
    assert_eq!(q[0].status, Status::TimedOut, "{:?}", q[0].error);
    let error = q[0].error.as_deref().unwrap();
    assert!(
        error.starts_with("cold run: timed out after 1.0 s"),
        "{error}"
    );
    let job = q[0].cancelled_job.clone().expect("the cancelled job's id");
    assert!(error.contains(&format!("job {job} cancelled")), "{error}");
    // The run went on to the next query. Alone on this machine it answers well within the
    // second (a cold run on 300k rows); beside the other tests of this binary it can run past
    // it too, and is then a timed-out query of its own, with its own job cancelled.
    assert_eq!(q[1].name, "agg_status_codes");
    match q[1].status {
        Status::Ok => assert!(q[1].answer.is_some()),
        Status::TimedOut => assert!(
            q[1].cancelled_job.as_ref().is_some_and(|j| *j != job),
            "{:?}",
            q[1]
        ),
        Status::Failed => panic!("{:?}", q[1].error),
    }
    assert!(took < Duration::from_secs(120), "took {took:?}");
    let jobs = scheduler_jobs(&addr);
    let slow = jobs
        .iter()
        .find(|j| j.job_id == job)
        .expect("the job listed");
    assert!(!slow.active(), "{slow:?}");
    assert!(
        !jobs.iter().any(|j| j.active()),
        "no job left queued or running: {jobs:?}"
    );

    // A job left running by a client with no limit is cancelled from outside by
    // `cluster jobs --cancel-active`, which names it and returns once it has ended.
    let client = std::process::Command::new(env!("CARGO_BIN_EXE_bench-runner"))
        .args(["once", "--data", small().to_str().unwrap(), "--queries"])
        .arg(&queries)
        .args(["--query", "a_slow_join", "--scheduler", &addr])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let before: Vec<String> = jobs.iter().map(|j| j.job_id.clone()).collect();
    let mut running = None;
    wait_until("the client's job running", Duration::from_secs(60), || {
        running = scheduler_jobs(&addr)
            .into_iter()
            .find(|j| j.active() && !before.contains(&j.job_id))
            .map(|j| j.job_id);
        running.is_some()
    });
    let o = bench_runner(&[
        "cluster",
        "jobs",
        "--scheduler",
        &addr,
        "--cancel-active",
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let cancelled: Vec<String> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(cancelled, [running.clone().unwrap()]);
    assert!(!scheduler_jobs(&addr).iter().any(|j| j.active()));
    // The client learns that its job ended without an answer.
    let answer = client.wait_with_output().unwrap();
    assert_eq!(answer.status.code(), Some(1), "{}", text(&answer.stdout));
    drop(guard);
}

/// Ctrl-C (SIGINT) while a query runs: the job is cancelled, the result file holds what was
/// measured, marked incomplete, and the runner exits non-zero without starting the next query.
#[test]
fn an_interrupted_run_cancels_its_job_and_leaves_a_valid_incomplete_result() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let tmp = tempfile::tempdir().unwrap();
    let queries = slow_then_quick(tmp.path());
    // The quick query first, so the file holds a measured query when the slow one is cut.
    std::fs::rename(
        queries.join("b_agg_status_codes.sql"),
        queries.join("0_agg_status_codes.sql"),
    )
    .unwrap();
    let state = tmp.path().join("cluster");
    let guard = ClusterGuard::up(&state, &["--executors", "2", "--vcores", "1"]);
    let addr = guard.state().scheduler_address();
    let out = tmp.path().join("r.json");
    let runner = ChildGuard(
        Command::new(env!("CARGO_BIN_EXE_bench-runner"))
            .args(["run", "--engine", "ballista", "--iterations", "2"])
            .arg("--data")
            .arg(small())
            .arg("--queries")
            .arg(&queries)
            .args(["--timeout", "none", "--quiet", "--cluster-state-dir"])
            .arg(&state)
            .arg("--out")
            .arg(&out)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // The quick query measured (the file holds it) and the slow one's execution running: a
    // job active for over 2 s (the runner's EXPLAIN of the query is a short job of its own).
    let mut first_seen: std::collections::HashMap<String, Instant> = Default::default();
    wait_until(
        "the slow query's job running",
        Duration::from_secs(180),
        || {
            if !RunResult::read(&out).is_ok_and(|r| r.engines[0].queries.len() == 1) {
                return false;
            }
            scheduler_jobs(&addr)
                .iter()
                .filter(|j| j.active())
                .any(|j| {
                    first_seen
                        .entry(j.job_id.clone())
                        .or_insert_with(Instant::now)
                        .elapsed()
                        > Duration::from_secs(2)
                })
        },
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(runner.0.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let mut runner = runner;
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = runner.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the runner did not stop within 60 s of SIGINT"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(runner.0.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let r = RunResult::read(&out).unwrap();
    r.validate().unwrap();
    assert!(!r.complete, "marked incomplete");
    let q = &r.engines[0].queries;
    assert_eq!(q.len(), 2, "the quick query and the interrupted one");
    assert_eq!(q[0].status, Status::Ok);
    assert!(
        q[1].error.as_deref().unwrap().contains("interrupted"),
        "{:?}",
        q[1].error
    );
    let job = q[1].cancelled_job.clone().expect("the cancelled job's id");
    let jobs = scheduler_jobs(&addr);
    assert!(
        !jobs.iter().any(|j| j.active()),
        "no job left queued or running: {jobs:?}"
    );
    assert!(jobs.iter().any(|j| j.job_id == job), "{jobs:?}");
    drop(guard);
}

/// `bench-runner load` on Ballista. Below capacity: every request ran its own job, whose wait
/// in the scheduler's queue is recorded apart from its execution, and the jobs' tasks ran on
/// both executors. Far above capacity with a time limit: the requests past it are recorded as
/// timed out, their jobs are cancelled in the scheduler (none is left queued or running), and
/// the run exits 1.
#[test]
fn load_on_ballista_records_each_job_and_cancels_what_it_abandons() {
    use std::collections::BTreeSet;
    let _deadline = common::Deadline::new(Duration::from_secs(900));
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("cluster");
    let guard = ClusterGuard::up(&state, &["--executors", "2", "--vcores", "1"]);
    let addr = guard.state().scheduler_address();
    let load = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "load",
            "--engine",
            "ballista",
            "--data",
            small().to_str().unwrap(),
            "--cluster-state-dir",
            state.to_str().unwrap(),
            "--query",
            "agg_status_codes",
            "--arrivals",
            "constant",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let o = bench_runner(&args);
        let r = bench_runner::load::LoadResult::read(out)
            .unwrap_or_else(|e| panic!("{e}: {}{}", text(&o.stdout), text(&o.stderr)));
        (o, r)
    };

    let (o, r) = load(
        &tmp.path().join("below.json"),
        &["--rate", "2", "--duration", "4"],
    );
    ok(&o);
    let run = &r.rates[0];
    assert_eq!((run.planned, run.ok), (8, 8), "{run:?}");
    let jobs: Vec<&bench_runner::engine::JobRun> = run
        .requests
        .iter()
        .map(|q| q.job.as_ref().expect("each answered request names its job"))
        .collect();
    let ids: BTreeSet<&str> = jobs.iter().map(|j| j.job_id.as_str()).collect();
    assert_eq!(ids.len(), 8, "one job per request: {ids:?}");
    assert!(jobs.iter().all(|j| j.execution_ms > 0), "{jobs:?}");
    let wait = run.queue_wait.as_ref().expect("the queue waits");
    assert_eq!(wait.count, 8);
    let tasks = run
        .tasks_per_executor
        .as_ref()
        .unwrap_or_else(|| panic!("tasks per executor: {:?}", run.tasks_note));
    assert_eq!(tasks.len(), 2, "{tasks:?}");
    assert!(tasks.values().all(|n| *n > 0), "{tasks:?}");

    let (o, r) = load(
        &tmp.path().join("above.json"),
        &["--rate", "40", "--duration", "3", "--timeout", "3"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let run = &r.rates[0];
    assert!(run.timed_out > 0, "{run:?}");
    let abandoned: Vec<&bench_runner::load::Request> = run
        .requests
        .iter()
        .filter(|q| q.outcome == "timed out")
        .collect();
    assert!(
        abandoned.iter().all(|q| q
            .detail
            .as_deref()
            .is_some_and(|d| d.starts_with("after 3 s"))),
        "{abandoned:?}"
    );
    // A request abandoned after the scheduler named its job has that job cancelled; one
    // abandoned before (its submission unanswered under this load) may have made no job at
    // all, and any it made is cancelled when the rate ends. Either way none is left running.
    for q in abandoned.iter().filter(|q| q.cancelled_job.is_some()) {
        let job = q.cancelled_job.as_deref().unwrap();
        assert!(
            q.detail
                .as_deref()
                .is_some_and(|d| d.contains(&format!("job {job} cancelled"))),
            "{q:?}"
        );
    }
    let active: Vec<_> = scheduler_jobs(&addr)
        .into_iter()
        .filter(|j| j.active())
        .collect();
    assert!(
        active.is_empty(),
        "no job left queued or running: {active:?}"
    );
    drop(guard);
}
