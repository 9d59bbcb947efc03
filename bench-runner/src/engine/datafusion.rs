//! Local DataFusion: one `SessionContext` in this process.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::memory_pool::MemoryPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::physical_plan::{ExecutionPlan, collect, displayable};
use datafusion::prelude::*;

use super::plan_rules::{self, PlanRules};
use super::{Engine, EngineConfig, effective_config};
use crate::error::{Error, Result};
use crate::memory::{PeakMemoryPool, PoolKind};
use crate::plans::{Analysis, OperatorMetrics, Plans, fingerprint};
use crate::store::{self, DataLocation};

pub struct DataFusionEngine {
    ctx: SessionContext,
    /// The plan the last `execute` ran, for its metrics.
    last_plan: std::sync::Mutex<Option<Arc<dyn ExecutionPlan>>>,
    pool: Arc<PeakMemoryPool>,
    memory_limit: Option<usize>,
    requested: BTreeMap<String, String>,
}

impl DataFusionEngine {
    /// A session with DataFusion's defaults, then `settings` applied in order.
    pub fn new(settings: &[(String, String)], memory_limit: Option<usize>) -> Result<Self> {
        Self::with_pool(settings, memory_limit, PoolKind::Greedy)
    }

    /// The same, with the memory limit enforced by a pool of `kind`.
    pub fn with_pool(
        settings: &[(String, String)],
        memory_limit: Option<usize>,
        kind: PoolKind,
    ) -> Result<Self> {
        // logbench's own plan settings (`logbench.*`, plan_rules.rs) apart from DataFusion's.
        let rules = PlanRules::from_settings(settings)?;
        let engine_settings: Vec<(String, String)> = settings
            .iter()
            .filter(|(k, _)| !k.starts_with(plan_rules::PREFIX))
            .cloned()
            .collect();
        let mut config = SessionConfig::new();
        super::apply_settings(&mut config, &engine_settings)?;
        let pool = Arc::new(PeakMemoryPool::with_kind(memory_limit, kind));
        let runtime = store::runtime(RuntimeEnvBuilder::new().with_memory_pool(pool.clone()))?;
        // What SessionContext::new_with_config_rt builds, with the rules asked for appended.
        let state = rules
            .apply(
                SessionStateBuilder::new()
                    .with_config(config)
                    .with_runtime_env(runtime)
                    .with_default_features(),
            )
            .build();
        Ok(Self {
            ctx: SessionContext::new_with_state(state),
            last_plan: std::sync::Mutex::new(None),
            pool,
            memory_limit,
            requested: settings.iter().cloned().collect(),
        })
    }

    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }
}

/// Registers the Parquet files at `data` as `table` on `ctx` exactly as a plain DataFusion
/// program would (`register_parquet` with default options), so measured plans are
/// DataFusion's own.
pub async fn register_logs(ctx: &SessionContext, table: &str, data: &DataLocation) -> Result<()> {
    let path = match data {
        DataLocation::Dir(dir) => {
            let abs = dir
                .canonicalize()
                .map_err(|e| Error::io(format!("dataset {}", dir.display()), e))?;
            format!("{}/", abs.display())
        }
        DataLocation::S3(url) => url.to_string(),
    };
    ctx.register_parquet(table, &path, ParquetReadOptions::default())
        .await?;
    Ok(())
}

/// An executed plan as `EXPLAIN ANALYZE` shows it, with its operators' metrics.
pub fn executed_analysis(plan: &Arc<dyn ExecutionPlan>) -> Analysis {
    Analysis {
        text: datafusion::physical_plan::display::DisplayableExecutionPlan::with_metrics(
            plan.as_ref(),
        )
        .indent(true)
        .to_string(),
        operators: operator_metrics(plan),
    }
}

/// The plan tree in pre-order with each operator's metrics (summed over partitions).
pub fn operator_metrics(plan: &Arc<dyn ExecutionPlan>) -> Vec<OperatorMetrics> {
    fn walk(plan: &Arc<dyn ExecutionPlan>, depth: usize, out: &mut Vec<OperatorMetrics>) {
        out.push(OperatorMetrics::from_set(
            depth,
            plan.name(),
            plan.metrics().as_ref(),
        ));
        for child in plan.children() {
            walk(child, depth + 1, out);
        }
    }
    let mut out = Vec::new();
    walk(plan, 0, &mut out);
    out
}

#[async_trait]
impl Engine for DataFusionEngine {
    fn name(&self) -> &str {
        "datafusion"
    }

    async fn register(&self, table: &str, data: &DataLocation) -> Result<()> {
        register_logs(&self.ctx, table, data).await
    }

    async fn execute(&self, sql: &str) -> Result<Vec<RecordBatch>> {
        // What `DataFrame::collect` does, keeping the plan: its metrics are the run's.
        let plan = self.ctx.sql(sql).await?.create_physical_plan().await?;
        let batches = collect(plan.clone(), self.ctx.task_ctx()).await?;
        *self.last_plan.lock().expect("plan lock") = Some(plan);
        Ok(batches)
    }

    async fn explain(&self, sql: &str) -> Result<Plans> {
        let df = self.ctx.sql(sql).await?;
        let logical = df
            .clone()
            .into_optimized_plan()?
            .display_indent()
            .to_string();
        let physical_plan = df.create_physical_plan().await?;
        let physical = displayable(physical_plan.as_ref()).indent(true).to_string();
        Ok(Plans {
            fingerprint: fingerprint(&physical),
            logical,
            physical,
            distributed: None,
        })
    }

    async fn analyze(&self, sql: &str) -> Result<Analysis> {
        self.execute(sql).await?;
        self.last_run_analysis()
            .await
            .expect("execute keeps its plan")
    }

    async fn last_run_analysis(&self) -> Option<Result<Analysis>> {
        let plan = self.last_plan.lock().expect("plan lock").take()?;
        Some(Ok(executed_analysis(&plan)))
    }

    fn forget_last_run(&self) {
        drop(self.last_plan.lock().expect("plan lock").take());
    }

    fn config(&self) -> EngineConfig {
        let mut config = effective_config(
            self.name(),
            &self.ctx,
            &SessionConfig::new(),
            self.memory_limit.map(|l| l as u64),
            &self.requested,
        );
        config.memory_pool = Some(self.pool.name().to_string());
        config
    }

    fn memory_peak(&self) -> Option<u64> {
        Some(self.pool.peak() as u64)
    }

    fn reset_memory_peak(&self) {
        self.pool.reset_peak()
    }
}
