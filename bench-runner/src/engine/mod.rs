//! The engine abstraction: what both DataFusion and Ballista provide to the measurement loop.
//!
//! Everything else (iterations, timing, histograms, digests, resources) lives once, in
//! [`crate::runner`], above this trait.

pub mod ballista;
pub mod datafusion;

use std::collections::BTreeMap;

use ::datafusion::arrow::array::RecordBatch;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::plans::{Analysis, Plans};
use crate::store::DataLocation;

/// An engine's effective configuration, recorded in every result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineConfig {
    pub name: String,
    pub target_partitions: usize,
    /// Memory-pool limit in bytes; `None` is unbounded.
    pub memory_limit: Option<u64>,
    /// Every `datafusion.*` setting whose value differs from DataFusion's own default, with
    /// that default: what makes this engine's run different from a stock `SessionContext`.
    pub changed_settings: BTreeMap<String, ChangedSetting>,
    /// Settings applied with `--set`, as given.
    pub requested_settings: BTreeMap<String, String>,
    /// The cluster a distributed engine ran on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterInfo>,
}

/// Where a distributed engine's work ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterInfo {
    /// Scheduler `host:port`.
    pub scheduler: String,
    /// Executor ids registered when the run started.
    pub executors: Vec<String>,
    /// Task slots per executor, where known.
    pub vcores: Option<usize>,
    /// `embedded` (started for this run and stopped after), `local` (left by
    /// `bench-runner cluster up`) or `remote` (given with `--scheduler`).
    pub kind: String,
}

/// What one distributed run reported, read after it finished (outside the timed region).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRun {
    pub job_id: String,
    /// Submission to first task launch, as the scheduler measured it.
    pub scheduling_ms: u64,
    /// First task launch to job end.
    pub execution_ms: u64,
    /// Answer bytes the client fetched.
    pub result_bytes: u64,
}

/// One job in detail: its stages and where its tasks ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobDetails {
    pub job_id: String,
    pub stage_count: usize,
    pub stages: Vec<StageDetails>,
    /// Successful tasks per executor id (from the scheduler's event log).
    pub tasks_per_executor: Option<BTreeMap<String, u64>>,
    /// Shuffle data fetched from another executor (Arrow in-memory bytes as decoded; a
    /// partition read from the executor's own disk is not counted here).
    pub shuffle_fetched_bytes: u64,
    /// Shuffle partitions read from another executor, and from the reader's own disk.
    pub shuffle_remote_partitions: u64,
    pub shuffle_local_partitions: u64,
    /// Why some detail is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageDetails {
    pub stage_id: u32,
    pub partitions: u32,
    /// When and where its tasks ran (from the event log).
    pub span: Option<crate::cluster::events::StageSpan>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedSetting {
    pub value: Option<String>,
    pub default: Option<String>,
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

    /// Stages and task placement of a finished job.
    async fn job_details(&self, job_id: &str) -> Result<JobDetails> {
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
        changed_settings: changed_settings(pairs(options), pairs(defaults.options())),
        requested_settings: requested.clone(),
        cluster: None,
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
