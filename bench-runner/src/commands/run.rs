//! `bench-runner run`: the workload on one or more engines, into a result file
//! ([`bench_runner::run`]).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use bench_runner::callgrind::CountRuntime;
use bench_runner::measurement::RunOptions;
use bench_runner::progress::Progress;
use bench_runner::run::{self, EngineKind, Plan};
use bench_runner::sampling::{Adaptive, Sampling};
use bench_runner::store::DataLocation;
use bench_runner::{results, summary};
use clap::ValueEnum;

use super::Outcome;
use super::cluster::ClusterArgs;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EngineArg {
    Datafusion,
    Ballista,
    Duckdb,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Dataset written by data-gen (with manifest.json): a directory, or s3://bucket/prefix
    /// after `bench-runner upload` (S3 settings from AWS_* environment variables).
    #[arg(long, value_parser = DataLocation::parse)]
    data: DataLocation,
    /// Engines to run, in order: datafusion, ballista, duckdb, or several
    /// (datafusion,ballista,duckdb). DuckDB runs in a Python worker (the pinned `duckdb` wheel,
    /// scripts/ci/pytools.sh) with DataFusion's target_partitions as its threads.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "datafusion")]
    engine: Vec<EngineArg>,
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Measured iterations per query: a number (exactly that many), or auto: until the 95 %
    /// confidence interval of the median is within --precision, at least --min-iterations,
    /// stopping when --budget is spent or --max-iterations reached.
    #[arg(long, default_value = "auto", value_parser = parse_iterations, value_name = "N|auto")]
    iterations: Iterations,
    /// auto: target half-width of the median's 95 % interval, in percent of the median.
    #[arg(long, value_name = "PERCENT")]
    precision: Option<f64>,
    /// auto: measured runs before precision is judged.
    #[arg(long, value_name = "N")]
    min_iterations: Option<u32>,
    /// auto: measured runs at most.
    #[arg(long, value_name = "N")]
    max_iterations: Option<u32>,
    /// auto: measured seconds per query after which no further run starts.
    #[arg(long, value_name = "SECONDS")]
    budget: Option<f64>,
    /// Unrecorded warm-up runs per query (after the cold run).
    #[arg(long, default_value_t = 0)]
    warmup: u32,
    /// Directory of *.sql files (default: the built-in workload, the repository's queries/;
    /// the result file records which ran).
    #[arg(long)]
    queries: Option<PathBuf>,
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
    /// Time limit of each execution, in seconds, or `none`. A query past it is recorded as
    /// timed out (on Ballista its job is cancelled in the scheduler) and the run goes on to
    /// the next query, exiting 1 at the end.
    #[arg(long, value_name = "SECONDS|none", default_value = "300", value_parser = parse_time_limit)]
    timeout: TimeLimit,
    /// Also check every file's SHA-256 against the manifest before measuring.
    #[arg(long)]
    verify_digests: bool,
    /// Memory-pool limit in bytes (accepts 512M, 4G); unbounded by default.
    #[arg(long, value_parser = logbench_common::bytes::parse_bytes)]
    memory_limit: Option<u64>,
    /// Also count each query's instructions per execution on DataFusion under valgrind's
    /// callgrind: N counted runs per query, in a second process after the timed runs.
    #[arg(long, value_name = "N")]
    instructions: Option<u32>,
    /// --instructions: the runtime the counted query runs on. `multi` (the multi-threaded
    /// runtime the timed runs use: hand-offs between tasks, wake-ups and channel traffic are
    /// counted) or `current` (one thread, the same plan; the count before 2026-12-03).
    #[arg(long, value_enum, value_name = "RUNTIME", default_value_t = CountRuntime::Multi, requires = "instructions")]
    instr_runtime: CountRuntime,
    /// --instructions: valgrind processes counting at once, each a share of the queries (one
    /// core each; valgrind runs a process's threads one at a time). The counts are the same
    /// whatever the number; compare two runs counted with the same number, since a query's
    /// count depends a little on what ran before it in its process.
    #[arg(long, value_name = "N", default_value_t = 1, requires = "instructions")]
    instr_processes: u32,
    /// A CPU profile of every query (DataFusion: this process; Ballista: each executor), in
    /// runs of their own after the measured ones: folded stacks and a flamegraph per query in
    /// <result>.profiles/, the hottest frames in the result and the report.
    #[arg(long)]
    profile: bool,
    /// --profile: samples per second of CPU time.
    #[arg(long, value_name = "HZ", default_value_t = logbench_common::profile::DEFAULT_FREQUENCY_HZ, requires = "profile")]
    profile_frequency: u32,
    /// --profile: profiled runs of a query continue until this much wall time (at least one
    /// run, at most 50).
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 2.0,
        requires = "profile"
    )]
    profile_seconds: f64,
    /// No progress or summary on stderr/stdout.
    #[arg(long)]
    quiet: bool,
}

