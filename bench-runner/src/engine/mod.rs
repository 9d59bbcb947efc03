//! The engine abstraction: what both DataFusion and Ballista provide to the measurement loop.
//!
//! Everything else (iterations, timing, histograms, digests, resources) lives once, in
//! [`crate::measurement`], above this trait; [`timed_run`] is one execution under its time limit,
//! shared by the measured runs, the profiled runs and `once`.

pub mod ballista;
pub mod datafusion;
pub mod duckdb;
pub mod plan_rules;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ::datafusion::arrow::array::RecordBatch;
use async_trait::async_trait;

use crate::error::{Error, Result};
use crate::plans::{Analysis, Plans};
pub use crate::results::engine::{
    ChangedSetting, ClusterInfo, EngineConfig, JobDetails, JobRun, StageDetails,
};
use crate::store::DataLocation;

/// What one request of `bench-runner load` runs, kept by that request alone: concurrent
/// requests share nothing. On Ballista it is the plan whose operator learns the job id when
/// the scheduler accepts the job, so the job of a request abandoned before its answer can be
/// cancelled, and the job of one that answered read back.
#[derive(Default)]
pub struct RequestSlot(
    std::sync::Mutex<Option<std::sync::Arc<dyn ::datafusion::physical_plan::ExecutionPlan>>>,
);

impl RequestSlot {
    pub fn set(&self, plan: std::sync::Arc<dyn ::datafusion::physical_plan::ExecutionPlan>) {
        *self.0.lock().expect("request slot") = Some(plan);
    }

    pub fn plan(&self) -> Option<std::sync::Arc<dyn ::datafusion::physical_plan::ExecutionPlan>> {
        self.0.lock().expect("request slot").clone()
    }
}

/// Which processes do an engine's work, for a CPU profile of a query ([`crate::profile`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileTargets {
    /// This process: the engine runs in it.
    ThisProcess,
    /// Executors, by (id, `host:port` of their health/profiling endpoint).
    Executors(Vec<(String, String)>),
    /// Why this engine's work cannot be profiled.
    Unavailable(String),
}

#[async_trait]
pub trait Engine: Send + Sync {
    fn name(&self) -> &str;

    /// Registers the Parquet files at `data` (a directory or an object-store prefix) as
    /// table `table`.
    async fn register(&self, table: &str, data: &DataLocation) -> Result<()>;

    /// Plans and runs `sql` to completion: the measured operation.
    async fn execute(&self, sql: &str) -> Result<Vec<RecordBatch>>;

    /// The logical, physical (and distributed) plans, without running the query.
    async fn explain(&self, sql: &str) -> Result<Plans>;

    /// Runs `sql` once and returns the plan annotated with per-operator metrics: for an engine
    /// whose [`Engine::last_run_analysis`] is `None`.
    async fn analyze(&self, sql: &str) -> Result<Analysis>;

    /// The per-operator metrics of the plan the last `execute` ran, read from it after the
    /// fact (no extra run); `None` when this engine cannot.
    async fn last_run_analysis(&self) -> Option<Result<Analysis>> {
        None
    }

    /// Drops what the last `execute` kept for [`Engine::last_run_analysis`] (an executed plan
    /// holds its operators' state), outside the timed region.
    fn forget_last_run(&self) {}

    fn config(&self) -> EngineConfig;

    /// Peak memory-pool reservation since the last reset, where the engine can see it.
    fn memory_peak(&self) -> Option<u64> {
        None
    }

    fn reset_memory_peak(&self) {}

    /// Where a profile of this engine's work is taken.
    fn profile_targets(&self) -> ProfileTargets {
        ProfileTargets::ThisProcess
    }

    /// The distributed job behind the last `execute`, if this engine runs jobs.
    fn take_job(&self) -> Option<JobRun> {
        None
    }

    /// Stops what an abandoned `execute` (past its time limit, or interrupted) left running
    /// in the engine, and waits until it has stopped: on Ballista, the job in the scheduler,
    /// whose id it returns. Engines whose work ends with the dropped future return `None`.
    async fn cancel_abandoned(&self) -> Result<Option<String>> {
        Ok(None)
    }

    /// `execute` as one of many concurrent requests: what it runs is kept in `slot`, not in
    /// the engine ([`Engine::request_job`], [`Engine::cancel_request`]).
    async fn execute_request(&self, sql: &str, slot: &RequestSlot) -> Result<Vec<RecordBatch>> {
        let _ = slot;
        self.execute(sql).await
    }

    /// The job a request ran, where this engine runs jobs and the scheduler had accepted it.
    fn request_job(&self, slot: &RequestSlot) -> Option<JobRun> {
        let _ = slot;
        None
    }

    /// Cancels the job of a request abandoned before its answer (past its time limit, or
    /// interrupted) and waits until it has stopped; its id. `None` when the engine's work
    /// ended with the dropped future, or the scheduler had not yet named the job (then
    /// [`Engine::cancel_active_since`] finds it).
    async fn cancel_request(&self, slot: &RequestSlot) -> Result<Option<String>> {
        let _ = slot;
        Ok(None)
    }

    /// Cancels every job still queued or running that was submitted at or after `since_ms`
    /// (ms since the Unix epoch): what a load run leaves behind when it stops. The runner is
    /// the cluster's one client while it measures. The ids cancelled.
    async fn cancel_active_since(&self, since_ms: u64) -> Result<Vec<String>> {
        let _ = since_ms;
        Ok(Vec::new())
    }

    /// Stages and task placement of a finished job.
    async fn job_details(&self, job_id: &str) -> Result<JobDetails> {
        Err(crate::error::Error::Engine(format!(
            "{} runs no distributed jobs (asked for {job_id})",
            self.name()
        )))
    }

