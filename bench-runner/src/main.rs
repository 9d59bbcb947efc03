//! `bench-runner`: measure SQL workloads on DataFusion and record versioned results.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use bench_runner::engine::datafusion::DataFusionEngine;
use bench_runner::engine::{Engine, parse_settings};
use bench_runner::environment::Environment;
use bench_runner::progress::Progress;
use bench_runner::results::{self, Arguments, EngineRun, RunResult, SCHEMA_VERSION, Status};
use bench_runner::runner::{RunOptions, measure_all};
use bench_runner::{dataset, workload};
use clap::{Parser, Subcommand, ValueEnum};
use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::Int64Type;

#[derive(Debug, Parser)]
#[command(
    name = "bench-runner",
    version,
    about = "Measure SQL workloads on DataFusion"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the workload against a dataset and write a result file.
    Run(RunArgs),
    /// Measure the harness's own overhead against a bare DataFusion program, side by side.
    Overhead(OverheadArgs),
}

#[derive(Debug, clap::Args)]
struct OverheadArgs {
    #[arg(long)]
    data: PathBuf,
    #[arg(long, default_value = "queries")]
    queries: PathBuf,
    /// Queries to compare (repeatable; default: every workload query).
    #[arg(long = "query", value_name = "NAME")]
    query: Vec<String>,
    /// Alternating blocks per query (10 x 5 samples each side keeps single-query noise
    /// within about 2 % on a 2-core machine).
    #[arg(long, default_value_t = 10)]
    rounds: usize,
    /// Iterations per block.
    #[arg(long, default_value_t = 5)]
    per_round: u32,
}

