//! What `bench-runner run` does: check the settings, the dataset and the workload, then run the
//! workload on each engine in turn (a Ballista cluster started for the run is stopped before
//! the next engine starts) and assemble the [`RunResult`]. Writing and printing it is the
//! caller's.

use std::path::PathBuf;

use crate::cluster::connect::{self, Choice};
use crate::dataset;
use crate::engine::datafusion::DataFusionEngine;
use crate::engine::{ClusterInfo, Engine, parse_settings};
use crate::environment::Environment;
use crate::error::Result;
use crate::progress::Progress;
use crate::results::{Arguments, EngineRun, RunResult, SCHEMA_VERSION};
use crate::runner::{RunOptions, measure_all};
use crate::store::DataLocation;
use crate::workload;
use logbench_common::time::{compact, now_rfc3339};

/// An engine to run the workload on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    DataFusion,
    /// On the cluster [`Plan::cluster`] names or implies.
    Ballista,
}

/// Everything a run needs to know.
#[derive(Debug, Clone)]
pub struct Plan {
    pub data: DataLocation,
    /// In order; repeats next to each other are run once.
    pub engines: Vec<EngineKind>,
    pub cluster: Choice,
    /// `KEY=VALUE` engine settings as given.
    pub settings: Vec<String>,
    pub memory_limit: Option<usize>,
    pub verify_digests: bool,
    /// A workload directory, or the built-in workload.
    pub queries_dir: Option<PathBuf>,
    /// Only these queries (all when empty).
    pub only: Vec<String>,
    pub options: RunOptions,
}

/// Runs `plan`. Bad settings, data, workload or cluster are errors; a failed query is an
/// entry in the result.
pub async fn execute(plan: &Plan, progress: &mut Progress) -> Result<RunResult> {
    let started_at = now_rfc3339();
    let mut kinds = plan.engines.clone();
    kinds.dedup();
    // Cheap checks first: settings (the engine refuses unknown keys), then data and workload.
    let settings = parse_settings(&plan.settings)?;
    if kinds.contains(&EngineKind::DataFusion) {
        DataFusionEngine::new(&settings, plan.memory_limit)?;
    }
    let (_, dataset) = dataset::verify_location(&plan.data, plan.verify_digests).await?;
    let (queries, workload_source) = workload::load(plan.queries_dir.as_deref())?;
    let queries = workload::select(queries, &plan.only)?;
    let opts = &plan.options;

    let mut engines = Vec::new();
    let mut names = Vec::new();
    for kind in &kinds {
        // Held until this engine is done: an embedded cluster stops when it drops.
        let mut _embedded = None;
        let (engine, cluster): (Box<dyn Engine>, Option<ClusterInfo>) = match kind {
            EngineKind::DataFusion => (
                Box::new(DataFusionEngine::new(&settings, plan.memory_limit)?),
                None,
            ),
            EngineKind::Ballista => {
                let c = connect::connect(&plan.cluster, &settings).await?;
                _embedded = c.embedded;
                (Box::new(c.engine), Some(c.info))
            }
        };
        engine.register("logs", &plan.data).await?;
        let table_rows = dataset::check_rows(engine.as_ref(), "logs", &dataset).await?;
        progress.note(&format!(
            "bench-runner: {} queries on {}{} ({} rows), {} warm-up + {} measured runs each",
            queries.len(),
            engine.name(),
            cluster.as_ref().map_or(String::new(), |c| format!(
                " ({} cluster, {} executors at {})",
                c.kind,
                c.executors.len(),
                c.scheduler
            )),
            dataset.rows,
            opts.warmup,
            opts.iterations
        ));
        // With more than one engine, each saves its answers in its own subdirectory.
        let mut opts = opts.clone();
        if kinds.len() > 1 {
            opts.save_answers = opts.save_answers.map(|d| d.join(engine.name()));
        }
        let measured = measure_all(engine.as_ref(), &queries, &opts, progress).await;
        let mut config = engine.config();
        config.cluster = cluster;
        names.push(engine.name().to_string());
        engines.push(EngineRun {
            engine: config,
            table_rows,
            queries: measured,
        });
    }
    let run_id = format!("{}-{}", names.join("+"), compact(&started_at));
    Ok(RunResult {
        schema_version: SCHEMA_VERSION,
        run_id,
        started_at,
        finished_at: now_rfc3339(),
        environment: Environment::capture(),
        dataset,
        arguments: Arguments {
            argv: std::env::args().collect(),
            iterations: opts.iterations,
            warmup: opts.warmup,
            timeout_seconds: opts.timeout.map(|t| t.as_secs_f64()),
            queries_dir: workload_source,
            selected_queries: queries.iter().map(|q| q.name.clone()).collect(),
            settings: plan.settings.clone(),
        },
        answer_mismatches: RunResult::cross_check(&engines),
        instructions_setup: None,
        engines,
    })
}
