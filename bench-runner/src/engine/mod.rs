//! The engine abstraction: what both DataFusion and Ballista provide to the measurement loop.
//!
//! Everything else (iterations, timing, histograms, digests, resources) lives once, in
//! [`crate::runner`], above this trait.

pub mod datafusion;

use std::collections::BTreeMap;
use std::path::Path;

use ::datafusion::arrow::array::RecordBatch;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::plans::{Analysis, Plans};

/// An engine's effective configuration, recorded in every result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineConfig {
    pub name: String,
    pub target_partitions: usize,
    /// Memory-pool limit in bytes; `None` is unbounded.
    pub memory_limit: Option<u64>,
    /// Every `datafusion.*` setting whose value differs from DataFusion's own default, with
    /// that default: what makes this engine's run different from a stock `SessionContext`.
    pub changed_settings: BTreeMap<String, ChangedSetting>,
    /// Settings applied with `--set`, as given.
    pub requested_settings: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedSetting {
    pub value: Option<String>,
    pub default: Option<String>,
}

#[async_trait]
pub trait Engine: Send + Sync {
    fn name(&self) -> &str;

    /// Registers the Parquet files in `dir` as table `table`.
    async fn register(&self, table: &str, dir: &Path) -> Result<()>;

    /// Plans and runs `sql` to completion: the measured operation.
    async fn execute(&self, sql: &str) -> Result<Vec<RecordBatch>>;

    /// The logical, physical (and distributed) plans, without running the query.
    async fn explain(&self, sql: &str) -> Result<Plans>;

    /// Runs `sql` once and returns the plan annotated with per-operator metrics.
    async fn analyze(&self, sql: &str) -> Result<Analysis>;

    fn config(&self) -> EngineConfig;

    /// Peak memory-pool reservation since the last reset, where the engine can see it.
    fn memory_peak(&self) -> Option<u64> {
        None
    }

    fn reset_memory_peak(&self) {}
}

/// Settings of `entries` that differ from `defaults`.
pub fn changed_settings(
    entries: Vec<(String, Option<String>)>,
    defaults: Vec<(String, Option<String>)>,
) -> BTreeMap<String, ChangedSetting> {
    let defaults: BTreeMap<String, Option<String>> = defaults.into_iter().collect();
    entries
        .into_iter()
        .filter_map(|(k, v)| {
            let d = defaults.get(&k).cloned().flatten();
            (v != d).then_some((
                k,
                ChangedSetting {
                    value: v,
                    default: d,
                },
            ))
        })
        .collect()
}

/// Parses `key=value` settings; a missing `=` is an error naming the setting.
pub fn parse_settings(raw: &[String]) -> Result<Vec<(String, String)>> {
    raw.iter()
        .map(|s| {
            s.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .filter(|(k, _)| !k.is_empty())
                .ok_or_else(|| {
                    crate::error::Error::Config(format!("--set '{s}' is not of the form key=value"))
                })
        })
        .collect()
}
