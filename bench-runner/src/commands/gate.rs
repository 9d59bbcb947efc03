//! `bench-runner gate`: BASE (a git revision) and NEW (this build) measured interleaved, then
//! compared; exit 1 on a regression ([`bench_runner::gate`]).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use bench_runner::gate;
use logbench_common::time::{compact, now_rfc3339};

use super::Outcome;
use super::compare::{JudgeArgs, ReportFiles};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// BASE: a git revision, built in a git worktree into the cargo target directory this
    /// binary was built in (only the project's crates compile). Binaries are kept per commit
    /// in <target>/logbench-gate/; a clean checkout's own build is kept there too.
    #[arg(long, default_value = "HEAD~1")]
    base: String,
    /// A BASE binary to use instead of building --base (the same as NEW for an A/A run).
    #[arg(long, value_name = "PATH")]
    base_bin: Option<PathBuf>,
    /// The NEW binary (default: this one).
    #[arg(long, value_name = "PATH")]
    new_bin: Option<PathBuf>,
    /// Cargo target directory to build BASE into (default: the one this binary is in).
    #[arg(long, value_name = "DIR")]
    target_dir: Option<PathBuf>,
    /// Dataset (default data/gate-<rows>, generated when missing or different).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Rows of the generated dataset.
    #[arg(long, default_value = "2000000", value_parser = logbench_common::cli::parse_count)]
    rows: u64,
    /// Files of the generated dataset.
    #[arg(long, default_value_t = 4, value_parser = logbench_common::cli::parse_count)]
    files: u64,
    /// Dataset instructions are counted on (default: --data when given, else
    /// data/gate-<instr-rows>, generated when missing or different).
    #[arg(long, value_name = "DIR")]
    instr_data: Option<PathBuf>,
    /// Rows of the generated instruction dataset (in 2 files): callgrind runs a query about 50
    /// times slower than natively, so it is smaller than the wall-time one.
    #[arg(long, default_value = "200000", value_parser = logbench_common::cli::parse_count)]
    instr_rows: u64,
    /// Directory of *.sql files (default: this build's built-in workload, written to
    /// OUT/workload/ so that both sides run the same SQL).
    #[arg(long)]
    queries: Option<PathBuf>,
    /// Gate only this query (repeatable).
    #[arg(long = "query", value_name = "NAME")]
    query: Vec<String>,
    /// Rounds: each runs every query on both sides, alternating which side goes first.
    #[arg(long, default_value_t = 8)]
    rounds: u32,
    /// Measured iterations per query per round and side.
    #[arg(long, default_value_t = 4)]
    iterations: u32,
    /// Warm-up runs per query per round and side (after the cold run).
    #[arg(long, default_value_t = 1)]
    warmup: u32,
    /// Instructions: counted runs per query and side under callgrind (median taken; 0: wall
    /// time only). Both sides count at once, before the wall-time rounds.
    #[arg(long, default_value_t = 3)]
    instr_runs: u32,
    /// Time budget for the wall-time rounds: no round starts that would end past it (at least
    /// 2 run). 9 minutes at most, so that the whole gate (BASE build about 3, instructions
    /// about 2) stays within 15.
    #[arg(long, default_value_t = 9.0)]
    max_minutes: f64,
    /// Engine setting for BASE's runs (repeatable).
    #[arg(long = "base-set", value_name = "KEY=VALUE")]
    base_set: Vec<String>,
    /// Engine setting for NEW's runs (repeatable).
    #[arg(long = "new-set", value_name = "KEY=VALUE")]
    new_set: Vec<String>,
    /// Build BASE with this engine crate from a local copy: `[patch.crates-io] CRATE = { path
    /// = PATH }` in BASE's worktree (repeatable). Recorded in the results with a hash of the
    /// copy's sources.
    #[arg(long = "base-patch", value_name = "CRATE=PATH")]
    base_patch: Vec<String>,
    /// Build NEW from HEAD with this engine crate from a local copy (repeatable): with
    /// `--base HEAD`, the two sides differ by the engine change alone. A copy that does not
    /// build, is not used, or brings a second arrow or DataFusion is refused.
    #[arg(long = "new-patch", value_name = "CRATE=PATH")]
    new_patch: Vec<String>,
    /// A query whose answer is expected to change (repeatable): shown, and not a failure.
    #[arg(long = "accept-answer-change", value_name = "QUERY")]
    accept_answer_change: Vec<String>,
    /// Output directory (default results/ci/gate-<time>): base.json, new.json,
    /// comparison.md, comparison.json and the rounds' files.
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    judge: JudgeArgs,
}

pub fn exec(args: Args) -> Outcome {
    let opts = args.judge.options()?;
    let patches = |specs: &[String], flag: &str| {
        specs
            .iter()
            .map(|s| gate::Patch::parse(s).map_err(|e| super::usage(format!("--{flag}: {e}"))))
            .collect::<Result<Vec<_>, _>>()
    };
    let base_patches = patches(&args.base_patch, "base-patch")?;
    let new_patches = patches(&args.new_patch, "new-patch")?;
    if !new_patches.is_empty() && args.new_bin.is_some() {
        return Err(super::usage(
            "--new-patch builds NEW from HEAD: it does not go with --new-bin",
        ));
    }
    if !base_patches.is_empty() && args.base_bin.is_some() {
        return Err(super::usage(
            "--base-patch builds BASE: it does not go with --base-bin",
        ));
    }
    let mut log = |m: &str| eprintln!("gate: {m}");
    let this = std::env::current_exe().context("locating this binary")?;
    let cfg = gate::Config {
        out: args.out.unwrap_or_else(|| {
            PathBuf::from(format!("results/ci/gate-{}", compact(&now_rfc3339())))
        }),
        base: args.base,
        base_bin: args.base_bin,
        new_bin: args.new_bin.unwrap_or_else(|| this.clone()),
        this,
        target_dir: args.target_dir,
        data: args.data,
        rows: args.rows,
        files: args.files,
        instr_data: args.instr_data,
        instr_rows: args.instr_rows,
        instr_runs: args.instr_runs,
        queries: args.queries,
        query: args.query,
        rounds: args.rounds,
        iterations: args.iterations,
        warmup: args.warmup,
        max_minutes: args.max_minutes,
        base_set: args.base_set,
        new_set: args.new_set,
        base_patches,
        new_patches,
        accept_answer_changes: args.accept_answer_change,
    };
    let started = Instant::now();
    let done = gate::run(&cfg, &opts, &mut log)?;
    let c = &done.comparison;
    let md = cfg.out.join("comparison.md");
    ReportFiles {
        markdown: Some(md.clone()),
        json: Some(cfg.out.join("comparison.json")),
        bmf: None,
    }
    .write(c)?;
    print!("{}", c.to_terminal());
    println!();
    print!("{}", c.to_markdown());
    for a in &done.answer_changes {
        println!();
        print!("{}", a.to_markdown());
    }
    log(&format!(
        "instructions counted in {:.0} s, {} rounds measured in {:.0} s, {:.0} s in all; {} (table: {})",
        done.count_s,
        done.rounds,
        done.measure_s,
        started.elapsed().as_secs_f64(),
        if c.failed() { "FAILED" } else { "passed" },
        md.display()
    ));
    Ok(!c.failed())
}
