//! The `logbench-scheduler` program: one Ballista 55 scheduler (gRPC, REST API and health
//! probes on one port), with the per-job event log that records which executor ran each task.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use ballista_core::config::TaskSchedulingPolicy;
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::{SchedulerConfig, TaskDistributionPolicy};
use ballista_scheduler::scheduler_process::start_server;
use clap::{Parser, ValueEnum};
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Policy {
    /// The scheduler pushes tasks to executors as soon as a slot frees (Ballista's default).
    PushStaged,
    /// Executors poll the scheduler for work.
    PullStaged,
}

impl From<Policy> for TaskSchedulingPolicy {
    fn from(p: Policy) -> Self {
        match p {
            Policy::PushStaged => TaskSchedulingPolicy::PushStaged,
            Policy::PullStaged => TaskSchedulingPolicy::PullStaged,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Distribution {
    /// Fill each executor's free slots in turn (Ballista's default).
    Bias,
    /// One task per executor in turn.
    RoundRobin,
}

#[derive(Debug, Parser)]
#[command(
    name = "logbench-scheduler",
    version,
    about = "Apache Ballista 55 scheduler (gRPC, REST API, /healthz and /readyz on one port)"
)]
pub struct SchedulerArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind_host: String,
    /// Port for gRPC, the REST API and the health probes.
    #[arg(long, default_value_t = 50050)]
    pub bind_port: u16,
    /// Host name executors and clients use to reach this scheduler (default: the bind host).
    #[arg(long)]
    pub external_host: Option<String>,
    /// Directory for one JSON-lines event log per job (tasks with the executor that ran them).
    #[arg(long)]
    pub event_log_dir: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Policy::PushStaged)]
    pub scheduling_policy: Policy,
    #[arg(long, value_enum, default_value_t = Distribution::Bias)]
    pub task_distribution: Distribution,
    /// An executor whose last heartbeat is older than this is declared dead.
    #[arg(long, default_value_t = 180)]
    pub executor_timeout_seconds: u64,
    /// How often dead executors are swept.
    #[arg(long, default_value_t = 15)]
    pub expire_dead_executor_interval_seconds: u64,
    /// Jobs fail after this long with no executor (default: the executor timeout).
    #[arg(long)]
    pub no_executors_grace_period_seconds: Option<u64>,
    /// Attempts per task before its job fails.
    #[arg(long, default_value_t = 4)]
    pub task_max_failures: usize,
    /// Serve executors' Arrow Flight results through this scheduler, so clients need no
    /// direct route to executors (Kubernetes).
    #[arg(long)]
    pub flight_proxy: bool,
    /// Log filter (RUST_LOG overrides).
    #[arg(long, default_value = "info")]
    pub log_level: String,
}

impl SchedulerArgs {
    pub fn config(&self) -> SchedulerConfig {
        let mut c = SchedulerConfig::default()
            .with_hostname(
                self.external_host
                    .clone()
                    .unwrap_or_else(|| self.bind_host.clone()),
            )
            .with_port(self.bind_port)
            .with_scheduler_policy(self.scheduling_policy.into());
        c.bind_host = self.bind_host.clone();
        c.task_distribution = match self.task_distribution {
            Distribution::Bias => TaskDistributionPolicy::Bias,
            Distribution::RoundRobin => TaskDistributionPolicy::RoundRobin,
        };
        c.event_log_dir = self.event_log_dir.as_ref().map(|d| d.display().to_string());
        c.executor_timeout_seconds = self.executor_timeout_seconds;
        c.expire_dead_executor_interval_seconds = self.expire_dead_executor_interval_seconds;
        c.no_executors_grace_period_seconds = self
            .no_executors_grace_period_seconds
            .unwrap_or(self.executor_timeout_seconds);
        c.task_max_failures = self.task_max_failures;
        c.enable_embedded_flight_proxy = self.flight_proxy;
        // Planning lists the dataset's files: local paths, or S3 through the environment's
        // settings (see [`logbench_store`]).
        c.override_session_builder = Some(Arc::new(|config| {
            let state = ballista_core::utils::default_session_builder(config)?;
            Ok(SessionStateBuilder::new_from_existing(state)
                .with_runtime_env(logbench_store::runtime(RuntimeEnvBuilder::new())?)
                .build())
        }));
        c
    }
}

/// Runs the scheduler until the process is stopped.
pub async fn run(args: SchedulerArgs) -> Result<(), String> {
    init_logging_for(&args);
    let addr: SocketAddr = format!("{}:{}", args.bind_host, args.bind_port)
        .parse()
        .map_err(|e| {
            format!(
                "--bind-host {} --bind-port {}: {e}",
                args.bind_host, args.bind_port
            )
        })?;
    if let Some(dir) = &args.event_log_dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("--event-log-dir {}: {e}", dir.display()))?;
    }
    let config = args.config();
    config.validate().map_err(|e| e.to_string())?;
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| e.to_string())?;
    // SIGTERM (docker stop, a pod's deletion) and Ctrl-C end the scheduler. Without a handler
    // it would ignore SIGTERM as a container's PID 1 (the kernel drops signals PID 1 does not
    // handle) and be killed only when the grace period ends: 10 s in docker, 30 s in a pod.
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| format!("installing the SIGTERM handler: {e}"))?;
    tokio::select! {
        served = start_server(cluster, addr, Arc::new(config)) => {
            served.map_err(|e| format!("scheduler on {addr}: {e}"))
        }
        _ = term.recv() => {
            eprintln!("logbench-scheduler: SIGTERM: stopping ({addr})");
            Ok(())
        }
        _ = tokio::signal::ctrl_c() => {
            eprintln!("logbench-scheduler: interrupted: stopping ({addr})");
            Ok(())
        }
    }
}

fn init_logging_for(args: &SchedulerArgs) {
    super::init_logging(&args.log_level);
}
