//! `bench-runner`: measure SQL workloads on DataFusion and record versioned results.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use bench_runner::cluster::local::{self, ClusterSpec, ClusterState};
use bench_runner::engine::ballista::BallistaEngine;
use bench_runner::engine::datafusion::DataFusionEngine;
use bench_runner::engine::{ClusterInfo, Engine, parse_settings};
use bench_runner::environment::Environment;
use bench_runner::progress::Progress;
use bench_runner::results::{self, Arguments, EngineRun, RunResult, SCHEMA_VERSION, Status};
use bench_runner::runner::{RunOptions, measure_all};
use bench_runner::store::DataLocation;
use bench_runner::{dataset, workload};
use clap::{Parser, Subcommand, ValueEnum};

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
    Run(RunArgs),
    /// Measure the harness's own overhead against a bare DataFusion (or Ballista) program,
    /// side by side.
    Overhead(OverheadArgs),
    /// Compare two result files query by query: ratio of medians with a bootstrap confidence
    /// interval, a verdict corrected for testing many queries, answer and plan changes.
    /// Exit 0: nothing regressed; 1: a regression or an answer difference; 2: bad input.
    Compare(CompareArgs),
    /// What CI runs: BASE (a git revision, default the previous commit) and NEW (this build)
    /// measured interleaved on one machine, then compared. Exit 1 on a regression.
    Gate(GateArgs),
    /// The gate's false-alarm rate and minimum detectable effect, from A/A gate runs.
    Calibrate(CalibrateArgs),
    /// Render result files as report.md, report.html (self-contained) and charts/*.svg;
    /// given several, compare them (the first is the baseline) and chart the scaling.
    Report(ReportArgs),
    /// Start, inspect and stop a local Ballista cluster (separate processes on 127.0.0.1).
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// Copy a dataset directory (verified against its manifest) to s3://bucket/prefix for
    /// `run --data s3://…`. The manifest goes last; an identical dataset is not copied again.
    Upload(UploadArgs),
}

#[derive(Debug, clap::Args)]
struct UploadArgs {
    /// Dataset directory written by data-gen.
    #[arg(long)]
    data: PathBuf,
    /// Destination prefix, s3://bucket/prefix (S3 or an S3-compatible store; endpoint and
    /// credentials from AWS_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION,
    /// AWS_ALLOW_HTTP).
    #[arg(long, value_parser = parse_s3)]
    to: url::Url,
}

fn parse_s3(s: &str) -> Result<url::Url, String> {
    match DataLocation::parse(s)? {
        DataLocation::S3(url) => Ok(url),
        DataLocation::Dir(_) => Err(format!("{s}: not an s3://bucket/prefix URL")),
    }
}

async fn upload(args: UploadArgs) -> Result<(), Usage> {
    let started = std::time::Instant::now();
    let done = dataset::upload(&args.data, &args.to)
        .await
        .map_err(|e| Usage(e.into()))?;
    if done.files == 0 {
        println!(
            "upload: {} already holds this dataset (same manifest): nothing copied",
            args.to
        );
    } else {
        println!(
            "upload: {} files, {} bytes to {} in {:.1} s{}",
            done.files,
            done.bytes,
            args.to,
            started.elapsed().as_secs_f64(),
            if done.removed.is_empty() {
                String::new()
            } else {
                format!("; removed stale {}", done.removed.join(", "))
            }
        );
    }
    Ok(())
}

/// How a comparison decides (shared by compare, gate and calibrate).
#[derive(Debug, clap::Args)]
struct JudgeArgs {
    /// Relative change treated as noise: "slower" needs the whole interval above 1 + this
    /// (7.5 %: the smallest with no false alarm in the A/A calibration, see the README).
    #[arg(long, default_value_t = 0.075)]
    noise: f64,
    /// Family-wide confidence.
    #[arg(long, default_value_t = 0.95)]
    confidence: f64,
    #[arg(long, default_value_t = 10_000)]
    resamples: usize,
    /// holm or bh (Benjamini-Hochberg).
    #[arg(long, default_value = "holm", value_parser = ["holm", "bh"])]
    correction: String,
}

