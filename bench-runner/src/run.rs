//! What `bench-runner run` does: check the settings, the dataset and the workload, then run the
//! workload on each engine in turn (a Ballista cluster started for the run is stopped before
//! the next engine starts) and assemble the [`RunResult`]. After every query the result so far
//! (`complete: false`) goes to the caller's checkpoint, which saves it; writing the final one
//! and printing it is the caller's.

use std::path::PathBuf;

use crate::ballista_cluster::connect::{self, Choice};
use crate::dataset;
use crate::engine::datafusion::DataFusionEngine;
use crate::engine::{ClusterInfo, Engine, parse_settings};
use crate::environment::Environment;
use crate::error::Result;
use crate::measurement::{RunOptions, measure_all};
use crate::progress::Progress;
use crate::results::{Arguments, EngineRun, RunResult, SCHEMA_VERSION};
use crate::sampling::Sampling;
use crate::store::DataLocation;
use crate::workload;
use logbench_common::time::{compact, now_rfc3339};

/// An engine to run the workload on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    DataFusion,
    /// On the cluster [`Plan::cluster`] names or implies.
    Ballista,
    /// DuckDB in a worker process ([`crate::engine::duckdb`]), the single-node reference.
    DuckDb,
}

impl EngineKind {
    /// The engine's name in results.
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::DataFusion => "datafusion",
            EngineKind::Ballista => "ballista",
            EngineKind::DuckDb => "duckdb",
        }
    }
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

/// The run's id: its engines and start time.
pub fn run_id(kinds: &[EngineKind], started_at: &str) -> String {
    let mut kinds = kinds.to_vec();
    kinds.dedup();
    let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
    format!("{}-{}", names.join("+"), compact(started_at))
}

/// Runs `plan`, handing the result so far to `checkpoint` after every query. Bad settings,
/// data, workload or cluster are errors; a failed query is an entry in the result.
pub async fn execute(
    plan: &Plan,
    started_at: String,
    progress: &mut Progress,
    checkpoint: &mut (dyn FnMut(&RunResult) -> Result<()> + Send),
) -> Result<RunResult> {
    let mut kinds = plan.engines.clone();
    kinds.dedup();
    let run_id = run_id(&kinds, &started_at);
    // Cheap checks first: settings (the engine refuses unknown keys), then data and workload.
    let settings = parse_settings(&plan.settings)?;
    if kinds.contains(&EngineKind::DataFusion) {
        DataFusionEngine::new(&settings, plan.memory_limit)?;
    }
    if kinds.contains(&EngineKind::DuckDb) {
        crate::engine::duckdb::refuse_s3(&plan.data)?;
    }
    let (_, dataset) = dataset::verify_location(&plan.data, plan.verify_digests).await?;
    let (queries, workload_source) = workload::load(plan.queries_dir.as_deref())?;
    let queries = workload::select(queries, &plan.only)?;
    let opts = &plan.options;

    // DuckDB's worker is started before anything is measured: a missing Python module is
    // refused in one line, not after the other engines' runs.
    let mut duckdb = if kinds.contains(&EngineKind::DuckDb) {
        Some(
            crate::engine::duckdb::DuckDbEngine::start(
                &settings,
                plan.memory_limit.map(|m| m as u64),
            )
            .await?,
        )
    } else {
        None
    };
    let environment = Environment::capture();
    let mut engines = Vec::new();
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
            EngineKind::DuckDb => (Box::new(duckdb.take().expect("started once, above")), None),
        };
        engine.register("logs", &plan.data).await?;
        let table_rows = dataset::check_rows(engine.as_ref(), "logs", &dataset).await?;
        let measured = match &opts.sampling {
            Sampling::Fixed(n) => format!("{n} measured runs"),
            Sampling::Adaptive(a) => format!(
                "measured until the median is known within ±{} % (at least {} runs, {} s budget)",
                a.precision_pct, a.min_iterations, a.budget_seconds
            ),
        };
        progress.note(&format!(
            "bench-runner: {} queries on {}{} ({} rows), {} warm-up + {measured} each",
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
        ));
        // With more than one engine, each saves its answers in its own subdirectory.
        let mut opts = opts.clone();
        if kinds.len() > 1 {
            opts.save_answers = opts.save_answers.map(|d| d.join(engine.name()));
        }
        let mut config = engine.config();
        config.cluster = cluster;
        let this = |queries: &[crate::results::QueryResult]| EngineRun {
            engine: config.clone(),
            table_rows,
            queries: queries.to_vec(),
        };
        let measured = {
            let mut save = |done: &[crate::results::QueryResult]| {
                let mut so_far = engines.clone();
                so_far.push(this(done));
                let mut partial = assemble(
                    plan,
                    &run_id,
                    &started_at,
                    &environment,
                    &dataset,
                    &workload_source,
                    &queries,
                    so_far,
                );
                partial.complete = false;
                checkpoint(&partial)
            };
            measure_all(engine.as_ref(), &queries, &opts, progress, &mut save).await?
        };
        engines.push(this(&measured));
    }
    Ok(assemble(
        plan,
        &run_id,
        &started_at,
        &environment,
        &dataset,
        &workload_source,
        &queries,
        engines,
    ))
}

/// The result file's contents for `engines` measured so far.
#[allow(clippy::too_many_arguments)]
fn assemble(
    plan: &Plan,
    run_id: &str,
    started_at: &str,
    environment: &Environment,
    dataset: &crate::results::DatasetInfo,
    workload_source: &str,
    queries: &[workload::Query],
    engines: Vec<EngineRun>,
) -> RunResult {
    let opts = &plan.options;
    RunResult {
        schema_version: SCHEMA_VERSION,
        run_id: run_id.to_string(),
        started_at: started_at.to_string(),
        finished_at: now_rfc3339(),
        complete: true,
        environment: environment.clone(),
        dataset: dataset.clone(),
        arguments: Arguments {
            argv: std::env::args().collect(),
            iterations: opts.sampling.fixed(),
            sampling: match &opts.sampling {
                Sampling::Adaptive(a) => Some(a.clone()),
                Sampling::Fixed(_) => None,
            },
            warmup: opts.warmup,
            timeout_seconds: opts.timeout.map(|t| t.as_secs_f64()),
            queries_dir: workload_source.to_string(),
            selected_queries: queries.iter().map(|q| q.name.clone()).collect(),
            settings: plan.settings.clone(),
            engines: {
                let mut kinds = plan.engines.clone();
                kinds.dedup();
                kinds.iter().map(|k| k.name().to_string()).collect()
            },
        },
        answer_mismatches: RunResult::cross_check(&engines),
        instructions_setup: None,
        engines,
    }
}
