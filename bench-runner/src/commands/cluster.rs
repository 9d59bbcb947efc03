//! `bench-runner cluster up|status|down|restart-executor`: a local Ballista cluster of separate
//! processes ([`bench_runner::ballista_cluster::local`]); `cluster executors`: what any running
//! scheduler has registered (containers, Kubernetes); `cluster jobs`: its jobs, and cancelling
//! the ones still active (what the fault trials use between trials). The cluster flags of `run` and `overhead`
//! ([`ClusterArgs`]) live here too.

use std::path::PathBuf;
use std::time::Duration;

use bench_runner::ballista_cluster::connect::{self, Choice, Connected};
use bench_runner::ballista_cluster::local::{self, ClusterSpec, ClusterState};
use bench_runner::ballista_cluster::rest;

use super::{Outcome, Usage, pretty, usage};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Start a scheduler and N executors, wait until all are registered, print the address.
    Up(UpArgs),
    /// Show the executors, whether they run, and their last heartbeat.
    Status {
        #[command(flatten)]
        dir: StateDir,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Stop every process of the cluster by PID and remove its work directories.
    Down {
        #[command(flatten)]
        dir: StateDir,
    },
    /// The executors a running scheduler has registered (its REST API), optionally after
    /// waiting until at least N are: the readiness check for clusters not started here.
    Executors {
        /// The scheduler, host:port.
        #[arg(long, value_name = "HOST:PORT")]
        scheduler: String,
        /// Wait until at least this many executors are registered.
        #[arg(long, value_name = "N", default_value_t = 0)]
        wait_for: usize,
        /// Give up after this many seconds (an unreachable scheduler is retried until then).
        #[arg(long, value_name = "SECONDS", default_value_t = 120)]
        timeout: u64,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The jobs a running scheduler knows (its REST API), oldest first; with
    /// --cancel-active, every queued or running job is cancelled and waited for until it ends.
    Jobs {
        /// The scheduler, host:port.
        #[arg(long, value_name = "HOST:PORT")]
        scheduler: String,
        /// Cancel every queued or running job; prints the ids cancelled.
        #[arg(long)]
        cancel_active: bool,
        /// Bound on each request, and on each cancelled job's end (seconds).
        #[arg(long, value_name = "SECONDS", default_value_t = 30)]
        timeout: u64,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Start an executor again (same id, ports and work directory) and wait until it is registered.
    RestartExecutor {
        /// Executor id, as `cluster status` shows it (executor-1, executor-2, ...).
        id: String,
        #[command(flatten)]
        dir: StateDir,
    },
}

#[derive(Debug, clap::Args)]
pub struct StateDir {
    /// Where the cluster's state file, logs and work directories live.
    #[arg(long = "state-dir", default_value = ".bench/cluster")]
    path: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct UpArgs {
    #[arg(long, default_value_t = 2)]
    executors: usize,
    #[command(flatten)]
    shape: ClusterShape,
    #[command(flatten)]
    dir: StateDir,
}

/// Which Ballista cluster a run uses.
#[derive(Debug, Clone, clap::Args)]
pub struct ClusterArgs {
    /// Ballista scheduler host:port. Default: the cluster `bench-runner cluster up` left
    /// running, or else a cluster started for this run and stopped after it.
    #[arg(long, value_name = "HOST:PORT")]
    scheduler: Option<String>,
    /// The scheduler's event-log directory, where this machine can read it (shows which
    /// executor ran each task); found automatically for local clusters.
    #[arg(long)]
    event_log_dir: Option<PathBuf>,
    /// Executors of a cluster started for this run.
    #[arg(long, default_value_t = 2)]
    executors: usize,
    #[command(flatten)]
    shape: ClusterShape,
    /// Where `bench-runner cluster up` keeps its state.
    #[arg(long, default_value = ".bench/cluster")]
    cluster_state_dir: PathBuf,
    /// The executors' health port on a cluster given with --scheduler (logbench-executor's
    /// default): `run --profile` opens its profiling window there on each registered host.
    #[arg(long, value_name = "PORT", default_value_t = 50053)]
    executor_health_port: u16,
}

impl ClusterArgs {
    /// The cluster these flags name or imply.
    pub fn choice(&self) -> Choice {
        Choice {
            scheduler: self.scheduler.clone(),
            event_log_dir: self.event_log_dir.clone(),
            state_dir: self.cluster_state_dir.clone(),
            spec: self.shape.spec(self.executors, PathBuf::new()),
            ready_timeout: Duration::from_secs(self.shape.ready_timeout),
            executor_health_port: self.executor_health_port,
        }
    }

    /// A Ballista session on that cluster.
    pub async fn connect(&self, settings: &[(String, String)]) -> Result<Connected, Usage> {
        Ok(connect::connect(&self.choice(), settings).await?)
    }
}

/// How a local cluster is built (shared by `cluster up` and the embedded cluster of `run`).
#[derive(Debug, Clone, clap::Args)]
pub struct ClusterShape {
    /// Task slots per executor (default: the machine's CPUs).
    #[arg(long)]
    vcores: Option<usize>,
    /// Memory pool per executor in bytes (512M, 4G).
    #[arg(long, value_parser = logbench_common::bytes::parse_bytes)]
    executor_memory: Option<u64>,
    /// Executors' heartbeat interval.
    #[arg(long, default_value_t = 5)]
    heartbeat_interval_seconds: u64,
    /// The scheduler declares an executor dead after this long without a heartbeat.
    #[arg(long, default_value_t = 30)]
    executor_timeout_seconds: u64,
    /// How often the scheduler looks for dead executors.
    #[arg(long, default_value_t = 5)]
    expire_dead_executor_interval_seconds: u64,
    /// bias (fill one executor's slots first, Ballista's default) or round-robin.
    #[arg(long, default_value = "bias", value_parser = ["bias", "round-robin"])]
    task_distribution: String,
    /// Give up if the cluster is not ready after this many seconds.
    #[arg(long, default_value_t = 60)]
    ready_timeout: u64,
}

impl ClusterShape {
    fn spec(&self, executors: usize, state_dir: PathBuf) -> ClusterSpec {
        let mut spec = ClusterSpec::new(executors, state_dir);
        spec.vcores = self.vcores;
        spec.memory_pool = self.executor_memory;
        spec.heartbeat_interval_seconds = self.heartbeat_interval_seconds;
        spec.executor_timeout_seconds = self.executor_timeout_seconds;
        spec.expire_dead_executor_interval_seconds = self.expire_dead_executor_interval_seconds;
        spec.task_distribution = self.task_distribution.clone();
        spec
    }
}

pub async fn exec(cmd: Command) -> Outcome {
    match cmd {
        Command::Up(args) => {
            let spec = args.shape.spec(args.executors, args.dir.path.clone());
            let timeout = Duration::from_secs(args.shape.ready_timeout);
            let state = local::up(spec, false, timeout).await?;
            eprintln!(
                "cluster: scheduler pid {} and {} executors ready; state in {}",
                state.scheduler.pid,
                state.executors.len(),
                args.dir.path.join(local::STATE_FILE).display()
            );
            println!("{}", state.url());
        }
        Command::Status { dir, json } => {
            let status = local::status(&require_state(&dir)?).await?;
            if json {
                print!("{}", pretty(&status));
            } else {
                print!("{}", status.to_terminal());
            }
        }
        Command::Down { dir } => {
            let state = require_state(&dir)?;
            local::down(&state);
            eprintln!(
                "cluster: stopped scheduler pid {} and {} executors",
                state.scheduler.pid,
                state.executors.len()
            );
        }
        Command::Executors {
            scheduler,
            wait_for,
            timeout,
            json,
        } => {
            let found = rest::wait_for_executors(
                &scheduler_addr(&scheduler)?,
                wait_for,
                Duration::from_secs(timeout),
                true,
            )
            .await?;
            if json {
                print!("{}", pretty(&found));
            } else {
                print!("{}", rest::executors_table(&found));
            }
        }
        Command::Jobs {
            scheduler,
            cancel_active,
            timeout,
            json,
        } => {
            let addr = scheduler_addr(&scheduler)?;
            let bound = Duration::from_secs(timeout);
            let mut jobs = rest::jobs(&addr, bound).await?;
            jobs.sort_by(|a, b| (a.start_time, &a.job_id).cmp(&(b.start_time, &b.job_id)));
            if cancel_active {
                let cancelled = rest::cancel_active(&addr, None, bound, bound).await?;
                if json {
                    print!("{}", pretty(&cancelled));
                } else {
                    cancelled.iter().for_each(|id| println!("{id}"));
                }
            } else if json {
                print!("{}", pretty(&jobs));
            } else {
                for j in &jobs {
                    println!(
                        "{}  {:<9}  {}  {}",
                        j.job_id, j.status, j.start_time, j.job_status
                    );
                }
            }
        }
        Command::RestartExecutor { id, dir } => {
            let mut state = require_state(&dir)?;
            local::restart_executor(&mut state, &id, Duration::from_secs(60)).await?;
            let pid = state
                .executors
                .iter()
                .find(|e| e.id == id)
                .map_or(0, |e| e.pid);
            eprintln!("cluster: executor {id} running as pid {pid} and registered");
        }
    }
    Ok(true)
}

fn require_state(dir: &StateDir) -> Result<ClusterState, Usage> {
    ClusterState::load(&dir.path)?.ok_or_else(|| {
        usage(format!(
            "no cluster state in {} (start one with `bench-runner cluster up`)",
            dir.path.display()
        ))
    })
}

/// `--scheduler` as the `host:port` the REST calls take, or the one-line refusal.
fn scheduler_addr(scheduler: &str) -> Result<String, Usage> {
    let (host, port) =
        bench_runner::ballista_cluster::split_host_port("--scheduler", scheduler).map_err(usage)?;
    Ok(format!("{host}:{port}"))
}
