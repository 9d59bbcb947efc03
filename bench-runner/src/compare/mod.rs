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
//! mirror rule, **no change** when its interval lies inside the noise band `[1/(1+t), 1+t]`,
//! **within drift** when it excludes 1.0 but lies inside the wider band of two plain runs
//! (below), and **inconclusive** otherwise. This is criterion's rule (significant *and* outside
//! the noise band) made to hold for a family of queries. Answers that differ (digest) and plans that changed (fingerprint) are
//! reported beside the timing verdict.
//!
//! Two plain runs (not a gate) were made minutes apart, each with its own process, caches and
//! machine load: the bootstrap over one run's iterations knows nothing of that. On the shared
//! 2-core machine the whole machine runs 30–60 % slower for a minute at a time, so for them the
//! noise band is widened by the drift measured between sequential runs of one binary
//! ([`Options::drift`]) and gets an absolute floor ([`Options::floor_us`]) for queries of a few
//! milliseconds, both from `calibrate --sequential`: a query is slower only when NEW's median is
//! above BASE's by more than the noise, the drift *and* the floor. Finer changes need the gate,
//! whose interleaved rounds cancel the drift. "No change" keeps its meaning for them: the
//! interval inside the noise band itself. An interval that excludes 1.0 inside the drift band is
//! a change that two runs made apart cannot tell from the machine's drift: **within drift
//! (±X %)**, never "no change". Two settings are told apart by their instruction counts
//! (`run --instructions`), which are not subject to drift: where both sides carry them, their
//! verdict is shown first and decides.
//!
//! **Instructions.** Where both results carry instruction counts (`run --instructions`, and
//! every gate), each query also gets an instruction verdict: the ratio of instructions per
//! execution NEW/BASE against a fixed threshold ([`Options::instr_threshold`]). No bootstrap:
//! the counts are deterministic to a few hundredths of a percent (the A/A spread the threshold
//! was derived from, docs/gate-calibration.md), so the threshold only has to sit above that
//! spread, as rustc-perf's does.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::results::{QueryResult, RunResult, Status};

mod render;
pub mod stats;

use crate::sampling::median;
use stats::quantile_sorted;
pub use stats::{adjust, bootstrap_ratios, bootstrap_round_ratios, p_values, samples};

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
    /// Relative change in instructions per execution above which a query is slower (or
    /// faster): 0.005 = 0.5 %.
    pub instr_threshold: f64,
    /// Per-query instruction thresholds (the workload's `-- instr-threshold:` headers), for
    /// queries whose counts move between processes more than `instr_threshold` allows; a query
    /// is judged with the larger of the two.
    pub instr_thresholds: BTreeMap<String, f64>,
    /// Absolute floor (µs) added to the noise band when the two sides are plain runs made
    /// apart (not a gate's paired rounds).
    pub floor_us: f64,
    /// Relative drift between plain runs made apart: their band is (1 + noise)(1 + drift)
    /// plus the floor.
    pub drift: f64,
}

/// The instruction threshold's default: above the largest A/A difference measured
/// (docs/methodology.md, docs/gate-calibration.md) with room to spare, below the 1 % a user
/// wants to hear about.
pub const DEFAULT_INSTR_THRESHOLD: f64 = 0.003;
/// The plain-compare floor's default (µs) and drift: together, with margin, the smallest with
/// no false alarm over every pair of sequential A/A runs measured (docs/gate-calibration.md).
pub const DEFAULT_FLOOR_US: f64 = 2000.0;
pub const DEFAULT_DRIFT: f64 = 0.5;

impl Default for Options {
    fn default() -> Self {
        Self {
            noise: 0.075,
            confidence: 0.95,
            resamples: 10_000,
            correction: Correction::Holm,
            seed: 0x6c6f_6762_656e_6368,
            instr_threshold: DEFAULT_INSTR_THRESHOLD,
            instr_thresholds: crate::workload::builtin_instr_thresholds(),
            floor_us: DEFAULT_FLOOR_US,
            drift: DEFAULT_DRIFT,
        }
    }
}

