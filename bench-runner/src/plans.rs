//! Plans as recorded in results: text, a normalised fingerprint, per-operator metrics.

use std::collections::BTreeMap;
use std::sync::LazyLock;

pub use crate::results::engine::{Analysis, OperatorMetrics, Plans};
use regex::Regex;
use sha2::{Digest, Sha256};

impl OperatorMetrics {
    /// One operator's entry from its metrics (`None`: the operator keeps none).
    pub fn from_set(
        depth: usize,
        operator: &str,
        metrics: Option<&datafusion::physical_plan::metrics::MetricsSet>,
    ) -> Self {
        let metrics = metrics.map(|m| m.aggregate_by_name());
        let all: BTreeMap<String, String> = metrics
            .iter()
            .flat_map(|m| m.iter())
            .map(|m| (m.value().name().to_string(), m.value().to_string()))
            .collect();
        Self {
            depth,
            operator: operator.to_string(),
            output_rows: metrics
                .as_ref()
                .and_then(|m| m.output_rows())
                .map(|v| v as u64),
            elapsed_compute_ns: metrics
                .as_ref()
                .and_then(|m| m.elapsed_compute())
                .map(|v| v as u64),
            spilled_bytes: metrics
                .as_ref()
                .and_then(|m| m.spilled_bytes())
                .map(|v| v as u64),
            metrics: all,
        }
    }
}

impl Analysis {
    pub fn spilled_bytes(&self) -> u64 {
        self.operators.iter().filter_map(|o| o.spilled_bytes).sum()
    }
}

static FILE_GROUPS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"file_groups=\{(\d+) groups?: \[.*?\]\]\}").unwrap());
static FILES: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[^\s,\[\]\(\)\{\}]+\.parquet").unwrap());
static PATHS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:[A-Za-z][A-Za-z0-9+.-]*://)?/[^\s,\]\)\}]+").unwrap());
static RANGES: LazyLock<Regex> = LazyLock::new(|| Regex::new(r":\d+\.\.\d+").unwrap());
static ADDRESSES: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"0x[0-9a-fA-F]+").unwrap());
static METRICS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r",?\s*metrics=\[[^\]]*\]").unwrap());

/// The plan with file paths, byte ranges, memory addresses and metrics removed: what stays is
/// the operators, their order and their arguments.
pub fn normalize(plan: &str) -> String {
    let s = METRICS.replace_all(plan, "");
    let s = FILE_GROUPS.replace_all(&s, "file_groups={$1 groups}");
    let s = FILES.replace_all(&s, "<file>");
    let s = PATHS.replace_all(&s, "<path>");
    let s = RANGES.replace_all(&s, "");
    let s = ADDRESSES.replace_all(&s, "<addr>");
    s.lines().map(str::trim_end).collect::<Vec<_>>().join("\n")
}

pub fn fingerprint(plan: &str) -> String {
    let digest = Sha256::digest(normalize(plan).as_bytes());
    hex::encode(&digest[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_ignores_paths_ranges_addresses_and_metrics() {
        let a = "SortExec: expr=[a@0 ASC]\n  DataSourceExec: file_groups={2 groups: [[/data/a/part-00000.parquet:0..1000], [/data/a/part-00001.parquet:0..999]]}, projection=[a]\n  Foo(0x7ffd1234)";
        // DataFusion prints paths without their leading slash.
        let b = "SortExec: expr=[a@0 ASC], metrics=[output_rows=10, elapsed_compute=1ms]\n  DataSourceExec: file_groups={2 groups: [[mnt/other/part-00000.parquet:0..5, mnt/other/part-00001.parquet], [mnt/other/part-00001.parquet:0..7]]}, projection=[a]\n  Foo(0xdeadbeef)";
        assert_eq!(fingerprint(a), fingerprint(b));
        let c = a.replace("ASC", "DESC");
        assert_ne!(fingerprint(a), fingerprint(&c));
        let d = a.replace("2 groups", "3 groups");
        assert_ne!(
            fingerprint(a),
            fingerprint(&d),
            "partitioning is part of the plan"
        );
        assert_eq!(fingerprint(a).len(), 16);
    }
}
