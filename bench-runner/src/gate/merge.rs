//! Each side's rounds merged into one result file: histograms added, each round's iterations
//! kept as `rounds_us`, so that `compare` resamples whole paired rounds.

use std::path::{Path, PathBuf};

use super::attach_instructions;
use crate::error::{Error, Result};
use crate::histogram::{self, LatencySummary};
use crate::results::{QueryResult, RunResult, Status};

fn read_round(path: &Path) -> Result<RunResult> {
    let r = RunResult::read(path)?;
    if r.engines.len() != 1 || r.engines[0].queries.len() != 1 {
        return Err(Error::Results(format!(
            "{}: expected one engine and one query",
            path.display()
        )));
    }
    Ok(r)
}

/// One side's rounds (`rounds[r][q]`: a file with query q of round r) as one result.
pub(super) fn merge_side(name: &str, rounds: &[Vec<PathBuf>]) -> Result<RunResult> {
    let per_round: Vec<Vec<RunResult>> = rounds
        .iter()
        .map(|r| r.iter().map(|p| read_round(p)).collect())
        .collect::<Result<_>>()?;
    let first = per_round
        .first()
        .and_then(|r| r.first())
        .ok_or_else(|| Error::Config("no rounds were measured".into()))?;
    let mut merged = first.clone();
    merged.run_id = format!("{}-{name}", first.run_id);
    merged.finished_at = per_round
        .last()
        .and_then(|r| r.last())
        .map_or(first.finished_at.clone(), |r| r.finished_at.clone());
    let queries = per_round[0].len();
    let mut results = Vec::with_capacity(queries);
    for q in 0..queries {
        let runs: Vec<&QueryResult> = per_round
            .iter()
            .map(|r| &r[q].engines[0].queries[0])
            .collect();
        results.push(merge_query(&runs)?);
    }
    merged.arguments.iterations = first
        .arguments
        .iterations
        .map(|n| n * per_round.len() as u32);
    merged.arguments.selected_queries = results.iter().map(|q| q.name.clone()).collect();
    merged.arguments.argv = vec![
        "bench-runner gate".into(),
        format!("{name}: {} rounds", per_round.len()),
    ];
    merged.engines[0].queries = results;
    merged.answer_mismatches.clear();
    merged.validate()?;
    Ok(merged)
}

/// One query's rounds as one result: histograms added, answers required to agree.
fn merge_query(runs: &[&QueryResult]) -> Result<QueryResult> {
    let mut out = runs[0].clone();
    if let Some(failed) = runs.iter().find(|r| r.status != Status::Ok) {
        out.status = failed.status;
        out.error = failed.error.clone();
        out.latency = None;
        return Ok(out);
    }
    if let Some(other) = runs
        .iter()
        .find(|r| !crate::digest::answers_agree(r.answer.as_ref(), runs[0].answer.as_ref()))
    {
        out.status = Status::Failed;
        out.latency = None;
        out.error = Some(format!(
            "answers differ between rounds: {:?} and {:?}",
            runs[0].answer, other.answer
        ));
        return Ok(out);
    }
    let hs = runs
        .iter()
        .map(|r| {
            r.latency
                .as_ref()
                .ok_or_else(|| Error::Results(format!("{}: ok without latency", r.name)))?
                .histogram()
        })
        .collect::<Result<Vec<_>>>()?;
    out.latency = Some(LatencySummary::from_histogram(&histogram::merge(&hs)?)?);
    out.rounds_us = runs
        .iter()
        .map(|r| crate::compare::samples(r.latency.as_ref().expect("checked above")))
        .collect::<Result<_>>()?;
    out.samples_us = runs.iter().flat_map(|r| r.samples_us.clone()).collect();
    if out.samples_us.len() as u64 != out.latency.as_ref().map_or(0, |l| l.count) {
        // Rounds from a build that did not record its samples.
        out.samples_us.clear();
    }
    out.sampling = crate::sampling::Outcome::new(crate::sampling::Stop::Fixed, &out.samples_us);
    Ok(out)
}

/// BASE and NEW merged again from a gate directory's `rounds/` files
/// (`<side>-rNN-<query>.json`) and its instruction counts (`instructions/<side>.json`, where
/// counted), so results of any gate can be re-analysed.
pub fn merge_dir(dir: &Path) -> Result<(RunResult, RunResult)> {
    let rounds = dir.join("rounds");
    let mut names: Vec<String> = std::fs::read_dir(&rounds)
        .map_err(|e| Error::io(format!("listing {}", rounds.display()), e))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    let mut sides = Vec::new();
    for side in ["base", "new"] {
        // rounds[r] = that round's files, queries in name order.
        let mut by_round: std::collections::BTreeMap<String, Vec<PathBuf>> = Default::default();
        for n in names.iter().filter(|n| n.starts_with(&format!("{side}-r"))) {
            let round = n[side.len() + 1..]
                .split('-')
                .next()
                .unwrap_or("")
                .to_string();
            by_round.entry(round).or_default().push(rounds.join(n));
        }
        let files: Vec<Vec<PathBuf>> = by_round.into_values().collect();
        if files.windows(2).any(|w| w[0].len() != w[1].len()) {
            return Err(Error::Results(format!(
                "{}: the {side} rounds hold different numbers of queries (an interrupted gate?)",
                rounds.display()
            )));
        }
        let mut merged = merge_side(side, &files)?;
        let counted = dir.join("instructions").join(format!("{side}.json"));
        if counted.is_file() {
            attach_instructions(&mut merged, &RunResult::read(&counted)?);
        }
        sides.push(merged);
    }
    let new = sides.pop().expect("two sides");
    let base = sides.pop().expect("two sides");
    Ok((base, new))
}
