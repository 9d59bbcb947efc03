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
//! - **Instructions**, where the gates counted them: per query the A/A ratio of instructions
//!   per execution (how far BASE = NEW drifts), the false alarms at the instruction threshold
//!   and at others, and the minimum detectable effect: the smallest change that crosses the
//!   threshold in `detect` of the runs, given each run's measured A/A ratio.
//!
//! `calibrate --sequential FILE…` does the same for plain `compare`s: result files of the same
//! binary run one after another ([`calibrate_sequential`]), every earlier one against every
//! later one, and finds the absolute floor that `compare` needs for plain runs.

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
    /// Instructions, where every A/A run counted them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructions: Option<InstructionCalibration>,
}

/// Instruction thresholds the false-alarm table covers.
pub const INSTR_SWEEP: [f64; 9] = [
    0.0002, 0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.01, 0.02,
];

#[derive(Debug, Clone, Serialize)]
pub struct InstructionCalibration {
    pub threshold: f64,
    /// A/A runs with any query's instructions called slower or faster.
    pub failed_runs: usize,
    /// (threshold, A/A runs with any instruction alarm) for [`INSTR_SWEEP`].
    pub by_threshold: Vec<(f64, usize)>,
    /// The largest |NEW/BASE - 1| of any query in any run.
    pub largest_deviation: f64,
    pub queries: Vec<QueryInstructionCalibration>,
}

#[derive(Debug, Clone, Serialize)]
pub struct QueryInstructionCalibration {
    pub query: String,
    /// Instructions per execution (median over runs of BASE's count).
    pub per_execution: u64,
    /// The largest |NEW/BASE - 1| over the runs.
    pub largest_deviation: f64,
    /// The median over runs and sides of the within-process spread (ppm).
    pub median_spread_ppm: u64,
    /// The threshold it was judged with (its workload header's, or the default).
    pub threshold: f64,
    /// What the A/A data suggest: twice the largest A/A difference, rounded up to 0.1 %, and
    /// never below the default threshold.
    pub suggested_threshold: f64,
    /// Runs calling it slower or faster.
    pub alarms: usize,
    /// Smallest change flagged in at least `detect` of the runs (0.006 = 0.6 %).
    pub mde: f64,
}