async fn overhead(args: OverheadArgs) -> Result<(), Usage> {
    dataset::verify(&args.data, false).map_err(|e| Usage(e.into()))?;
    let queries = workload::load_dir(&args.queries)
        .and_then(|q| workload::select(q, &args.query))
        .map_err(|e| Usage(e.into()))?;
    println!(
        "{:<24} {:>14} {:>16} {:>10} {:>8}",
        "query", "bare p50 ms", "harness p50 ms", "overhead", "samples"
    );
    let mut all = Vec::new();
    for q in &queries {
        let o = bench_runner::overhead::measure(&args.data, q, args.rounds, args.per_round)
            .await
            .map_err(|e| Usage(e.into()))?;
        println!(
            "{:<24} {:>14.2} {:>16.2} {:>+9.2}% {:>8}",
            o.query,
            o.bare_median_us as f64 / 1e3,
            o.harness_median_us as f64 / 1e3,
            o.overhead * 100.0,
            o.samples_each
        );
        all.push(o.overhead);
    }
    all.sort_by(f64::total_cmp);
    println!(
        "median overhead over {} queries: {:+.2}% (range {:+.2}% to {:+.2}%)",
        all.len(),
        all[all.len() / 2] * 100.0,
        all[0] * 100.0,
        all[all.len() - 1] * 100.0
    );
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum EngineKind {
    Datafusion,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Dataset directory written by data-gen (with manifest.json).
    #[arg(long)]
    data: PathBuf,
    #[arg(long, value_enum, default_value_t = EngineKind::Datafusion)]
    engine: EngineKind,
    /// Measured iterations per query.
    #[arg(long, default_value_t = 10)]
    iterations: u32,
    /// Unrecorded warm-up runs per query (after the cold run).
    #[arg(long, default_value_t = 2)]
    warmup: u32,
    /// Directory of *.sql files.
    #[arg(long, default_value = "queries")]
    queries: PathBuf,
    /// Run only this query (repeatable).
    #[arg(long = "query", value_name = "NAME")]
    query: Vec<String>,
    /// Result file (default results/local/<run id>.json).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Engine setting, e.g. datafusion.execution.target_partitions=4 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Write each query's answer once as DIR/<query>.parquet.
    #[arg(long, value_name = "DIR")]
    save_answers: Option<PathBuf>,
    /// Per-run time limit in seconds; a query that exceeds it is recorded as failed.
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<f64>,
    /// Also check every file's SHA-256 against the manifest before measuring.
    #[arg(long)]
    verify_digests: bool,
    /// Memory-pool limit in bytes (accepts 512M, 4G); unbounded by default.
    #[arg(long, value_parser = parse_bytes)]
    memory_limit: Option<usize>,
    /// No progress or summary on stderr/stdout.
    #[arg(long)]
    quiet: bool,
}

fn parse_bytes(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let (digits, mult) = match t.chars().last() {
        Some('k' | 'K') => (&t[..t.len() - 1], 1usize << 10),
        Some('m' | 'M') => (&t[..t.len() - 1], 1 << 20),
        Some('g' | 'G') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    digits
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("'{s}' is not a size in bytes (e.g. 512M, 4G)"))
}

/// `20261121T114803Z` from an RFC 3339 instant.
fn compact(rfc3339: &str) -> String {
    rfc3339[..19].replace(['-', ':'], "") + "Z"
}

fn now() -> String {
    let us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    data_gen::manifest::rfc3339_micros(us)
}

/// A usage problem (exit 2) rather than a failed query (exit 1).
struct Usage(anyhow::Error);

async fn run(args: RunArgs) -> Result<bool, Usage> {
    let usage = |e: anyhow::Error| Usage(e);
    let started_at = now();
    // Cheap checks first: settings (the engine refuses unknown keys), then data and workload.
    let settings = parse_settings(&args.set).map_err(|e| usage(e.into()))?;
    let engine: Box<dyn Engine> = match args.engine {
        EngineKind::Datafusion => Box::new(
            DataFusionEngine::new(&settings, args.memory_limit).map_err(|e| usage(e.into()))?,
        ),
    };
    let (_, dataset) =
        dataset::verify(&args.data, args.verify_digests).map_err(|e| usage(e.into()))?;
    let queries = workload::load_dir(&args.queries)
        .and_then(|q| workload::select(q, &args.query))
        .map_err(|e| usage(e.into()))?;
    engine
        .register("logs", &args.data)
        .await
        .map_err(|e| usage(e.into()))?;
    // The engine must see exactly the manifest's rows: a path it cannot read has produced
    // silently empty scans elsewhere.
    let counted = engine
        .execute("SELECT COUNT(*) FROM logs")
        .await
        .map_err(|e| usage(e.into()))?;
    let table_rows = counted
        .first()
        .and_then(|b| {
            b.column(0)
                .as_primitive_opt::<Int64Type>()
                .map(|a| a.value(0) as u64)
        })
        .unwrap_or(0);
    if table_rows != dataset.rows {
        return Err(usage(anyhow::anyhow!(
            "dataset: {} sees {table_rows} rows in {} but the manifest says {}",
            engine.name(),
            dataset.path,
            dataset.rows
        )));
    }

    let mut progress = Progress::new(args.quiet);
    progress.note(&format!(
        "bench-runner: {} queries on {} ({} rows), {} warm-up + {} measured runs each",
        queries.len(),
        engine.name(),
        dataset.rows,
        args.warmup,
        args.iterations
    ));
    let opts = RunOptions {
        iterations: args.iterations,
        warmup: args.warmup,
        timeout: args.timeout.map(Duration::from_secs_f64),
        save_answers: args.save_answers.clone(),
    };
    let measured = measure_all(engine.as_ref(), &queries, &opts, &mut progress).await;
    let run_id = format!("{}-{}", engine.name(), compact(&started_at));
    let result = RunResult {
        schema_version: SCHEMA_VERSION,
        run_id: run_id.clone(),
        started_at,
        finished_at: now(),
        environment: Environment::capture(),
        dataset,
        arguments: Arguments {
            argv: std::env::args().collect(),
            iterations: args.iterations,
            warmup: args.warmup,
            timeout_seconds: args.timeout,
            queries_dir: args.queries.display().to_string(),
            selected_queries: queries.iter().map(|q| q.name.clone()).collect(),
            settings: args.set.clone(),
        },
        engines: vec![EngineRun {
            engine: engine.config(),
            table_rows,
            queries: measured,
        }],
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| results::default_path(&run_id));
    result
        .write(&out)
        .with_context(|| format!("writing {}", out.display()))
        .map_err(Usage)?;
    if !args.quiet {
        print_summary(&result);
        println!("result: {}", out.display());
    }
    Ok(!result.any_failed())
}

fn print_summary(r: &RunResult) {
    for e in &r.engines {
        println!(
            "{:<24} {:<10} {:>10} {:>10} {:>10} {:>10}  {:<16} status",
            format!("{} query", e.engine.name),
            "category",
            "p50 ms",
            "p99 ms",
            "max ms",
            "rows",
            "plan"
        );
        for q in &e.queries {
            let (p50, p99, max) = q
                .latency
                .as_ref()
                .map_or((f64::NAN, f64::NAN, f64::NAN), |l| {
                    (l.p50 as f64 / 1e3, l.p99 as f64 / 1e3, l.max as f64 / 1e3)
                });
            println!(
                "{:<24} {:<10} {:>10.1} {:>10.1} {:>10.1} {:>10}  {:<16} {}",
                q.name,
                q.category,
                p50,
                p99,
                max,
                q.answer
                    .as_ref()
                    .map_or("-".to_string(), |a| a.rows.to_string()),
                q.plans.as_ref().map_or("-", |p| p.fingerprint.as_str()),
                match q.status {
                    Status::Ok => "ok".to_string(),
                    Status::Failed => format!("FAILED: {}", q.error.as_deref().unwrap_or("")),
                }
            );
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli: Cli = match data_gen::cli::parse_args("bench-runner") {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    match cli.command {
        Command::Overhead(args) => match overhead(args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(Usage(e)) => {
                eprintln!("bench-runner: error: {e:#}");
                ExitCode::from(2)
            }
        },
        Command::Run(args) => match run(args).await {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(1),
            Err(Usage(e)) => {
                eprintln!("bench-runner: error: {e:#}");
                ExitCode::from(2)
            }
        },
    }
}
