//! Checking a dataset against its manifest before measuring it, in a directory or under an
//! object-store prefix, and copying a dataset to an object store.

use std::path::Path;
use std::sync::Arc;

use data_gen::Manifest;
use data_gen::manifest::{MANIFEST_FILE, sha256_file};
use futures::StreamExt;
use object_store::buffered::BufWriter;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use url::Url;

use crate::error::{Error, Result};
use crate::results::DatasetInfo;
use crate::store::{self, DataLocation};

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
    let info = describe(
        &manifest,
        abs.display().to_string(),
        sha256_file(&manifest_path).map_err(|e| Error::Dataset(e.to_string()))?,
        digests,
    );
    Ok((manifest, info))
}

/// The result file's description of a verified dataset.
fn describe(
    manifest: &Manifest,
    path: String,
    manifest_sha256: String,
    digests: bool,
) -> DatasetInfo {
    DatasetInfo {
        path,
        manifest_sha256,
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
    }
}

/// [`verify`] for a directory, [`verify_s3`] for an object-store prefix.
pub async fn verify_location(
    location: &DataLocation,
    digests: bool,
) -> Result<(Manifest, DatasetInfo)> {
    match location {
        DataLocation::Dir(dir) => verify(dir, digests),
        DataLocation::S3(url) => verify_s3(url, digests).await,
    }
}

/// `e`'s message on one line: object stores answer with multi-line XML, and engine errors
/// carry theirs.
fn one_line(e: impl std::fmt::Display) -> String {
    logbench_common::cli::single_line(&e.to_string())
}

/// An object-store failure, on one line.
fn store_error(url: &Url, e: impl std::fmt::Display) -> Error {
    Error::Dataset(format!("{url}: {}", one_line(e)))
}

/// Reads `url`'s manifest: `None` when there is none.
async fn read_remote_manifest(
    store: &Arc<dyn ObjectStore>,
    prefix: &ObjectPath,
    url: &Url,
) -> Result<Option<(Manifest, Vec<u8>)>> {
    let bytes = match store.get(&prefix.clone().join(MANIFEST_FILE)).await {
        Ok(r) => r.bytes().await.map_err(|e| store_error(url, e))?,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(store_error(url, e)),
    };
    let text = std::str::from_utf8(&bytes)
        .map_err(|e| store_error(url, format!("{MANIFEST_FILE} is not UTF-8: {e}")))?;
    let manifest = Manifest::from_json(text, &format!("{url}{MANIFEST_FILE}"))
        .map_err(|e| Error::Dataset(e.to_string()))?;
    Ok(Some((manifest, bytes.to_vec())))
}

/// The `*.parquet` objects directly under `prefix`, with their sizes.
async fn list_parquet(
    store: &Arc<dyn ObjectStore>,
    prefix: &ObjectPath,
    url: &Url,
) -> Result<Vec<(String, u64)>> {
    let root = (!prefix.as_ref().is_empty()).then_some(prefix);
    let listed = store
        .list_with_delimiter(root)
        .await
        .map_err(|e| store_error(url, e))?;
    Ok(listed
        .objects
        .into_iter()
        .filter_map(|o| {
            let name = o.location.filename()?.to_string();
            name.ends_with(".parquet").then_some((name, o.size))
        })
        .collect())
}

/// Verifies the dataset under an object-store prefix against its `manifest.json`: the same
/// Parquet objects with the same sizes (and, with `digests`, SHA-256 of each, read in full).
/// Row counts are checked by every engine through [`check_rows`].
pub async fn verify_s3(url: &Url, digests: bool) -> Result<(Manifest, DatasetInfo)> {
    let (store, prefix) = store::open(url).map_err(|e| store_error(url, e))?;
    let Some((manifest, bytes)) = read_remote_manifest(&store, &prefix, url).await? else {
        return Err(Error::Dataset(format!(
            "{url} has no {MANIFEST_FILE}: upload a dataset there with `bench-runner upload`"
        )));
    };
    let present = list_parquet(&store, &prefix, url).await?;
    manifest
        .verify_listing(url.as_str(), &present)
        .map_err(|e| Error::Dataset(format!("does not match its manifest: {e}")))?;
    if digests {
        for f in &manifest.files {
            let mut stream = store
                .get(&prefix.clone().join(f.name.as_str()))
                .await
                .map_err(|e| store_error(url, e))?
                .into_stream();
            let mut hasher = Sha256::new();
            while let Some(chunk) = stream.next().await {
                hasher.update(chunk.map_err(|e| store_error(url, e))?);
            }
            manifest
                .check_digest(url.as_str(), &f.name, &hex::encode(hasher.finalize()))
                .map_err(|e| Error::Dataset(format!("does not match its manifest: {e}")))?;
        }
    }
    let sha = hex::encode(Sha256::digest(&bytes));
    let info = describe(&manifest, url.to_string(), sha, digests);
    Ok((manifest, info))
}

