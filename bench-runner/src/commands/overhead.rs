//! `bench-runner overhead`: the harness against a bare program on the same engine, side by side
//! ([`bench_runner::overhead`]).

use std::path::PathBuf;

use bench_runner::engine::Engine;
use bench_runner::engine::datafusion::DataFusionEngine;
use bench_runner::engine::duckdb::DuckDbEngine;
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

/// What the harness's time of each query is measured against.
enum Against {
    /// The same engine driven by a bare program, in alternating blocks.
    Bare(datafusion::prelude::SessionContext, Box<dyn Engine>),
    /// The engine's own timer of each execution.
    EngineTimer(Box<DuckDbEngine>),
}

pub async fn exec(args: Args) -> Outcome {
    dataset::verify(&args.data, false)?;
    let (queries, _) = workload::load(args.queries.as_deref())?;
    let queries = workload::select(queries, &args.query)?;
    // Held to the end: a cluster started for this run stops when it drops.
    let mut _embedded = None;
    let location = DataLocation::Dir(args.data.clone());
    // What the harness is measured against: a bare DataFusion program (on the cluster for
    // Ballista), or DuckDB's own timer of each execution (the "bare" column is DuckDB's).
    let against = match args.engine {
        EngineArg::Duckdb => {
            let engine = DuckDbEngine::start(&[], None).await?;
            engine.register("logs", &location).await?;
            Against::EngineTimer(Box::new(engine))
        }
        other => {
            let (engine, scheduler): (Box<dyn Engine>, Option<String>) = match other {
                EngineArg::Ballista => {
                    let c = args.cluster.connect(&[]).await?;
                    _embedded = c.embedded;
                    (Box::new(c.engine), Some(c.info.scheduler))
                }
                _ => (Box::new(DataFusionEngine::new(&[], None)?), None),
            };
            engine.register("logs", &location).await?;
            let bare = overhead::bare_context(&args.data, scheduler.as_deref()).await?;
            Against::Bare(bare, engine)
        }
    };
    let mut all = Vec::new();
    for q in &queries {
        let o = match &against {
            Against::Bare(bare, engine) => {
                overhead::measure(bare, engine.as_ref(), q, args.rounds, args.per_round).await?
            }
            Against::EngineTimer(engine) => {
                let runs = args.rounds * args.per_round as usize;
                overhead::against_engine_timer(engine, q, runs).await?
            }
        };
        eprintln!("overhead: {} {:+.2}%", o.query, o.overhead * 100.0);
        all.push(o);
    }
    print!("{}", overhead::to_terminal(&all));
    Ok(true)
}
