//! Apache Ballista: the workload goes through `SessionContext::remote` to a scheduler and
//! runs on executors in other processes.
//!
//! Besides the answer, every run leaves a [`JobRun`] (job id, scheduling and execution time,
//! bytes fetched); after the measured runs the runner asks for [`JobDetails`]: the stages from
//! the scheduler's job metrics (gRPC), and the executor that ran each task from the
//! scheduler's event log.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use ballista::prelude::{SessionConfigExt, SessionContextExt};
use ballista_core::config::BallistaConfig;
use ballista_core::execution_plans::DistributedQueryExec;
use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
use ballista_core::serde::protobuf::{
    GetJobMetricsParams, GetJobMetricsResult, OperatorMetricsSet,
};
use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::physical_plan::metrics::MetricsSet;
use datafusion::physical_plan::{ExecutionPlan, collect};
use datafusion::prelude::*;
use datafusion_proto::protobuf::LogicalPlanNode;

use super::datafusion::register_logs;
use super::{
    Engine, EngineConfig, JobDetails, JobRun, ProfileTargets, RequestSlot, StageDetails,
    effective_config,
};
use crate::ballista_cluster::{events, rest};
use crate::error::{Error, Result};
use crate::plans::{Analysis, OperatorMetrics, Plans, fingerprint};
use crate::store::{self, DataLocation};

/// How long to wait for the scheduler to answer before calling it unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

pub struct BallistaEngine {
    ctx: SessionContext,
    /// `host:port`
    scheduler: String,
    event_log_dir: Option<PathBuf>,
    requested: BTreeMap<String, String>,
    last_job: Mutex<Option<JobRun>>,
    /// The job the last `execute` ran, for its metrics.
    last_job_id: Mutex<Option<String>>,
    /// The executors' profiling endpoints (id, `host:port`), where known.
    profile_targets: Vec<(String, String)>,
    /// The plan an `execute` in flight runs, and when it started (ms since the Unix epoch):
    /// what [`Engine::cancel_abandoned`] cancels when that `execute` is dropped.
    in_flight: Mutex<Option<(Arc<dyn ExecutionPlan>, u64)>>,
}

/// How long a cancelled job may take to be listed as ended before that is an error.
pub const CANCEL_WAIT: Duration = Duration::from_secs(30);

impl BallistaEngine {
    /// A Ballista session (Ballista's defaults, then `settings` in order) on the scheduler at
    /// `scheduler` (`host:port`). Fails within [`CONNECT_TIMEOUT`] if the scheduler does not
    /// answer. `event_log_dir` is the scheduler's `--event-log-dir`, where this process can
    /// read it (a local cluster).
    pub async fn connect(
        scheduler: &str,
        settings: &[(String, String)],
        event_log_dir: Option<PathBuf>,
    ) -> Result<Self> {
        let mut config = SessionConfig::new_with_ballista();
        super::apply_settings(&mut config, settings)?;
        match rest::get(scheduler, "/healthz", CONNECT_TIMEOUT).await {
            Ok((200, _)) => {}
            Ok((code, body)) => {
                return Err(Error::Engine(format!(
                    "scheduler {scheduler} is not healthy: HTTP {code} {body}"
                )));
            }
            Err(e) => return Err(e),
        }
        let state = SessionStateBuilder::new()
            .with_config(config)
            .with_default_features()
            .with_runtime_env(store::runtime(RuntimeEnvBuilder::new())?)
            .build();
        let ctx = SessionContext::remote_with_state(&format!("df://{scheduler}"), state).await?;
        Ok(Self {
            ctx,
            scheduler: scheduler.to_string(),
            event_log_dir,
            requested: settings.iter().cloned().collect(),
            last_job: Mutex::new(None),
            last_job_id: Mutex::new(None),
            profile_targets: Vec::new(),
            in_flight: Mutex::new(None),
        })
    }

    /// Where the executors open a profiling window (id, `host:port` of their health port).
    pub fn set_profile_targets(&mut self, targets: Vec<(String, String)>) {
        self.profile_targets = targets;
    }