impl JudgeArgs {
    fn options(&self) -> Result<bench_runner::compare::Options, Usage> {
        use bench_runner::compare::{Correction, Options};
        if !(self.noise >= 0.0 && self.noise < 1.0) {
            return Err(Usage(anyhow::anyhow!(
                "--noise {} is not in [0, 1)",
                self.noise
            )));
        }
        if !(self.confidence > 0.5 && self.confidence < 1.0) {
            return Err(Usage(anyhow::anyhow!(
                "--confidence {} is not in (0.5, 1)",
                self.confidence
            )));
        }
        Ok(Options {
            noise: self.noise,
            confidence: self.confidence,
            resamples: self.resamples.max(100),
            correction: if self.correction == "bh" {
                Correction::BenjaminiHochberg
            } else {
                Correction::Holm
            },
            ..Options::default()
        })
    }
}

/// Where a comparison's tables go besides the terminal.
#[derive(Debug, clap::Args)]
struct ReportFiles {
    /// Also write the table as GitHub-flavoured Markdown.
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// Also write the comparison as JSON (machine-readable summary).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Also write Bencher Metric Format JSON.
    #[arg(long, value_name = "FILE")]
    bmf: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct CompareArgs {
    /// The baseline result file.
    base: PathBuf,
    /// The result file to judge.
    new: PathBuf,
    #[command(flatten)]
    judge: JudgeArgs,
    #[command(flatten)]
    files: ReportFiles,
}

fn write_file(path: &std::path::Path, text: &str) -> Result<(), Usage> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Usage(anyhow::anyhow!("creating {}: {e}", dir.display())))?;
    }
    data_gen::manifest::write_atomically(path, text.as_bytes())
        .map_err(|e| Usage(anyhow::anyhow!("writing {}: {e}", path.display())))
}

fn pretty(v: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(v).expect("serialises") + "\n"
}

fn write_comparison(
    c: &bench_runner::compare::Comparison,
    files: &ReportFiles,
) -> Result<(), Usage> {
    if let Some(p) = &files.markdown {
        write_file(p, &c.to_markdown())?;
    }
    if let Some(p) = &files.json {
        write_file(p, &pretty(c))?;
    }
    if let Some(p) = &files.bmf {
        write_file(p, &pretty(&c.to_bmf()))?;
    }
    Ok(())
}

fn compare(args: CompareArgs) -> Result<bool, Usage> {
    let opts = args.judge.options()?;
    let read = |p: &PathBuf, which: &str| {
        RunResult::read(p).map_err(|e| Usage(anyhow::anyhow!("{which}: {e}")))
    };
    let (base, new) = (read(&args.base, "BASE")?, read(&args.new, "NEW")?);
    let c = bench_runner::compare::compare(&base, &new, &opts).map_err(|e| Usage(e.into()))?;
    print!("{}", c.to_terminal());
    write_comparison(&c, &args.files)?;
    Ok(!c.failed())
}

