//! `bench-runner count-instructions` (hidden): the copy of the runner that `run --instructions`
//! starts under callgrind ([`bench_runner::callgrind`]). It registers the dataset and runs each
//! query once without instrumentation (file metadata and caches warm, code translated), then
//! `--runs` times inside a counted region each: instrumentation on, counters zeroed, the query
//! to its last batch, the counters dumped under the query's name and run number. A query whose
//! `-- instr-runs:` header asks for more runs than `--runs` gets them.

use bench_runner::callgrind::{self, Region};
use bench_runner::engine::datafusion::DataFusionEngine;
use bench_runner::engine::{Engine, parse_settings};
use bench_runner::store::DataLocation;
use bench_runner::workload;

use super::{Outcome, usage};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, value_parser = DataLocation::parse)]
    data: DataLocation,
    #[arg(long)]
    queries: Option<std::path::PathBuf>,
    #[arg(long = "query", value_name = "NAME")]
    query: Vec<String>,
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    #[arg(long, value_parser = logbench_common::bytes::parse_bytes)]
    memory_limit: Option<u64>,
    /// Counted runs per query (more for a query whose `-- instr-runs:` header asks for more).
    #[arg(long, default_value_t = 3)]
    runs: u32,
    /// The same executions with no client requests (no regions zeroed or dumped): for a plain
    /// whole-process count to check the regions against (tests). Exactly `--runs` counted
    /// executions, whatever a query's `-- instr-runs:` header asks.
    #[arg(long)]
    no_regions: bool,
    /// The runtime the query executes on: `multi`, the multi-threaded runtime `run` measures
    /// wall time on (this process's own), or `current`, one thread.
    #[arg(long, value_enum, default_value_t = CountRuntime::Multi)]
    runtime: CountRuntime,
}

use bench_runner::callgrind::CountRuntime;

pub async fn exec(args: Args) -> Outcome {
    if !callgrind::running_on_valgrind() {
        return Err(usage(
            "count-instructions runs under valgrind only (bench-runner run --instructions starts it)",
        ));
    }
    match args.runtime {
        // The query's tasks run on this process's multi-threaded runtime, the one `run`
        // measures on: every thread's instructions are in the region, since the region starts
        // and stops instrumentation and zeroes and dumps the counters process-wide.
        CountRuntime::Multi => count(args).await,
        // The same plan and partitions, executed by one thread (the count before 2026-12-03).
        // Measured on 2026-12-02 (50k rows, agg_status_codes): the regions counted 19.98M per
        // execution against a whole-process count of 19.95M.
        CountRuntime::Current => std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .thread_stack_size(32 << 20)
                .build()
                .map_err(|e| usage(format!("starting a runtime: {e}")))?
                .block_on(count(args))
        })
        .join()
        .map_err(|_| usage("count-instructions: the counting thread panicked"))?,
    }
}

async fn count(args: Args) -> Outcome {
    let settings = parse_settings(&args.set)?;
    let engine = DataFusionEngine::new(&settings, args.memory_limit.map(|b| b as usize))?;
    engine.register("logs", &args.data).await?;
    let (queries, _) = workload::load(args.queries.as_deref())?;
    let queries = workload::select(queries, &args.query)?;
    let mut ok = true;
    for q in &queries {
        if let Err(e) = engine.execute(&q.sql).await {
            eprintln!("count-instructions: {}: {e}", q.name);
            ok = false;
            continue;
        }
        // A plain whole-process count takes differences of counts made with different
        // `--runs`, so there `--runs` is exact; regions get what the query's header asks.
        let runs = if args.no_regions {
            args.runs
        } else {
            q.counted_runs(args.runs)
        };
        for run in 0..runs {
            let region =
                (!args.no_regions).then(|| Region::start(&callgrind::region_name(&q.name, run)));
            let answer = engine.execute(&q.sql).await;
            if let Some(region) = region {
                region.end();
            }
            if let Err(e) = answer {
                eprintln!("count-instructions: {} run {run}: {e}", q.name);
                ok = false;
                break;
            }
        }
    }
    Ok(ok)
}