    async fn job_metrics(&self, job_id: &str) -> Result<GetJobMetricsResult> {
        let url = format!("http://{}", self.scheduler);
        let work = async {
            let client = SchedulerGrpcClient::connect(url.clone())
                .await
                .map_err(|e| Error::Engine(format!("scheduler {url}: {e}")))?;
            client
                .max_decoding_message_size(256 << 20)
                .get_job_metrics(GetJobMetricsParams {
                    job_id: job_id.to_string(),
                })
                .await
                .map(|r| r.into_inner())
                .map_err(|e| Error::Engine(format!("job metrics of {job_id}: {}", e.message())))
        };
        tokio::time::timeout(Duration::from_secs(30), work)
            .await
            .map_err(|_| Error::Engine(format!("job metrics of {job_id}: no answer in 30 s")))?
    }

    /// A finished job's per-stage, per-operator metrics, as `EXPLAIN ANALYZE` shows them.
    async fn job_analysis(&self, job_id: &str) -> Result<Analysis> {
        let metrics = self.job_metrics(job_id).await?;
        let stages = stage_operators(&metrics)?;
        Ok(Analysis {
            text: stages.text,
            operators: stages
                .stages
                .into_iter()
                .flat_map(|(_, _, ops)| ops)
                .collect(),
        })
    }

    /// Runs `sql` and returns the answer with the executed plan's root.
    async fn run(&self, sql: &str) -> Result<(Vec<RecordBatch>, Arc<dyn ExecutionPlan>)> {
        let plan = self.ctx.sql(sql).await?.create_physical_plan().await?;
        *self.in_flight.lock().expect("in-flight lock") =
            Some((plan.clone(), crate::ballista_cluster::local::now_ms()));
        let batches = collect(plan.clone(), self.ctx.task_ctx()).await;
        self.in_flight.lock().expect("in-flight lock").take();
        Ok((batches?, plan))
    }
}

/// The Ballista query operator anywhere in `plan` (it is normally the root).
fn distributed(plan: &Arc<dyn ExecutionPlan>) -> Option<&DistributedQueryExec<LogicalPlanNode>> {
    if let Some(d) = plan.downcast_ref::<DistributedQueryExec<LogicalPlanNode>>() {
        return Some(d);
    }
    plan.children().into_iter().find_map(distributed)
}

fn metric(set: &MetricsSet, name: &str) -> u64 {
    set.sum_by_name(name).map_or(0, |v| v.as_usize() as u64)
}

fn job_run(plan: &Arc<dyn ExecutionPlan>) -> Option<JobRun> {
    let d = distributed(plan)?;
    let metrics = d.metrics().unwrap_or_default();
    Some(JobRun {
        job_id: d.job_id()?.to_string(),
        scheduling_ms: metric(&metrics, "job_scheduling_in_ms"),
        execution_ms: metric(&metrics, "job_execution_time_ms"),
        result_bytes: metric(&metrics, "transferred_bytes"),
    })
}

/// A job's stages from its metrics: the plans as text, each stage's operators, and the bytes
/// its shuffle readers decoded.
struct Stages {
    text: String,
    stages: Vec<(u32, u32, Vec<OperatorMetrics>)>,
    shuffle_fetched_bytes: u64,
    shuffle_remote_partitions: u64,
    shuffle_local_partitions: u64,
}

fn stage_operators(job: &GetJobMetricsResult) -> Result<Stages> {
    let mut text = Vec::new();
    let mut stages = Vec::new();
    let (mut fetched, mut remote, mut local) = (0, 0, 0);
    for stage in &job.stages {
        text.push(format!(
            "=== stage {} ({} partitions) ===",
            stage.stage_id, stage.partitions
        ));
        let mut ops = Vec::new();
        for op in &stage.operators {
            let set: MetricsSet = OperatorMetricsSet {
                metrics: op.metrics.clone(),
            }
            .try_into()
            .map_err(|e| Error::Engine(format!("stage {} metrics: {e:?}", stage.stage_id)))?;
            fetched += metric(&set, "decoded_bytes");
            remote += metric(&set, "remote_partitions");
            local += metric(&set, "local_partitions");
            let shown = set
                .aggregate_by_name()
                .sorted_for_display()
                .timestamps_removed();
            text.push(format!(
                "{}{}, metrics=[{shown}]",
                "  ".repeat(op.depth as usize),
                op.operator_desc.trim_end()
            ));
            ops.push(OperatorMetrics::from_set(
                op.depth as usize,
                &op.operator_type,
                Some(&set),
            ));
        }
        stages.push((stage.stage_id, stage.partitions, ops));
    }
    Ok(Stages {
        text: text.join("\n"),
        stages,
        shuffle_fetched_bytes: fetched,
        shuffle_remote_partitions: remote,
        shuffle_local_partitions: local,
    })
}

