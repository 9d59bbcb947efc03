//! The `logbench-executor` program: one Ballista 55 executor per process (Ballista installs
//! its own signal handlers), with an explicit work directory and `/healthz` + `/readyz` on a
//! health port for Kubernetes probes. The same port opens and closes a CPU-profiling window
//! on this process (`POST /profile/start?hz=N`, `POST /profile/stop` answers folded stacks):
//! the runner wraps a query's job in it to see what the executors spent their time on.

use std::path::PathBuf;
use std::sync::Arc;

use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_executor::health::ExecutorHealth;
use clap::Parser;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::scheduler::Policy;

#[derive(Debug, Parser)]
#[command(
    name = "logbench-executor",
    version,
    about = "Apache Ballista 55 executor (Arrow Flight, gRPC, and /healthz + /readyz on a health port)"
)]
pub struct ExecutorArgs {
    /// Identifier the scheduler knows this executor by (default: a random one).
    #[arg(long)]
    pub executor_id: Option<String>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind_host: String,
    /// Host name the scheduler, other executors and clients use to reach this executor
    /// (default: the bind host).
    #[arg(long)]
    pub external_host: Option<String>,
    /// Arrow Flight port: shuffle and result data.
    #[arg(long, default_value_t = 50051)]
    pub flight_port: u16,
    /// gRPC port: task launches from the scheduler.
    #[arg(long, default_value_t = 50052)]
    pub grpc_port: u16,
    /// HTTP port for /healthz (process alive), /readyz (last heartbeat accepted) and the
    /// profiling window (/profile/start, /profile/stop); 0 disables.
    #[arg(long, default_value_t = 50053)]
    pub health_port: u16,
    #[arg(long, default_value = "localhost")]
    pub scheduler_host: String,
    #[arg(long, default_value_t = 50050)]
    pub scheduler_port: u16,
    /// Give up on reaching the scheduler at start-up after this long (0: try once).
    #[arg(long, default_value_t = 30)]
    pub scheduler_connect_timeout_seconds: u16,
    /// Shuffle files go here; one directory per executor.
    #[arg(long)]
    pub work_dir: PathBuf,
    /// Task slots offered to the scheduler (default: the CPUs this process may use).
    #[arg(long)]
    pub vcores: Option<usize>,
    /// Memory pool shared by this executor's tasks, in bytes (512M, 4G); default: Ballista's
    /// share of the host's memory.
    #[arg(long, value_parser = logbench_common::bytes::parse_bytes)]
    pub memory_pool: Option<u64>,
    /// Seconds between heartbeats to the scheduler.
    #[arg(long, default_value_t = 60)]
    pub heartbeat_interval_seconds: u64,
    #[arg(long, value_enum, default_value_t = Policy::PushStaged)]
    pub scheduling_policy: Policy,
    /// Log filter (RUST_LOG overrides).
    #[arg(long, default_value = "info")]
    pub log_level: String,
}

impl ExecutorArgs {
    pub fn config(&self, health: ExecutorHealth) -> ExecutorProcessConfig {
        let mut c = ExecutorProcessConfig::default();
        if let Some(id) = &self.executor_id {
            c.executor_id = id.clone();
        }
        c.bind_host = self.bind_host.clone();
        c.external_host = Some(
            self.external_host
                .clone()
                .unwrap_or_else(|| self.bind_host.clone()),
        );
        c.port = self.flight_port;
        c.grpc_port = self.grpc_port;
        c.scheduler_host = self.scheduler_host.clone();
        c.scheduler_port = self.scheduler_port;
        c.scheduler_connect_timeout_seconds = self.scheduler_connect_timeout_seconds;
        if let Some(v) = self.vcores {
            c.vcores = v;
        }
        c.work_dir = Some(self.work_dir.display().to_string());
        // Tasks spill into the work directory (as Ballista's own default runtime does) and read
        // local paths or S3 through the environment's settings (see [`logbench_store`]).
        let spill = self.work_dir.clone();
        c.override_runtime_producer = Some(Arc::new(move |_| {
            logbench_store::runtime(RuntimeEnvBuilder::new().with_temp_file_path(spill.clone()))
        }));
        c.memory_pool_size = self.memory_pool;
        c.executor_heartbeat_interval_seconds = self.heartbeat_interval_seconds;
        c.task_scheduling_policy = self.scheduling_policy.into();
        c.print_thread_info = false;
        c.health = health;
        c
    }
}

