//! DuckDB, the single-node reference engine: the pinned Python `duckdb` wheel in one long-lived
//! worker process (`scripts/tools/duckdb_worker.py`, embedded in this binary and run with
//! `python -c`), on the same Parquet files through a view named like the table.
//!
//! Each execution is one request and one answer over the worker's pipes: the SQL goes out as a
//! JSON line; DuckDB runs it and materializes the whole answer as an Arrow table (as `collect`
//! does for DataFusion), timed on its side; the answer comes back as an Arrow IPC stream and
//! is decoded into record batches here, so the digests are made by the same code as the other
//! engines'. The time recorded is the runner's own, around the round trip; the worker's timer
//! tells how much of it is DuckDB's ([`DuckDbEngine::last_engine_ns`], `bench-runner overhead
//! --engine duckdb`).
//!
//! Why a Python worker: the `duckdb` crate's bundled build compiles DuckDB's C++ (15+ minutes
//! on a 2-core machine, on top of a cold build already near CI's budget); the CLI can hand
//! answers over only as text or as files it writes. The wheel is prebuilt and pinned beside the
//! project's other Python tools (scripts/ci/requirements.txt).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::ipc::reader::StreamReader;
use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use super::{ChangedSetting, Engine, EngineConfig};
use crate::error::{Error, Result};
use crate::plans::{Analysis, Plans, fingerprint};
use crate::store::DataLocation;

/// The worker's source, run with `python -c`: the binary needs no checkout beside it.
const WORKER: &str = include_str!("../../../scripts/tools/duckdb_worker.py");

/// What installs the worker's Python modules (the README's quick start runs it too).
pub const INSTALL_HINT: &str =
    "scripts/ci/pytools.sh ~/.cache/logbench/venv, then set LOGBENCH_VENV=~/.cache/logbench/venv";

/// The Python the worker runs on: `$LOGBENCH_VENV/bin/python` where that venv exists, else
/// `python3` on PATH.
pub fn python() -> PathBuf {
    std::env::var_os("LOGBENCH_VENV")
        .map(|v| PathBuf::from(v).join("bin/python"))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("python3"))
}

/// The worker's first line.
#[derive(Debug, Clone, Deserialize)]
struct Hello {
    version: String,
    pyarrow: String,
    threads: usize,
    #[serde(default)]
    changed: BTreeMap<String, Changed>,
}

#[derive(Debug, Clone, Deserialize)]
struct Changed {
    value: String,
    default: Option<String>,
}

#[derive(Debug, Deserialize)]
struct StartError {
    error: String,
    missing: Option<String>,
}

/// One reply line.
#[derive(Debug, Deserialize)]
struct Reply {
    ok: bool,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    ns: u64,
    #[serde(default)]
    bytes: usize,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    logical: Option<String>,
    #[serde(default)]
    physical: Option<String>,
}

struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// A request is out whose reply was not read (its execution was abandoned): the pipes are
    /// out of step, and the worker must be replaced before the next request.
    pending: bool,
}

pub struct DuckDbEngine {
    threads: usize,
    memory_limit: Option<u64>,
    requested: BTreeMap<String, String>,
    hello: Hello,
    worker: tokio::sync::Mutex<Worker>,
    /// The worker's pid, for its peak memory.
    pid: AtomicU32,
    /// The views registered, to register again in a replacement worker.
    views: std::sync::Mutex<Vec<(String, Vec<String>)>>,
    last_engine_ns: AtomicU64,
}

/// `DataFusion`'s `target_partitions` after `settings`: the threads DuckDB is given, so both
/// engines use the same parallelism.
fn target_partitions(settings: &[(String, String)]) -> Result<usize> {
    let mut config = datafusion::prelude::SessionConfig::new();
    super::apply_settings(&mut config, settings)?;
    Ok(config.target_partitions())
}

impl DuckDbEngine {
    /// Starts the worker: DuckDB with `threads` = DataFusion's `target_partitions` under
    /// `settings`, and `memory_limit` where given. Fails in one line when Python or its modules
    /// are missing, naming the command that installs them.
    pub async fn start(settings: &[(String, String)], memory_limit: Option<u64>) -> Result<Self> {
        let threads = target_partitions(settings)?;
        let (worker, hello) = spawn(threads, memory_limit).await?;
        let pid = worker.child.id().unwrap_or(0);
        let requested = settings
            .iter()
            .filter(|(k, _)| k == "datafusion.execution.target_partitions")
            .cloned()
            .collect();
        Ok(Self {
            threads,
            memory_limit,
            requested,
            hello,
            worker: tokio::sync::Mutex::new(worker),
            pid: AtomicU32::new(pid),
            views: std::sync::Mutex::new(Vec::new()),
            last_engine_ns: AtomicU64::new(0),
        })
    }