#[async_trait]
impl Engine for BallistaEngine {
    fn name(&self) -> &str {
        "ballista"
    }

    async fn register(&self, table: &str, data: &DataLocation) -> Result<()> {
        // The client infers the schema; the scheduler and executors open the same absolute
        // path (or the same bucket, through their own S3 settings), so the cluster must see
        // the files where this process sees them.
        register_logs(&self.ctx, table, data).await
    }

    async fn execute(&self, sql: &str) -> Result<Vec<RecordBatch>> {
        let (batches, plan) = self.run(sql).await?;
        let job = job_run(&plan);
        *self.last_job_id.lock().expect("job lock") = job.as_ref().map(|j| j.job_id.clone());
        *self.last_job.lock().expect("job lock") = job;
        Ok(batches)
    }

    async fn explain(&self, sql: &str) -> Result<Plans> {
        let batches = self
            .ctx
            .sql(&format!("EXPLAIN {sql}"))
            .await?
            .collect()
            .await?;
        let mut rows: Vec<(String, String)> = Vec::new();
        for b in &batches {
            let (Some(kind), Some(text)) = (
                b.column(0).as_string_opt::<i32>(),
                b.column(1).as_string_opt::<i32>(),
            ) else {
                return Err(Error::Engine(
                    "EXPLAIN answered an unexpected schema".into(),
                ));
            };
            for i in 0..b.num_rows() {
                rows.push((kind.value(i).to_string(), text.value(i).to_string()));
            }
        }
        let find = |prefix: &str| {
            rows.iter()
                .find(|(k, _)| k.starts_with(prefix))
                .map(|(_, t)| t.clone())
        };
        let distributed = find("distributed_plan");
        let physical = find("physical_plan").unwrap_or_default();
        Ok(Plans {
            fingerprint: fingerprint(distributed.as_deref().unwrap_or(&physical)),
            logical: find("logical_plan").unwrap_or_default(),
            physical,
            distributed,
        })
    }

    async fn analyze(&self, sql: &str) -> Result<Analysis> {
        self.execute(sql).await?;
        self.last_run_analysis().await.unwrap_or_else(|| {
            Err(Error::Engine(
                "the query did not run as a Ballista job".into(),
            ))
        })
    }

    /// The scheduler keeps every finished job's per-stage, per-operator metrics: those of the
    /// last measured job are read back over gRPC.
    async fn last_run_analysis(&self) -> Option<Result<Analysis>> {
        let job_id = self.last_job_id.lock().expect("job lock").take()?;
        Some(self.job_analysis(&job_id).await)
    }

    fn forget_last_run(&self) {
        self.last_job_id.lock().expect("job lock").take();
    }

    fn config(&self) -> EngineConfig {
        // DataFusion's defaults plus Ballista's own: what Ballista changes in DataFusion shows,
        // and a `ballista.*` key shows only when `--set` changed it.
        let defaults = SessionConfig::new().with_option_extension(BallistaConfig::default());
        let mut config = effective_config(self.name(), &self.ctx, &defaults, None, &self.requested);
        config.version = Some(format!(
            "ballista {} (datafusion {})",
            ballista_core::BALLISTA_VERSION,
            datafusion::DATAFUSION_VERSION
        ));
        config
    }

