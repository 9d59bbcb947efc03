//! The result file: one Rust type is the single source of truth for its JSON format. This
//! module and its two submodules are the ground floor: plain data that imports nothing from
//! measurement, so every other module can read and write results without a circle.
//!
//! `schema_version` is bumped on any change a reader could notice; `docs/results.md`
//! documents every field.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub mod engine;
pub mod measure;

pub use engine::{Analysis, EngineConfig, Environment, JobDetails, JobRun, Plans};
pub use measure::{AnswerDigest, LatencySummary, Resources};

/// 2: `answer.ordered`, per-query `instructions` and the run's `instructions_setup`.
/// 3: adaptive sampling (`arguments.iterations` null, `arguments.sampling`; per query
/// `sampling` and `samples_us`) and `complete`.
/// 4: status `timed_out` and per query `cancelled_job`; `arguments.timeout_seconds` is the
/// per-execution limit in force (300 by default; null only with `--timeout none`).
pub const SCHEMA_VERSION: u32 = 4;
/// The oldest version this build still reads (its fields are a subset of this one's).
pub const OLDEST_READABLE: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub schema_version: u32,
    pub run_id: String,
    pub started_at: String,
    pub finished_at: String,
    /// False while the run is still going, or when it ended before measuring every query:
    /// the file is rewritten after each query, and what it holds was measured.
    #[serde(default = "yes")]
    pub complete: bool,
    pub environment: Environment,
    pub dataset: DatasetInfo,
    pub arguments: Arguments,
    /// One entry per engine measured in this run.
    pub engines: Vec<EngineRun>,
    /// Queries whose answers differ between the engines of this run (`--engine a,b`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answer_mismatches: Vec<AnswerMismatch>,
    /// `run --instructions`: how the DataFusion engine's queries were counted under valgrind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions_setup: Option<measure::CountSetup>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetInfo {
    /// Absolute path the engines read.
    pub path: String,
    /// SHA-256 of `manifest.json`: names the data exactly.
    pub manifest_sha256: String,
    pub rows: u64,
    pub files: usize,
    pub total_bytes: u64,
    pub seed: u64,
    pub generator_version: String,
    /// The files' Parquet settings, as the manifest records them (codec, row-group size,
    /// per-column encodings, sort order).
    pub parquet: data_gen::ParquetSettings,
    /// Whether every file's SHA-256 was checked against the manifest before measuring.
    pub digests_verified: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Arguments {
    /// The command line as given.
    pub argv: Vec<String>,
    /// Measured runs per query with `--iterations N`; null when sampling was adaptive.
    pub iterations: Option<u32>,
    /// The adaptive rule's settings (`--iterations auto`, the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling: Option<measure::Adaptive>,
    pub warmup: u32,
    pub timeout_seconds: Option<f64>,
    pub queries_dir: String,
    pub selected_queries: Vec<String>,
    pub settings: Vec<String>,
    /// The engines asked for, in order (an incomplete run may hold fewer).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub engines: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineRun {
    pub engine: EngineConfig,
    /// `SELECT COUNT(*)` over the table, checked against the manifest before measuring.
    pub table_rows: u64,
    pub queries: Vec<QueryResult>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Failed,
    /// An execution ran past the run's per-execution time limit and was abandoned (its
    /// Ballista job cancelled: [`QueryResult::cancelled_job`]).
    TimedOut,
}