fn instruction_calibration(
    runs: &[Vec<Pending>],
    o: &Options,
    detect: f64,
) -> Option<InstructionCalibration> {
    let n = runs.first()?.len();
    let ratio = |r: &Vec<Pending>, i: usize| r[i].row.instructions.as_ref().map(|c| c.ratio);
    let threshold = |i: usize| {
        runs[0][i]
            .row
            .instructions
            .as_ref()
            .map_or(o.instr_threshold, |c| c.threshold.max(o.instr_threshold))
    };
    if runs.iter().any(|r| (0..n).any(|i| ratio(r, i).is_none())) {
        return None;
    }
    let alarm = |x: f64, t: f64| {
        crate::compare::instruction_verdict(x, t) != crate::compare::Verdict::NoChange
    };
    // At a default threshold t, a query with its own threshold is judged with the larger of
    // the two, as `compare` does.
    let failing = |t: f64| {
        runs.iter()
            .filter(|r| {
                (0..n).any(|i| {
                    let own = threshold(i);
                    let t = if own > o.instr_threshold {
                        own.max(t)
                    } else {
                        t
                    };
                    alarm(ratio(r, i).expect("checked"), t)
                })
            })
            .count()
    };
    let need = (detect * runs.len() as f64).ceil() as usize;
    let mut queries = Vec::new();
    for i in 0..n {
        let ratios: Vec<f64> = runs.iter().map(|r| ratio(r, i).expect("checked")).collect();
        let dev = ratios.iter().map(|x| (x - 1.0).abs()).fold(0.0, f64::max);
        let mut spreads: Vec<u64> = runs
            .iter()
            .filter_map(|r| r[i].row.instructions.as_ref())
            .flat_map(|c| [c.base_spread_ppm, c.new_spread_ppm])
            .collect();
        spreads.sort_unstable();
        let mut counts: Vec<u64> = runs
            .iter()
            .filter_map(|r| r[i].row.instructions.as_ref().map(|c| c.base))
            .collect();
        counts.sort_unstable();
        // In steps of 0.01 %: the smallest slowdown s with ratio * (1 + s) over the threshold
        // in `need` of the runs.
        let t = threshold(i);
        let mde = (1..=10_000)
            .map(|k| k as f64 * 1e-4)
            .find(|s| ratios.iter().filter(|x| *x * (1.0 + s) > 1.0 + t).count() >= need)
            .unwrap_or(f64::INFINITY);
        queries.push(QueryInstructionCalibration {
            query: runs[0][i].row.query.clone(),
            per_execution: counts[counts.len() / 2],
            largest_deviation: dev,
            median_spread_ppm: spreads.get(spreads.len() / 2).copied().unwrap_or(0),
            threshold: t,
            suggested_threshold: ((2.0 * dev * 1000.0).ceil() / 1000.0).max(o.instr_threshold),
            alarms: ratios.iter().filter(|x| alarm(**x, t)).count(),
            mde,
        });
    }
    Some(InstructionCalibration {
        threshold: o.instr_threshold,
        failed_runs: failing(o.instr_threshold),
        by_threshold: INSTR_SWEEP.iter().map(|&t| (t, failing(t))).collect(),
        largest_deviation: queries
            .iter()
            .map(|q| q.largest_deviation)
            .fold(0.0, f64::max),
        queries,
    })
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
    let instructions = instruction_calibration(&runs, o, detect);
    Ok(Calibration {
        instructions,
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
        if let Some(i) = &self.instructions {
            s += &i.to_markdown(self.runs, self.detect);
        }
        s
    }
}

impl InstructionCalibration {
    fn to_markdown(&self, runs: usize, detect: f64) -> String {
        let mut s = format!(
            "\nInstructions per execution over the same {runs} A/A runs (threshold {:.2} %, or a \
             query's own where its header sets one): {} of {runs} runs had an instruction alarm; \
             the largest A/A difference of any query was {:.3} %.\n\n\
             | default instruction threshold | A/A runs failing |\n|---:|---:|\n",
            self.threshold * 100.0,
            self.failed_runs,
            self.largest_deviation * 100.0
        );
        for (t, n) in &self.by_threshold {
            s += &format!("| {:.2} % | {n} of {runs} |\n", t * 100.0);
        }
        s += &format!(
            "\n| query | instructions per execution | largest A/A difference | median spread within a process | threshold | suggested | alarms | MDE ({:.0} % detected) |\n|---|---:|---:|---:|---:|---:|---:|---:|\n",
            detect * 100.0
        );
        for q in &self.queries {
            s += &format!(
                "| {} | {:.1} M | {:.3} % | {:.3} % | {:.1} % | {:.1} % | {} | {:.2} % |\n",
                q.query,
                q.per_execution as f64 / 1e6,
                q.largest_deviation * 100.0,
                q.median_spread_ppm as f64 / 1e4,
                q.threshold * 100.0,
                q.suggested_threshold * 100.0,
                q.alarms,
                q.mde * 100.0
            );
        }
        s
    }
}

/// Floors (µs) the sequential calibration tries.
pub const FLOOR_SWEEP_US: [f64; 12] = [
    0.0, 250.0, 500.0, 1000.0, 1500.0, 2000.0, 3000.0, 4000.0, 5000.0, 7500.0, 10_000.0, 20_000.0,
];

/// Drifts the sequential calibration tries.
pub const DRIFT_SWEEP: [f64; 11] = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0, 1.5];

