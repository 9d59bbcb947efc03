//! The generator's front: check the request, write the files, write the manifest last.

use std::path::{Path, PathBuf};
use std::time::Instant;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;

use crate::batch::BatchGenerator;
use crate::encoding::{Codec, DEFAULT_BATCH_ROWS, DEFAULT_ROW_GROUP_ROWS, ParquetSettings};
use crate::error::{Error, Result};
use crate::layout::{Layout, Unit};
use crate::manifest::{MANIFEST_FILE, Manifest};
use crate::pipeline::{BatchSource, WrittenFile, write_files};
use crate::sink::TMP_SUFFIX;

/// The seed used when none is given.
pub const DEFAULT_SEED: u64 = 20_260_101;

/// Everything one generation run needs.
#[derive(Debug, Clone)]
pub struct Request {
    pub out: PathBuf,
    pub rows: u64,
    pub files: u64,
    pub seed: u64,
    pub threads: usize,
    pub compression: Codec,
    pub row_group_rows: u64,
    pub batch_rows: usize,
    /// Replace an existing dataset in `out`.
    pub force: bool,
}

impl Request {
    pub fn new(out: impl Into<PathBuf>, rows: u64, files: u64) -> Self {
        Self {
            out: out.into(),
            rows,
            files,
            seed: DEFAULT_SEED,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            compression: Codec::Zstd,
            row_group_rows: DEFAULT_ROW_GROUP_ROWS,
            batch_rows: DEFAULT_BATCH_ROWS,
            force: false,
        }
    }

    pub fn layout(&self) -> Result<Layout> {
        Layout::new(self.rows, self.files, self.row_group_rows)
    }

    pub fn settings(&self) -> ParquetSettings {
        ParquetSettings::new(self.compression, self.row_group_rows, self.batch_rows)
    }
}

/// The dataset in `req.out` when it is the one `req` asks for (rows, files, seed, codec,
/// row-group size, data version, and files that match the manifest), or why not. The one
/// rule for reusing a dataset: `data-gen --reuse` and the gate both apply it.
pub fn reusable(req: &Request) -> std::result::Result<Manifest, String> {
    if !req.out.join(MANIFEST_FILE).is_file() {
        return Err("no dataset there yet".into());
    }
    let m = Manifest::read(&req.out).map_err(|e| e.to_string())?;
    let differs = |what: &str, have: String, want: String| {
        Err(format!("the dataset there has {what} {have}, not {want}"))
    };
    if m.rows != req.rows {
        return differs("rows", m.rows.to_string(), req.rows.to_string());
    }
    if m.file_count as u64 != req.files {
        return differs("files", m.file_count.to_string(), req.files.to_string());
    }
    if m.seed != req.seed {
        return differs("seed", m.seed.to_string(), req.seed.to_string());
    }
    if m.parquet.compression != req.compression {
        return differs(
            "codec",
            format!("{:?}", m.parquet.compression),
            format!("{:?}", req.compression),
        );
    }
    if m.parquet.row_group_rows != req.row_group_rows {
        return differs(
            "row groups of",
            m.parquet.row_group_rows.to_string(),
            req.row_group_rows.to_string(),
        );
    }
    if m.generator.data_version != crate::manifest::DATA_VERSION {
        return differs(
            "data version",
            m.generator.data_version.to_string(),
            crate::manifest::DATA_VERSION.to_string(),
        );
    }
    m.verify(&req.out, false).map_err(|e| e.to_string())?;
    Ok(m)
}

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct Summary {
    pub manifest: Manifest,
    pub seconds: f64,
}

impl Summary {
    pub fn rows_per_second(&self) -> f64 {
        self.manifest.rows as f64 / self.seconds
    }
}

impl BatchSource for BatchGenerator {
    fn schema(&self) -> SchemaRef {
        BatchGenerator::schema(self)
    }

    fn batches(&self, unit: &Unit, sink: &mut dyn FnMut(RecordBatch) -> Result<()>) -> Result<()> {
        let step = self.batch_rows() as u64;
        let mut start = unit.start;
        let end = unit.start + unit.rows;
        while start < end {
            let len = step.min(end - start);
            sink(self.batch(start, len as usize))?;
            start += len;
        }
        Ok(())
    }
}

/// Validates the request and prepares `out`; nothing is written or removed unless all checks pass.
pub fn preflight(req: &Request) -> Result<Layout> {
    let layout = req.layout()?;
    if req.threads == 0 {
        return Err(Error::InvalidArgument(
            "--threads must be at least 1".into(),
        ));
    }
    if req.batch_rows == 0 {
        return Err(Error::InvalidArgument(
            "batch rows must be at least 1".into(),
        ));
    }
    let out = &req.out;
    if out.exists() && !out.is_dir() {
        return Err(Error::InvalidArgument(format!(
            "--out {} exists and is not a directory",
            out.display()
        )));
    }
    if out.is_dir() {
        let mut entries = std::fs::read_dir(out).map_err(|e| Error::OutputNotWritable {
            path: out.clone(),
            source: e,
        })?;
        if entries.next().is_some() && !req.force {
            return Err(Error::OutputNotEmpty(out.clone()));
        }
    }
    // Free space first, on the nearest folder that exists, so a refusal creates nothing.
    let existing = out
        .ancestors()
        .find(|a| !a.as_os_str().is_empty() && a.is_dir())
        .unwrap_or(Path::new("."));
    let needed = estimated_bytes(req.rows, req.compression);
    let available = available_bytes(existing)?;
    // Files being replaced free their space as they are overwritten.
    let reclaimable = if req.force {
        existing_dataset_bytes(out)
    } else {
        0
    };
    if needed > available + reclaimable {
        return Err(Error::InsufficientSpace {
            path: out.clone(),
            needed,
            available,
        });
    }
    // The first folder of the chain that is not there yet: removed again if `out` turns out
    // not to be writable.
    let created = out
        .ancestors()
        .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
        .last()
        .map(Path::to_path_buf);
    let unwritable = |e: std::io::Error| {
        if let Some(c) = &created {
            let _ = std::fs::remove_dir_all(c);
        }
        Error::OutputNotWritable {
            path: out.clone(),
            source: e,
        }
    };
    std::fs::create_dir_all(out).map_err(unwritable)?;
    // Prove we can create files there before promising anything.
    let probe = out.join(format!(".data-gen-probe{TMP_SUFFIX}"));
    std::fs::write(&probe, b"").map_err(unwritable)?;
    let _ = std::fs::remove_file(&probe);
    Ok(layout)
}

