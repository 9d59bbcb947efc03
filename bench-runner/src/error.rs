//! The runner's error type; `anyhow` is used only at the binary's edge.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("workload: {0}")]
    Workload(String),
    #[error("dataset: {0}")]
    Dataset(String),
    #[error("engine: {0}")]
    Engine(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error("results: {0}")]
    Results(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    DataFusion(#[from] datafusion::error::DataFusionError),
    /// An execution past its time limit, abandoned; on Ballista its job was cancelled.
    #[error("timed out after {:.1} s{}", .after.as_secs_f64(), abandoned(.job, .cancel_error))]
    TimedOut {
        after: std::time::Duration,
        /// The Ballista job cancelled in the scheduler, where there was one.
        job: Option<String>,
        /// Why the job could not be cancelled, where it could not.
        cancel_error: Option<String>,
    },
    /// An execution abandoned because the run was interrupted (Ctrl-C, SIGTERM).
    #[error("interrupted{}", abandoned(.job, .cancel_error))]
    Interrupted {
        job: Option<String>,
        cancel_error: Option<String>,
    },
}

/// What became of an abandoned execution's job, as the error's text ends.
fn abandoned(job: &Option<String>, cancel_error: &Option<String>) -> String {
    match (job, cancel_error) {
        (Some(j), None) => format!("; Ballista job {j} cancelled"),
        (j, Some(e)) => format!(
            "; Ballista job {} NOT cancelled: {e}",
            j.as_deref().unwrap_or("(id unknown)")
        ),
        (None, None) => String::new(),
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}