    async fn cancel_abandoned(&self) -> Result<Option<String>> {
        let Some((plan, started_ms)) = self.in_flight.lock().expect("in-flight lock").take() else {
            return Ok(None);
        };
        let job_id = match distributed(&plan).and_then(|d| d.job_id()) {
            Some(id) => id.to_string(),
            // The scheduler had not answered the submission when it was dropped: the job, if
            // it made one, is an active job that started since (the runner is the cluster's
            // one client while it measures).
            None => {
                let active: Vec<rest::Job> = rest::jobs(&self.scheduler, CONNECT_TIMEOUT)
                    .await?
                    .into_iter()
                    // A queued job may carry no start time yet (0).
                    .filter(|j| {
                        j.active() && (j.start_time == 0 || j.start_time + 5000 >= started_ms)
                    })
                    .collect();
                match active.as_slice() {
                    [] => return Ok(None),
                    [one] => one.job_id.clone(),
                    more => {
                        return Err(Error::Engine(format!(
                            "the abandoned job's id was not known and {} jobs are active: {}",
                            more.len(),
                            more.iter()
                                .map(|j| j.job_id.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )));
                    }
                }
            }
        };
        rest::cancel_job(&self.scheduler, &job_id, CONNECT_TIMEOUT, CANCEL_WAIT).await?;
        Ok(Some(job_id))
    }

    fn take_job(&self) -> Option<JobRun> {
        self.last_job.lock().expect("job lock").take()
    }

    async fn execute_request(&self, sql: &str, slot: &RequestSlot) -> Result<Vec<RecordBatch>> {
        let plan = self.ctx.sql(sql).await?.create_physical_plan().await?;
        slot.set(plan.clone());
        Ok(collect(plan, self.ctx.task_ctx()).await?)
    }

    fn request_job(&self, slot: &RequestSlot) -> Option<JobRun> {
        job_run(&slot.plan()?)
    }

    async fn cancel_request(&self, slot: &RequestSlot) -> Result<Option<String>> {
        let Some(job_id) = slot
            .plan()
            .and_then(|p| distributed(&p).and_then(|d| d.job_id()))
        else {
            return Ok(None);
        };
        let job_id = job_id.to_string();
        rest::cancel_job(&self.scheduler, &job_id, CONNECT_TIMEOUT, CANCEL_WAIT).await?;
        Ok(Some(job_id))
    }

    async fn cancel_active_since(&self, since_ms: u64) -> Result<Vec<String>> {
        rest::cancel_active(
            &self.scheduler,
            Some(since_ms),
            CONNECT_TIMEOUT,
            CANCEL_WAIT,
        )
        .await
    }

    /// The executors (this process only plans and fetches answers).
    fn profile_targets(&self) -> ProfileTargets {
        if self.profile_targets.is_empty() {
            ProfileTargets::Unavailable(
                "no executor's profiling address is known (see --executor-health-port)".into(),
            )
        } else {
            ProfileTargets::Executors(self.profile_targets.clone())
        }
    }

    async fn job_details(&self, job_id: &str) -> Result<JobDetails> {
        let metrics = self.job_metrics(job_id).await?;
        let Stages {
            stages,
            shuffle_fetched_bytes,
            shuffle_remote_partitions,
            shuffle_local_partitions,
            ..
        } = stage_operators(&metrics)?;
        let (tasks, tasks_note) = match self.job_tasks(job_id).await {
            Ok(t) => (Some(t), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let spans = tasks
            .as_deref()
            .map(events::stage_spans)
            .unwrap_or_default();
        Ok(JobDetails {
            job_id: job_id.to_string(),
            stage_count: stages.len(),
            stages: stages
                .iter()
                .map(|(id, partitions, _)| StageDetails {
                    stage_id: *id,
                    partitions: *partitions,
                    span: spans.iter().find(|s| s.stage_id == *id).cloned(),
                })
                .collect(),
            tasks_per_executor: tasks.as_deref().map(events::tasks_per_executor),
            shuffle_fetched_bytes,
            shuffle_remote_partitions,
            shuffle_local_partitions,
            note: tasks_note,
        })
    }

    async fn job_tasks(&self, job_id: &str) -> Result<Vec<events::TaskRun>> {
        match &self.event_log_dir {
            Some(dir) => events::read_tasks(dir, job_id, Duration::from_secs(10)).await,
            None => Err(Error::Engine(
                "the scheduler's event log is not readable here (no --event-log-dir)".into(),
            )),
        }
    }
}
