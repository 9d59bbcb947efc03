//! `bench-runner once`: one query executed once on one engine, its answer's digest or its
//! error printed as one JSON line. The client of the fault trials (`scripts/tools/faults.py`): the
//! execution a fault lands in is the only one, with no warm-ups, iterations or `EXPLAIN
//! ANALYZE` after it to blur what the fault did.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bench_runner::digest::digest;
use bench_runner::engine::datafusion::DataFusionEngine;
use bench_runner::engine::{Engine, parse_settings};
use bench_runner::store::DataLocation;
use bench_runner::workload;
use serde_json::json;

use super::cluster::ClusterArgs;
use super::run::EngineArg;
use super::{Outcome, usage};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Dataset written by data-gen: a directory, or s3://bucket/prefix.
    #[arg(long, value_parser = DataLocation::parse)]
    data: DataLocation,
    #[arg(long, value_enum, default_value = "ballista")]
    engine: EngineArg,
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Directory of *.sql files (default: the built-in workload).
    #[arg(long)]
    queries: Option<PathBuf>,
    /// The query, by name.
    #[arg(long, value_name = "NAME")]
    query: String,
    /// Time limit in seconds; past it the query is reported as failed.
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<f64>,
    /// Engine setting KEY=VALUE (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

/// Prints `{"query", "engine", "ok", "rows", "digest", "ordered", "elapsed_ms", "job_id",
/// "error"}`; exit 0 when the query answered, 1 when it failed.
pub async fn exec(args: Args) -> Outcome {
    let settings = parse_settings(&args.set)?;
    let (queries, _) = workload::load(args.queries.as_deref())?;
    let q = workload::select(queries, std::slice::from_ref(&args.query))?
        .pop()
        .ok_or_else(|| usage(format!("--query {}: no such query", args.query)))?;
    // A cluster started for this run (no --scheduler and none left running) lives until the end.
    let mut _embedded = None;
    let (engine, name): (Box<dyn Engine>, &str) = match args.engine {
        EngineArg::Datafusion => (
            Box::new(DataFusionEngine::new(&settings, None)?),
            "datafusion",
        ),
        EngineArg::Ballista => {
            let connected = args.cluster.connect(&settings).await?;
            _embedded = connected.embedded;
            (Box::new(connected.engine), "ballista")
        }
        EngineArg::Duckdb => (
            Box::new(bench_runner::engine::duckdb::DuckDbEngine::start(&settings, None).await?),
            "duckdb",
        ),
    };
    engine.register("logs", &args.data).await?;
    let started = Instant::now();
    // Past the limit the execution is abandoned and its Ballista job cancelled.
    let answer = bench_runner::engine::timed_run(
        engine.as_ref(),
        &q.sql,
        args.timeout.map(Duration::from_secs_f64),
    )
    .await
    .map(|(batches, _)| batches);
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    let job_id = match &answer {
        Err(bench_runner::error::Error::TimedOut { job, .. }) => job.clone(),
        _ => engine.take_job().map(|j| j.job_id),
    };
    let line = match answer.and_then(|batches| digest(&batches, q.fixes_order())) {
        Ok(d) => json!({
            "query": q.name, "engine": name, "ok": true, "rows": d.rows, "digest": d.digest,
            "ordered": d.ordered, "elapsed_ms": elapsed_ms, "job_id": job_id, "error": null,
        }),
        Err(e) => json!({
            "query": q.name, "engine": name, "ok": false, "elapsed_ms": elapsed_ms,
            "job_id": job_id, "error": e.to_string(),
        }),
    };
    println!("{line}");
    Ok(line["ok"] == true)
}