impl Options {
    /// The instruction threshold `query` is judged with: the larger of the default and its own.
    pub fn instr_threshold_for(&self, query: &str) -> f64 {
        self.instr_thresholds
            .get(query)
            .map_or(self.instr_threshold, |t| t.max(self.instr_threshold))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Faster,
    Slower,
    NoChange,
    /// Plain runs only: the interval excludes 1.0 but lies within the band widened for the
    /// drift between runs made apart; neither "no change" nor a regression.
    WithinDrift,
    Inconclusive,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Faster => "faster",
            Verdict::Slower => "SLOWER",
            Verdict::NoChange => "no change",
            Verdict::WithinDrift => "within drift",
            Verdict::Inconclusive => "inconclusive",
        }
    }

    /// The colour-marked label Markdown and HTML show for a change; None for the others.
    pub fn marked(self) -> Option<&'static str> {
        match self {
            Verdict::Slower => Some("🔴 slower"),
            Verdict::Faster => Some("🟢 faster"),
            _ => None,
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
    /// An answer change the gate was told to expect (`--accept-answer-change`): shown, and
    /// not a failure.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub answer_change_accepted: bool,
    pub plan_changed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The upper edge of the noise band the wall-time verdict used: 1 + noise, plus the floor
    /// relative to BASE's median for plain runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub band: Option<f64>,
    /// Instructions per execution on both sides, where both were counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<InstructionComparison>,
    /// A slower query whose two results carry CPU profiles: the frames whose share of self
    /// time grew most (the regression's suspects), largest growth first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suspects: Vec<SuspectFrame>,
}

impl QueryComparison {
    /// The wall-time verdict as a reader is shown it: "within drift" names the band it lies in.
    pub fn verdict_text(&self) -> String {
        match (self.verdict, self.band) {
            (Verdict::WithinDrift, Some(b)) => {
                format!("within drift (±{:.0} %)", (b - 1.0) * 100.0)
            }
            (v, _) => v.label().to_string(),
        }
    }

    /// [`Self::verdict_text`], colour-marked where it flags a change (Markdown and HTML).
    pub fn marked_text(&self) -> String {
        self.verdict
            .marked()
            .map_or_else(|| self.verdict_text(), str::to_string)
    }
}

/// A frame's share of a query's self time in BASE's profile and NEW's, in percent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuspectFrame {
    pub frame: String,
    pub base_pct: f64,
    pub new_pct: f64,
}

/// Suspects listed per slower query.
pub const SUSPECTS: usize = 5;

