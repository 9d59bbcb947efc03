//! `bench-runner overhead`: the harness against a bare program on the same engine, side by side
//! ([`bench_runner::overhead`]).

use std::path::PathBuf;

use bench_runner::engine::Engine;
use bench_runner::engine::datafusion::DataFusionEngine;
use bench_runner::store::DataLocation;
use bench_runner::{dataset, overhead, workload};

use super::Outcome;
use super::cluster::ClusterArgs;
use super::run::EngineArg;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long)]
    data: PathBuf,
    /// Directory of *.sql files (default: the built-in workload, the repository's queries/).
    #[arg(long)]
    queries: Option<PathBuf>,
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
    /// The engine whose harness overhead to measure. DuckDB: the runner's time of each
    /// execution (request, DuckDB, the answer's transfer and decoding) against DuckDB's own
    /// timer of it; the "bare" column is DuckDB's.
    #[arg(long, value_enum, default_value_t = EngineArg::Datafusion)]
    engine: EngineArg,
    #[command(flatten)]
    cluster: ClusterArgs,
}

pub async fn exec(args: Args) -> Outcome {
    dataset::verify(&args.data, false)?;
    let (queries, _) = workload::load(args.queries.as_deref())?;
    let queries = workload::select(queries, &args.query)?;
    if args.engine == EngineArg::Duckdb {
        // DuckDB: the runner's time of each execution against DuckDB's own timer of it.
        let engine = bench_runner::engine::duckdb::DuckDbEngine::start(&[], None).await?;
        engine
            .register("logs", &DataLocation::Dir(args.data.clone()))
            .await?;
        let mut all = Vec::new();
        for q in &queries {
            let o =
                overhead::against_engine_timer(&engine, q, args.rounds * args.per_round as usize)
                    .await?;
            eprintln!("overhead: {} {:+.2}%", o.query, o.overhead * 100.0);
            all.push(o);
        }
        print!("{}", overhead::to_terminal(&all));
        return Ok(true);
    }
    // Held to the end: a cluster started for this run stops when it drops.
    let mut _embedded = None;
    let (engine, scheduler): (Box<dyn Engine>, Option<String>) = match args.engine {
        EngineArg::Datafusion => (Box::new(DataFusionEngine::new(&[], None)?), None),
        EngineArg::Ballista => {
            let c = args.cluster.connect(&[]).await?;
            _embedded = c.embedded;
            (Box::new(c.engine), Some(c.info.scheduler))
        }
        EngineArg::Duckdb => unreachable!("measured above"),
    };
    engine
        .register("logs", &DataLocation::Dir(args.data.clone()))
        .await?;
    let bare = overhead::bare_context(&args.data, scheduler.as_deref()).await?;
    let mut all = Vec::new();
    for q in &queries {
        let o = overhead::measure(&bare, engine.as_ref(), q, args.rounds, args.per_round).await?;
        eprintln!("overhead: {} {:+.2}%", o.query, o.overhead * 100.0);
        all.push(o);
    }
    print!("{}", overhead::to_terminal(&all));
    Ok(true)
}
