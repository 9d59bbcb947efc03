//! Helpers shared by the integration tests: the binary, the shipped workload, datasets.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use bench_runner::ballista_cluster::local::{ClusterState, Status as ClusterStatus, ours_alive};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// The S3 settings a developer's shell may hold; no test process inherits them.
pub const AWS_SETTINGS: [&str; 6] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT",
    "AWS_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
];

/// Runs `bench-runner` with `args`, no stdin and no S3 settings from the environment.
pub fn bench_runner(args: &[&str]) -> Output {
    bench_runner_with(args, &[])
}

/// `bench-runner ARGS…` with these environment variables set.
pub fn bench_runner_with(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bench-runner"));
    for v in AWS_SETTINGS {
        cmd.env_remove(v);
    }
    cmd.envs(env.iter().copied());
    cmd.args(args).stdin(Stdio::null()).output().unwrap()
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The `queries/` directory the project ships.
pub fn workload() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../queries")
}

/// The shipped queries `names`, copied into `dir` without their `-- instr-runs:` lines, so
/// that an instruction count asked for N runs counts each of them exactly N times. For the
/// tests whose claims do not rest on the headers' extra runs (9 of some queries, which the
/// gate and the A/A tests keep): counted with the headers they took 2.5x as long in CI
/// (docs/ci.md, 2026-12-05). Their `-- instr-threshold:` lines stay.
pub fn workload_without_instr_runs(dir: &Path, names: &[&str]) -> PathBuf {
    std::fs::create_dir_all(dir).expect("query directory");
    for name in names {
        let file = format!("{name}.sql");
        let sql = std::fs::read_to_string(workload().join(&file)).expect("a shipped query");
        let kept: String = sql
            .lines()
            .filter(|l| !l.trim_start().starts_with("-- instr-runs:"))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(dir.join(&file), kept).expect("query written");
    }
    dir.to_path_buf()
}

/// Generates `rows` rows in `files` files into `dir` (replacing what is there).
pub fn generate(dir: &Path, rows: u64, files: u64, row_group_rows: u64) -> PathBuf {
    let mut req = data_gen::Request::new(dir, rows, files);
    req.row_group_rows = row_group_rows;
    req.force = true;
    data_gen::generate(&req, &mut |_| {}).expect("dataset generates");
    dir.to_path_buf()
}

/// Asserts that a command succeeded, showing its output when it did not.
pub fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "exit {:?}\nstderr: {}\nstdout: {}",
        o.status.code(),
        text(&o.stderr),
        text(&o.stdout)
    );
}

/// Stops a cluster left by `cluster up` when dropped: `cluster down`, then SIGKILL for any
/// PID in its state file that still runs.
pub struct ClusterGuard {
    dir: PathBuf,
    pids: Vec<u32>,
}

impl ClusterGuard {
    pub fn up(dir: &Path, extra: &[&str]) -> Self {
        let mut args = vec!["cluster", "up", "--state-dir", dir.to_str().unwrap()];
        args.extend_from_slice(extra);
        let o = bench_runner(&args);
        let guard = Self::adopt(dir);
        ok(&o);
        assert!(
            text(&o.stdout).trim().starts_with("df://127.0.0.1:"),
            "prints the scheduler address: {}",
            text(&o.stdout)
        );
        guard
    }

    /// Guards a cluster that something else started with its state in `dir`.
    pub fn adopt(dir: &Path) -> Self {
        let mut guard = ClusterGuard {
            dir: dir.to_path_buf(),
            pids: Vec::new(),
        };
        guard.remember();
        guard
    }

    fn remember(&mut self) {
        watched().lock().unwrap().dirs.push(self.dir.clone());
        if let Ok(Some(s)) = ClusterState::load(&self.dir) {
            self.pids.push(s.scheduler.pid);
            self.pids.extend(s.executors.iter().map(|e| e.pid));
        }
    }

    pub fn state(&self) -> ClusterState {
        ClusterState::load(&self.dir)
            .unwrap()
            .expect("a state file")
    }

    pub fn status(&self) -> ClusterStatus {
        let o = bench_runner(&[
            "cluster",
            "status",
            "--json",
            "--state-dir",
            self.dir.to_str().unwrap(),
        ]);
        ok(&o);
        serde_json::from_slice(&o.stdout).unwrap()
    }
}

impl Drop for ClusterGuard {
    fn drop(&mut self) {
        self.remember();
        let _ = bench_runner(&["cluster", "down", "--state-dir", self.dir.to_str().unwrap()]);
        for &pid in &self.pids {
            if ours_alive(pid) {
                let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
            }
        }
    }
}