/// `--iterations`: a fixed count, or `None` for auto.
#[derive(Debug, Clone, Copy)]
struct Iterations(Option<u32>);

fn parse_iterations(s: &str) -> Result<Iterations, String> {
    if s == "auto" {
        return Ok(Iterations(None));
    }
    match s.parse::<u32>() {
        Ok(n) if n > 0 => Ok(Iterations(Some(n))),
        _ => Err(format!(
            "'{s}' is neither a whole number above zero nor auto"
        )),
    }
}

/// The sampling rule from the arguments; the adaptive settings only go with `auto`.
fn sampling(args: &Args) -> Result<Sampling, super::Usage> {
    let adaptive = [
        ("--precision", args.precision.is_some()),
        ("--min-iterations", args.min_iterations.is_some()),
        ("--max-iterations", args.max_iterations.is_some()),
        ("--budget", args.budget.is_some()),
    ];
    if let Some(n) = args.iterations.0 {
        if let Some((flag, _)) = adaptive.iter().find(|(_, given)| *given) {
            return Err(super::usage(format!(
                "{flag} applies to --iterations auto, not to a fixed --iterations {n}"
            )));
        }
        return Ok(Sampling::Fixed(n));
    }
    let d = Adaptive::default();
    let a = Adaptive {
        precision_pct: args.precision.unwrap_or(d.precision_pct),
        min_iterations: args.min_iterations.unwrap_or(d.min_iterations),
        max_iterations: args.max_iterations.unwrap_or(d.max_iterations),
        budget_seconds: args.budget.unwrap_or(d.budget_seconds),
    };
    if !(a.precision_pct.is_finite() && a.precision_pct > 0.0) {
        return Err(super::usage("--precision needs a percentage above zero"));
    }
    if !(a.budget_seconds.is_finite() && a.budget_seconds >= 0.0) {
        return Err(super::usage(
            "--budget needs a number of seconds, zero or more",
        ));
    }
    if a.min_iterations == 0 || a.min_iterations > a.max_iterations {
        return Err(super::usage(format!(
            "--min-iterations {} must be at least 1 and at most --max-iterations {}",
            a.min_iterations, a.max_iterations
        )));
    }
    Ok(Sampling::Adaptive(a))
}

/// A per-execution time limit: seconds, or none.
#[derive(Debug, Clone, Copy)]
pub(super) struct TimeLimit(pub(super) Option<f64>);

pub(super) fn parse_time_limit(s: &str) -> Result<TimeLimit, String> {
    if s.eq_ignore_ascii_case("none") {
        return Ok(TimeLimit(None));
    }
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(TimeLimit(Some(v))),
        _ => Err(format!(
            "'{s}' is not a number of seconds above zero, nor 'none'"
        )),
    }
}

