//! `bench-runner compare BASE NEW`: per query, is NEW slower than BASE, and how sure is that?
//!
//! The statistic is the ratio of medians NEW/BASE over the recorded iterations (read back out of
//! each histogram). Its uncertainty comes from a bootstrap: both sides are resampled with
//! replacement many times and the ratio recomputed, giving a percentile confidence interval and
//! one-sided p-values against the noise band `[1/(1+t), 1+t]`. Results of `gate` keep their
//! rounds (BASE and NEW interleaved); there the bootstrap resamples whole paired rounds, since
//! iterations of one round are not independent of each other (A/A runs showed it: resampling
//! single iterations called a query slower when a burst of load hit a few of NEW's rounds).
//!
//! - `p_slower`: the share of resampled ratios at or below `1 + t`;
//! - `p_faster`: the share at or above `1 / (1 + t)`.
//!
//! Many queries are tested at once, so the p-values are adjusted across the family (Holm by
//! default, or Benjamini–Hochberg): the "slower" tests of all queries form one family, the
//! "faster" tests another. A query is **slower** when its adjusted `p_slower` is below
//! `1 - confidence` — the whole (corrected) interval lies above `1 + t` — **faster** by the
//! mirror rule, **no change** when its interval lies inside the noise band, and **inconclusive**
//! otherwise. This is criterion's rule (significant *and* outside the noise band) made to hold
//! for a family of queries. Answers that differ (digest) and plans that changed (fingerprint) are
//! reported beside the timing verdict.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::histogram::LatencySummary;
use crate::results::{QueryResult, RunResult, Status};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Correction {
    /// Holm–Bonferroni: controls the chance of any false alarm in the family.
    Holm,
    /// Benjamini–Hochberg: controls the expected share of false alarms among the alarms.
    BenjaminiHochberg,
}

#[derive(Debug, Clone)]
pub struct Options {
    /// Relative change treated as noise (0.03 = 3 %).
    pub noise: f64,
    /// Family-wide confidence (0.95).
    pub confidence: f64,
    pub resamples: usize,
    pub correction: Correction,
    /// Seeds the resampling, so a comparison is reproducible.
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            noise: 0.075,
            confidence: 0.95,
            resamples: 10_000,
            correction: Correction::Holm,
            seed: 0x6c6f_6762_656e_6368,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Faster,
    Slower,
    NoChange,
    Inconclusive,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Faster => "faster",
            Verdict::Slower => "SLOWER",
            Verdict::NoChange => "no change",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryComparison {
    pub engine: String,
    pub query: String,
    pub category: String,
    pub base_median_us: Option<u64>,
    pub new_median_us: Option<u64>,
    /// NEW/BASE ratio of medians.
    pub ratio: Option<f64>,
    /// Percentile-bootstrap interval of the ratio at the (unadjusted) confidence level.
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// Adjusted one-sided p-values (see the module docs).
    pub p_slower: Option<f64>,
    pub p_faster: Option<f64>,
    pub verdict: Verdict,
    /// The answer digests differ, or the query failed in NEW only.
    pub answer_changed: bool,
    pub plan_changed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub base_run: String,
    pub new_run: String,
    pub noise: f64,
    pub confidence: f64,
    pub correction: Correction,
    pub resamples: usize,
    pub queries: Vec<QueryComparison>,
}

impl Comparison {
    pub fn regressions(&self) -> usize {
        self.queries
            .iter()
            .filter(|q| q.verdict == Verdict::Slower)
            .count()
    }

    pub fn correctness_differences(&self) -> usize {
        self.queries.iter().filter(|q| q.answer_changed).count()
    }

    /// 0 when nothing regressed, 1 on a regression or a correctness difference.
    pub fn failed(&self) -> bool {
        self.regressions() > 0 || self.correctness_differences() > 0
    }
}

/// Every recorded iteration, back out of the histogram (at its 3-significant-digit resolution).
pub fn samples(l: &LatencySummary) -> Result<Vec<u64>> {
    let h = l.histogram()?;
    Ok(h.iter_recorded()
        .flat_map(|v| std::iter::repeat_n(v.value_iterated_to(), v.count_at_value() as usize))
        .collect())
}

fn median_sorted(v: &[u64]) -> f64 {
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2] as f64
    } else {
        (v[n / 2 - 1] as f64 + v[n / 2] as f64) / 2.0
    }
}

