//! `bench-runner`: measure SQL workloads on DataFusion and Apache Ballista, and judge the
//! results. This file only dispatches: each subcommand's flags and its handler are in
//! `commands/<name>.rs`, and the work is done by the `bench_runner` library.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod commands;

/// mimalloc unless `LOGBENCH_ALLOCATOR=system`; the result's environment names the one used.
#[global_allocator]
static ALLOCATOR: logbench_common::alloc::Switchable = logbench_common::alloc::Switchable;

use commands::{
    Usage, calibrate, check, cluster, compare, count, gate, load, once, overhead, report, run,
    upload,
};

#[derive(Debug, Parser)]
#[command(
    name = "bench-runner",
    version,
    about = "Measure SQL workloads on DataFusion and Apache Ballista"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the workload against a dataset and write a result file.
    Run(run::Args),
    /// Latency under load: requests arriving open loop at one or more rates (a sweep), each
    /// timed from when it was due (response) and from when it started (service).
    Load(load::Args),
    /// Measure the harness's own overhead against a bare DataFusion (or Ballista) program,
    /// side by side.
    Overhead(overhead::Args),
    /// Compare two result files query by query: ratio of medians with a bootstrap confidence
    /// interval, a verdict corrected for testing many queries, answer and plan changes.
    /// Exit 0: nothing regressed; 1: a regression or an answer difference; 2: bad input.
    ///
    /// Two plain runs made apart are judged against a band widened for the machine's drift
    /// (--drift, --floor-ms): an interval that excludes 1.0 inside it is "within drift (±X %)",
    /// never "no change". To compare two settings, run both with `run --instructions 3`:
    /// instruction counts do not drift; where both files carry them their verdict is shown
    /// first and the summary says which metric decided.
    Compare(compare::Args),
    /// What CI runs: BASE (a git revision, default the previous commit) and NEW (this build)
    /// measured interleaved on one machine, then compared. Exit 1 on a regression.
    Gate(gate::Args),
    /// The gate's false-alarm rate and minimum detectable effect, from A/A gate runs.
    Calibrate(calibrate::Args),
    /// Render result files as report.md, report.html (self-contained) and charts/*.svg;
    /// given several, compare them (the first is the baseline) and chart the scaling.
    Report(report::Args),
    /// Whether a result file is clean: complete, the engines asked for, every query ok, no
    /// answer differing between engines. Exit 1 (one line naming each problem) otherwise.
    Check(check::Args),
    /// Start, inspect and stop a local Ballista cluster (separate processes on 127.0.0.1).
    #[command(subcommand)]
    Cluster(cluster::Command),
    /// Copy a dataset directory (verified against its manifest) to s3://bucket/prefix for
    /// `run --data s3://…`. The manifest goes last; an identical dataset is not copied again.
    Upload(upload::Args),
    /// One query executed once on one engine: its answer's rows and digest, or its error, as
    /// one JSON line (the fault trials' client). Exit 1 when the query failed.
    Once(once::Args),
    /// Internal: what `run --instructions` runs under valgrind.
    #[command(hide = true)]
    CountInstructions(count::Args),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli: Cli = match logbench_common::cli::parse_args("bench-runner") {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let outcome = match cli.command {
        Command::Run(args) => run::exec(args).await,
        Command::Load(args) => load::exec(args).await,
        Command::Overhead(args) => overhead::exec(args).await,
        Command::Compare(args) => compare::exec(args),
        Command::Gate(args) => tokio::task::block_in_place(|| gate::exec(args)),
        Command::Calibrate(args) => calibrate::exec(args),
        Command::Report(args) => report::exec(args),
        Command::Check(args) => check::exec(args),
        Command::Cluster(cmd) => cluster::exec(cmd).await,
        Command::Upload(args) => upload::exec(args).await,
        Command::Once(args) => once::exec(args).await,
        Command::CountInstructions(args) => count::exec(args).await,
    };
    // 0: done; 1: a query failed, answers differ or a regression; 2: bad input.
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(Usage(e)) => {
            eprintln!("bench-runner: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
