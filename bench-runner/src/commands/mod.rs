//! One module per subcommand, each with its clap arguments (`Args`) and a thin `exec` that
//! calls the library. `exec` returns whether everything passed (exit 0, else 1) or a
//! [`Usage`] error (exit 2).

pub mod calibrate;
pub mod check;
pub mod cluster;
pub mod compare;
pub mod count;
pub mod gate;
pub mod load;
pub mod once;
pub mod overhead;
pub mod report;
pub mod run;
pub mod upload;

use std::path::Path;

/// A usage problem (exit 2) rather than a failed query or a regression (exit 1).
pub struct Usage(pub anyhow::Error);

impl From<anyhow::Error> for Usage {
    fn from(e: anyhow::Error) -> Self {
        Usage(e)
    }
}

impl From<bench_runner::Error> for Usage {
    fn from(e: bench_runner::Error) -> Self {
        Usage(e.into())
    }
}

/// Whether a subcommand passed, or why it could not run.
pub type Outcome = Result<bool, Usage>;

/// A one-line usage error.
pub fn usage(message: impl std::fmt::Display) -> Usage {
    Usage(anyhow::anyhow!("{message}"))
}

/// Writes `text` to `path` (parent directories created, atomically).
pub fn write_file(path: &Path, text: &str) -> Result<(), Usage> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| usage(format!("creating {}: {e}", dir.display())))?;
    }
    logbench_common::atomic::write_atomically(path, text.as_bytes())
        .map_err(|e| usage(format!("writing {}: {e}", path.display())))
}

/// Pretty JSON with a final newline.
pub fn pretty(v: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(v).expect("serialises") + "\n"
}