fn profile_suspects(b: &QueryResult, n: &QueryResult) -> Vec<SuspectFrame> {
    match (&b.profile, &n.profile) {
        (Some(pb), Some(pn)) if pb.error.is_none() && pn.error.is_none() => {
            crate::profile::suspects(pb, pn, SUSPECTS)
                .into_iter()
                .map(|s| SuspectFrame {
                    frame: s.frame,
                    base_pct: s.base_pct,
                    new_pct: s.new_pct,
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

/// One query's instruction counts, BASE against NEW.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstructionComparison {
    pub base: u64,
    pub new: u64,
    /// NEW/BASE.
    pub ratio: f64,
    /// Each side's spread over its counted runs (ppm of its median).
    pub base_spread_ppm: u64,
    pub new_spread_ppm: u64,
    /// The threshold this query was judged with (0.005 = 0.5 %).
    #[serde(default)]
    pub threshold: f64,
    pub verdict: Verdict,
}

impl InstructionComparison {
    /// The verdict as Markdown and HTML show it: fewer instructions read "fewer", not "faster".
    pub fn marked_text(&self) -> String {
        match self.verdict {
            Verdict::Faster => "🟢 fewer".to_string(),
            v => v.marked().unwrap_or(v.label()).to_string(),
        }
    }
}

/// The instruction verdict for a ratio NEW/BASE: slower above `1 + threshold`, faster below
/// its reciprocal, no change between.
pub fn instruction_verdict(ratio: f64, threshold: f64) -> Verdict {
    if ratio > 1.0 + threshold {
        Verdict::Slower
    } else if ratio < 1.0 / (1.0 + threshold) {
        Verdict::Faster
    } else {
        Verdict::NoChange
    }
}

fn compare_instructions(
    b: &QueryResult,
    n: &QueryResult,
    o: &Options,
) -> Option<InstructionComparison> {
    let (ib, in_) = (b.instructions.as_ref()?, n.instructions.as_ref()?);
    let threshold = o.instr_threshold_for(&n.name);
    let ratio = in_.per_execution as f64 / ib.per_execution.max(1) as f64;
    Some(InstructionComparison {
        base: ib.per_execution,
        new: in_.per_execution,
        ratio,
        base_spread_ppm: ib.spread_ppm,
        new_spread_ppm: in_.spread_ppm,
        threshold,
        verdict: instruction_verdict(ratio, threshold),
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub base_run: String,
    pub new_run: String,
    pub noise: f64,
    pub confidence: f64,
    pub correction: Correction,
    pub resamples: usize,
    /// The instruction threshold (see [`Options::instr_threshold`]).
    #[serde(default)]
    pub instr_threshold: f64,
    /// The plain-run floor in µs (see [`Options::floor_us`]).
    #[serde(default)]
    pub floor_us: f64,
    /// The plain-run drift (see [`Options::drift`]).
    #[serde(default)]
    pub drift: f64,
    /// Engine crates built from a local copy on each side (`environment.engine_patches`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub base_patches: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub new_patches: Vec<String>,
    pub queries: Vec<QueryComparison>,
}

impl Comparison {
    pub fn regressions(&self) -> usize {
        self.queries
            .iter()
            .filter(|q| q.verdict == Verdict::Slower)
            .count()
    }

    /// Queries whose wall-time interval excludes 1.0 inside the drift band of plain runs.
    pub fn within_drift(&self) -> usize {
        self.queries
            .iter()
            .filter(|q| q.verdict == Verdict::WithinDrift)
            .count()
    }

    /// Timed queries whose wall-time verdict is "inconclusive".
    pub fn inconclusive(&self) -> usize {
        self.queries
            .iter()
            .filter(|q| q.verdict == Verdict::Inconclusive && q.ratio.is_some())
            .count()
    }

    /// What made [`Comparison::failed`] true or false, in words: the metric (or the answers)
    /// that decided.
    pub fn decided_by(&self) -> String {
        let mut by = Vec::new();
        if self.instruction_regressions() > 0 {
            by.push("instructions");
        }
        if self.regressions() > 0 {
            by.push("wall time");
        }
        if self.correctness_differences() > 0 {
            by.push("answers");
        }
        let answers = match self.accepted_answer_changes() {
            0 => "no answer difference".to_string(),
            n => format!("answers changed only where accepted ({n})"),
        };
        match by.len() {
            0 if self.has_instructions() => format!("no regression by either metric, {answers}"),
            0 => format!("no regression, {answers}"),
            _ => format!("failed on {}", by.join(" and ")),
        }
    }

    /// Answer changes named by `--accept-answer-change`.
    pub fn accepted_answer_changes(&self) -> usize {
        self.queries
            .iter()
            .filter(|q| q.answer_changed && q.answer_change_accepted)
            .count()
    }

    /// Queries whose instructions per execution grew beyond the threshold.
    pub fn instruction_regressions(&self) -> usize {
        self.queries
            .iter()
            .filter(|q| {
                q.instructions
                    .as_ref()
                    .is_some_and(|i| i.verdict == Verdict::Slower)
            })
            .count()
    }

    /// Whether any query carries instruction counts on both sides.
    pub fn has_instructions(&self) -> bool {
        self.queries.iter().any(|q| q.instructions.is_some())
    }

    /// Answer changes, less those accepted.
    pub fn correctness_differences(&self) -> usize {
        self.queries
            .iter()
            .filter(|q| q.answer_changed && !q.answer_change_accepted)
            .count()
    }

    /// Marks the answer changes of `queries` as expected; returns the names given whose answer
    /// did not change.
    pub fn accept_answer_changes(&mut self, queries: &[String]) -> Vec<String> {
        let mut unchanged = Vec::new();
        for name in queries {
            let mut found = false;
            for q in self
                .queries
                .iter_mut()
                .filter(|q| &q.query == name && q.answer_changed)
            {
                q.answer_change_accepted = true;
                found = true;
            }
            if !found {
                unchanged.push(name.clone());
            }
        }
        unchanged
    }

    /// 0 when nothing regressed, 1 on a regression (either metric) or a correctness difference.
    pub fn failed(&self) -> bool {
        self.regressions() > 0
            || self.instruction_regressions() > 0
            || self.correctness_differences() > 0
    }
}

/// Why the two results' instruction counts cannot be judged against each other, when both
/// carry counts and they cannot: counts made with another heap allocator or on another runtime
/// count another program's work.
pub fn instructions_incomparable(base: &RunResult, new: &RunResult) -> Option<String> {
    let (sb, sn) = (
        base.instructions_setup.as_ref()?,
        new.instructions_setup.as_ref()?,
    );
    let (ab, an) = (base.environment.allocator(), new.environment.allocator());
    if ab != an {
        return Some(format!(
            "instructions counted with different allocators: BASE {ab}, NEW {an}"
        ));
    }
    // The runtime's kind decides what is counted (one thread, or the hand-offs between
    // workers); its worker count is a setting like any other, whose effect the counts measure.
    let runtime = |s: &crate::results::measure::CountSetup| {
        s.runtime.clone().unwrap_or_else(|| "current-thread".into())
    };
    let kind = |r: &str| r.split(" (").next().unwrap_or(r).to_string();
    if kind(&runtime(sb)) != kind(&runtime(sn)) {
        return Some(format!(
            "instructions counted on different runtimes: BASE {}, NEW {}",
            runtime(sb),
            runtime(sn)
        ));
    }
    None
}

/// Refuses pairs that do not measure the same thing, naming what differs.
fn check_comparable(base: &RunResult, new: &RunResult) -> Result<()> {
    let bad = |m: String| Err(Error::Config(m));
    if let Some(why) = instructions_incomparable(base, new) {
        return bad(format!(
            "{why} (count both alike: LOGBENCH_ALLOCATOR, run --instr-runtime; or compare runs without --instructions)"
        ));
    }
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
    // Whole-line `--` comments do not change a query: a header line that an older parser kept
    // in the SQL (such as `-- instr-threshold:`) is no difference.
    let workload = |r: &RunResult| -> BTreeMap<String, String> {
        r.engines
            .iter()
            .flat_map(|e| &e.queries)
            .map(|q| {
                let sql: Vec<&str> = q
                    .sql
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("--"))
                    .collect();
                (q.name.clone(), sql.join("\n").trim().to_string())
            })
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
    /// Whether the ratios come from a gate's paired rounds (else from two plain runs).
    pub paired: bool,
}

impl Pending {
    /// The relative noise this query is judged with: `noise`; for plain runs widened by the
    /// drift, plus the absolute floor relative to BASE's median.
    pub fn noise(&self, o: &Options) -> f64 {
        match (self.paired, self.row.base_median_us) {
            (false, Some(b)) => {
                (1.0 + o.noise) * (1.0 + o.drift) - 1.0 + o.floor_us / (b.max(1) as f64)
            }
            _ => o.noise,
        }
    }
}

fn compare_query(
    engine: &str,
    b: &QueryResult,
    n: &QueryResult,
    o: &Options,
    seed: u64,
) -> Result<Pending> {
    let answer_changed = match (b.status, n.status) {
        // One engine on both sides: an answer moved within a query's stated tolerance (a
        // known divergence between engines) is still a change, the one a fix of it makes.
        (Status::Ok, Status::Ok) => {
            !crate::digest::answers_same(b.answer.as_ref(), n.answer.as_ref())
        }
        (Status::Ok, Status::Failed | Status::TimedOut) => true,
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
        answer_change_accepted: false,
        plan_changed,
        note: None,
        band: None,
        instructions: compare_instructions(b, n, o),
        suspects: profile_suspects(b, n),
    };
    let (Some(lb), Some(ln)) = (&b.latency, &n.latency) else {
        row.note = Some(match (b.status, n.status) {
            (Status::Ok, _) => format!(
                "{} in NEW: {}",
                n.status.label(),
                n.error.as_deref().unwrap_or("")
            ),
            (_, Status::Ok) => format!("{} in BASE", b.status.label()),
            (x, y) if x == y => format!("{} in both", x.label()),
            _ => format!("{} in BASE, {} in NEW", b.status.label(), n.status.label()),
        });
        return Ok(Pending {
            row,
            ratios: Vec::new(),
            paired: false,
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
    Ok(Pending {
        row,
        ratios,
        paired,
    })
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
            (!p.ratios.is_empty()).then(|| p_values(&p.ratios, p.noise(o), scale))
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
    let mut queries = Vec::new();
    for (p, adj) in pending.into_iter().zip(adjusted) {
        let upper = 1.0 + p.noise(o);
        let quiet = 1.0 + o.noise;
        let mut row = p.row;
        if let Some((ps, pf)) = adj {
            row.band = Some(upper);
            row.p_slower = Some(ps);
            row.p_faster = Some(pf);
            let (lo, hi) = (row.ci_low.unwrap_or(0.0), row.ci_high.unwrap_or(f64::MAX));
            row.verdict = if ps < alpha {
                Verdict::Slower
            } else if pf < alpha {
                Verdict::Faster
            } else if lo >= 1.0 / quiet && hi <= quiet {
                Verdict::NoChange
            } else if (lo > 1.0 || hi < 1.0) && lo >= 1.0 / upper && hi <= upper {
                Verdict::WithinDrift
            } else {
                Verdict::Inconclusive
            };
        }
        if row.verdict != Verdict::Slower {
            row.suspects.clear();
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
        instr_threshold: o.instr_threshold,
        floor_us: o.floor_us,
        drift: o.drift,
        base_patches: base.environment.engine_patches.clone(),
        new_patches: new.environment.engine_patches.clone(),
        queries,
    })
}
