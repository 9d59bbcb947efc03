//! `bench-runner calibrate`: what the gate's defaults mean on this machine, measured from A/A
//! gate runs (BASE and NEW the same binary).
//!
//! - **False alarms**: the share of A/A runs in which the gate called any query slower (it
//!   should be under 1 in 20), also for other noise thresholds.
//! - **Minimum detectable effect** per query: the smallest slowdown the gate flags in at least
//!   `detect` (90 %) of the runs. Each A/A run's bootstrap ratios are scaled by 1 + s for that
//!   query alone (a slowdown multiplies every time, so it multiplies the ratio of medians) and
//!   the whole family is corrected again, exactly as `compare` decides. The noise is the
//!   measured one; only the slowdown is hypothetical.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::compare::{Options, Pending, adjusted_p_values, pending};
use crate::error::{Error, Result};
use crate::results::RunResult;

/// Noise thresholds the false-alarm table covers.
pub const NOISE_SWEEP: [f64; 8] = [0.0, 0.01, 0.02, 0.03, 0.05, 0.075, 0.10, 0.15];

#[derive(Debug, Clone, Serialize)]
pub struct QueryCalibration {
    pub engine: String,
    pub query: String,
    pub category: String,
    /// A/A runs that called this query slower / faster at the chosen settings.
    pub slower_alarms: usize,
    pub faster_alarms: usize,
    /// Median over runs of the 95 % interval's half-width, relative (0.02 = ±2 %).
    pub median_half_width: f64,
    /// Smallest slowdown flagged in at least `detect` of the runs (0.05 = 5 %); None above 100 %.
    pub mde: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Calibration {
    pub runs: usize,
    pub noise: f64,
    pub confidence: f64,
    pub detect: f64,
    /// A/A runs in which the gate failed (any query slower).
    pub failed_runs: usize,
    /// (noise threshold, A/A runs with any query slower) for [`NOISE_SWEEP`].
    pub by_noise: Vec<(f64, usize)>,
    pub queries: Vec<QueryCalibration>,
    /// Per category: the largest MDE of its queries (None if one is undetectable).
    pub categories: BTreeMap<String, Option<f64>>,
}

fn slower_flags(p: &[Pending], o: &Options, scaled: Option<(usize, f64)>) -> Vec<(bool, bool)> {
    let alpha = 1.0 - o.confidence;
    adjusted_p_values(p, o, scaled)
        .into_iter()
        .map(|a| a.map_or((false, false), |(s, f)| (s < alpha, f < alpha)))
        .collect()
}

/// The (BASE, NEW) pair of each gate output directory: from its per-round files where it has
/// them (so the rounds are there whatever version merged them), else its merged files.
pub fn load_runs(dirs: &[std::path::PathBuf]) -> Result<Vec<(RunResult, RunResult)>> {
    dirs.iter()
        .map(|d| {
            let named = |e: Error| Error::Results(format!("{}: {e}", d.display()));
            if d.join("rounds").is_dir() {
                return crate::gate::merge_dir(d).map_err(named);
            }
            let read = |f: &str| RunResult::read(&d.join(f));
            Ok((read("base.json")?, read("new.json")?))
        })
        .collect()
}

/// Calibrates from A/A pairs (BASE, NEW) of gate runs.
pub fn calibrate(
    pairs: &[(RunResult, RunResult)],
    o: &Options,
    detect: f64,
) -> Result<Calibration> {
    if pairs.is_empty() {
        return Err(Error::Config("no A/A runs to calibrate from".into()));
    }
    let runs: Vec<Vec<Pending>> = pairs
        .iter()
        .map(|(b, n)| pending(b, n, o))
        .collect::<Result<_>>()?;
    let names: Vec<(String, String, String)> = runs[0]
        .iter()
        .map(|p| {
            (
                p.row.engine.clone(),
                p.row.query.clone(),
                p.row.category.clone(),
            )
        })
        .collect();
    if let Some(bad) = runs.iter().find(|r| {
        r.len() != names.len()
            || r.iter()
                .zip(&names)
                .any(|(p, n)| p.row.query != n.1 || p.row.engine != n.0)
    }) {
        return Err(Error::Config(format!(
            "A/A runs measured different queries ({} against {})",
            bad.len(),
            names.len()
        )));
    }
    let flags: Vec<Vec<(bool, bool)>> = runs.iter().map(|r| slower_flags(r, o, None)).collect();
    let failed_runs = flags.iter().filter(|f| f.iter().any(|x| x.0)).count();
    let by_noise = NOISE_SWEEP
        .iter()
        .map(|&t| {
            let ot = Options {
                noise: t,
                ..o.clone()
            };
            let n = runs
                .iter()
                .filter(|r| slower_flags(r, &ot, None).iter().any(|x| x.0))
                .count();
            (t, n)
        })
        .collect();
    let mut queries = Vec::new();
    for (i, (engine, query, category)) in names.into_iter().enumerate() {
        let mut widths: Vec<f64> = runs
            .iter()
            .filter_map(|r| {
                let row = &r[i].row;
                Some((row.ci_high? - row.ci_low?) / 2.0)
            })
            .collect();
        widths.sort_by(f64::total_cmp);
        let need = (detect * runs.len() as f64).ceil() as usize;
        let mde = (1..=200).map(|k| k as f64 * 0.005).find(|&s| {
            runs.iter()
                .filter(|r| slower_flags(r, o, Some((i, 1.0 + s)))[i].0)
                .count()
                >= need
        });
        queries.push(QueryCalibration {
            engine,
            query,
            category,
            slower_alarms: flags.iter().filter(|f| f[i].0).count(),
            faster_alarms: flags.iter().filter(|f| f[i].1).count(),
            median_half_width: widths.get(widths.len() / 2).copied().unwrap_or(f64::NAN),
            mde,
        });
    }
    let mut categories: BTreeMap<String, Option<f64>> = BTreeMap::new();
    for q in &queries {
        let e = categories.entry(q.category.clone()).or_insert(Some(0.0));
        *e = match (*e, q.mde) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
    }
    Ok(Calibration {
        runs: runs.len(),
        noise: o.noise,
        confidence: o.confidence,
        detect,
        failed_runs,
        by_noise,
        queries,
        categories,
    })
}

fn pct(x: Option<f64>) -> String {
    x.map_or("> 100 %".into(), |v| format!("{:.1} %", v * 100.0))
}

impl Calibration {
    pub fn to_markdown(&self) -> String {
        let mut s = format!(
            "A/A calibration over {} gate runs (noise ±{:.1} %, {:.0} % family confidence): \
             the gate failed {} of {} clean runs.\n\n",
            self.runs,
            self.noise * 100.0,
            self.confidence * 100.0,
            self.failed_runs,
            self.runs
        );
        s += "| noise threshold | A/A runs failing |\n|---:|---:|\n";
        for (t, n) in &self.by_noise {
            s += &format!("| {:.1} % | {n} of {} |\n", t * 100.0, self.runs);
        }
        s += &format!(
            "\n| query | category | slower / faster alarms | median 95 % CI half-width | MDE ({:.0} % detected) |\n|---|---|---:|---:|---:|\n",
            self.detect * 100.0
        );
        for q in &self.queries {
            s += &format!(
                "| {} | {} | {} / {} | ±{:.1} % | {} |\n",
                q.query,
                q.category,
                q.slower_alarms,
                q.faster_alarms,
                q.median_half_width * 100.0,
                pct(q.mde)
            );
        }
        s += "\n| category | MDE (largest of its queries) |\n|---|---:|\n";
        for (c, m) in &self.categories {
            s += &format!("| {c} | {} |\n", pct(*m));
        }
        s
    }
}
