//! The generator's error type: every variant renders as one line that names the problem.

use std::path::PathBuf;

use logbench_common::bytes::human_bytes;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    InvalidArgument(String),
    #[error("output directory {} is not empty (use --force to replace a dataset there)", .0.display())]
    OutputNotEmpty(PathBuf),
    #[error("output directory {} is not writable: {source}", path.display())]
    OutputNotWritable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "not enough free disk under {}: the dataset needs about {} but only {} is available",
        path.display(), human_bytes(*needed), human_bytes(*available)
    )]
    InsufficientSpace {
        path: PathBuf,
        needed: u64,
        available: u64,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    /// An IO error whose message already names the file and the step.
    #[error("{0}")]
    File(std::io::Error),
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("manifest: {0}")]
    Manifest(String),
    #[error("generation was cancelled")]
    Cancelled,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// Whether the error is the user's input (exit code 2) rather than a failure while working.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Error::InvalidArgument(_)
                | Error::OutputNotEmpty(_)
                | Error::OutputNotWritable { .. }
                | Error::InsufficientSpace { .. }
        )
    }
}
