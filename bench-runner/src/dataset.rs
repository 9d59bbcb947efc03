//! Checking a dataset against its manifest before measuring it.

use std::path::Path;

use data_gen::Manifest;
use data_gen::manifest::{MANIFEST_FILE, sha256_file};

use crate::error::{Error, Result};
use crate::results::DatasetInfo;

/// Verifies `dir` against its `manifest.json` (file list and sizes; SHA-256 of every file with
/// `digests`) and describes it for the result file.
pub fn verify(dir: &Path, digests: bool) -> Result<(Manifest, DatasetInfo)> {
    let manifest_path = dir.join(MANIFEST_FILE);
    if !manifest_path.is_file() {
        return Err(Error::Dataset(format!(
            "{} has no {MANIFEST_FILE}: generate it with data-gen (or point --data at one)",
            dir.display()
        )));
    }
    let manifest = Manifest::read(dir).map_err(|e| Error::Dataset(e.to_string()))?;
    manifest
        .verify(dir, digests)
        .map_err(|e| Error::Dataset(format!("does not match its manifest: {e}")))?;
    // Each file's own footer must hold the rows the manifest lists for it.
    for f in &manifest.files {
        use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
        let path = dir.join(&f.name);
        let file = std::fs::File::open(&path)
            .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        let rows = SerializedFileReader::new(file)
            .map_err(|e| {
                Error::Dataset(format!("{} is not readable Parquet: {e}", path.display()))
            })?
            .metadata()
            .file_metadata()
            .num_rows();
        if rows as u64 != f.rows {
            return Err(Error::Dataset(format!(
                "does not match its manifest: {} holds {rows} rows, the manifest says {}",
                f.name, f.rows
            )));
        }
    }
    let abs = dir
        .canonicalize()
        .map_err(|e| Error::io(format!("dataset {}", dir.display()), e))?;
    let info = DatasetInfo {
        path: abs.display().to_string(),
        manifest_sha256: sha256_file(&manifest_path).map_err(|e| Error::Dataset(e.to_string()))?,
        rows: manifest.rows,
        files: manifest.file_count,
        total_bytes: manifest.total_bytes,
        seed: manifest.seed,
        generator_version: format!(
            "{} {} (data v{})",
            manifest.generator.name, manifest.generator.version, manifest.generator.data_version
        ),
        parquet: manifest.parquet.clone(),
        digests_verified: digests,
    };
    Ok((manifest, info))
}

/// Counts `table` on `engine` and checks it against the manifest: a path an engine (or a
/// cluster's executors) cannot read has produced silently empty scans elsewhere, so a
/// difference is an error, never an empty answer.
pub async fn check_rows(
    engine: &dyn crate::engine::Engine,
    table: &str,
    dataset: &DatasetInfo,
) -> Result<u64> {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::Int64Type;
    let counted = engine
        .execute(&format!("SELECT COUNT(*) FROM {table}"))
        .await
        .map_err(|e| {
            Error::Dataset(format!(
                "{} cannot count {}: {e}",
                engine.name(),
                dataset.path
            ))
        })?;
    let _ = engine.take_job();
    let rows = counted
        .first()
        .filter(|b| b.num_rows() > 0)
        .and_then(|b| {
            b.column(0)
                .as_primitive_opt::<Int64Type>()
                .map(|a| a.value(0) as u64)
        })
        .unwrap_or(0);
    if rows != dataset.rows {
        return Err(Error::Dataset(format!(
            "{} sees {rows} rows in {} but the manifest says {}",
            engine.name(),
            dataset.path,
            dataset.rows
        )));
    }
    Ok(rows)
}
