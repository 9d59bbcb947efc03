//! `bench-runner calibrate DIR…`: false alarms and minimum detectable effects from A/A gate
//! runs; `calibrate --sequential FILE…`: false alarms of plain compares of sequential runs, and
//! the floor they need ([`bench_runner::calibrate`]).

use std::path::PathBuf;

use bench_runner::calibrate;

use super::compare::JudgeArgs;
use super::{Outcome, pretty, usage, write_file};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Gate output directories of A/A runs (each with base.json and new.json); with
    /// --sequential, result files of one binary run one after another.
    #[arg(required = true)]
    runs: Vec<PathBuf>,
    /// The inputs are result files of sequential `run`s of one binary: judge every earlier one
    /// against every later one as plain `compare` does, and find the floor it needs.
    #[arg(long)]
    sequential: bool,
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
    let (md, json) = if args.sequential {
        let runs = args
            .runs
            .iter()
            .map(|p| {
                bench_runner::results::RunResult::read(p)
                    .map_err(|e| usage(format!("{}: {e}", p.display())))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let c = calibrate::calibrate_sequential(&runs, &opts)?;
        (c.to_markdown(), pretty(&c))
    } else {
        let pairs = calibrate::load_runs(&args.runs)?;
        let c = calibrate::calibrate(&pairs, &opts, args.detect)?;
        (c.to_markdown(), pretty(&c))
    };
    print!("{md}");
    if let Some(p) = &args.markdown {
        write_file(p, &md)?;
    }
    if let Some(p) = &args.json {
        write_file(p, &json)?;
    }
    Ok(true)
}
