//! One output file: written under a temporary name, hashed on the way out, renamed when complete.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::ArrowColumnChunk;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Suffix of files still being written; never matched by `*.parquet` readers.
pub use logbench_common::atomic::TMP_SUFFIX;

/// A `Write` that hashes and counts everything passing through.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    pub fn finish(self) -> (W, String, u64) {
        (self.inner, hex::encode(self.hasher.finalize()), self.bytes)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// What a finished file looked like.
#[derive(Debug, Clone)]
pub struct FinishedFile {
    pub path: PathBuf,
    pub bytes: u64,
    pub sha256: String,
}

type Inner = BufWriter<HashingWriter<File>>;

/// A Parquet file being assembled from encoded row groups.
pub struct PartFile {
    final_path: PathBuf,
    tmp_path: PathBuf,
    writer: Option<SerializedFileWriter<Inner>>,
}

impl PartFile {
    pub fn create(
        final_path: &Path,
        schema: SchemaRef,
        props: Arc<WriterProperties>,
    ) -> Result<Self> {
        let tmp_path = logbench_common::atomic::tmp_path(final_path);
        let file = File::create(&tmp_path)
            .map_err(|e| Error::io(format!("creating {}", tmp_path.display()), e))?;
        let sink = BufWriter::with_capacity(1 << 20, HashingWriter::new(file));
        let (writer, _) =
            ArrowWriter::try_new(sink, schema, Some((*props).clone()))?.into_serialized_writer()?;
        Ok(Self {
            final_path: final_path.to_path_buf(),
            tmp_path,
            writer: Some(writer),
        })
    }

    pub fn append_row_group(&mut self, chunks: Vec<ArrowColumnChunk>) -> Result<()> {
        let writer = self.writer.as_mut().expect("file still open");
        let mut rg = writer.next_row_group()?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut rg)?;
        }
        rg.close()?;
        self.start_writeback()
    }

    /// Hands what is written so far to the kernel and starts its writeback without waiting,
    /// so the `fsync` that completes the file has little left to do. Without it one large file
    /// would be flushed all at once at its end, stalling the pipeline.
    fn start_writeback(&mut self) -> Result<()> {
        let writer = self.writer.as_mut().expect("file still open");
        let buf = writer.inner_mut();
        buf.flush()
            .map_err(|e| Error::io(format!("writing {}", self.tmp_path.display()), e))?;
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let fd = buf.get_ref().inner.as_raw_fd();
            // nix has no sync_file_range, so this is the one direct libc call left.
            // SAFETY: `fd` is an open file descriptor owned by this writer; the call only hints.
            unsafe { libc::sync_file_range(fd, 0, 0, libc::SYNC_FILE_RANGE_WRITE) };
        }
        Ok(())
    }

    /// Writes the footer, syncs, and renames the file to its final name.
    pub fn finish(mut self) -> Result<FinishedFile> {
        let writer = self.writer.take().expect("file still open");
        let done = Self::close(writer, &self.tmp_path, &self.final_path);
        if done.is_err() {
            let _ = std::fs::remove_file(&self.tmp_path);
        }
        done
    }

    fn close(
        writer: SerializedFileWriter<Inner>,
        tmp_path: &Path,
        final_path: &Path,
    ) -> Result<FinishedFile> {
        let ctx = |what: &str| format!("{what} {}", tmp_path.display());
        let buf = writer.into_inner()?;
        let hashing = buf
            .into_inner()
            .map_err(|e| Error::io(ctx("flushing"), e.into_error()))?;
        let (file, sha256, bytes) = hashing.finish();
        file.sync_all().map_err(|e| Error::io(ctx("syncing"), e))?;
        drop(file);
        std::fs::rename(tmp_path, final_path).map_err(|e| Error::io(ctx("renaming"), e))?;
        Ok(FinishedFile {
            path: final_path.to_path_buf(),
            bytes,
            sha256,
        })
    }
}

impl Drop for PartFile {
    /// An unfinished file never survives under any name: its temporary file is removed.
    fn drop(&mut self) {
        if self.writer.is_some() {
            let _ = std::fs::remove_file(&self.tmp_path);
        }
    }
}