/// Runs the executor until SIGTERM / Ctrl-C.
pub async fn run(args: ExecutorArgs) -> Result<(), String> {
    super::init_logging(&args.log_level);
    std::fs::create_dir_all(&args.work_dir)
        .map_err(|e| format!("--work-dir {}: {e}", args.work_dir.display()))?;
    if args.vcores == Some(0) {
        return Err("--vcores must be at least 1".into());
    }
    let health = ExecutorHealth::new();
    if args.health_port != 0 {
        let addr = format!("{}:{}", args.bind_host, args.health_port);
        let listener = TcpListener::bind(&addr)
            .await
            .map_err(|e| format!("--health-port {}: {e}", args.health_port))?;
        tokio::spawn(serve_health(listener, health.clone()));
    }
    let config = args.config(health);
    start_executor_process(Arc::new(config))
        .await
        .map_err(|e| e.to_string())
}

/// The profiling window: at most one open at a time.
type Window = Arc<std::sync::Mutex<Option<logbench_common::profile::Sampler>>>;

/// A minimal HTTP/1.1 responder: `/healthz` is 200 while the process runs; `/readyz` is 200
/// once the scheduler has accepted a heartbeat and 503 after one fails; `/profile/start?hz=N`
/// starts sampling this process (409 when a window is already open) and `/profile/stop`
/// closes the window and answers its folded stacks (409 when none is open).
async fn serve_health(listener: TcpListener, health: ExecutorHealth) {
    let window: Window = Arc::default();
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let health = health.clone();
        let window = window.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            let n = stream.read(&mut buf).await.unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]);
            let mut words = request.split_whitespace();
            let method = words.next().unwrap_or("");
            let target = words.next().unwrap_or("");
            let (path, query) = target.split_once('?').unwrap_or((target, ""));
            // Extra response headers: the CPU time of a closed profiling window.
            let mut extra = String::new();
            let (status, body): (&str, String) = match (method, path) {
                (_, "/healthz") => ("200 OK", "ok".into()),
                (_, "/readyz") if health.is_ready() => ("200 OK", "ready".into()),
                (_, "/readyz") => (
                    "503 Service Unavailable",
                    "no heartbeat accepted yet".into(),
                ),
                ("POST", "/profile/start") => profile_start(&window, query),
                ("POST", "/profile/stop") => {
                    let window = window.clone();
                    match tokio::task::spawn_blocking(move || profile_stop(&window)).await {
                        Ok((status, body, cpu)) => {
                            if let Some(cpu) = cpu {
                                extra = format!(
                                    "{}: {}\r\n",
                                    logbench_common::profile::CPU_HEADER,
                                    cpu.as_micros()
                                );
                            }
                            (status, body)
                        }
                        Err(e) => ("500 Internal Server Error", e.to_string()),
                    }
                }
                (_, "/profile/start" | "/profile/stop") => {
                    ("405 Method Not Allowed", "use POST".into())
                }
                _ => ("404 Not Found", "not found".into()),
            };
            let response = format!(
                "HTTP/1.1 {status}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n{extra}connection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        });
    }
}

fn profile_start(window: &Window, query: &str) -> (&'static str, String) {
    let hz = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("hz="))
        .map(|v| {
            v.parse::<u32>()
                .map_err(|_| format!("hz={v} is not a number"))
        })
        .unwrap_or(Ok(logbench_common::profile::DEFAULT_FREQUENCY_HZ));
    let hz = match hz {
        Ok(hz) => hz,
        Err(e) => return ("400 Bad Request", e),
    };
    let mut open = window.lock().expect("profiling window lock");
    if open.is_some() {
        return ("409 Conflict", "a profiling window is already open".into());
    }
    match logbench_common::profile::start(hz) {
        Ok(sampler) => {
            *open = Some(sampler);
            ("200 OK", format!("profiling at {hz} Hz"))
        }
        Err(e) => ("500 Internal Server Error", e),
    }
}

/// The status, the body (folded stacks), and the CPU time the window saw.
fn profile_stop(window: &Window) -> (&'static str, String, Option<std::time::Duration>) {
    let sampler = window.lock().expect("profiling window lock").take();
    match sampler.map(|s| s.finish()) {
        None => ("409 Conflict", "no profiling window is open".into(), None),
        Some(Ok(profile)) => ("200 OK", profile.folded(), Some(profile.cpu)),
        Some(Err(e)) => ("500 Internal Server Error", e, None),
    }
}