    /// DuckDB's own time for the last execution (the worker's timer: the query run and its
    /// answer materialized, without the transfer), in nanoseconds.
    pub fn last_engine_ns(&self) -> u64 {
        self.last_engine_ns.load(Ordering::Relaxed)
    }

    /// DuckDB's version (the `duckdb` wheel's).
    pub fn version(&self) -> &str {
        &self.hello.version
    }

    /// Sends one request and reads its reply line; a worker left out of step by an abandoned
    /// request is replaced first.
    async fn request(&self, req: serde_json::Value) -> Result<(Reply, Option<Vec<u8>>)> {
        let mut w = self.worker.lock().await;
        if w.pending {
            self.replace(&mut w).await?;
        }
        exchange(&mut w, req).await
    }

    /// Kills the worker (and the query it runs), starts another and registers the views again.
    async fn replace(&self, w: &mut Worker) -> Result<()> {
        let _ = w.child.kill().await;
        let (fresh, _) = spawn(self.threads, self.memory_limit).await?;
        *w = fresh;
        self.pid.store(w.child.id().unwrap_or(0), Ordering::Relaxed);
        let views = self.views.lock().expect("views lock").clone();
        for (table, files) in views {
            let req = serde_json::json!({"op": "register", "table": table, "files": files});
            exchange(w, req).await?;
        }
        Ok(())
    }
}

/// One request and its reply (and the reply's body, when it has one) on a worker held by the
/// caller. The worker is marked pending until the whole reply is read, so a request abandoned
/// halfway (a cancelled query) has its worker replaced before the next one.
async fn exchange(w: &mut Worker, req: serde_json::Value) -> Result<(Reply, Option<Vec<u8>>)> {
    let mut line = serde_json::to_vec(&req).expect("a JSON request");
    line.push(b'\n');
    w.pending = true;
    let io = |e: std::io::Error| Error::io("talking to the DuckDB worker", e);
    w.stdin.write_all(&line).await.map_err(io)?;
    w.stdin.flush().await.map_err(io)?;
    let mut head = String::new();
    if w.stdout.read_line(&mut head).await.map_err(io)? == 0 {
        return Err(Error::Engine(format!(
            "the DuckDB worker exited{}",
            exit_note(&mut w.child).await
        )));
    }
    let reply: Reply = serde_json::from_str(&head)
        .map_err(|e| Error::Engine(format!("the DuckDB worker answered {:?}: {e}", head.trim())))?;
    let body = if reply.ok && reply.bytes > 0 {
        let mut body = vec![0; reply.bytes];
        w.stdout.read_exact(&mut body).await.map_err(io)?;
        Some(body)
    } else {
        None
    };
    w.pending = false;
    if !reply.ok {
        return Err(Error::Engine(format!(
            "duckdb: {}",
            reply.error.as_deref().unwrap_or("failed")
        )));
    }
    Ok((reply, body))
}

/// How the worker ended, for an error message.
async fn exit_note(child: &mut Child) -> String {
    match child.wait().await {
        Ok(s) => format!(" ({s})"),
        Err(_) => String::new(),
    }
}

/// Starts a worker and reads its first line.
async fn spawn(threads: usize, memory_limit: Option<u64>) -> Result<(Worker, Hello)> {
    let python = python();
    let mut cmd = Command::new(&python);
    cmd.arg("-c")
        .arg(WORKER)
        .arg("--threads")
        .arg(threads.to_string());
    if let Some(m) = memory_limit {
        cmd.arg("--memory-limit").arg(m.to_string());
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            Error::Config(format!(
                "DuckDB needs Python ({}: {e}); install the project's Python tools: {INSTALL_HINT}",
                python.display()
            ))
        })?;
    let stdin = child.stdin.take().expect("piped stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut head = String::new();
    stdout
        .read_line(&mut head)
        .await
        .map_err(|e| Error::io("starting the DuckDB worker", e))?;
    if let Ok(e) = serde_json::from_str::<StartError>(&head) {
        return Err(Error::Config(match e.missing {
            Some(m) => format!(
                "DuckDB is not installed for {} (no Python module {m}); install it: {INSTALL_HINT}",
                python.display()
            ),
            None => format!("the DuckDB worker could not start: {}", e.error),
        }));
    }
    let hello: Hello = serde_json::from_str(&head).map_err(|e| {
        Error::Config(format!(
            "the DuckDB worker ({}) did not start: {}",
            python.display(),
            if head.trim().is_empty() {
                "it printed nothing".to_string()
            } else {
                format!("{:?}: {e}", head.trim())
            }
        ))
    })?;
    Ok((
        Worker {
            child,
            stdin,
            stdout,
            pending: false,
        },
        hello,
    ))
}

