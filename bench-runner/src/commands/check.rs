//! `bench-runner check RESULT.json [--engines a,b]`: whether a result file is clean (what CI
//! and the reference-run script ask before they trust a run).

use std::path::PathBuf;

use bench_runner::results::RunResult;

use super::Outcome;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The result file.
    result: PathBuf,
    /// The engines the run must hold, in order (comma-separated); default: any.
    #[arg(long, value_delimiter = ',')]
    engines: Vec<String>,
}

pub fn exec(args: Args) -> Outcome {
    let run = RunResult::read(&args.result)?;
    let problems = run.problems(&args.engines);
    if !problems.is_empty() {
        eprintln!("check: {}: {}", args.result.display(), problems.join("; "));
        return Ok(false);
    }
    let names: Vec<&str> = run.engines.iter().map(|e| e.engine.name.as_str()).collect();
    println!(
        "check: {}: {} queries ok on {}, no answer differs",
        args.result.display(),
        run.engines.first().map_or(0, |e| e.queries.len()),
        names.join(" and ")
    );
    Ok(true)
}