/// What [`upload`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    /// Files written (0 when the same dataset was already there).
    pub files: usize,
    pub bytes: u64,
    /// Stale `*.parquet` objects removed from the prefix.
    pub removed: Vec<String>,
}

/// Copies the dataset in `dir` (verified against its manifest first) to the prefix `url`.
/// Nothing is copied when a dataset with the same manifest is already there. Otherwise the
/// remote manifest is deleted first and written last, so the prefix never passes [`verify_s3`]
/// half-written; Parquet objects the manifest does not list are removed (the table would
/// read them).
pub async fn upload(dir: &Path, url: &Url) -> Result<Uploaded> {
    let (manifest, local) = verify(dir, false)?;
    let manifest_bytes = std::fs::read(dir.join(MANIFEST_FILE))
        .map_err(|e| Error::io(format!("reading {}", dir.display()), e))?;
    let (store, prefix) = store::open(url).map_err(|e| store_error(url, e))?;
    if let Ok((_, remote)) = verify_s3(url, false).await
        && remote.manifest_sha256 == local.manifest_sha256
    {
        return Ok(Uploaded {
            files: 0,
            bytes: 0,
            removed: Vec::new(),
        });
    }
    match store.delete(&prefix.clone().join(MANIFEST_FILE)).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
        Err(e) => return Err(store_error(url, e)),
    }
    let mut bytes = 0;
    for f in &manifest.files {
        let path = dir.join(&f.name);
        let mut file = tokio::fs::File::open(&path)
            .await
            .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        let mut writer = BufWriter::new(store.clone(), prefix.clone().join(f.name.as_str()));
        bytes += tokio::io::copy(&mut file, &mut writer)
            .await
            .map_err(|e| store_error(url, format!("uploading {}: {e}", f.name)))?;
        writer
            .shutdown()
            .await
            .map_err(|e| store_error(url, format!("uploading {}: {e}", f.name)))?;
    }
    let mut removed = Vec::new();
    for (name, _) in list_parquet(&store, &prefix, url).await? {
        if !manifest.files.iter().any(|f| f.name == name) {
            store
                .delete(&prefix.clone().join(name.as_str()))
                .await
                .map_err(|e| store_error(url, e))?;
            removed.push(name);
        }
    }
    store
        .put(&prefix.clone().join(MANIFEST_FILE), manifest_bytes.into())
        .await
        .map_err(|e| store_error(url, e))?;
    Ok(Uploaded {
        files: manifest.files.len(),
        bytes,
        removed,
    })
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
                "{} cannot count {}: {}",
                engine.name(),
                dataset.path,
                one_line(e)
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

/// A dataset of `rows` rows in `files` files at `dir`, data-gen's defaults otherwise: reused
/// when data-gen's own rule ([`data_gen::reusable`]) says it is that dataset, generated (in
/// process, with data-gen's library) otherwise.
pub fn ensure_dataset(dir: &Path, rows: u64, files: u64, log: &mut dyn FnMut(&str)) -> Result<()> {
    let mut req = data_gen::Request::new(dir, rows, files);
    match data_gen::reusable(&req) {
        Ok(_) => {
            log(&format!("dataset {}: {rows} rows, reused", dir.display()));
            return Ok(());
        }
        Err(why) => log(&format!(
            "dataset {}: generating {rows} rows in {files} files ({why})",
            dir.display()
        )),
    }
    req.force = true;
    data_gen::generate(&req, &mut |_| {}).map_err(|e| Error::Dataset(e.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dataset_of_another_seed_is_generated_again_and_the_same_one_reused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("d");
        let mut other = data_gen::Request::new(&dir, 2_000, 2);
        other.seed = 7;
        data_gen::generate(&other, &mut |_| {}).unwrap();
        let mut said = Vec::new();
        ensure_dataset(&dir, 2_000, 2, &mut |l| said.push(l.to_string())).unwrap();
        assert!(
            said[0].contains("generating") && said[0].contains("seed 7"),
            "{said:?}"
        );
        assert_eq!(
            data_gen::Manifest::read(&dir).unwrap().seed,
            data_gen::DEFAULT_SEED
        );
        said.clear();
        ensure_dataset(&dir, 2_000, 2, &mut |l| said.push(l.to_string())).unwrap();
        assert!(said[0].ends_with("reused"), "{said:?}");
    }
}
