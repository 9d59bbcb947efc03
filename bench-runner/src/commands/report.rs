//! `bench-runner report [RESULT.json]…`: Markdown, self-contained HTML and SVG charts
//! ([`bench_runner::report`]).

use std::path::{Path, PathBuf};

use bench_runner::{report, results};

use super::compare::JudgeArgs;
use super::{Outcome, usage};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Result files of `run` and of `load` (default: the newest run result under results/,
    /// outside results/ci/).
    files: Vec<PathBuf>,
    /// Output directory: report.md, report.html, charts/.
    #[arg(long, default_value = "results/report")]
    out: PathBuf,
    #[command(flatten)]
    judge: JudgeArgs,
}

pub fn exec(args: Args) -> Outcome {
    let opts = args.judge.options()?;
    let files = if args.files.is_empty() {
        vec![results::newest(Path::new("results")).ok_or_else(|| {
            usage("no result file under results/: run `bench-runner run` first, or name files")
        })?]
    } else {
        args.files.clone()
    };
    let (mut load_files, mut run_files) = (Vec::new(), Vec::new());
    for f in files {
        if report::is_load_result(&f)? {
            load_files.push(f);
        } else {
            run_files.push(f);
        }
    }
    let mut inputs = report::Input::read_all(&run_files)?;
    report::Input::link_from(&mut inputs, &run_files, &args.out)?;
    let loads = report::LoadInput::read_all(&load_files)?;
    let r = report::build(&inputs, &loads, &opts)?;
    r.write(&args.out)?;
    println!(
        "report: {} and {} ({} charts in {})",
        args.out.join("report.md").display(),
        args.out.join("report.html").display(),
        r.charts.len(),
        args.out.join("charts").display()
    );
    Ok(true)
}