/// The Parquet files of a dataset directory, sorted.
fn parquet_files(dir: &std::path::Path) -> Result<Vec<String>> {
    let abs = dir
        .canonicalize()
        .map_err(|e| Error::io(format!("dataset {}", dir.display()), e))?;
    let mut files: Vec<String> = std::fs::read_dir(&abs)
        .map_err(|e| Error::io(format!("dataset {}", abs.display()), e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::Dataset(format!(
            "no Parquet files in {}",
            abs.display()
        )));
    }
    Ok(files)
}

/// The refusal of a dataset DuckDB cannot read here.
pub fn refuse_s3(data: &DataLocation) -> Result<()> {
    match data {
        DataLocation::S3(url) => Err(Error::Config(format!(
            "--engine duckdb cannot read {url}: DuckDB reads S3 through its httpfs extension, which it downloads on first use and this machine cannot; run DuckDB on a local copy of the dataset"
        ))),
        DataLocation::Dir(_) => Ok(()),
    }
}

#[async_trait]
impl Engine for DuckDbEngine {
    fn name(&self) -> &str {
        "duckdb"
    }

    async fn register(&self, table: &str, data: &DataLocation) -> Result<()> {
        refuse_s3(data)?;
        let DataLocation::Dir(dir) = data else {
            unreachable!("refused above")
        };
        let files = parquet_files(dir)?;
        let req = serde_json::json!({"op": "register", "table": table, "files": files});
        self.request(req).await?;
        self.views
            .lock()
            .expect("views lock")
            .push((table.to_string(), files));
        Ok(())
    }

    async fn execute(&self, sql: &str) -> Result<Vec<RecordBatch>> {
        let (reply, body) = self
            .request(serde_json::json!({"op": "query", "sql": sql}))
            .await?;
        self.last_engine_ns.store(reply.ns, Ordering::Relaxed);
        let Some(body) = body else {
            return Ok(Vec::new());
        };
        let reader = StreamReader::try_new(std::io::Cursor::new(body), None)
            .map_err(|e| Error::Engine(format!("reading DuckDB's answer: {e}")))?;
        reader
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::Engine(format!("reading DuckDB's answer: {e}")))
    }

    async fn explain(&self, sql: &str) -> Result<Plans> {
        let (reply, _) = self
            .request(serde_json::json!({"op": "explain", "sql": sql}))
            .await?;
        let physical = reply.physical.unwrap_or_default();
        Ok(Plans {
            fingerprint: fingerprint(&physical),
            logical: reply.logical.unwrap_or_default(),
            physical,
            distributed: None,
        })
    }

    async fn analyze(&self, sql: &str) -> Result<Analysis> {
        let (reply, _) = self
            .request(serde_json::json!({"op": "analyze", "sql": sql}))
            .await?;
        Ok(Analysis {
            text: reply.text.unwrap_or_default(),
            operators: Vec::new(),
        })
    }

    fn config(&self) -> EngineConfig {
        EngineConfig {
            name: self.name().into(),
            target_partitions: self.hello.threads,
            memory_limit: self.memory_limit,
            memory_pool: None,
            changed_settings: self
                .hello
                .changed
                .iter()
                .map(|(k, c)| {
                    (
                        k.clone(),
                        ChangedSetting {
                            value: Some(c.value.clone()),
                            default: c.default.clone(),
                        },
                    )
                })
                .collect(),
            requested_settings: self.requested.clone(),
            cluster: None,
            version: Some(format!(
                "duckdb {} (Python wheel, pyarrow {}; threads {})",
                self.hello.version, self.hello.pyarrow, self.hello.threads
            )),
        }
    }

    /// The worker process's peak resident memory (VmHWM) since the last reset: DuckDB's
    /// buffers and the Python interpreter under it (about 60 MB at rest).
    fn memory_peak(&self) -> Option<u64> {
        let pid = self.pid.load(Ordering::Relaxed);
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .map(|kb| kb * 1024)
    }

    fn reset_memory_peak(&self) {
        let pid = self.pid.load(Ordering::Relaxed);
        let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
    }

    fn profile_targets(&self) -> super::ProfileTargets {
        super::ProfileTargets::Unavailable(
            "DuckDB runs in its own (Python) process, which the profiler does not sample".into(),
        )
    }

    /// An abandoned execution leaves the worker running its query: it is killed and replaced
    /// (the views registered again) before this returns.
    async fn cancel_abandoned(&self) -> Result<Option<String>> {
        let mut w = self.worker.lock().await;
        if w.pending {
            self.replace(&mut w).await?;
        }
        Ok(None)
    }
}
