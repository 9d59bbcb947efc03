//! `manifest.json`: what a dataset is, so a reader can verify it before measuring it.
//!
//! The manifest is deterministic (no wall-clock time, no thread count): two runs with the same
//! rows, files, seed and settings write byte-identical manifests, so its SHA-256 names the data.

use std::io::Read;
use std::path::Path;

use logbench_common::atomic::write_atomically;
use logbench_common::time::rfc3339_micros;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::encoding::ParquetSettings;
use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::pipeline::WrittenFile;
use crate::schema;

pub const MANIFEST_FILE: &str = "manifest.json";
pub const MANIFEST_VERSION: u32 = 1;
/// Bumped whenever the same `(rows, files, seed)` would produce different data.
pub const DATA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub manifest_version: u32,
    pub generator: GeneratorInfo,
    pub seed: u64,
    pub rows: u64,
    pub file_count: usize,
    pub schema: Vec<ColumnSpec>,
    pub time_window: TimeWindow,
    pub parquet: ParquetSettings,
    pub total_bytes: u64,
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeneratorInfo {
    pub name: String,
    pub version: String,
    /// Version of the data model: same inputs and same `data_version` give the same rows.
    pub data_version: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnSpec {
    pub name: String,
    pub arrow_type: String,
    pub nullable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeWindow {
    pub start: String,
    pub end: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub name: String,
    pub rows: u64,
    /// Global index of the file's first row.
    pub first_row: u64,
    pub row_groups: u64,
    pub bytes: u64,
    pub sha256: String,
    pub ts_min_us: i64,
    pub ts_max_us: i64,
    pub ts_min: String,
    pub ts_max: String,
}

impl Manifest {
    pub fn new(
        seed: u64,
        layout: &Layout,
        parquet: ParquetSettings,
        written: &[WrittenFile],
    ) -> Self {
        let files: Vec<FileEntry> = written
            .iter()
            .map(|w| FileEntry {
                name: Layout::file_name(w.index),
                rows: w.rows,
                first_row: layout.file_start(w.index),
                row_groups: w.rows.div_ceil(layout.row_group_rows()),
                bytes: w.bytes,
                sha256: w.sha256.clone(),
                ts_min_us: w.ts_min,
                ts_max_us: w.ts_max,
                ts_min: rfc3339_micros(w.ts_min),
                ts_max: rfc3339_micros(w.ts_max),
            })
            .collect();
        Self {
            manifest_version: MANIFEST_VERSION,
            generator: GeneratorInfo {
                name: "logbench data-gen".into(),
                version: env!("CARGO_PKG_VERSION").into(),
                data_version: DATA_VERSION,
            },
            seed,
            rows: layout.rows(),
            file_count: layout.files(),
            schema: schema::schema()
                .fields()
                .iter()
                .map(|f| ColumnSpec {
                    name: f.name().clone(),
                    arrow_type: f.data_type().to_string(),
                    nullable: f.is_nullable(),
                })
                .collect(),
            time_window: TimeWindow {
                start: rfc3339_micros(schema::WINDOW_START_US),
                end: rfc3339_micros(schema::WINDOW_END_US),
            },
            parquet,
            total_bytes: files.iter().map(|f| f.bytes).sum(),
            files,
        }
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("manifest serialises");
        s.push('\n');
        s
    }

    /// Writes `dir/manifest.json` atomically (temporary name, sync, rename).
    pub fn write(&self, dir: &Path) -> Result<()> {
        write_atomically(&dir.join(MANIFEST_FILE), self.to_json().as_bytes()).map_err(Error::File)
    }

    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        Self::from_json(&text, &path.display().to_string())
    }

    /// Parses a manifest read from `origin` (a path or URL, for the error message).
    pub fn from_json(text: &str, origin: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| Error::Manifest(format!("{origin}: {e}")))
    }

    /// Checks that `dir` holds exactly the manifest's files with their sizes (and, with
    /// `digests`, their SHA-256). Returns the first mismatch as an error.
    pub fn verify(&self, dir: &Path, digests: bool) -> Result<()> {
        let mut present = Vec::new();
        for name in parquet_files(dir)? {
            let path = dir.join(&name);
            let len = std::fs::metadata(&path)
                .map_err(|e| Error::io(format!("reading {}", path.display()), e))?
                .len();
            present.push((name, len));
        }
        let place = dir.display().to_string();
        self.verify_listing(&place, &present)?;
        if digests {
            for f in &self.files {
                self.check_digest(&place, &f.name, &sha256_file(&dir.join(&f.name))?)?;
            }
        }
        Ok(())
    }

    /// Checks a listing of the `*.parquet` files at `place` (name and size of each; a
    /// directory or an object-store prefix) against the manifest: the same names, the same
    /// sizes, and file entries that add up to the manifest's totals.
    pub fn verify_listing(&self, place: &str, present: &[(String, u64)]) -> Result<()> {
        let mismatch = |m: String| Err(Error::Manifest(format!("{place}: {m}")));
        if self.files.len() != self.file_count {
            return mismatch(format!(
                "lists {} files but file_count is {}",
                self.files.len(),
                self.file_count
            ));
        }
        let listed: u64 = self.files.iter().map(|f| f.rows).sum();
        if listed != self.rows {
            return mismatch(format!("file rows add up to {listed}, not {}", self.rows));
        }
        let mut found: Vec<&str> = present.iter().map(|(n, _)| n.as_str()).collect();
        found.sort_unstable();
        let mut expected: Vec<&str> = self.files.iter().map(|f| f.name.as_str()).collect();
        expected.sort_unstable();
        if found != expected {
            let extra: Vec<_> = found.iter().filter(|n| !expected.contains(n)).collect();
            let missing: Vec<_> = expected.iter().filter(|n| !found.contains(n)).collect();
            return mismatch(format!(
                "files differ from the manifest (missing: {missing:?}, unexpected: {extra:?})"
            ));
        }
        for f in &self.files {
            let len = present
                .iter()
                .find(|(n, _)| *n == f.name)
                .map_or(0, |(_, l)| *l);
            if len != f.bytes {
                return mismatch(format!(
                    "{} has {len} bytes, manifest says {}",
                    f.name, f.bytes
                ));
            }
        }
        Ok(())
    }

    /// Checks one file's SHA-256 (`got`, lower-case hex) against the manifest.
    pub fn check_digest(&self, place: &str, name: &str, got: &str) -> Result<()> {
        match self.files.iter().find(|f| f.name == name) {
            Some(f) if f.sha256 == got => Ok(()),
            Some(f) => Err(Error::Manifest(format!(
                "{place}: {name} has SHA-256 {got}, manifest says {}",
                f.sha256
            ))),
            None => Err(Error::Manifest(format!(
                "{place}: {name} is not in the manifest"
            ))),
        }
    }
}

/// Names of the `*.parquet` files directly in `dir`.
pub fn parquet_files(dir: &Path) -> Result<Vec<String>> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".parquet") {
            out.push(name);
        }
    }
    Ok(out)
}

pub fn sha256_file(path: &Path) -> Result<String> {
    let ctx = || format!("reading {}", path.display());
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(ctx(), e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::io(ctx(), e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}
