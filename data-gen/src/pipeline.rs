//! Parallel encode, ordered write.
//!
//! Worker threads (a rayon pool) each take the next row group in file order, produce its batches
//! and encode its column chunks; the calling thread appends finished row groups to their files in
//! order. A window of in-flight row groups bounds memory whatever the dataset size: a worker
//! may start row group `k` only while fewer than `window` row groups are encoded but unwritten.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};

use arrow_array::{Array, RecordBatch, TimestampMicrosecondArray};
use arrow_schema::SchemaRef;
use parquet::arrow::arrow_writer::{ArrowColumnChunk, ArrowRowGroupWriterFactory, compute_leaves};
use parquet::file::properties::WriterProperties;

use crate::error::{Error, Result};
use crate::layout::{Layout, Unit};
use crate::sink::PartFile;

/// Where a row group's batches come from.
pub trait BatchSource: Sync {
    /// The schema the files declare (batches may hold dictionary-encoded equivalents).
    fn schema(&self) -> SchemaRef;
    /// Calls `sink` with the batches of `unit`, in row order.
    fn batches(&self, unit: &Unit, sink: &mut dyn FnMut(RecordBatch) -> Result<()>) -> Result<()>;
}

/// A written file as the manifest needs it.
#[derive(Debug, Clone)]
pub struct WrittenFile {
    pub index: usize,
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
    pub ts_min: i64,
    pub ts_max: i64,
}

/// One encoded row group on its way to the writer.
struct Encoded {
    unit: Unit,
    chunks: Vec<ArrowColumnChunk>,
    ts_min: i64,
    ts_max: i64,
}

/// Counts free slots in the in-flight window; `cancel` wakes everyone up for good.
struct Window {
    free: Mutex<usize>,
    cv: Condvar,
    cancelled: AtomicBool,
}

impl Window {
    fn acquire(&self) -> bool {
        let mut free = self.free.lock().unwrap();
        while *free == 0 && !self.cancelled.load(Ordering::Relaxed) {
            free = self.cv.wait(free).unwrap();
        }
        if self.cancelled.load(Ordering::Relaxed) {
            return false;
        }
        *free -= 1;
        true
    }

    fn release(&self) {
        *self.free.lock().unwrap() += 1;
        self.cv.notify_one();
    }

    fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
        let _guard = self.free.lock().unwrap();
        self.cv.notify_all();
    }
}

