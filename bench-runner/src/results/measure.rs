//! What one query's measurement records: the answer's digest, the latency summary, the
//! resources used, how sampling ended, instruction counts and the CPU profile. Plain data of
//! the result file; the code that measures them lives in the modules named beside each type.

use serde::{Deserialize, Serialize};

/// The digest of one answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerDigest {
    pub rows: u64,
    /// 32 hex digits: the wrapping sum then the XOR of the row hashes.
    pub digest: String,
    /// 16 hex digits: the row hashes chained in answer order; only for a query that fixes its
    /// order (outermost `ORDER BY`), and only when every run gave the same order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ordered: Option<String>,
    /// Only for a query with a `-- tolerance:` header (a known divergence between engines in
    /// one column): the answer without that column, and that column's values, so that two
    /// answers can agree within the stated bound there and exactly everywhere else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerant: Option<TolerantAnswer>,
}

/// One answer's column of known divergence, kept by value beside the rest's digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TolerantAnswer {
    /// The column's name.
    pub column: String,
    /// Two values agree when |a - b| <= relative * max(1, |a|, |b|).
    pub relative: f64,
    /// The digest of the other columns (as `digest`) and their in-order chain.
    pub rest: String,
    /// Per row, in answer order: the 16-hex-digit hash of the other columns and the value
    /// (null as `None`).
    pub values: Vec<(String, Option<f64>)>,
}

/// What a result file keeps of one query's measured iterations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub unit: String,
    pub count: u64,
    pub min: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    pub mean: f64,
    pub stddev: f64,
    /// The HdrHistogram, V2 + DEFLATE, base64.
    pub histogram: String,
}

/// Resources one query used over its measured iterations.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Resources {
    /// Wall time of the measured iterations together.
    pub wall_ms: f64,
    pub user_cpu_ms: f64,
    pub system_cpu_ms: f64,
    /// Peak RSS of the whole process while the query ran (cold run, warm-ups and iterations).
    pub peak_rss_bytes: Option<u64>,
    /// Bytes spilled to disk, from the `EXPLAIN ANALYZE` run's operator metrics.
    pub spilled_bytes: Option<u64>,
    /// Peak memory-pool reservation during the measured iterations.
    pub peak_memory_pool_bytes: Option<u64>,
}

/// Per query: the instructions each counted execution took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryInstructions {
    /// Median over the counted runs: instructions per execution.
    pub per_execution: u64,
    /// Every counted run, in order.
    pub runs: Vec<u64>,
    /// (max - min) / median over the runs, in parts per million.
    pub spread_ppm: u64,
}

/// How the counts were made: what makes them repeatable, recorded beside them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountSetup {
    /// `valgrind --version`.
    pub valgrind: String,
    pub options: Vec<String>,
    /// Counted runs per query (after one uncounted run).
    pub runs: u32,
    /// The tokio runtime the query was counted on: `multi-thread (N workers)` or
    /// `current-thread`; absent in files from before the choice, which counted on one thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    /// How many valgrind processes counted the queries at once (`run --instr-processes`),
    /// each its share; absent when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processes: Option<u32>,
    /// What the count covers and the conditions it ran under.
    pub conditions: Vec<String>,
}

/// The adaptive rule's settings, recorded in the result's arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Adaptive {
    /// Target half-width of the median's interval, in percent of the median.
    pub precision_pct: f64,
    pub min_iterations: u32,
    pub max_iterations: u32,
    /// Measured time per query after which no further run starts (once `min_iterations`
    /// have run).
    pub budget_seconds: f64,
}

/// Why measuring a query ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    /// `--iterations N`: the count asked for.
    Fixed,
    /// The median's 95 % interval is within the precision target.
    Precision,
    /// The time budget was spent first.
    Budget,
    /// The iteration cap was reached first.
    MaxIterations,
}

/// How a query's sampling ended, recorded per query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub stop: Stop,
    /// The exact median of the measured runs (µs; the mean of the middle two for an even count).
    pub median_us: f64,
    /// The distribution-free interval of the median (µs).
    pub interval_us: [u64; 2],
    /// Its coverage: 0.95 or a little above from six runs on, less below.
    pub confidence: f64,
    /// The interval's larger distance from the median, in percent of the median.
    pub half_width_pct: f64,
}

/// One query's profile, as the result file records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryProfile {
    pub frequency_hz: u32,
    /// Wall time of each profiled run, in order.
    pub runs_us: Vec<u64>,
    /// Median profiled run against the median measured run, minus one, in percent: what
    /// profiling cost this query (positive: slower).
    pub overhead_pct: Option<f64>,
    /// One entry per profiled process.
    pub processes: Vec<ProcessProfile>,
    /// The frames with the most self time over all processes, most first.
    pub hottest: Vec<HotFrame>,
    /// Why there is no profile (the query's measurement stands).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessProfile {
    /// `bench-runner`, or the executor's id.
    pub process: String,
    pub samples: u64,
    /// Folded stacks, relative to the result file's folder.
    pub folded: String,
    /// Flamegraph SVG, relative to the result file's folder (none without samples).
    pub flamegraph: Option<String>,
    /// CPU time the process used while its window was open, all threads (ms); absent where
    /// it was not reported. `samples / cpu` is the sampling rate reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_ms: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HotFrame {
    pub frame: String,
    /// Share of all samples with this frame running itself, in percent.
    pub self_pct: f64,
    /// Share of all samples with this frame on the stack, in percent.
    pub total_pct: f64,
}