/// Estimated output size with a 25 % margin.
pub fn estimated_bytes(rows: u64, codec: Codec) -> u64 {
    (rows as f64 * codec.estimated_bytes_per_row() * 1.25) as u64 + (1 << 20)
}

fn available_bytes(dir: &Path) -> Result<u64> {
    let st = nix::sys::statvfs::statvfs(dir).map_err(|e| match e {
        nix::errno::Errno::EINVAL => {
            Error::InvalidArgument(format!("--out {} contains a NUL byte", dir.display()))
        }
        e => Error::io(
            format!("checking free space of {}", dir.display()),
            e.into(),
        ),
    })?;
    Ok(st.blocks_available() as u64 * st.fragment_size() as u64)
}

/// Entries of `dir` that no data-gen dataset writes (sorted; empty when `dir` is missing).
pub fn foreign_entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !is_ours(n))
        .collect();
    v.sort();
    v
}

fn is_ours(name: &str) -> bool {
    (name.starts_with("part-") && (name.ends_with(".parquet") || name.ends_with(".parquet.tmp")))
        || name == MANIFEST_FILE
        || name == format!("{MANIFEST_FILE}{TMP_SUFFIX}")
}

fn existing_dataset_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| is_ours(&e.file_name().to_string_lossy()))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

/// Before a forced rewrite: drop the old manifest first (so the directory never claims a
/// dataset it does not hold), then leftover temporary files. Old part files stay until they are
/// replaced by rename; those beyond the new file count are removed after the new files are in.
fn invalidate_existing(dir: &Path) -> Result<()> {
    let manifest = dir.join(MANIFEST_FILE);
    if manifest.exists() {
        std::fs::remove_file(&manifest)
            .map_err(|e| Error::io(format!("removing {}", manifest.display()), e))?;
    }
    for entry in
        std::fs::read_dir(dir).map_err(|e| Error::io(format!("listing {}", dir.display()), e))?
    {
        let entry = entry.map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_ours(&name) && name.ends_with(TMP_SUFFIX) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(())
}

fn remove_stale_parts(dir: &Path, layout: &Layout) -> Result<()> {
    let keep: std::collections::HashSet<String> =
        (0..layout.files()).map(Layout::file_name).collect();
    for name in crate::manifest::parquet_files(dir)? {
        if name.starts_with("part-") && !keep.contains(&name) {
            let path = dir.join(&name);
            std::fs::remove_file(&path)
                .map_err(|e| Error::io(format!("removing stale {}", path.display()), e))?;
        }
    }
    Ok(())
}

/// Generates the dataset described by `req`: checks, files, then the manifest.
pub fn generate(req: &Request, progress: &mut dyn FnMut(u64)) -> Result<Summary> {
    let layout = preflight(req)?;
    let started = Instant::now();
    if req.force {
        invalidate_existing(&req.out)?;
    }
    let settings = req.settings();
    let source = BatchGenerator::new(req.seed, req.rows).with_batch_rows(req.batch_rows);
    let written = write_files(
        &req.out,
        &layout.units(),
        &source,
        settings.writer_properties(),
        req.threads,
        progress,
    )?;
    if req.force {
        remove_stale_parts(&req.out, &layout)?;
    }
    let manifest = Manifest::new(req.seed, &layout, settings, &written);
    manifest.write(&req.out)?;
    Ok(Summary {
        manifest,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Regenerates part `file` of the dataset `req` describes into `req.out`, alone.
///
/// The result is byte-identical to the same file of a full run: a file depends only on the
/// seed, its index and the row split. Writes no manifest; an existing file of that name is
/// replaced only with `force`.
pub fn generate_single_file(req: &Request, file: usize) -> Result<WrittenFile> {
    let layout = req.layout()?;
    if file >= layout.files() {
        return Err(Error::InvalidArgument(format!(
            "--only-file {file} is out of range: the dataset has files 0 to {}",
            layout.files() - 1
        )));
    }
    std::fs::create_dir_all(&req.out).map_err(|e| Error::OutputNotWritable {
        path: req.out.clone(),
        source: e,
    })?;
    let target = req.out.join(Layout::file_name(file));
    if target.exists() && !req.force {
        return Err(Error::InvalidArgument(format!(
            "{} exists (use --force to replace it)",
            target.display()
        )));
    }
    let source = BatchGenerator::new(req.seed, req.rows).with_batch_rows(req.batch_rows);
    let mut written = write_files(
        &req.out,
        &layout.file_units(file),
        &source,
        req.settings().writer_properties(),
        req.threads,
        &mut |_| {},
    )?;
    Ok(written.pop().expect("one file written"))
}
