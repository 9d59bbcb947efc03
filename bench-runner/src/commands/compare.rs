//! `bench-runner compare BASE NEW`: query-by-query verdicts ([`bench_runner::compare`]). The
//! judging flags ([`JudgeArgs`]) are shared by `gate`, `calibrate` and `report`.

use std::path::PathBuf;

use bench_runner::compare::{self, Comparison, Correction, Options};
use bench_runner::results::RunResult;

use super::{Outcome, Usage, pretty, usage, write_file};

/// How a comparison decides (shared by compare, gate, calibrate and report).
#[derive(Debug, clap::Args)]
pub struct JudgeArgs {
    /// Relative change treated as noise: "slower" needs the whole interval above 1 + this
    /// (7.5 %: the smallest with no false alarm in the A/A calibration, docs/methodology.md).
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
    /// Instructions: relative change in instructions per execution that makes a query slower
    /// (0.003 = 0.3 %; derived from the A/A spread, see docs/gate-calibration.md).
    #[arg(long, default_value_t = compare::DEFAULT_INSTR_THRESHOLD)]
    instr_threshold: f64,
    /// Plain runs (not a gate's paired rounds): an absolute floor in milliseconds added to the
    /// noise band, so that queries of a few milliseconds are not called slower by drift between
    /// two runs (measured with `calibrate --sequential`).
    #[arg(long, default_value_t = compare::DEFAULT_FLOOR_US / 1e3)]
    floor_ms: f64,
    /// Plain runs: relative drift between two runs made apart, widening the noise band to
    /// (1 + noise)(1 + drift) (measured with `calibrate --sequential`; 0 for a quiet machine).
    #[arg(long, default_value_t = compare::DEFAULT_DRIFT)]
    drift: f64,
}

impl JudgeArgs {
    pub fn options(&self) -> Result<Options, Usage> {
        if !(self.noise >= 0.0 && self.noise < 1.0) {
            return Err(usage(format!("--noise {} is not in [0, 1)", self.noise)));
        }
        if !(self.confidence > 0.5 && self.confidence < 1.0) {
            return Err(usage(format!(
                "--confidence {} is not in (0.5, 1)",
                self.confidence
            )));
        }
        if !(self.instr_threshold > 0.0 && self.instr_threshold < 1.0) {
            return Err(usage(format!(
                "--instr-threshold {} is not in (0, 1)",
                self.instr_threshold
            )));
        }
        if !(self.floor_ms >= 0.0 && self.floor_ms.is_finite()) {
            return Err(usage(format!(
                "--floor-ms {} is not a number of milliseconds >= 0",
                self.floor_ms
            )));
        }
        if !(self.drift >= 0.0 && self.drift.is_finite()) {
            return Err(usage(format!(
                "--drift {} is not a number >= 0",
                self.drift
            )));
        }
        Ok(Options {
            noise: self.noise,
            instr_threshold: self.instr_threshold,
            floor_us: self.floor_ms * 1e3,
            drift: self.drift,
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
#[derive(Debug, Default, clap::Args)]
pub struct ReportFiles {
    /// Also write the table as GitHub-flavoured Markdown.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Also write the comparison as JSON (machine-readable summary).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Also write Bencher Metric Format JSON.
    #[arg(long, value_name = "FILE")]
    pub bmf: Option<PathBuf>,
}

impl ReportFiles {
    pub fn write(&self, c: &Comparison) -> Result<(), Usage> {
        if let Some(p) = &self.markdown {
            write_file(p, &c.to_markdown())?;
        }
        if let Some(p) = &self.json {
            write_file(p, &pretty(c))?;
        }
        if let Some(p) = &self.bmf {
            write_file(p, &pretty(&c.to_bmf()))?;
        }
        Ok(())
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The baseline result file.
    base: PathBuf,
    /// The result file to judge.
    new: PathBuf,
    #[command(flatten)]
    judge: JudgeArgs,
    #[command(flatten)]
    files: ReportFiles,
}

pub fn exec(args: Args) -> Outcome {
    let opts = args.judge.options()?;
    let kind = |p: &PathBuf, which: &str| {
        bench_runner::report::is_load_result(p).map_err(|e| usage(format!("{which}: {e}")))
    };
    match (kind(&args.base, "BASE")?, kind(&args.new, "NEW")?) {
        (true, true) => return compare_loads(&args),
        (false, false) => {}
        (b, _) => {
            return Err(usage(format!(
                "BASE is a {} result and NEW a {} result: compare two of a kind",
                if b { "load" } else { "run" },
                if b { "run" } else { "load" }
            )));
        }
    }
    let read =
        |p: &PathBuf, which: &str| RunResult::read(p).map_err(|e| usage(format!("{which}: {e}")));
    let (base, new) = (read(&args.base, "BASE")?, read(&args.new, "NEW")?);
    let c = compare::compare(&base, &new, &opts)?;
    print!("{}", c.to_terminal());
    args.files.write(&c)?;
    Ok(!c.failed())
}

/// Two `bench-runner load` results: saturation and p99 at each common rate, as ratios.
fn compare_loads(args: &Args) -> Outcome {
    use bench_runner::load::{LoadComparison, LoadResult};
    if args.files.bmf.is_some() {
        return Err(usage(
            "--bmf: load results have no Bencher metrics; use --json or --markdown",
        ));
    }
    let read =
        |p: &PathBuf, which: &str| LoadResult::read(p).map_err(|e| usage(format!("{which}: {e}")));
    let c = LoadComparison::new(&read(&args.base, "BASE")?, &read(&args.new, "NEW")?);
    print!("{}", c.to_terminal());
    if let Some(p) = &args.files.markdown {
        write_file(p, &c.to_markdown())?;
    }
    if let Some(p) = &args.files.json {
        write_file(p, &pretty(&c))?;
    }
    Ok(true)
}
