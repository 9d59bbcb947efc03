//! `bench-runner gate`: BASE (a git revision) and NEW (this build) measured interleaved, then
//! compared; exit 1 on a regression ([`bench_runner::gate`]).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use bench_runner::results::RunResult;
use bench_runner::{compare, gate, workload};
use logbench_common::time::{compact, now_rfc3339};

use super::compare::{JudgeArgs, ReportFiles};
use super::{Outcome, Usage, usage};

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
    #[arg(long, default_value_t = 2_000_000)]
    rows: u64,
    /// Files of the generated dataset.
    #[arg(long, default_value_t = 4)]
    files: u64,
    /// Dataset instructions are counted on (default: --data when given, else
    /// data/gate-<instr-rows>, generated when missing or different).
    #[arg(long, value_name = "DIR")]
    instr_data: Option<PathBuf>,
    /// Rows of the generated instruction dataset (in 2 files): callgrind runs a query about 50
    /// times slower than natively, so it is smaller than the wall-time one.
    #[arg(long, default_value_t = 200_000)]
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
    /// Output directory (default results/ci/gate-<time>): base.json, new.json,
    /// comparison.md, comparison.json and the rounds' files.
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    judge: JudgeArgs,
}

pub fn exec(args: Args) -> Outcome {
    let opts = args.judge.options()?;
    let started = Instant::now();
    let mut log = |m: &str| eprintln!("gate: {m}");
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("results/ci/gate-{}", compact(&now_rfc3339()))));
    std::fs::create_dir_all(&out).map_err(|e| usage(format!("creating {}: {e}", out.display())))?;
    let this = std::env::current_exe().context("locating this binary")?;
    let new_bin = args.new_bin.clone().unwrap_or_else(|| this.clone());
    if !new_bin.is_file() {
        return Err(usage(format!("NEW binary {} not found", new_bin.display())));
    }
    // Building BASE replaces the binary cargo leaves in the target directory: NEW then runs
    // from a copy, removed at the end.
    let (base_bin, new_copy) = match &args.base_bin {
        Some(b) if b.is_file() => (b.clone(), None),
        Some(b) => return Err(usage(format!("BASE binary {} not found", b.display()))),
        None => {
            let copy = out.join("new-bench-runner");
            let base = gate::prepare_base(
                &args.base,
                &this,
                &new_bin,
                args.target_dir.clone(),
                &copy,
                &mut log,
            )?;
            (base, Some(copy))
        }
    };
    let data = args
        .data
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("data/gate-{}", args.rows)));
    if args.data.is_none() {
        gate::ensure_dataset(&data, args.rows, args.files, &mut log)?;
    }
    let instr_data = match (&args.instr_data, &args.data) {
        (Some(d), _) => d.clone(),
        (None, Some(d)) => d.clone(),
        (None, None) => PathBuf::from(format!("data/gate-{}", args.instr_rows)),
    };
    if args.instr_runs > 0 && args.instr_data.is_none() && args.data.is_none() {
        gate::ensure_dataset(&instr_data, args.instr_rows, 2, &mut log)?;
    }
    let queries_dir = match &args.queries {
        Some(d) => d.clone(),
        None => {
            let d = out.join("workload");
            workload::write_builtin(&d)?;
            d
        }
    };
    let queries = workload::select(workload::load_dir(&queries_dir)?, &args.query)?;
    let plan = gate::Plan {
        data,
        instr_data,
        queries_dir,
        queries: queries.iter().map(|q| q.name.clone()).collect(),
        rounds: args.rounds.max(1),
        min_rounds: 2,
        iterations: args.iterations.max(1),
        warmup: args.warmup,
        budget: Duration::from_secs_f64(args.max_minutes.max(0.0) * 60.0),
        work_dir: out.join("rounds"),
    };
    let base = gate::Side {
        name: "base",
        bin: base_bin,
        settings: args.base_set.clone(),
    };
    let new = gate::Side {
        name: "new",
        bin: new_copy.clone().unwrap_or(new_bin),
        settings: args.new_set.clone(),
    };
    log(&format!(
        "measuring {} queries, up to {} rounds of {} iterations a side, interleaved",
        plan.queries.len(),
        plan.rounds,
        plan.iterations
    ));
    let counting = Instant::now();
    let counted = if args.instr_runs > 0 {
        gate::count_instructions(
            &plan,
            args.instr_runs,
            [&base, &new],
            &out.join("instructions"),
            &mut log,
        )
    } else {
        Ok([None, None])
    };
    let count_s = counting.elapsed().as_secs_f64();
    let measuring = Instant::now();
    let measured = counted.and_then(|c| Ok((c, gate::measure(&plan, &base, &new, &mut log)?)));
    let measure_s = measuring.elapsed().as_secs_f64();
    if let Some(c) = &new_copy {
        let _ = std::fs::remove_file(c);
    }
    let ([base_counted, new_counted], mut m) = measured?;
    // Instructions are judged only where both sides were counted.
    if let (Some(b), Some(n)) = (&base_counted, &new_counted) {
        gate::attach_instructions(&mut m.base, b);
        gate::attach_instructions(&mut m.new, n);
    }
    let write = |name: &str, r: &RunResult| r.write(&out.join(name)).map_err(Usage::from);
    write("base.json", &m.base)?;
    write("new.json", &m.new)?;
    let c = compare::compare(&m.base, &m.new, &opts)?;
    let md = out.join("comparison.md");
    ReportFiles {
        markdown: Some(md.clone()),
        json: Some(out.join("comparison.json")),
        bmf: None,
    }
    .write(&c)?;
    print!("{}", c.to_terminal());
    println!();
    print!("{}", c.to_markdown());
    log(&format!(
        "instructions counted in {count_s:.0} s, {} rounds measured in {measure_s:.0} s, {:.0} s in all; {} (table: {})",
        m.rounds,
        started.elapsed().as_secs_f64(),
        if c.failed() { "FAILED" } else { "passed" },
        md.display()
    ));
    Ok(!c.failed())
}
