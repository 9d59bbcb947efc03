//! Whole-file writes that a reader never sees half done.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Suffix of a file being written; it is renamed to its final name once complete.
pub const TMP_SUFFIX: &str = ".tmp";

/// `path` with [`TMP_SUFFIX`] appended.
pub fn tmp_path(path: &Path) -> PathBuf {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(TMP_SUFFIX);
    PathBuf::from(tmp)
}

/// Writes `bytes` to `path` through a synced temporary file and a rename, so `path` holds
/// either its old content or all of the new. On failure the temporary file is removed and the
/// error names the file and the step that failed.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = tmp_path(path);
    let step = |what: &str, e: std::io::Error| {
        std::io::Error::new(e.kind(), format!("{what} {}: {e}", tmp.display()))
    };
    let result = (|| {
        let mut f = std::fs::File::create(&tmp).map_err(|e| step("creating", e))?;
        f.write_all(bytes).map_err(|e| step("writing", e))?;
        f.sync_all().map_err(|e| step("syncing", e))?;
        std::fs::rename(&tmp, path).map_err(|e| step("renaming", e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_whole_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        write_atomically(&p, b"first, longer content").unwrap();
        write_atomically(&p, b"second").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"second");
        assert!(!tmp_path(&p).exists());
    }

    #[test]
    fn a_failed_write_names_the_file_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("missing-dir").join("a.json");
        let e = write_atomically(&p, b"x").unwrap_err().to_string();
        assert!(
            e.starts_with("creating ") && e.contains("a.json.tmp"),
            "{e}"
        );
        assert!(!p.exists() && !tmp_path(&p).exists());
    }
}