/// Plain `compare`s of sequential A/A runs: every earlier run as BASE against every later one.
#[derive(Debug, Clone, Serialize)]
pub struct SequentialCalibration {
    pub runs: usize,
    pub pairs: usize,
    pub noise: f64,
    /// The drift and floor (µs) judged with (`--drift`, `--floor-ms`).
    pub drift: f64,
    pub floor_us: f64,
    /// (drift, pairs with a false alarm without a floor, smallest floor of the sweep with none)
    /// for [`DRIFT_SWEEP`].
    pub by_drift: Vec<(f64, usize, Option<f64>)>,
    /// Pairs with any query called slower / faster at `floor_us`.
    pub slower_pairs: usize,
    pub faster_pairs: usize,
    /// (floor µs, pairs with any slower or faster verdict) for [`FLOOR_SWEEP_US`], at `drift`.
    pub by_floor: Vec<(f64, usize)>,
    /// The smallest floor of the sweep with no false alarm in any pair, at `drift`.
    pub needed_floor_us: Option<f64>,
    pub queries: Vec<SequentialQuery>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SequentialQuery {
    pub query: String,
    /// Median over runs of the query's median (ms).
    pub median_ms: f64,
    /// The largest ratio of medians in either direction over the pairs (>= 1).
    pub largest_ratio: f64,
    /// The largest difference of medians over the pairs (ms).
    pub largest_difference_ms: f64,
    /// Pairs with a slower or faster verdict at `drift` and `floor_us`, and with neither.
    pub alarms: usize,
    pub alarms_without_floor: usize,
}

fn any_flag(p: &[Pending], o: &Options) -> Vec<bool> {
    slower_flags(p, o, None)
        .into_iter()
        .map(|(s, f)| s || f)
        .collect()
}

/// Calibrates plain `compare` from result files of one binary run one after another.
pub fn calibrate_sequential(runs: &[RunResult], o: &Options) -> Result<SequentialCalibration> {
    if runs.len() < 2 {
        return Err(Error::Config(
            "--sequential needs at least two result files".into(),
        ));
    }
    let mut pairs = Vec::new();
    for i in 0..runs.len() {
        for j in i + 1..runs.len() {
            pairs.push(pending(&runs[i], &runs[j], o)?);
        }
    }
    let n = pairs[0].len();
    let at = |d: f64, f: f64| Options {
        drift: d,
        floor_us: f,
        ..o.clone()
    };
    let failing = |d: f64, f: f64| {
        pairs
            .iter()
            .filter(|p| any_flag(p, &at(d, f)).iter().any(|x| *x))
            .count()
    };
    let flags: Vec<Vec<(bool, bool)>> = pairs.iter().map(|p| slower_flags(p, o, None)).collect();
    let bare: Vec<Vec<bool>> = pairs.iter().map(|p| any_flag(p, &at(0.0, 0.0))).collect();
    let by_floor: Vec<(f64, usize)> = FLOOR_SWEEP_US
        .iter()
        .map(|&f| (f, failing(o.drift, f)))
        .collect();
    let by_drift = DRIFT_SWEEP
        .iter()
        .map(|&d| {
            let needed = FLOOR_SWEEP_US.iter().copied().find(|&f| failing(d, f) == 0);
            (d, failing(d, 0.0), needed)
        })
        .collect();
    let mut queries = Vec::new();
    for i in 0..n {
        let mut medians: Vec<f64> = runs
            .iter()
            .flat_map(|r| r.engines.iter().flat_map(|e| &e.queries))
            .filter(|q| q.name == pairs[0][i].row.query)
            .filter_map(|q| q.latency.as_ref().map(|l| l.p50 as f64 / 1e3))
            .collect();
        medians.sort_by(f64::total_cmp);
        let (mut ratio, mut diff) = (1.0f64, 0.0f64);
        for p in &pairs {
            if let (Some(b), Some(nw)) = (p[i].row.base_median_us, p[i].row.new_median_us) {
                let (b, nw) = (b.max(1) as f64, nw.max(1) as f64);
                ratio = ratio.max(nw / b).max(b / nw);
                diff = diff.max((nw - b).abs() / 1e3);
            }
        }
        queries.push(SequentialQuery {
            query: pairs[0][i].row.query.clone(),
            median_ms: medians.get(medians.len() / 2).copied().unwrap_or(f64::NAN),
            largest_ratio: ratio,
            largest_difference_ms: diff,
            alarms: flags.iter().filter(|f| f[i].0 || f[i].1).count(),
            alarms_without_floor: bare.iter().filter(|f| f[i]).count(),
        });
    }
    Ok(SequentialCalibration {
        runs: runs.len(),
        pairs: pairs.len(),
        noise: o.noise,
        drift: o.drift,
        floor_us: o.floor_us,
        by_drift,
        slower_pairs: flags.iter().filter(|f| f.iter().any(|x| x.0)).count(),
        faster_pairs: flags.iter().filter(|f| f.iter().any(|x| x.1)).count(),
        needed_floor_us: by_floor.iter().find(|(_, n)| *n == 0).map(|(f, _)| *f),
        by_floor,
        queries,
    })
}

impl SequentialCalibration {
    pub fn to_markdown(&self) -> String {
        let floor =
            |f: Option<f64>| f.map_or("none tried".into(), |f| format!("{:.2} ms", f / 1e3));
        let mut s = format!(
            "Plain compares of {} sequential A/A runs ({} pairs, every earlier run against every later one; noise ±{:.1} %, drift {:.0} %, floor {:.1} ms): \
             {} pairs called a query slower, {} faster.\n\n\
             | drift | pairs with a false alarm (no floor) | smallest floor with none |\n|---:|---:|---:|\n",
            self.runs,
            self.pairs,
            self.noise * 100.0,
            self.drift * 100.0,
            self.floor_us / 1e3,
            self.slower_pairs,
            self.faster_pairs,
        );
        for (d, n, f) in &self.by_drift {
            s += &format!(
                "| {:.0} % | {n} of {} | {} |\n",
                d * 100.0,
                self.pairs,
                floor(*f)
            );
        }
        s += &format!(
            "\nAt {:.0} % drift, smallest floor with no false alarm: {}.\n\n| floor | pairs with a false alarm |\n|---:|---:|\n",
            self.drift * 100.0,
            floor(self.needed_floor_us)
        );
        for (f, n) in &self.by_floor {
            s += &format!("| {:.2} ms | {n} of {} |\n", f / 1e3, self.pairs);
        }
        s += "\n| query | median ms | largest ratio | largest difference ms | alarms (drift and floor) | alarms (neither) |\n|---|---:|---:|---:|---:|---:|\n";
        for q in &self.queries {
            s += &format!(
                "| {} | {:.1} | {:.3} | {:.2} | {} | {} |\n",
                q.query,
                q.median_ms,
                q.largest_ratio,
                q.largest_difference_ms,
                q.alarms,
                q.alarms_without_floor
            );
        }
        s
    }
}