#[derive(Debug, clap::Args)]
struct GateArgs {
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
    /// Directory of *.sql files.
    #[arg(long, default_value = "queries")]
    queries: PathBuf,
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
    /// Time budget for measuring: no round starts that would end past it (at least 2 run).
    #[arg(long, default_value_t = 10.0)]
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

fn gate(args: GateArgs) -> Result<bool, Usage> {
    use bench_runner::gate;
    let usage = |e: bench_runner::Error| Usage(e.into());
    let opts = args.judge.options()?;
    let started = std::time::Instant::now();
    let mut log = |m: &str| eprintln!("gate: {m}");
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("results/ci/gate-{}", compact(&now()))));
    std::fs::create_dir_all(&out)
        .map_err(|e| Usage(anyhow::anyhow!("creating {}: {e}", out.display())))?;
    let this = std::env::current_exe()
        .context("locating this binary")
        .map_err(Usage)?;
    let new_bin = args.new_bin.clone().unwrap_or_else(|| this.clone());
    if !new_bin.is_file() {
        return Err(Usage(anyhow::anyhow!(
            "NEW binary {} not found",
            new_bin.display()
        )));
    }
    // Building BASE replaces the binary cargo leaves in the target directory: NEW runs from a
    // copy, removed at the end.
    let mut new_copy = None;
    let base_bin = match &args.base_bin {
        Some(b) if b.is_file() => b.clone(),
        Some(b) => {
            return Err(Usage(anyhow::anyhow!(
                "BASE binary {} not found",
                b.display()
            )));
        }
        None => {
            let repo = gate::toplevel().map_err(usage)?;
            let commit = gate::resolve(&repo, &args.base).map_err(usage)?;
            let target = match args
                .target_dir
                .clone()
                .or_else(|| gate::target_dir_of(&this))
            {
                Some(t) => t,
                None => {
                    return Err(Usage(anyhow::anyhow!(
                        "{} is not in a cargo target directory's release/ folder: pass --target-dir",
                        this.display()
                    )));
                }
            };
            let cache = target.join("logbench-gate");
            // This build, kept under its commit when the checkout is clean and it is the one
            // running, so the next commit's gate finds its BASE built.
            if args.new_bin.is_none()
                && let Some(head) = gate::clean_head(&repo)
            {
                gate::remember(&this, &head, &cache, 3).map_err(usage)?;
            }
            let copy = out.join("new-bench-runner");
            gate::copy_executable(&new_bin, &copy).map_err(usage)?;
            new_copy = Some(copy);
            log(&format!("BASE is {} = {commit}", args.base));
            gate::build_revision(&repo, &commit, &target, &cache, &mut log).map_err(usage)?
        }
    };
    let data = args
        .data
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("data/gate-{}", args.rows)));
    if args.data.is_none() {
        gate::ensure_dataset(&data, args.rows, args.files, &mut log).map_err(usage)?;
    }
    let queries = workload::select(
        workload::load_dir(&args.queries).map_err(usage)?,
        &args.query,
    )
    .map_err(usage)?;
    let plan = gate::Plan {
        data,
        queries_dir: args.queries.clone(),
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
    let measuring = std::time::Instant::now();
    let measured = gate::measure(&plan, &base, &new, &mut log);
    let measure_s = measuring.elapsed().as_secs_f64();
    if let Some(c) = &new_copy {
        let _ = std::fs::remove_file(c);
    }
    let m = measured.map_err(usage)?;
    let write = |name: &str, r: &RunResult| {
        r.write(&out.join(name))
            .map_err(|e| Usage(anyhow::anyhow!("{e}")))
    };
    write("base.json", &m.base)?;
    write("new.json", &m.new)?;
    let c = bench_runner::compare::compare(&m.base, &m.new, &opts).map_err(usage)?;
    let md = out.join("comparison.md");
    write_comparison(
        &c,
        &ReportFiles {
            markdown: Some(md.clone()),
            json: Some(out.join("comparison.json")),
            bmf: None,
        },
    )?;
    print!("{}", c.to_terminal());
    println!();
    print!("{}", c.to_markdown());
    log(&format!(
        "{} rounds measured in {measure_s:.0} s, {:.0} s in all; {} (table: {})",
        m.rounds,
        started.elapsed().as_secs_f64(),
        if c.failed() { "FAILED" } else { "passed" },
        md.display()
    ));
    Ok(!c.failed())
}

#[derive(Debug, clap::Args)]
struct ReportArgs {
    /// Result files (default: the newest under results/, outside results/ci/).
    files: Vec<PathBuf>,
    /// Output directory: report.md, report.html, charts/.
    #[arg(long, default_value = "results/report")]
    out: PathBuf,
    #[command(flatten)]
    judge: JudgeArgs,
}