/// The pinned Python tools, installed on first use (every install step lives in the repo).
pub fn venv() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(install_tools).clone()
}

fn install_tools() -> PathBuf {
    let dir = std::env::var_os("LOGBENCH_VENV").map_or_else(
        || Path::new(env!("CARGO_TARGET_TMPDIR")).join("../venv"),
        PathBuf::from,
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/ci/pytools.sh");
    let o = Command::new(&script)
        .arg(&dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{} {} failed: {}{}",
        script.display(),
        dir.display(),
        text(&o.stdout),
        text(&o.stderr)
    );
    dir
}

/// The repository's top directory.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Where the tests' release binaries are (what deploy.sh and deploy/image.sh take as --bin-dir).
pub fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_bench-runner"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("docker runs")
}

pub fn docker_ok(args: &[&str]) -> String {
    let o = docker(args);
    assert!(
        o.status.success(),
        "docker {args:?}: {}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    text(&o.stdout)
}

/// What a test's [`Deadline`] cleans up and shows when it passes: clusters' state directories
/// (their processes are killed, their logs' last lines shown), and Docker Compose projects.
#[derive(Default)]
pub struct Watched {
    pub dirs: Vec<PathBuf>,
    pub compose_projects: Vec<String>,
}

pub fn watched() -> &'static std::sync::Mutex<Watched> {
    static W: OnceLock<std::sync::Mutex<Watched>> = OnceLock::new();
    W.get_or_init(Default::default)
}

/// A test's time limit. Past it the test binary prints the test's name and the last lines of
/// the logs of the clusters it watches, kills every process it started (its children, theirs,
/// and the watched clusters' processes), removes the watched Compose projects' containers,
/// and exits 101: a hang fails CI naming the test, never running into CI's own limit.
pub struct Deadline {
    done: std::sync::Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>,
}

impl Deadline {
    /// For the calling test (the test harness names its thread after the test).
    pub fn new(limit: std::time::Duration) -> Self {
        let test = std::thread::current()
            .name()
            .unwrap_or("a test")
            .to_string();
        let done = std::sync::Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
        let flag = done.clone();
        std::thread::spawn(move || {
            let (lock, cv) = &*flag;
            let (finished, _) = cv
                .wait_timeout_while(lock.lock().unwrap(), limit, |d| !*d)
                .unwrap();
            if *finished {
                return;
            }
            eprintln!(
                "\nDEADLINE: test {test} ran past its {} s limit; stopping what it started",
                limit.as_secs()
            );
            expire();
            std::process::exit(101);
        });
        Deadline { done }
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        let (lock, cv) = &*self.done;
        *lock.lock().unwrap() = true;
        cv.notify_all();
    }
}

/// The cleanup a passed deadline does (see [`Deadline`]).
fn expire() {
    let w = watched().lock().unwrap_or_else(|e| e.into_inner());
    for dir in &w.dirs {
        let Ok(Some(s)) = ClusterState::load(dir) else {
            continue;
        };
        let procs = std::iter::once((s.scheduler.pid, &s.scheduler.log))
            .chain(s.executors.iter().map(|e| (e.pid, &e.log)));
        for (pid, log) in procs {
            eprintln!(
                "--- last lines of {}:\n{}",
                log.display(),
                bench_runner::ballista_cluster::local::log_tail(log, 15)
            );
            if ours_alive(pid) {
                let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
            }
        }
    }
    for p in descendants(std::process::id()) {
        let _ = kill(Pid::from_raw(p as i32), Signal::SIGKILL);
    }
    for project in &w.compose_projects {
        let filter = format!("label=com.docker.compose.project={project}");
        let ids = docker(&["ps", "-aq", "--filter", &filter]);
        for id in text(&ids.stdout).split_whitespace() {
            let _ = docker(&["rm", "-f", "-v", id]);
        }
    }
}

/// Every process descended from `pid` (from /proc), deepest last.
fn descendants(pid: u32) -> Vec<u32> {
    let mut parent_of: Vec<(u32, u32)> = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            // The field after the command's closing parenthesis: state, then the parent.
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
                continue;
            };
            let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
                continue;
            };
            if let Some(ppid) = rest.split_whitespace().nth(1).and_then(|x| x.parse().ok()) {
                parent_of.push((p, ppid));
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![pid];
    while let Some(p) = frontier.pop() {
        for &(child, ppid) in &parent_of {
            if ppid == p && !out.contains(&child) {
                out.push(child);
                frontier.push(child);
            }
        }
    }
    out
}

