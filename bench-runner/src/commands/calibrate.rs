//! `bench-runner calibrate DIR…`: false alarms and minimum detectable effects from A/A gate
//! runs ([`bench_runner::calibrate`]).

use std::path::PathBuf;

use bench_runner::calibrate;

use super::compare::JudgeArgs;
use super::{Outcome, pretty, usage, write_file};

#[derive(Debug, clap::Args)]
pub struct Args {
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

pub fn exec(args: Args) -> Outcome {
    let opts = args.judge.options()?;
    if !(args.detect > 0.0 && args.detect <= 1.0) {
        return Err(usage(format!("--detect {} is not in (0, 1]", args.detect)));
    }
    let pairs = calibrate::load_runs(&args.runs)?;
    let c = calibrate::calibrate(&pairs, &opts, args.detect)?;
    let md = c.to_markdown();
    print!("{md}");
    if let Some(p) = &args.markdown {
        write_file(p, &md)?;
    }
    if let Some(p) = &args.json {
        write_file(p, &pretty(&c))?;
    }
    Ok(true)
}