/// The newest result file under `dir` (by modification time), skipping the gate's files.
fn newest_result(dir: &std::path::Path) -> Option<PathBuf> {
    let mut best: Option<(std::time::SystemTime, PathBuf)> = None;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).ok()?.flatten() {
            let p = e.path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n != "ci" && n != "report") {
                    stack.push(p);
                }
            } else if p.extension().is_some_and(|x| x == "json")
                && let Ok(m) = e.metadata().and_then(|m| m.modified())
                && best.as_ref().is_none_or(|(t, _)| m > *t)
                && RunResult::read(&p).is_ok()
            {
                best = Some((m, p));
            }
        }
    }
    best.map(|(_, p)| p)
}

fn report(args: ReportArgs) -> Result<(), Usage> {
    use bench_runner::report;
    let opts = args.judge.options()?;
    let files = if args.files.is_empty() {
        vec![
            newest_result(std::path::Path::new("results")).ok_or_else(|| {
                Usage(anyhow::anyhow!(
                    "no result file under results/: run `bench-runner run` first, or name files"
                ))
            })?,
        ]
    } else {
        args.files.clone()
    };
    let stem = |p: &PathBuf| {
        p.file_stem()
            .map_or("run".into(), |s| s.to_string_lossy().into_owned())
    };
    let mut inputs: Vec<report::Input> = Vec::new();
    for f in &files {
        let run = RunResult::read(f).map_err(|e| Usage(e.into()))?;
        run.validate()
            .map_err(|e| Usage(anyhow::anyhow!("{}: {e}", f.display())))?;
        let mut label = stem(f);
        if files.iter().filter(|g| stem(g) == label).count() > 1 {
            let parent = f
                .parent()
                .and_then(|p| p.file_name())
                .map_or(String::new(), |p| p.to_string_lossy().into_owned());
            label = format!("{parent}/{label}");
        }
        inputs.push(report::Input { label, run });
    }
    let r = report::build(&inputs, &opts).map_err(|e| Usage(e.into()))?;
    r.write(&args.out).map_err(|e| Usage(e.into()))?;
    println!(
        "report: {} and {} ({} charts in {})",
        args.out.join("report.md").display(),
        args.out.join("report.html").display(),
        r.charts.len(),
        args.out.join("charts").display()
    );
    Ok(())
}