pub async fn exec(args: Args) -> Outcome {
    if let Some(n) = args.instructions {
        // Refused before anything runs: no valgrind, no DataFusion engine, or nothing to count.
        if n == 0 {
            return Err(super::usage(
                "--instructions: the number of counted runs must be at least 1",
            ));
        }
        if args.instr_processes == 0 {
            return Err(super::usage(
                "--instr-processes: the number of counting processes must be at least 1",
            ));
        }
        if !args.engine.contains(&EngineArg::Datafusion) {
            return Err(super::usage(
                "--instructions counts DataFusion's execution: add datafusion to --engine",
            ));
        }
        bench_runner::callgrind::valgrind_version()?;
    }
    if args.profile {
        if !(1..=10_000).contains(&args.profile_frequency) {
            return Err(super::usage(format!(
                "--profile-frequency {} must be between 1 and 10000 Hz",
                args.profile_frequency
            )));
        }
        if !(args.profile_seconds.is_finite() && args.profile_seconds >= 0.0) {
            return Err(super::usage(
                "--profile-seconds needs a number of seconds, zero or more",
            ));
        }
    }
    let mut plan = Plan {
        data: args.data.clone(),
        engines: args
            .engine
            .iter()
            .map(|e| match e {
                EngineArg::Datafusion => EngineKind::DataFusion,
                EngineArg::Ballista => EngineKind::Ballista,
                EngineArg::Duckdb => EngineKind::DuckDb,
            })
            .collect(),
        cluster: args.cluster.choice(),
        settings: args.set.clone(),
        memory_limit: args.memory_limit.map(|b| b as usize),
        verify_digests: args.verify_digests,
        queries_dir: args.queries.clone(),
        only: args.query.clone(),
        options: RunOptions {
            sampling: sampling(&args)?,
            warmup: args.warmup,
            timeout: args.timeout.0.map(Duration::from_secs_f64),
            save_answers: args.save_answers.clone(),
            profile: None,
        },
    };
    let started_at = logbench_common::time::now_rfc3339();
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| results::default_path(&run::run_id(&plan.engines, &started_at)));
    if args.profile {
        let (dir, link) = bench_runner::profile::dir_for(&out);
        plan.options.profile = Some(bench_runner::profile::ProfileOptions {
            dir,
            link,
            frequency_hz: args.profile_frequency,
            seconds: args.profile_seconds,
        });
    }
    // Ctrl-C or SIGTERM: the execution in flight is cancelled (its Ballista job too), the file
    // keeps what was measured, marked incomplete, and the run stops.
    bench_runner::interrupt::install();
    let mut progress = Progress::new(args.quiet);
    // The file grows after every query (marked incomplete): a run killed or failing halfway
    // keeps what it measured.
    let mut saved = false;
    let mut checkpoint = |partial: &results::RunResult| {
        partial.write(&out)?;
        saved = true;
        Ok(())
    };
    let mut result = run::execute(&plan, started_at, &mut progress, &mut checkpoint)
        .await
        .map_err(|e| {
            if saved {
                super::usage(format!(
                    "{e} (the queries measured so far are in {}, marked incomplete)",
                    out.display()
                ))
            } else {
                e.into()
            }
        })?;
    // The limit as given, not as a Duration rounds it.
    result.arguments.timeout_seconds = args.timeout.0;
    if let Some(n) = args.instructions {
        if !args.quiet {
            eprintln!("bench-runner: counting instructions under callgrind ({n} runs per query)");
        }
        let program = std::env::current_exe().context("locating this program")?;
        let worker = bench_runner::callgrind::Worker {
            data: args.data.to_string(),
            queries: args.queries.as_deref(),
            set: &args.set,
            memory_limit: args.memory_limit,
            runtime: args.instr_runtime,
        };
        bench_runner::callgrind::count_run(
            &mut result,
            &program,
            &worker,
            n,
            args.instr_processes,
        )?;
    }
    result
        .write(&out)
        .with_context(|| format!("writing {}", out.display()))?;
    if !args.quiet {
        print!("{}", summary::to_terminal(&result));
        println!("result: {}", out.display());
        if let Some(p) = &plan.options.profile {
            println!("profiles: {}", p.dir.display());
        }
    }
    Ok(!result.any_failed())
}
