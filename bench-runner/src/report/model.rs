//! What the report shows, computed from the result files: one series per engine of each run,
//! the query list, medians, geometric means, histogram points, and which answers are trusted.
//! Nothing here formats or draws.

use super::Input;
use super::charts;
use crate::error::Result;
use crate::results::{EngineRun, QueryResult, RunResult, Status};

/// Shift (ms) added to every time before the geometric mean, and taken off after, so that
/// queries of a few milliseconds do not dominate it.
pub const GEOMEAN_SHIFT_MS: f64 = 10.0;

/// One engine of one run: a column of the side-by-side table, a series of the charts.
pub(crate) struct Series<'a> {
    pub(crate) label: String,
    pub(crate) input: &'a Input,
    pub(crate) engine: &'a EngineRun,
}

/// One series per engine of each input, labelled by engine (and by file when there are
/// several inputs).
pub(crate) fn series(inputs: &[Input]) -> Vec<Series<'_>> {
    let several = inputs.len() > 1;
    inputs
        .iter()
        .flat_map(|i| {
            i.run.engines.iter().map(move |e| Series {
                label: if several {
                    format!("{} {}", i.label, e.engine.name)
                } else {
                    e.engine.name.clone()
                },
                input: i,
                engine: e,
            })
        })
        .collect()
}

/// The series over the first series' dataset: those can be compared directly.
pub(crate) fn same_data<'a>(series: &'a [Series<'a>]) -> Vec<&'a Series<'a>> {
    series
        .iter()
        .filter(|s| {
            s.input.run.dataset.manifest_sha256 == series[0].input.run.dataset.manifest_sha256
        })
        .collect()
}

pub(crate) fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

pub(crate) fn p50_ms(q: &QueryResult) -> Option<f64> {
    (q.status == Status::Ok)
        .then(|| q.latency.as_ref().map(|l| ms(l.p50)))
        .flatten()
}

/// exp(mean(ln(t + shift))) - shift over the given times (ms).
pub fn shifted_geomean(times: &[f64]) -> Option<f64> {
    if times.is_empty() {
        return None;
    }
    let s: f64 = times.iter().map(|t| (t + GEOMEAN_SHIFT_MS).ln()).sum();
    Some((s / times.len() as f64).exp() - GEOMEAN_SHIFT_MS)
}

/// Whether the query's answer is trusted: it completed, its runs agreed, and no other engine
/// of its run answered differently.
pub(crate) fn correct(run: &RunResult, q: &QueryResult) -> bool {
    q.status == Status::Ok && !run.answer_mismatches.iter().any(|m| m.query == q.name)
}

/// The queries of the first series, then any others, in order of first appearance.
pub(crate) fn query_names(series: &[Series]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for s in series {
        for q in &s.engine.queries {
            if !names.contains(&q.name) {
                names.push(q.name.clone());
            }
        }
    }
    names
}

pub(crate) fn find<'a>(s: &'a Series, name: &str) -> Option<&'a QueryResult> {
    s.engine.queries.iter().find(|q| q.name == name)
}

pub(crate) fn bar(q: &QueryResult) -> Result<Option<charts::Bar>> {
    let Some(l) = q.latency.as_ref().filter(|_| q.status == Status::Ok) else {
        return Ok(None);
    };
    let h = l.histogram()?;
    Ok(Some(charts::Bar {
        p50: ms(l.p50),
        p10: ms(h.value_at_quantile(0.1)),
        p90: ms(h.value_at_quantile(0.9)),
    }))
}

pub(crate) fn spectrum_points(q: &QueryResult) -> Result<Option<Vec<(f64, f64)>>> {
    let Some(l) = q.latency.as_ref().filter(|_| q.status == Status::Ok) else {
        return Ok(None);
    };
    let h = l.histogram()?;
    Ok(Some(
        (0..=60)
            .map(|i| {
                let x = i as f64 * 0.05;
                let quantile = 1.0 - 10f64.powf(-x);
                (x, ms(h.value_at_quantile(quantile)).max(0.001))
            })
            .collect(),
    ))
}