/// Generates and writes the files that `units` make up into `dir` with `threads` workers.
///
/// `units` must hold whole files in write order (all of [`Layout::units`], or those of one
/// file). `progress` is called on the calling thread with the rows written so far.
pub fn write_files(
    dir: &Path,
    units: &[Unit],
    source: &dyn BatchSource,
    props: Arc<WriterProperties>,
    threads: usize,
    progress: &mut dyn FnMut(u64),
) -> Result<Vec<WrittenFile>> {
    let schema = source.schema();
    let factory = row_group_factory(schema.clone(), props.clone())?;
    let threads = threads.max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("data-gen-{i}"))
        .build()
        .map_err(|e| Error::InvalidArgument(format!("cannot start {threads} threads: {e}")))?;
    let window = Arc::new(Window {
        free: Mutex::new(threads * 2),
        cv: Condvar::new(),
        cancelled: AtomicBool::new(false),
    });
    let next_unit = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, Result<Encoded>)>();

    pool.in_place_scope(|scope| {
        for _ in 0..threads {
            let tx = tx.clone();
            let (window, next_unit, factory) = (&window, &next_unit, &factory);
            scope.spawn(move |_| {
                while window.acquire() {
                    let i = next_unit.fetch_add(1, Ordering::Relaxed);
                    let Some(unit) = units.get(i) else {
                        window.release();
                        break;
                    };
                    let encoded = encode_unit(factory, source, unit);
                    let failed = encoded.is_err();
                    if tx.send((i, encoded)).is_err() || failed {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let written = write_in_order(dir, units, &rx, &schema, &props, &window, progress);
        // Whatever happened, let blocked workers go so the scope can end.
        window.cancel();
        written
    })
}

/// Column writers for any row group of a file with this schema and properties.
fn row_group_factory(
    schema: SchemaRef,
    props: Arc<WriterProperties>,
) -> Result<ArrowRowGroupWriterFactory> {
    let writer =
        parquet::arrow::ArrowWriter::try_new(std::io::sink(), schema, Some((*props).clone()))?;
    Ok(writer.into_serialized_writer()?.1)
}

fn encode_unit(
    factory: &ArrowRowGroupWriterFactory,
    source: &dyn BatchSource,
    unit: &Unit,
) -> Result<Encoded> {
    let schema = source.schema();
    let mut writers = factory.create_column_writers(unit.row_group)?;
    let (mut ts_min, mut ts_max) = (i64::MAX, i64::MIN);
    let mut rows = 0u64;
    source.batches(unit, &mut |batch| {
        rows += batch.num_rows() as u64;
        if let Some(ts) = batch
            .column(0)
            .as_any()
            .downcast_ref::<TimestampMicrosecondArray>()
            && !ts.is_empty()
        {
            let v = ts.values();
            ts_min = ts_min.min(*v.iter().min().unwrap());
            ts_max = ts_max.max(*v.iter().max().unwrap());
        }
        let mut w = writers.iter_mut();
        for (field, column) in schema.fields().iter().zip(batch.columns()) {
            for leaf in compute_leaves(field, column)? {
                w.next().expect("one writer per leaf").write(&leaf)?;
            }
        }
        Ok(())
    })?;
    if rows != unit.rows {
        return Err(Error::InvalidArgument(format!(
            "source produced {rows} rows for a row group of {}",
            unit.rows
        )));
    }
    let chunks = writers
        .into_iter()
        .map(|w| w.close())
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(Encoded {
        unit: *unit,
        chunks,
        ts_min,
        ts_max,
    })
}

fn write_in_order(
    dir: &Path,
    units: &[Unit],
    rx: &mpsc::Receiver<(usize, Result<Encoded>)>,
    schema: &SchemaRef,
    props: &Arc<WriterProperties>,
    window: &Window,
    progress: &mut dyn FnMut(u64),
) -> Result<Vec<WrittenFile>> {
    let mut pending: BTreeMap<usize, Encoded> = BTreeMap::new();
    let mut files = Vec::new();
    let mut open: Option<(PartFile, WrittenFile)> = None;
    let mut rows_done = 0u64;
    for next in 0..units.len() {
        let encoded = loop {
            if let Some(e) = pending.remove(&next) {
                break e;
            }
            match rx.recv() {
                Ok((i, Ok(e))) => {
                    pending.insert(i, e);
                }
                Ok((_, Err(e))) => return Err(e),
                Err(_) => return Err(Error::Cancelled),
            }
        };
        let unit = encoded.unit;
        if open.is_none() {
            let path = dir.join(Layout::file_name(unit.file));
            let file = PartFile::create(&path, schema.clone(), props.clone())?;
            let summary = WrittenFile {
                index: unit.file,
                rows: 0,
                bytes: 0,
                sha256: String::new(),
                ts_min: i64::MAX,
                ts_max: i64::MIN,
            };
            open = Some((file, summary));
        }
        let (file, summary) = open.as_mut().expect("opened above");
        file.append_row_group(encoded.chunks)?;
        window.release();
        summary.rows += unit.rows;
        summary.ts_min = summary.ts_min.min(encoded.ts_min);
        summary.ts_max = summary.ts_max.max(encoded.ts_max);
        rows_done += unit.rows;
        if unit.last_in_file {
            let (file, mut summary) = open.take().expect("opened above");
            let finished = file.finish()?;
            summary.bytes = finished.bytes;
            summary.sha256 = finished.sha256;
            files.push(summary);
        }
        progress(rows_done);
    }
    Ok(files)
}
