//! A local cluster of separate processes on 127.0.0.1: one `logbench-scheduler` and N
//! `logbench-executor`s, each on free ports with its own work directory and log file.
//!
//! `up` returns once the scheduler's REST API lists every executor (readiness is asked of the
//! scheduler, never assumed after a sleep) and leaves a small state file (PIDs, ports, paths)
//! for `status`, `down` and the runner. Processes are stopped by PID, after checking that the
//! PID still belongs to one of our programs.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use super::rest;
use crate::error::{Error, Result};

pub const STATE_FILE: &str = "cluster.json";

/// What to start.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterSpec {
    pub executors: usize,
    /// Task slots per executor (default: the executor's CPU count).
    pub vcores: Option<usize>,
    /// Memory pool per executor in bytes.
    pub memory_pool: Option<u64>,
    pub heartbeat_interval_seconds: u64,
    pub executor_timeout_seconds: u64,
    pub expire_dead_executor_interval_seconds: u64,
    pub task_distribution: String,
    /// Where the `logbench-scheduler` and `logbench-executor` programs are.
    pub bin_dir: PathBuf,
    /// State file, logs, event logs and work directories live here.
    pub state_dir: PathBuf,
}

impl ClusterSpec {
    /// Defaults for a local benchmark cluster. Heartbeats every 5 s and a 30 s timeout
    /// notice a lost executor within about 35 s; Ballista's own defaults (60 s and 180 s)
    /// take minutes.
    pub fn new(executors: usize, state_dir: PathBuf) -> Self {
        Self {
            executors,
            vcores: None,
            memory_pool: None,
            heartbeat_interval_seconds: 5,
            executor_timeout_seconds: 30,
            expire_dead_executor_interval_seconds: 5,
            task_distribution: "bias".into(),
            bin_dir: default_bin_dir(),
            state_dir,
        }
    }
}

/// The directory of the running program: the cluster programs are built beside it.
pub fn default_bin_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchedulerProcess {
    pub pid: u32,
    pub port: u16,
    pub log: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutorProcess {
    pub id: String,
    pub pid: u32,
    pub flight_port: u16,
    pub grpc_port: u16,
    pub health_port: u16,
    pub work_dir: PathBuf,
    pub log: PathBuf,
}

/// The state file: everything `status`, `down` and the runner need.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterState {
    pub spec: ClusterSpec,
    pub scheduler: SchedulerProcess,
    pub executors: Vec<ExecutorProcess>,
    pub event_log_dir: PathBuf,
    pub started_at_ms: u64,
}

impl ClusterState {
    /// `127.0.0.1:PORT`
    pub fn scheduler_address(&self) -> String {
        format!("127.0.0.1:{}", self.scheduler.port)
    }

    /// `df://127.0.0.1:PORT`, the form `SessionContext::remote` takes.
    pub fn url(&self) -> String {
        format!("df://{}", self.scheduler_address())
    }

    pub fn load(state_dir: &Path) -> Result<Option<Self>> {
        let path = state_dir.join(STATE_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
                Error::Config(format!(
                    "{}: not a cluster state file ({e})",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(format!("reading {}", path.display()), e)),
        }
    }

    fn save(&self) -> Result<()> {
        let path = self.spec.state_dir.join(STATE_FILE);
        let tmp = self.spec.state_dir.join(format!("{STATE_FILE}.tmp"));
        let text = serde_json::to_string_pretty(self).expect("state serialises");
        std::fs::write(&tmp, text + "\n")
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))
    }

    /// Whether the scheduler process recorded here still runs.
    pub fn scheduler_alive(&self) -> bool {
        !exited(self.scheduler.pid)
    }
}

/// Milliseconds since the Unix epoch, as the scheduler's REST API gives times.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A port the kernel just handed out on loopback (released again for the child to bind).
fn free_port() -> Result<u16> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Error::io("finding a free port on 127.0.0.1", e))
}

/// Whether `pid` is alive and is one of our cluster programs (a PID can be reused).
pub fn ours_alive(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Field 3, after the parenthesised command name: Z is a zombie, X dead.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or("X");
    if state == "Z" || state == "X" {
        return false;
    }
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| String::from_utf8_lossy(&c).contains("logbench-"))
        .unwrap_or(false)
}

