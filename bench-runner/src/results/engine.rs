//! What the result file records of an engine and where it ran: its effective configuration,
//! the cluster, the plans and their operator metrics, Ballista's jobs and stages, and the
//! machine. Plain data; the engines and the cluster code fill them in.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plans {
    /// Optimised logical plan, indented.
    pub logical: String,
    /// Physical plan, indented.
    pub physical: String,
    /// Per-stage plan of a distributed engine, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distributed: Option<String>,
    /// 16 hex digits of SHA-256 over the normalised physical plan.
    pub fingerprint: String,
}

/// One operator of an executed plan and its metrics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorMetrics {
    /// Depth in the plan tree (0 = root), in pre-order.
    pub depth: usize,
    pub operator: String,
    pub output_rows: Option<u64>,
    /// CPU time spent in the operator itself, nanoseconds.
    pub elapsed_compute_ns: Option<u64>,
    pub spilled_bytes: Option<u64>,
    /// Every metric the operator reported, by name (summed over partitions).
    pub metrics: BTreeMap<String, String>,
}

/// What one `EXPLAIN ANALYZE` run recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Analysis {
    /// The plan annotated with metrics, as `EXPLAIN ANALYZE` prints it.
    pub text: String,
    pub operators: Vec<OperatorMetrics>,
}

/// An engine's effective configuration, recorded in every result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineConfig {
    pub name: String,
    pub target_partitions: usize,
    /// Memory-pool limit in bytes; `None` is unbounded.
    pub memory_limit: Option<u64>,
    /// The DataFusion memory pool that enforces it (`greedy`, `fair` or `unbounded`), where
    /// this process runs the engine; absent in files from before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_pool: Option<String>,
    /// Every `datafusion.*` setting whose value differs from DataFusion's own default, with
    /// that default: what makes this engine's run different from a stock `SessionContext`.
    pub changed_settings: BTreeMap<String, ChangedSetting>,
    /// Settings applied with `--set`, as given.
    pub requested_settings: BTreeMap<String, String>,
    /// The cluster a distributed engine ran on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterInfo>,
    /// The engine's version and how it was driven (`datafusion 55.2.0`, `duckdb 1.4.2 (Python
    /// wheel, …)`); absent in files from before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
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
    pub span: Option<StageSpan>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedSetting {
    pub value: Option<String>,
    pub default: Option<String>,
}

/// Where one stage ran and when, relative to the job's first task launch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageSpan {
    pub stage_id: u32,
    pub tasks: u64,
    pub failed_tasks: u64,
    pub start_ms: u64,
    pub end_ms: u64,
    /// Successful tasks per executor id.
    pub tasks_per_executor: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Environment {
    pub hostname: String,
    pub cpu_model: String,
    pub logical_cores: usize,
    pub memory_bytes: u64,
    pub os: String,
    pub kernel: String,
    pub rustc: String,
    /// `release` or `debug`, with the optimisation level.
    pub build_profile: String,
    pub git_commit: String,
    /// Uncommitted changes to tracked files when the binary was built.
    pub git_dirty: String,
    /// datafusion, arrow, parquet, ballista.
    pub crate_versions: BTreeMap<String, String>,
    /// The container image the runner ran in, name and tag (`LOGBENCH_IMAGE`, which
    /// `./deploy.sh k8s` and `compose` set): absent for a run outside one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The runner's heap allocator (`mimalloc` or `system`, `LOGBENCH_ALLOCATOR`); absent in
    /// files from before the choice existed, which ran on the C library's malloc.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocator: Option<String>,
    /// Engine crates this binary was built with from a local copy instead of the registry
    /// (`[patch.crates-io]`, as `gate --new-patch` adds it): `crate=path`, with a hash of the
    /// copy's sources where the gate computed one. Empty for a stock build.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub engine_patches: Vec<String>,
}

impl Environment {
    /// The allocator the run used; files that do not say ran on `system`.
    pub fn allocator(&self) -> &str {
        self.allocator.as_deref().unwrap_or("system")
    }
}