fn median(v: &[u64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_unstable();
    median_sorted(&s)
}

/// A small counter-based generator (SplitMix64): reproducible for a seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let z = logbench_common::mix::mix64(self.0);
        ((z as u128 * n as u128) >> 64) as usize
    }
}

fn resample_median(v: &[u64], rng: &mut Rng, buf: &mut Vec<u64>) -> f64 {
    buf.clear();
    buf.extend((0..v.len()).map(|_| v[rng.below(v.len())]));
    buf.sort_unstable();
    median_sorted(buf)
}

/// Bootstrap ratios of medians NEW/BASE over paired rounds, sorted: each resample draws round
/// indices with replacement and takes BASE's and NEW's iterations of the same rounds, so
/// iterations of one round (seconds apart, sharing whatever the machine was doing) move
/// together, and drift between rounds cancels in the pairing.
pub fn bootstrap_round_ratios(
    base: &[Vec<u64>],
    new: &[Vec<u64>],
    resamples: usize,
    seed: u64,
) -> Vec<f64> {
    let mut rng = Rng(seed);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let k = base.len().min(new.len());
    let mut ratios: Vec<f64> = (0..resamples)
        .map(|_| {
            a.clear();
            b.clear();
            for _ in 0..k {
                let r = rng.below(k);
                a.extend_from_slice(&base[r]);
                b.extend_from_slice(&new[r]);
            }
            a.sort_unstable();
            b.sort_unstable();
            median_sorted(&b) / median_sorted(&a).max(1.0)
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios
}

/// Bootstrap ratios of medians NEW/BASE, sorted.
pub fn bootstrap_ratios(base: &[u64], new: &[u64], resamples: usize, seed: u64) -> Vec<f64> {
    let mut rng = Rng(seed);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut ratios: Vec<f64> = (0..resamples)
        .map(|_| {
            let m_base = resample_median(base, &mut rng, &mut a);
            let m_new = resample_median(new, &mut rng, &mut b);
            m_new / m_base.max(1.0)
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios
}

fn quantile_sorted(v: &[f64], q: f64) -> f64 {
    let i = ((v.len() - 1) as f64 * q).round() as usize;
    v[i.min(v.len() - 1)]
}

/// Adjusted p-values, in the input order.
pub fn adjust(p: &[f64], method: Correction) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut out = vec![0.0; m];
    match method {
        Correction::Holm => {
            let mut running: f64 = 0.0;
            for (rank, &i) in order.iter().enumerate() {
                running = running.max(((m - rank) as f64 * p[i]).min(1.0));
                out[i] = running;
            }
        }
        Correction::BenjaminiHochberg => {
            let mut running: f64 = 1.0;
            for (rank, &i) in order.iter().enumerate().rev() {
                running = running.min((p[i] * m as f64 / (rank + 1) as f64).min(1.0));
                out[i] = running;
            }
        }
    }
    out
}

/// Refuses pairs that do not measure the same thing, naming what differs.
fn check_comparable(base: &RunResult, new: &RunResult) -> Result<()> {
    let bad = |m: String| Err(Error::Config(m));
    if base.dataset.manifest_sha256 != new.dataset.manifest_sha256 {
        return bad(format!(
            "different datasets: BASE {} ({} rows, manifest {}) and NEW {} ({} rows, manifest {})",
            base.dataset.path,
            base.dataset.rows,
            &base.dataset.manifest_sha256[..12.min(base.dataset.manifest_sha256.len())],
            new.dataset.path,
            new.dataset.rows,
            &new.dataset.manifest_sha256[..12.min(new.dataset.manifest_sha256.len())]
        ));
    }
    let engines = |r: &RunResult| -> Vec<String> {
        r.engines.iter().map(|e| e.engine.name.clone()).collect()
    };
    if engines(base) != engines(new) {
        return bad(format!(
            "different engines: BASE ran {:?}, NEW ran {:?}",
            engines(base),
            engines(new)
        ));
    }
    let workload = |r: &RunResult| -> BTreeMap<String, String> {
        r.engines
            .iter()
            .flat_map(|e| &e.queries)
            .map(|q| (q.name.clone(), q.sql.trim().to_string()))
            .collect()
    };
    let (wb, wn) = (workload(base), workload(new));
    if let Some(name) = wb.keys().find(|k| !wn.contains_key(*k)) {
        return bad(format!("different workloads: query {name} is only in BASE"));
    }
    if let Some(name) = wn.keys().find(|k| !wb.contains_key(*k)) {
        return bad(format!("different workloads: query {name} is only in NEW"));
    }
    for (name, sql) in &wb {
        if wn.get(name) != Some(sql) {
            return bad(format!("different workloads: the SQL of {name} differs"));
        }
    }
    Ok(())
}

/// One query's comparison before the family-wide correction: the row, and its bootstrap
/// ratios (sorted; empty when either side has no timings).
pub struct Pending {
    pub row: QueryComparison,
    pub ratios: Vec<f64>,
}

/// One-sided p-values against the noise band for bootstrap `ratios` (sorted) of a NEW whose
/// times are multiplied by `scale` (1 for the measured data; more to ask "would a slowdown of
/// this size be seen?", as the calibration does).
pub fn p_values(ratios: &[f64], noise: f64, scale: f64) -> (f64, f64) {
    let upper = 1.0 + noise;
    let lower = 1.0 / upper;
    let total = (ratios.len() + 1) as f64;
    let at_or_below_upper = ratios.partition_point(|r| r * scale <= upper);
    let below_lower = ratios.partition_point(|r| r * scale < lower);
    let p_slower = (at_or_below_upper + 1) as f64 / total;
    let p_faster = (ratios.len() - below_lower + 1) as f64 / total;
    (p_slower, p_faster)
}

fn compare_query(
    engine: &str,
    b: &QueryResult,
    n: &QueryResult,
    o: &Options,
    seed: u64,
) -> Result<Pending> {
    let answer_changed = match (b.status, n.status) {
        (Status::Ok, Status::Ok) => {
            !crate::digest::answers_agree(b.answer.as_ref(), n.answer.as_ref())
        }
        (Status::Ok, Status::Failed) => true,
        _ => false,
    };
    let plan_changed = match (&b.plans, &n.plans) {
        (Some(x), Some(y)) => x.fingerprint != y.fingerprint,
        _ => false,
    };
    let mut row = QueryComparison {
        engine: engine.to_string(),
        query: n.name.clone(),
        category: n.category.clone(),
        base_median_us: None,
        new_median_us: None,
        ratio: None,
        ci_low: None,
        ci_high: None,
        p_slower: None,
        p_faster: None,
        verdict: Verdict::Inconclusive,
        answer_changed,
        plan_changed,
        note: None,
    };
    let (Some(lb), Some(ln)) = (&b.latency, &n.latency) else {
        row.note = Some(match (b.status, n.status) {
            (Status::Failed, Status::Failed) => "failed in both".into(),
            (Status::Failed, _) => "failed in BASE".into(),
            _ => format!("failed in NEW: {}", n.error.as_deref().unwrap_or("")),
        });
        return Ok(Pending {
            row,
            ratios: Vec::new(),
        });
    };
    let (sb, sn) = (samples(lb)?, samples(ln)?);
    let (mb, mn) = (median(&sb), median(&sn));
    row.base_median_us = Some(mb.round() as u64);
    row.new_median_us = Some(mn.round() as u64);
    row.ratio = Some(mn / mb.max(1.0));
    // Gate results keep their rounds: resample whole paired rounds. Plain runs: iterations.
    let paired = b.rounds_us.len() >= 3
        && b.rounds_us.len() == n.rounds_us.len()
        && b.rounds_us
            .iter()
            .chain(&n.rounds_us)
            .all(|r| !r.is_empty());
    let ratios = if paired {
        bootstrap_round_ratios(&b.rounds_us, &n.rounds_us, o.resamples, seed)
    } else {
        bootstrap_ratios(&sb, &sn, o.resamples, seed)
    };
    let alpha = 1.0 - o.confidence;
    row.ci_low = Some(quantile_sorted(&ratios, alpha / 2.0));
    row.ci_high = Some(quantile_sorted(&ratios, 1.0 - alpha / 2.0));
    Ok(Pending { row, ratios })
}

/// Every query's bootstrap, before the correction (per engine).
pub fn pending(base: &RunResult, new: &RunResult, o: &Options) -> Result<Vec<Pending>> {
    check_comparable(base, new)?;
    let mut pending = Vec::new();
    for (eb, en) in base.engines.iter().zip(&new.engines) {
        for n in &en.queries {
            let b = eb
                .queries
                .iter()
                .find(|q| q.name == n.name)
                .expect("workloads checked equal");
            let seed = o.seed ^ logbench_common::mix::mix64(pending.len() as u64 + 1);
            pending.push(compare_query(&en.engine.name, b, n, o, seed)?);
        }
    }
    Ok(pending)
}

/// The family-wide adjusted (p_slower, p_faster) of every timed query (None when untimed),
/// with query `scaled` (if any) judged as if NEW's times were multiplied by `scale`.
pub fn adjusted_p_values(
    pending: &[Pending],
    o: &Options,
    scaled: Option<(usize, f64)>,
) -> Vec<Option<(f64, f64)>> {
    // Two families, each corrected on its own: "slower" over every timed query (what the
    // gate fails on), and "faster" likewise.
    let raw: Vec<Option<(f64, f64)>> = pending
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let scale = scaled.filter(|(j, _)| *j == i).map_or(1.0, |(_, s)| s);
            (!p.ratios.is_empty()).then(|| p_values(&p.ratios, o.noise, scale))
        })
        .collect();
    let slower: Vec<f64> = raw.iter().flatten().map(|p| p.0).collect();
    let faster: Vec<f64> = raw.iter().flatten().map(|p| p.1).collect();
    let mut s = adjust(&slower, o.correction).into_iter();
    let mut f = adjust(&faster, o.correction).into_iter();
    raw.iter()
        .map(|r| r.map(|_| (s.next().expect("one each"), f.next().expect("one each"))))
        .collect()
}

/// Compares NEW against BASE query by query (per engine).
pub fn compare(base: &RunResult, new: &RunResult, o: &Options) -> Result<Comparison> {
    let pending = pending(base, new, o)?;
    let adjusted = adjusted_p_values(&pending, o, None);
    let alpha = 1.0 - o.confidence;
    let upper = 1.0 + o.noise;
    let mut queries = Vec::new();
    for (p, adj) in pending.into_iter().zip(adjusted) {
        let mut row = p.row;
        if let Some((ps, pf)) = adj {
            row.p_slower = Some(ps);
            row.p_faster = Some(pf);
            let (lo, hi) = (row.ci_low.unwrap_or(0.0), row.ci_high.unwrap_or(f64::MAX));
            row.verdict = if ps < alpha {
                Verdict::Slower
            } else if pf < alpha {
                Verdict::Faster
            } else if lo >= 1.0 / upper && hi <= upper {
                Verdict::NoChange
            } else {
                Verdict::Inconclusive
            };
        }
        queries.push(row);
    }
    Ok(Comparison {
        base_run: base.run_id.clone(),
        new_run: new.run_id.clone(),
        noise: o.noise,
        confidence: o.confidence,
        correction: o.correction,
        resamples: o.resamples,
        queries,
    })
}

fn ms(us: Option<u64>) -> String {
    us.map_or("-".into(), |u| format!("{:.1}", u as f64 / 1e3))
}

fn interval(q: &QueryComparison) -> String {
    match (q.ratio, q.ci_low, q.ci_high) {
        (Some(r), Some(l), Some(h)) => format!("{r:.3} [{l:.3}, {h:.3}]"),
        _ => "-".into(),
    }
}

fn flags(q: &QueryComparison) -> String {
    let mut f = Vec::new();
    if q.answer_changed {
        f.push("ANSWER DIFFERS".to_string());
    }
    if q.plan_changed {
        f.push("plan changed".to_string());
    }
    if let Some(n) = &q.note {
        f.push(n.clone());
    }
    f.join("; ")
}

impl Comparison {
    pub fn to_terminal(&self) -> String {
        let mut t = crate::table::new(
            &[
                "engine",
                "query",
                "base ms",
                "new ms",
                "ratio [95% CI]",
                "verdict",
                "notes",
            ],
            &[2, 3],
        );
        for q in &self.queries {
            t.add_row(vec![
                q.engine.clone(),
                q.query.clone(),
                ms(q.base_median_us),
                ms(q.new_median_us),
                interval(q),
                q.verdict.label().to_string(),
                flags(q),
            ]);
        }
        let mut s = crate::table::render(&t);
        s += &self.summary_line();
        s.push('\n');
        s
    }

    pub fn summary_line(&self) -> String {
        format!(
            "{} regressions, {} answer differences over {} queries (noise ±{:.1} %, {:.0} % family confidence, {})",
            self.regressions(),
            self.correctness_differences(),
            self.queries.len(),
            self.noise * 100.0,
            self.confidence * 100.0,
            match self.correction {
                Correction::Holm => "Holm",
                Correction::BenjaminiHochberg => "Benjamini–Hochberg",
            }
        )
    }

    /// A GitHub-flavoured Markdown table for a pull request.
    pub fn to_markdown(&self) -> String {
        let mut s = format!(
            "**{}** against **{}**: {}\n\n| engine | query | base p50 ms | new p50 ms | ratio [95 % CI] | verdict | notes |\n|---|---|---:|---:|---|---|---|\n",
            self.new_run,
            self.base_run,
            self.summary_line()
        );
        for q in &self.queries {
            let verdict = match q.verdict {
                Verdict::Slower => "🔴 slower".to_string(),
                Verdict::Faster => "🟢 faster".to_string(),
                v => v.label().to_string(),
            };
            s += &format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                q.engine,
                q.query,
                ms(q.base_median_us),
                ms(q.new_median_us),
                interval(q),
                verdict,
                flags(q)
            );
        }
        s
    }

    /// Bencher Metric Format: `{"<engine>/<query>": {"latency": {value, lower_value,
    /// upper_value}}}` in nanoseconds, for NEW (median, and the interval scaled from the ratio's).
    pub fn to_bmf(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        for q in &self.queries {
            let (Some(new), Some(base)) = (q.new_median_us, q.base_median_us) else {
                continue;
            };
            let ns = |us: f64| (us * 1e3).round();
            let mut latency = serde_json::Map::new();
            latency.insert("value".into(), ns(new as f64).into());
            if let (Some(l), Some(h)) = (q.ci_low, q.ci_high) {
                latency.insert("lower_value".into(), ns(base as f64 * l).into());
                latency.insert("upper_value".into(), ns(base as f64 * h).into());
            }
            let mut measures = serde_json::Map::new();
            measures.insert("latency".into(), latency.into());
            m.insert(format!("{}/{}", q.engine, q.query), measures.into());
        }
        m.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holm_and_bh_adjust_as_published() {
        let p = [0.01, 0.04, 0.03, 0.005];
        let holm = adjust(&p, Correction::Holm);
        // Sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> max so far 0.06.
        for (a, b) in holm.iter().zip([0.03, 0.06, 0.06, 0.02]) {
            assert!((a - b).abs() < 1e-12, "{holm:?}");
        }
        let bh = adjust(&p, Correction::BenjaminiHochberg);
        // Sorted p 0.005,0.01,0.03,0.04 -> 0.02, 0.02, 0.04, 0.04.
        for (a, b) in bh.iter().zip([0.02, 0.04, 0.04, 0.02]) {
            assert!((a - b).abs() < 1e-12, "{bh:?}");
        }
    }

    #[test]
    fn bootstrap_sees_a_clear_slowdown_and_not_a_null() {
        let base: Vec<u64> = (0..30).map(|i| 1000 + (i * 37 % 50)).collect();
        let slower: Vec<u64> = base.iter().map(|v| v * 12 / 10).collect();
        let r = bootstrap_ratios(&base, &slower, 2000, 1);
        assert!(
            quantile_sorted(&r, 0.025) > 1.1,
            "the whole interval is above 1.1"
        );
        let same = bootstrap_ratios(&base, &base, 2000, 2);
        assert!(quantile_sorted(&same, 0.025) < 1.0 && quantile_sorted(&same, 0.975) > 1.0);
        assert_eq!(
            bootstrap_ratios(&base, &slower, 100, 7),
            bootstrap_ratios(&base, &slower, 100, 7)
        );
    }
}