/// Whether a process we started has exited (reaping it). Between fork and exec a child still
/// shows the runner's command line, so the check asks the kernel, not `/proc`.
fn exited(pid: u32) -> bool {
    use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
    match waitpid(Pid::from_raw(pid as i32), Some(WaitPidFlag::WNOHANG)) {
        Ok(WaitStatus::StillAlive) => false,
        Ok(_) => true,
        // Not our child (or already reaped): ask /proc.
        Err(_) => !ours_alive(pid),
    }
}

fn log_file(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))
}

fn spawn(program: &Path, args: &[String], log: &Path, die_with_parent: bool) -> Result<u32> {
    if !program.exists() {
        return Err(Error::Config(format!(
            "{} not found: build it with `cargo build --release --workspace --bins`",
            program.display()
        )));
    }
    let out = log_file(log)?;
    let err = out
        .try_clone()
        .map_err(|e| Error::io(format!("opening {}", log.display()), e))?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        // Its own process group: a Ctrl-C meant for the runner does not reach the cluster
        // (it is stopped deliberately, by PID).
        .process_group(0);
    if die_with_parent {
        // A cluster started for one run must not outlive the runner, even if it is killed.
        // SAFETY: the hook runs in the forked child before exec and only makes one
        // async-signal-safe system call (prctl).
        unsafe {
            cmd.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
                Ok(())
            });
        }
    }
    let child = cmd
        .spawn()
        .map_err(|e| Error::io(format!("starting {}", program.display()), e))?;
    Ok(child.id())
}

/// The last lines of a log, for error messages.
pub fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn executor_args(state: &ClusterState, e: &ExecutorProcess) -> Vec<String> {
    let spec = &state.spec;
    let mut args = vec![
        "--executor-id".into(),
        e.id.clone(),
        "--bind-host".into(),
        "127.0.0.1".into(),
        "--flight-port".into(),
        e.flight_port.to_string(),
        "--grpc-port".into(),
        e.grpc_port.to_string(),
        "--health-port".into(),
        e.health_port.to_string(),
        "--scheduler-host".into(),
        "127.0.0.1".into(),
        "--scheduler-port".into(),
        state.scheduler.port.to_string(),
        "--work-dir".into(),
        e.work_dir.display().to_string(),
        "--heartbeat-interval-seconds".into(),
        spec.heartbeat_interval_seconds.to_string(),
    ];
    if let Some(v) = spec.vcores {
        args.extend(["--vcores".into(), v.to_string()]);
    }
    if let Some(m) = spec.memory_pool {
        args.extend(["--memory-pool".into(), m.to_string()]);
    }
    args
}