#[derive(Debug, clap::Args)]
struct CalibrateArgs {
    /// Gate output directories of A/A runs (each with base.json and new.json).
    #[arg(required = true)]
    runs: Vec<PathBuf>,
    /// Share of runs in which a slowdown must be flagged to count as detected.
    #[arg(long, default_value_t = 0.9)]
    detect: f64,
    #[command(flatten)]
    judge: JudgeArgs,
    /// Also write the tables as Markdown.
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// Also write the calibration as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

fn calibrate(args: CalibrateArgs) -> Result<(), Usage> {
    let opts = args.judge.options()?;
    if !(args.detect > 0.0 && args.detect <= 1.0) {
        return Err(Usage(anyhow::anyhow!(
            "--detect {} is not in (0, 1]",
            args.detect
        )));
    }
    // From each gate directory's per-round files where it has them (so the rounds are
    // there whatever version merged them), else its merged files.
    let pairs = args
        .runs
        .iter()
        .map(|d| {
            if d.join("rounds").is_dir() {
                return bench_runner::gate::merge_dir(d)
                    .map_err(|e| Usage(anyhow::anyhow!("{}: {e}", d.display())));
            }
            let read =
                |f: &str| RunResult::read(&d.join(f)).map_err(|e| Usage(anyhow::anyhow!("{e}")));
            Ok((read("base.json")?, read("new.json")?))
        })
        .collect::<Result<Vec<_>, Usage>>()?;
    let c = bench_runner::calibrate::calibrate(&pairs, &opts, args.detect)
        .map_err(|e| Usage(e.into()))?;
    let md = c.to_markdown();
    print!("{md}");
    if let Some(p) = &args.markdown {
        write_file(p, &md)?;
    }
    if let Some(p) = &args.json {
        write_file(p, &pretty(&c))?;
    }
    Ok(())
}

#[derive(Debug, Subcommand)]
enum ClusterCommand {
    /// Start a scheduler and N executors, wait until all are registered, print the address.
    Up(ClusterUpArgs),
    /// Show the executors, whether they run, and their last heartbeat.
    Status {
        #[command(flatten)]
        dir: StateDir,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Stop every process of the cluster by PID and remove its work directories.
    Down {
        #[command(flatten)]
        dir: StateDir,
    },
    /// Start an executor again (same id, ports and work directory) and wait until it is registered.
    RestartExecutor {
        /// Executor id, as `cluster status` shows it (executor-1, executor-2, ...).
        id: String,
        #[command(flatten)]
        dir: StateDir,
    },
}

#[derive(Debug, clap::Args)]
struct StateDir {
    /// Where the cluster's state file, logs and work directories live.
    #[arg(long = "state-dir", default_value = ".bench/cluster")]
    path: PathBuf,
}

#[derive(Debug, clap::Args)]
struct ClusterUpArgs {
    #[arg(long, default_value_t = 2)]
    executors: usize,
    #[command(flatten)]
    shape: ClusterShape,
    #[command(flatten)]
    dir: StateDir,
}

/// Which Ballista cluster a run uses.
#[derive(Debug, Clone, clap::Args)]
struct ClusterArgs {
    /// Ballista scheduler host:port. Default: the cluster `bench-runner cluster up` left
    /// running, or else a cluster started for this run and stopped after it.
    #[arg(long, value_name = "HOST:PORT")]
    scheduler: Option<String>,
    /// The scheduler's event-log directory, where this machine can read it (shows which
    /// executor ran each task); found automatically for local clusters.
    #[arg(long)]
    event_log_dir: Option<PathBuf>,
    /// Executors of a cluster started for this run.
    #[arg(long, default_value_t = 2)]
    executors: usize,
    #[command(flatten)]
    shape: ClusterShape,
    /// Where `bench-runner cluster up` keeps its state.
    #[arg(long, default_value = ".bench/cluster")]
    cluster_state_dir: PathBuf,
}

/// How a local cluster is built (shared by `cluster up` and the embedded cluster of `run`).
#[derive(Debug, Clone, clap::Args)]
struct ClusterShape {
    /// Task slots per executor (default: the machine's CPUs).
    #[arg(long)]
    vcores: Option<usize>,
    /// Memory pool per executor in bytes (512M, 4G).
    #[arg(long, value_parser = bench_runner::memory::parse_bytes)]
    executor_memory: Option<u64>,
    /// Executors' heartbeat interval.
    #[arg(long, default_value_t = 5)]
    heartbeat_interval_seconds: u64,
    /// The scheduler declares an executor dead after this long without a heartbeat.
    #[arg(long, default_value_t = 30)]
    executor_timeout_seconds: u64,
    /// How often the scheduler looks for dead executors.
    #[arg(long, default_value_t = 5)]
    expire_dead_executor_interval_seconds: u64,
    /// bias (fill one executor's slots first, Ballista's default) or round-robin.
    #[arg(long, default_value = "bias", value_parser = ["bias", "round-robin"])]
    task_distribution: String,
    /// Give up if the cluster is not ready after this many seconds.
    #[arg(long, default_value_t = 60)]
    ready_timeout: u64,
}

impl ClusterShape {
    fn spec(&self, executors: usize, state_dir: PathBuf) -> ClusterSpec {
        let mut spec = ClusterSpec::new(executors, state_dir);
        spec.vcores = self.vcores;
        spec.memory_pool = self.executor_memory;
        spec.heartbeat_interval_seconds = self.heartbeat_interval_seconds;
        spec.executor_timeout_seconds = self.executor_timeout_seconds;
        spec.expire_dead_executor_interval_seconds = self.expire_dead_executor_interval_seconds;
        spec.task_distribution = self.task_distribution.clone();
        spec
    }
}

async fn cluster(cmd: ClusterCommand) -> Result<(), Usage> {
    let usage = |e: bench_runner::Error| Usage(e.into());
    match cmd {
        ClusterCommand::Up(args) => {
            let spec = args.shape.spec(args.executors, args.dir.path.clone());
            let state = local::up(spec, false, Duration::from_secs(args.shape.ready_timeout))
                .await
                .map_err(usage)?;
            eprintln!(
                "cluster: scheduler pid {} and {} executors ready; state in {}",
                state.scheduler.pid,
                state.executors.len(),
                args.dir.path.join(local::STATE_FILE).display()
            );
            println!("{}", state.url());
        }
        ClusterCommand::Status { dir, json } => {
            let state = require_state(&dir.path)?;
            let status = local::status(&state).await.map_err(usage)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&status).expect("status serialises")
                );
            } else {
                println!(
                    "scheduler {} pid {} ({}); {} of {} executors registered",
                    status.url,
                    status.scheduler_pid,
                    if status.scheduler_alive {
                        "running"
                    } else {
                        "not running"
                    },
                    status.registered(),
                    status.executors.len()
                );
                println!(
                    "{:<14} {:>8} {:>8} {:>11} {:>16}",
                    "executor", "pid", "process", "registered", "last heartbeat"
                );
                for e in &status.executors {
                    println!(
                        "{:<14} {:>8} {:>8} {:>11} {:>16}",
                        e.id,
                        e.pid.map_or("-".into(), |p| p.to_string()),
                        if e.process_alive { "running" } else { "gone" },
                        if e.registered { "yes" } else { "LOST" },
                        e.last_heartbeat_age_s
                            .map_or("-".into(), |a| format!("{a:.1} s ago"))
                    );
                }
            }
        }
        ClusterCommand::Down { dir } => {
            let state = require_state(&dir.path)?;
            local::down(&state);
            eprintln!(
                "cluster: stopped scheduler pid {} and {} executors",
                state.scheduler.pid,
                state.executors.len()
            );
        }
        ClusterCommand::RestartExecutor { id, dir } => {
            let mut state = require_state(&dir.path)?;
            local::restart_executor(&mut state, &id, Duration::from_secs(60))
                .await
                .map_err(usage)?;
            let e = state
                .executors
                .iter()
                .find(|e| e.id == id)
                .expect("restarted");
            eprintln!(
                "cluster: executor {id} running as pid {} and registered",
                e.pid
            );
        }
    }
    Ok(())
}