    /// The task attempts of a finished job, from the scheduler's event log alone: what a load
    /// sweep sums over hundreds of jobs, without [`Engine::job_details`]'s metrics request.
    async fn job_tasks(
        &self,
        job_id: &str,
    ) -> Result<Vec<crate::ballista_cluster::events::TaskRun>> {
        Err(crate::error::Error::Engine(format!(
            "{} runs no distributed jobs (asked for {job_id})",
            self.name()
        )))
    }
}

/// `ctx`'s effective configuration, with every setting that differs from `defaults` (the
/// configuration a stock session of that kind starts from).
pub fn effective_config(
    name: &str,
    ctx: &::datafusion::prelude::SessionContext,
    defaults: &::datafusion::prelude::SessionConfig,
    memory_limit: Option<u64>,
    requested: &BTreeMap<String, String>,
) -> EngineConfig {
    let state = ctx.state();
    let options = state.config().options();
    let pairs = |o: &::datafusion::config::ConfigOptions| {
        o.entries()
            .into_iter()
            .map(|e| (e.key, e.value))
            .collect::<Vec<_>>()
    };
    EngineConfig {
        name: name.into(),
        target_partitions: options.execution.target_partitions,
        memory_limit,
        memory_pool: None,
        changed_settings: changed_settings(pairs(options), pairs(defaults.options())),
        requested_settings: requested.clone(),
        cluster: None,
        version: Some(format!("datafusion {}", ::datafusion::DATAFUSION_VERSION)),
    }
}

/// Settings of `entries` that differ from `defaults`.
pub fn changed_settings(
    entries: Vec<(String, Option<String>)>,
    defaults: Vec<(String, Option<String>)>,
) -> BTreeMap<String, ChangedSetting> {
    let defaults: BTreeMap<String, Option<String>> = defaults.into_iter().collect();
    entries
        .into_iter()
        .filter_map(|(k, v)| {
            let d = defaults.get(&k).cloned().flatten();
            (v != d).then_some((
                k,
                ChangedSetting {
                    value: v,
                    default: d,
                },
            ))
        })
        .collect()
}

/// Settings DataFusion accepts as 0 and silently replaces (target partitions by the CPU count):
/// a benchmark must run what it was told, so 0 is refused.
const AT_LEAST_ONE: [&str; 3] = [
    "datafusion.execution.target_partitions",
    "datafusion.execution.batch_size",
    "datafusion.execution.planning_concurrency",
];

/// Applies `settings` in order to `config`; a refusal is one line naming the setting.
pub fn apply_settings(
    config: &mut ::datafusion::prelude::SessionConfig,
    settings: &[(String, String)],
) -> Result<()> {
    for (k, v) in settings {
        if k.starts_with(plan_rules::PREFIX) {
            return Err(crate::error::Error::Config(format!(
                "--set {k}={v}: a logbench plan setting, for the datafusion engine only"
            )));
        }
        if AT_LEAST_ONE.contains(&k.as_str()) && v.parse::<u64>() == Ok(0) {
            return Err(crate::error::Error::Config(format!(
                "--set {k}={v}: must be at least 1 (DataFusion would silently use a default instead)"
            )));
        }
        config.options_mut().set(k, v).map_err(|e| {
            crate::error::Error::Config(format!(
                "--set {k}={v}: {}",
                logbench_common::cli::single_line(&e.to_string())
            ))
        })?;
    }
    Ok(())
}

/// Parses `key=value` settings; a missing `=` is an error naming the setting.
pub fn parse_settings(raw: &[String]) -> Result<Vec<(String, String)>> {
    raw.iter()
        .map(|s| {
            s.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .filter(|(k, _)| !k.is_empty())
                .ok_or_else(|| {
                    crate::error::Error::Config(format!("--set '{s}' is not of the form key=value"))
                })
        })
        .collect()
}

/// Runs `sql` once with the time limit; returns the answer and its wall time in µs. An
/// execution past its limit, or in flight when the run is interrupted, is abandoned and what
/// it left running is cancelled ([`Engine::cancel_abandoned`]) before this returns
/// [`Error::TimedOut`] or [`Error::Interrupted`].
pub async fn timed_run(
    engine: &dyn Engine,
    sql: &str,
    timeout: Option<Duration>,
) -> Result<(Vec<RecordBatch>, u64)> {
    enum Ended {
        Done(Result<Vec<RecordBatch>>),
        TimedOut(Duration),
        Interrupted,
    }
    if crate::interrupt::requested() {
        return Err(Error::Interrupted {
            job: None,
            cancel_error: None,
        });
    }
    let start = Instant::now();
    let limit = async {
        match timeout {
            Some(t) => tokio::time::sleep(t).await,
            None => std::future::pending().await,
        }
    };
    let ended = tokio::select! {
        r = engine.execute(sql) => Ended::Done(r),
        () = limit => Ended::TimedOut(timeout.unwrap_or_default()),
        () = crate::interrupt::wait() => Ended::Interrupted,
    };
    let us = start.elapsed().as_micros().max(1) as u64;
    let cancelled = || async {
        match engine.cancel_abandoned().await {
            Ok(job) => (job, None),
            Err(e) => (None, Some(e.to_string())),
        }
    };
    match ended {
        Ended::Done(r) => Ok((r?, us)),
        Ended::TimedOut(after) => {
            let (job, cancel_error) = cancelled().await;
            Err(Error::TimedOut {
                after,
                job,
                cancel_error,
            })
        }
        Ended::Interrupted => {
            let (job, cancel_error) = cancelled().await;
            Err(Error::Interrupted { job, cancel_error })
        }
    }
}