/// Whether `test` may run, given whether its prerequisite `what` is `present`. Under CI
/// (`CI=true`) a missing prerequisite fails the test with one line naming it, so a machine
/// without Docker cannot pass CI with the container checks unrun; elsewhere the test skips and
/// says why on stderr. The line is written to the stream itself, not through `eprintln!`,
/// which the test harness captures and shows only for a failing test: a skip must be seen.
pub fn prerequisite(test: &str, what: &str, present: bool) -> bool {
    use std::io::Write;
    if present {
        return true;
    }
    if in_ci() {
        panic!("{test}: {what} is missing, and CI=true requires every check to run");
    }
    let _ = writeln!(
        std::io::stderr(),
        "{test}: skipped: {what} is missing (under CI=true this fails)"
    );
    false
}

/// Whether this is a CI run (`CI=true`, as CI services set it).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// Whether Docker's daemon answers; the prerequisite's name for [`prerequisite`].
pub const DOCKER: &str = "Docker (no daemon answers `docker info`)";

/// Whether a Docker daemon answers.
pub fn daemon() -> bool {
    Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The total of a callgrind output file (its `summary:` or `totals:` line).
pub fn callgrind_total(path: &Path) -> u64 {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .find_map(|l| {
            l.strip_prefix("summary: ")
                .or_else(|| l.strip_prefix("totals: "))
        })
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{}: no summary line", path.display()))
}

/// Every instruction of a plain `bench-runner run` of one query with `iterations` measured
/// executions and the settings `set`, counted by callgrind from the process's first
/// instruction, every thread, no client requests: a count independent of the runner's own
/// counting worker. Two such counts differing only in `iterations` give the instructions per
/// execution, start-up cancelled out.
pub fn whole_process_instructions(
    data: &Path,
    scratch: &Path,
    query: &str,
    iterations: u32,
    set: &[&str],
) -> u64 {
    let tag = format!("{query}-{iterations}-{}", set_tag(set));
    let out = scratch.join(format!("whole-{tag}.json"));
    let args = [
        "run",
        "--data",
        data.to_str().unwrap(),
        "--query",
        query,
        "--iterations",
        &iterations.to_string(),
        "--warmup",
        "0",
        "--timeout",
        "none",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ];
    callgrind_whole(&scratch.join(format!("callgrind.{tag}")), &[], &args, set)
}

/// `--set` values as a file-name part.
fn set_tag(set: &[&str]) -> String {
    set.join(",").replace(['/', '='], "_")
}

/// Instructions of a whole `bench-runner ARGS… --set S…` process under plain callgrind: every
/// thread from the first instruction, `valgrind` options added, the counts written to `cg`.
fn callgrind_whole(cg: &Path, valgrind: &[&str], args: &[&str], set: &[&str]) -> u64 {
    let mut cmd = Command::new("valgrind");
    cmd.args(["--tool=callgrind", "--instr-atstart=yes"])
        .args(valgrind)
        .arg(format!("--callgrind-out-file={}", cg.display()))
        .arg(env!("CARGO_BIN_EXE_bench-runner"))
        .args(args)
        .env("RUST_LOG", "off");
    for s in set {
        cmd.args(["--set", s]);
    }
    let o = cmd.stdin(Stdio::null()).output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    callgrind_total(cg)
}

/// Instructions of one execution of `query` as the counting worker runs it (DataFusion on one
/// thread), counted by plain callgrind over the whole worker process with no client requests:
/// the worker with 3 executions less the worker with 1, halved (start-up and the uncounted
/// first run cancel).
pub fn plain_worker_instructions(
    data: &Path,
    queries: &Path,
    scratch: &Path,
    query: &str,
    set: &[&str],
) -> f64 {
    let total = |runs: u32| {
        let tag = format!("plain-{query}-{runs}-{}", set_tag(set));
        let args = [
            "count-instructions",
            "--no-regions",
            "--data",
            data.to_str().unwrap(),
            "--queries",
            queries.to_str().unwrap(),
            "--query",
            query,
            "--runs",
            &runs.to_string(),
        ];
        let cg = scratch.join(format!("callgrind.{tag}"));
        callgrind_whole(&cg, &["--fair-sched=yes"], &args, set) as f64
    };
    (total(3) - total(1)) / 2.0
}

/// `bench-runner run --data DATA ARGS…` (as [`bench_runner`] runs it): the command line the
/// tests build most, in one place.
pub fn run(data: &Path, args: &[&str]) -> Output {
    let mut all = vec!["run", "--data", data.to_str().expect("a UTF-8 path")];
    all.extend_from_slice(args);
    bench_runner(&all)
}