fn require_state(dir: &std::path::Path) -> Result<ClusterState, Usage> {
    match ClusterState::load(dir) {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(Usage(anyhow::anyhow!(
            "no cluster state in {} (start one with `bench-runner cluster up`)",
            dir.display()
        ))),
        Err(e) => Err(Usage(e.into())),
    }
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
    /// The engine whose harness overhead to measure.
    #[arg(long, value_enum, default_value_t = EngineKind::Datafusion)]
    engine: EngineKind,
    #[command(flatten)]
    cluster: ClusterArgs,
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
    let (engine, scheduler, _embedded): (Box<dyn Engine>, Option<String>, Option<local::Embedded>) =
        match args.engine {
            EngineKind::Datafusion => (
                Box::new(DataFusionEngine::new(&[], None).map_err(|e| Usage(e.into()))?),
                None,
                None,
            ),
            EngineKind::Ballista => {
                let (e, info, embedded) =
                    ballista_engine(&args.cluster, &[]).await.map_err(Usage)?;
                (Box::new(e), Some(info.scheduler), embedded)
            }
        };
    engine
        .register("logs", &DataLocation::Dir(args.data.clone()))
        .await
        .map_err(|e| Usage(e.into()))?;
    let bare = bench_runner::overhead::bare_context(&args.data, scheduler.as_deref())
        .await
        .map_err(|e| Usage(e.into()))?;
    let mut all = Vec::new();
    for q in &queries {
        let o =
            bench_runner::overhead::measure(&bare, engine.as_ref(), q, args.rounds, args.per_round)
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
    Ballista,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Dataset written by data-gen (with manifest.json): a directory, or s3://bucket/prefix
    /// after `bench-runner upload` (S3 settings from AWS_* environment variables).
    #[arg(long, value_parser = DataLocation::parse)]
    data: DataLocation,
    /// Engines to run, in order (datafusion, ballista, or both: datafusion,ballista).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "datafusion")]
    engine: Vec<EngineKind>,
    #[command(flatten)]
    cluster: ClusterArgs,
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
    bench_runner::memory::parse_bytes(s).map(|b| b as usize)
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

/// A Ballista session on the cluster the arguments name (or imply), and the cluster started
/// for this run, if one was: it is stopped when the guard drops.
async fn ballista_engine(
    args: &ClusterArgs,
    settings: &[(String, String)],
) -> anyhow::Result<(BallistaEngine, ClusterInfo, Option<local::Embedded>)> {
    let saved = ClusterState::load(&args.cluster_state_dir)?.filter(|s| s.scheduler_alive());
    let (address, events, kind, vcores, embedded) = match (&args.scheduler, saved) {
        (Some(addr), saved) => {
            let (host, port) = bench_runner::cluster::split_host_port("--scheduler", addr)
                .map_err(|e| anyhow::anyhow!(e))?;
            let address = format!("{host}:{port}");
            // The local cluster's event log, if --scheduler names that cluster.
            let local = saved.filter(|s| {
                s.scheduler.port == port && ["127.0.0.1", "localhost"].contains(&host.as_str())
            });
            let events = args
                .event_log_dir
                .clone()
                .or_else(|| local.as_ref().map(|s| s.event_log_dir.clone()));
            let kind = if local.is_some() { "local" } else { "remote" };
            (
                address,
                events,
                kind,
                local.and_then(|s| s.spec.vcores),
                None,
            )
        }
        (None, Some(state)) => (
            state.scheduler_address(),
            Some(state.event_log_dir.clone()),
            "local",
            state.spec.vcores,
            None,
        ),
        (None, None) => {
            let dir = std::env::temp_dir().join(format!("logbench-cluster-{}", std::process::id()));
            let spec = args.shape.spec(args.executors, dir);
            let vcores = spec.vcores;
            let cluster =
                local::embedded(spec, Duration::from_secs(args.shape.ready_timeout)).await?;
            (
                cluster.state.scheduler_address(),
                Some(cluster.state.event_log_dir.clone()),
                "embedded",
                vcores,
                Some(cluster),
            )
        }
    };
    let engine = BallistaEngine::connect(&address, settings, events).await?;
    let executors = bench_runner::cluster::rest::executors(&address, Duration::from_secs(5))
        .await?
        .into_iter()
        .map(|e| e.id)
        .collect();
    let info = ClusterInfo {
        scheduler: address,
        executors,
        vcores,
        kind: kind.into(),
    };
    Ok((engine, info, embedded))
}

async fn run(args: RunArgs) -> Result<bool, Usage> {
    let usage = |e: anyhow::Error| Usage(e);
    let started_at = now();
    let mut kinds = args.engine.clone();
    kinds.dedup();
    // Cheap checks first: settings (the engine refuses unknown keys), then data and workload.
    let settings = parse_settings(&args.set).map_err(|e| usage(e.into()))?;
    if kinds.contains(&EngineKind::Datafusion) {
        DataFusionEngine::new(&settings, args.memory_limit).map_err(|e| usage(e.into()))?;
    }
    let (_, dataset) = dataset::verify_location(&args.data, args.verify_digests)
        .await
        .map_err(|e| usage(e.into()))?;
    let queries = workload::load_dir(&args.queries)
        .and_then(|q| workload::select(q, &args.query))
        .map_err(|e| usage(e.into()))?;
    let opts = RunOptions {
        iterations: args.iterations,
        warmup: args.warmup,
        timeout: args.timeout.map(Duration::from_secs_f64),
        save_answers: args.save_answers.clone(),
    };

    let mut progress = Progress::new(args.quiet);
    let mut engines = Vec::new();
    let mut names = Vec::new();
    for kind in &kinds {
        let (engine, cluster, _embedded): (
            Box<dyn Engine>,
            Option<ClusterInfo>,
            Option<local::Embedded>,
        ) = match kind {
            EngineKind::Datafusion => (
                Box::new(
                    DataFusionEngine::new(&settings, args.memory_limit)
                        .map_err(|e| usage(e.into()))?,
                ),
                None,
                None,
            ),
            EngineKind::Ballista => {
                let (e, info, embedded) = ballista_engine(&args.cluster, &settings)
                    .await
                    .map_err(usage)?;
                (Box::new(e), Some(info), embedded)
            }
        };
        engine
            .register("logs", &args.data)
            .await
            .map_err(|e| usage(e.into()))?;
        let table_rows = dataset::check_rows(engine.as_ref(), "logs", &dataset)
            .await
            .map_err(|e| usage(e.into()))?;
        progress.note(&format!(
            "bench-runner: {} queries on {}{} ({} rows), {} warm-up + {} measured runs each",
            queries.len(),
            engine.name(),
            cluster.as_ref().map_or(String::new(), |c| format!(
                " ({} cluster, {} executors at {})",
                c.kind,
                c.executors.len(),
                c.scheduler
            )),
            dataset.rows,
            args.warmup,
            args.iterations
        ));
        let measured = measure_all(engine.as_ref(), &queries, &opts, &mut progress).await;
        let mut config = engine.config();
        config.cluster = cluster;
        names.push(engine.name().to_string());
        engines.push(EngineRun {
            engine: config,
            table_rows,
            queries: measured,
        });
        // An embedded cluster stops here, before the next engine runs.
    }
    let run_id = format!("{}-{}", names.join("+"), compact(&started_at));
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
        answer_mismatches: RunResult::cross_check(&engines),
        engines,
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
            if let Some(details) = q.distributed.as_ref().and_then(|d| d.details.as_ref()) {
                println!(
                    "{:<24} {} stages, shuffle partitions {} remote / {} local ({:.1} MiB fetched), tasks per executor: {}",
                    "",
                    details.stage_count,
                    details.shuffle_remote_partitions,
                    details.shuffle_local_partitions,
                    details.shuffle_fetched_bytes as f64 / (1 << 20) as f64,
                    details
                        .tasks_per_executor
                        .as_ref()
                        .map_or("unknown".to_string(), |m| m
                            .iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join(" "))
                );
            }
        }
    }
    for m in &r.answer_mismatches {
        println!(
            "ANSWERS DIFFER for {}: {}",
            m.query,
            m.answers
                .iter()
                .map(|(e, a)| format!("{e} {} rows {}", a.rows, a.digest))
                .collect::<Vec<_>>()
                .join(" vs ")
        );
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli: Cli = match data_gen::cli::parse_args("bench-runner") {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let outcome = match cli.command {
        Command::Overhead(args) => overhead(args).await.map(|()| true),
        Command::Run(args) => run(args).await,
        Command::Compare(args) => compare(args),
        Command::Gate(args) => tokio::task::block_in_place(|| gate(args)),
        Command::Calibrate(args) => calibrate(args).map(|()| true),
        Command::Report(args) => report(args).map(|()| true),
        Command::Cluster(cmd) => cluster(cmd).await.map(|()| true),
        Command::Upload(args) => upload(args).await.map(|()| true),
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
