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