impl Status {
    /// As the summary, the report and `compare` write it.
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed => "failed",
            Status::TimedOut => "timed out",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryResult {
    pub name: String,
    pub category: String,
    pub intent: String,
    pub sql: String,
    pub status: Status,
    /// Why the query failed: bad SQL, an engine error, a timeout, or iterations disagreeing.
    pub error: Option<String>,
    /// The first run in this process, recorded apart from the measured iterations (µs).
    pub cold_us: Option<u64>,
    /// Warm-up runs made before measuring (not recorded).
    pub warmup_runs: u32,
    /// The measured iterations.
    pub latency: Option<LatencySummary>,
    /// Rows and order-insensitive digest of the answer (equal for every run that completed),
    /// and the in-order digest where the query fixes its order.
    pub answer: Option<AnswerDigest>,
    /// Digest of every completed run in order (cold, warm-ups, iterations), when they disagree.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disagreeing_digests: Vec<AnswerDigest>,
    pub plans: Option<Plans>,
    pub analysis: Option<Analysis>,
    pub resources: Resources,
    /// Distributed engines only: the job behind each measured iteration, and the last one in
    /// detail (stages, tasks per executor, shuffle bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distributed: Option<Distributed>,
    /// Results merged by `bench-runner gate`: each round's measured iterations (µs), in
    /// round order, so comparisons can resample whole rounds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rounds_us: Vec<Vec<u64>>,
    /// `run --instructions` (DataFusion): instructions per execution under callgrind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<measure::QueryInstructions>,
    /// How measuring ended: why, and the median's interval reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling: Option<measure::Outcome>,
    /// Every measured run's wall time (µs), in the order they ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub samples_us: Vec<u64>,
    /// `run --profile`: the query's CPU profile, taken in runs after the measured ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<measure::QueryProfile>,
    /// The Ballista job of an execution abandoned past its time limit or by an interruption,
    /// cancelled in the scheduler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_job: Option<String>,
    /// Why the answer's order went unchecked though the query fixes it: its runs returned
    /// tied rows in different orders (`ties`), so no in-order digest was recorded and the
    /// cross-engine check compared rows only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_not_checked: Option<String>,
}

/// [`QueryResult::order_not_checked`]'s value for ties.
pub const ORDER_TIES: &str = "ties";

impl QueryResult {
    /// `order: not checked, ties` where the query fixes its order but its runs did not
    /// agree on one; empty otherwise.
    pub fn order_note(&self) -> String {
        self.order_not_checked
            .as_deref()
            .map_or(String::new(), |why| format!("order: not checked, {why}"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Distributed {
    /// One per measured iteration, in order.
    pub jobs: Vec<JobRun>,
    pub details: Option<JobDetails>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details_error: Option<String>,
}

/// A query whose answer differs between engines of one run: a correctness failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerMismatch {
    pub query: String,
    /// Each engine's answer (rows and digest).
    pub answers: std::collections::BTreeMap<String, AnswerDigest>,
}

impl RunResult {
    /// Checks what a reader relies on: the version, and numbers that must agree.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Results(format!("run {}: {m}", self.run_id)));
        if !(OLDEST_READABLE..=SCHEMA_VERSION).contains(&self.schema_version) {
            return bad(format!(
                "schema_version {} (this build reads {OLDEST_READABLE} to {SCHEMA_VERSION})",
                self.schema_version
            ));
        }
        if self.engines.is_empty() {
            return bad("no engine runs".into());
        }
        for e in &self.engines {
            for q in &e.queries {
                match q.status {
                    Status::Ok => {
                        let Some(lat) = &q.latency else {
                            return bad(format!("{}: ok without latency", q.name));
                        };
                        if let Some(n) = self.arguments.iterations
                            && lat.count != u64::from(n)
                        {
                            return bad(format!(
                                "{}: {} iterations recorded, {n} requested",
                                q.name, lat.count
                            ));
                        }
                        if let Some(a) = &self.arguments.sampling
                            && !(u64::from(a.min_iterations)..=u64::from(a.max_iterations))
                                .contains(&lat.count)
                        {
                            return bad(format!(
                                "{}: {} iterations recorded, outside {}..={}",
                                q.name, lat.count, a.min_iterations, a.max_iterations
                            ));
                        }
                        if !q.samples_us.is_empty() && q.samples_us.len() as u64 != lat.count {
                            return bad(format!(
                                "{}: {} samples for {} iterations",
                                q.name,
                                q.samples_us.len(),
                                lat.count
                            ));
                        }
                        if !(lat.min <= lat.p50 && lat.p50 <= lat.p99 && lat.p99 <= lat.max) {
                            return bad(format!("{}: percentiles out of order", q.name));
                        }
                        if lat.histogram()?.len() != lat.count {
                            return bad(format!("{}: histogram does not hold the count", q.name));
                        }
                        if q.answer.is_none() {
                            return bad(format!("{}: ok without an answer digest", q.name));
                        }
                    }
                    Status::Failed | Status::TimedOut => {
                        if q.error.as_deref().is_none_or(str::is_empty) {
                            return bad(format!(
                                "{}: {} without an error",
                                q.name,
                                q.status.label()
                            ));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("results serialise");
        s.push('\n');
        s
    }

    /// Writes the file atomically (temporary name, sync, rename), creating its directory.
    pub fn write(&self, path: &Path) -> Result<()> {
        write_file(path, self.to_json().as_bytes())
    }

    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        let r: RunResult = serde_json::from_str(&text)
            .map_err(|e| Error::Results(format!("{}: {e}", path.display())))?;
        Ok(r)
    }

    /// Whether any query failed in any engine, or engines disagree on an answer.
    pub fn any_failed(&self) -> bool {
        !self.answer_mismatches.is_empty()
            || self
                .engines
                .iter()
                .flat_map(|e| &e.queries)
                .any(|q| q.status != Status::Ok)
    }

    /// What keeps the run from being clean, one phrase each: incomplete, other engines than
    /// `engines` (in order; empty: any), engines that ran different queries, a query that did
    /// not succeed, an answer that differs between engines. Empty when clean.
    pub fn problems(&self, engines: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        if !self.complete {
            out.push("the run is incomplete (complete: false)".to_string());
        }
        let names: Vec<&str> = self
            .engines
            .iter()
            .map(|e| e.engine.name.as_str())
            .collect();
        if !engines.is_empty() && names != engines {
            out.push(format!("engines {names:?}, expected {engines:?}"));
        }
        let lists: std::collections::BTreeSet<Vec<&str>> = self
            .engines
            .iter()
            .map(|e| e.queries.iter().map(|q| q.name.as_str()).collect())
            .collect();
        if lists.len() > 1 {
            out.push("the engines ran different queries".to_string());
        }
        for e in &self.engines {
            for q in e.queries.iter().filter(|q| q.status != Status::Ok) {
                out.push(format!(
                    "{}/{} {}: {}",
                    e.engine.name,
                    q.name,
                    q.status.label(),
                    q.error.as_deref().unwrap_or("no error recorded")
                ));
            }
        }
        for m in &self.answer_mismatches {
            out.push(format!("{}: answers differ between engines", m.query));
        }
        out
    }

    /// Compares every query's answer across the engines that completed it: the rows, and their
    /// order where the query fixes it and both engines recorded it.
    pub fn cross_check(engines: &[EngineRun]) -> Vec<AnswerMismatch> {
        let mut out = Vec::new();
        let Some(first) = engines.first() else {
            return out;
        };
        for q in &first.queries {
            let answers: std::collections::BTreeMap<String, AnswerDigest> = engines
                .iter()
                .filter_map(|e| {
                    e.queries
                        .iter()
                        .find(|x| x.name == q.name && x.status == Status::Ok)
                        .and_then(|x| x.answer.clone())
                        .map(|a| (e.engine.name.clone(), a))
                })
                .collect();
            let all: Vec<&AnswerDigest> = answers.values().collect();
            if all.iter().any(|a| all.iter().any(|b| !a.agrees(b))) {
                out.push(AnswerMismatch {
                    query: q.name.clone(),
                    answers,
                });
            }
        }
        out
    }
}

/// `results/local/<run id>.json`: where a run goes unless `--out` says otherwise.
/// Writes a result file atomically (temporary name, sync, rename), creating its directory.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| Error::io(format!("creating {}", parent.display()), e))?;
    }
    logbench_common::atomic::write_atomically(path, bytes)
        .map_err(|e| Error::Results(e.to_string()))
}

pub fn default_path(run_id: &str) -> PathBuf {
    PathBuf::from("results/local").join(format!("{run_id}.json"))
}
/// The newest result file under `dir` (by modification time, searching subdirectories), skipping
/// the gate's files (`ci/`) and rendered reports (`report/`).
pub fn newest(dir: &Path) -> Option<PathBuf> {
    let mut best: Option<(std::time::SystemTime, PathBuf)> = None;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).ok()?.flatten() {
            let p = e.path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n != "ci" && n != "report") {
                    stack.push(p);
                }
            } else if p.extension().is_some_and(|x| x == "json")
                && let Ok(m) = e.metadata().and_then(|m| m.modified())
                && best.as_ref().is_none_or(|(t, _)| m > *t)
                && RunResult::read(&p).is_ok()
            {
                best = Some((m, p));
            }
        }
    }
    best.map(|(_, p)| p)
}