async fn wait_for<F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if check().await? {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Error::Engine(format!(
                "{what}: not ready after {:.0} s",
                timeout.as_secs_f64()
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the scheduler lists every executor in `ids` (and each process still runs).
pub async fn wait_registered(
    state: &ClusterState,
    ids: &[String],
    timeout: Duration,
) -> Result<()> {
    let addr = state.scheduler_address();
    wait_for("executors registering with the scheduler", timeout, || {
        let addr = addr.clone();
        async move {
            for e in state.executors.iter().filter(|e| ids.contains(&e.id)) {
                if exited(e.pid) {
                    return Err(Error::Engine(format!(
                        "executor {} exited while starting; its log ({}) ends:\n{}",
                        e.id,
                        e.log.display(),
                        log_tail(&e.log, 15)
                    )));
                }
            }
            let listed = rest::executors(&addr, Duration::from_secs(5)).await?;
            Ok(ids.iter().all(|id| listed.iter().any(|x| &x.id == id)))
        }
    })
    .await
}

/// Starts a scheduler and `spec.executors` executors, waits until all are registered, writes
/// the state file. On any failure everything started so far is stopped again. The ports are
/// ones the kernel just handed out and released for the programs to bind: another process can
/// take one in between, so a start that failed because an address was in use is tried again
/// on new ports (three tries).
pub async fn up(
    spec: ClusterSpec,
    die_with_parent: bool,
    timeout: Duration,
) -> Result<ClusterState> {
    let mut tries = 0;
    loop {
        tries += 1;
        match up_once(spec.clone(), die_with_parent, timeout).await {
            Err(e) if tries < 3 && e.to_string().contains("in use") => {
                eprintln!("bench-runner: a port was taken while the cluster started; trying again");
            }
            r => return r,
        }
    }
}

async fn up_once(
    spec: ClusterSpec,
    die_with_parent: bool,
    timeout: Duration,
) -> Result<ClusterState> {
    if spec.executors == 0 {
        return Err(Error::Config("--executors must be at least 1".into()));
    }
    if let Some(old) = ClusterState::load(&spec.state_dir)? {
        if old.scheduler_alive() {
            return Err(Error::Config(format!(
                "a cluster is already running at {} (state in {}); stop it with `bench-runner cluster down`",
                old.url(),
                spec.state_dir.display()
            )));
        }
        // A stale state file from a cluster that is gone: clear its leftovers.
        down(&old);
    }
    let logs = spec.state_dir.join("logs");
    let events = spec.state_dir.join("events");
    for d in [&spec.state_dir, &logs, &events] {
        std::fs::create_dir_all(d)
            .map_err(|e| Error::io(format!("creating {}", d.display()), e))?;
    }
    let sched_log = logs.join("scheduler.log");
    let port = free_port()?;
    let sched_args: Vec<String> = vec![
        "--bind-host".into(),
        "127.0.0.1".into(),
        "--bind-port".into(),
        port.to_string(),
        "--event-log-dir".into(),
        events.display().to_string(),
        "--task-distribution".into(),
        spec.task_distribution.clone(),
        "--executor-timeout-seconds".into(),
        spec.executor_timeout_seconds.to_string(),
        "--expire-dead-executor-interval-seconds".into(),
        spec.expire_dead_executor_interval_seconds.to_string(),
    ];
    let pid = spawn(
        &spec.bin_dir.join("logbench-scheduler"),
        &sched_args,
        &sched_log,
        die_with_parent,
    )?;
    let mut state = ClusterState {
        scheduler: SchedulerProcess {
            pid,
            port,
            log: sched_log.clone(),
        },
        executors: Vec::new(),
        event_log_dir: events,
        started_at_ms: now_ms(),
        spec,
    };
    let started = async {
        let addr = state.scheduler_address();
        wait_for("the scheduler", timeout, || {
            let addr = addr.clone();
            let sched_log = sched_log.clone();
            async move {
                if exited(pid) {
                    return Err(Error::Engine(format!(
                        "the scheduler exited while starting; its log ({}) ends:\n{}",
                        sched_log.display(),
                        log_tail(&sched_log, 15)
                    )));
                }
                Ok(matches!(
                    rest::get(&addr, "/healthz", Duration::from_secs(2)).await,
                    Ok((200, _))
                ))
            }
        })
        .await?;
        for i in 1..=state.spec.executors {
            let e = new_executor(&state, &format!("executor-{i}"))?;
            state.executors.push(e);
            let e = state.executors.last().expect("just pushed").clone();
            let pid = spawn(
                &state.spec.bin_dir.join("logbench-executor"),
                &executor_args(&state, &e),
                &e.log,
                die_with_parent,
            )?;
            state.executors.last_mut().expect("just pushed").pid = pid;
        }
        let ids: Vec<String> = state.executors.iter().map(|e| e.id.clone()).collect();
        wait_registered(&state, &ids, timeout).await?;
        state.save()
    };
    match started.await {
        Ok(()) => Ok(state),
        Err(e) => {
            down(&state);
            Err(e)
        }
    }
}

fn new_executor(state: &ClusterState, id: &str) -> Result<ExecutorProcess> {
    let work_dir = state.spec.state_dir.join("work").join(id);
    std::fs::create_dir_all(&work_dir)
        .map_err(|e| Error::io(format!("creating {}", work_dir.display()), e))?;
    Ok(ExecutorProcess {
        id: id.to_string(),
        pid: 0,
        flight_port: free_port()?,
        grpc_port: free_port()?,
        health_port: free_port()?,
        work_dir,
        log: state.spec.state_dir.join("logs").join(format!("{id}.log")),
    })
}

/// Starts executor `id` again (stopping it first if it still runs), on the same ports and
/// work directory, and waits until the scheduler lists it.
pub async fn restart_executor(state: &mut ClusterState, id: &str, timeout: Duration) -> Result<()> {
    let idx = state
        .executors
        .iter()
        .position(|e| e.id == id)
        .ok_or_else(|| {
            Error::Config(format!(
                "no executor '{id}' in this cluster (it has {})",
                state
                    .executors
                    .iter()
                    .map(|e| e.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
    stop(state.executors[idx].pid);
    let e = state.executors[idx].clone();
    let pid = spawn(
        &state.spec.bin_dir.join("logbench-executor"),
        &executor_args(state, &e),
        &e.log,
        false,
    )?;
    state.executors[idx].pid = pid;
    state.save()?;
    wait_registered(state, &[id.to_string()], timeout).await
}

/// SIGTERM, then SIGKILL after 10 s; only if the PID is still one of our programs.
fn stop(pid: u32) {
    if pid == 0 || exited(pid) {
        return;
    }
    let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if exited(pid) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && !exited(pid) {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Stops every process of the cluster by PID (executors first), removes the work
/// directories, event logs and state file, and keeps the logs.
pub fn down(state: &ClusterState) {
    for e in &state.executors {
        stop(e.pid);
    }
    stop(state.scheduler.pid);
    let dir = &state.spec.state_dir;
    let _ = std::fs::remove_dir_all(dir.join("work"));
    let _ = std::fs::remove_dir_all(dir.join("events"));
    let _ = std::fs::remove_file(dir.join(STATE_FILE));
}

/// One executor as `cluster status` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExecutorStatus {
    pub id: String,
    pub pid: Option<u32>,
    /// The process runs.
    pub process_alive: bool,
    /// The scheduler lists it as alive.
    pub registered: bool,
    /// Seconds since the scheduler last heard from it.
    pub last_heartbeat_age_s: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Status {
    pub url: String,
    pub scheduler_pid: u32,
    pub scheduler_alive: bool,
    pub executors: Vec<ExecutorStatus>,
}

impl Status {
    pub fn registered(&self) -> usize {
        self.executors.iter().filter(|e| e.registered).count()
    }

    /// A headline and one row per executor, as `cluster status` prints them.
    pub fn to_terminal(&self) -> String {
        let mut t = crate::table::new(
            &["executor", "pid", "process", "registered", "last heartbeat"],
            &[1, 4],
        );
        for e in &self.executors {
            t.add_row(vec![
                e.id.clone(),
                e.pid.map_or("-".into(), |p| p.to_string()),
                (if e.process_alive { "running" } else { "gone" }).into(),
                (if e.registered { "yes" } else { "LOST" }).into(),
                e.last_heartbeat_age_s
                    .map_or("-".into(), |a| format!("{a:.1} s ago")),
            ]);
        }
        format!(
            "scheduler {} pid {} ({}); {} of {} executors registered\n{}",
            self.url,
            self.scheduler_pid,
            if self.scheduler_alive {
                "running"
            } else {
                "not running"
            },
            self.registered(),
            self.executors.len(),
            crate::table::render(&t)
        )
    }
}

pub async fn status(state: &ClusterState) -> Result<Status> {
    let listed = rest::executors(&state.scheduler_address(), Duration::from_secs(5)).await?;
    let now = now_ms();
    let mut seen: BTreeMap<String, &rest::Executor> =
        listed.iter().map(|e| (e.id.clone(), e)).collect();
    let mut executors = Vec::new();
    for e in &state.executors {
        let alive = !exited(e.pid);
        let reg = seen.remove(&e.id);
        executors.push(ExecutorStatus {
            id: e.id.clone(),
            pid: Some(e.pid),
            process_alive: alive,
            registered: reg.is_some(),
            last_heartbeat_age_s: reg
                .and_then(|r| r.last_seen)
                .map(|t| now.saturating_sub(t) as f64 / 1e3),
        });
    }
    // Executors this state file did not start (joined from elsewhere).
    for (id, r) in seen {
        executors.push(ExecutorStatus {
            id,
            pid: None,
            process_alive: true,
            registered: true,
            last_heartbeat_age_s: r.last_seen.map(|t| now.saturating_sub(t) as f64 / 1e3),
        });
    }
    Ok(Status {
        url: state.url(),
        scheduler_pid: state.scheduler.pid,
        scheduler_alive: state.scheduler_alive(),
        executors,
    })
}

/// A cluster started for one run, stopped when dropped (also on error paths and panics).
pub struct Embedded {
    pub state: ClusterState,
}

impl Drop for Embedded {
    fn drop(&mut self) {
        down(&self.state);
        let _ = std::fs::remove_dir_all(&self.state.spec.state_dir);
    }
}

/// Starts a cluster that lives as long as the returned guard (and never longer than this
/// process: the children are killed if the runner dies).
pub async fn embedded(spec: ClusterSpec, timeout: Duration) -> Result<Embedded> {
    Ok(Embedded {
        state: up(spec, true, timeout).await?,
    })
}
