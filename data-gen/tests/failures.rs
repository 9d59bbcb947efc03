//! Bad input and interrupted runs: clear one-line errors, and never a final-named partial file.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use data_gen::layout::Unit;
use data_gen::pipeline::{BatchSource, write_files};
use data_gen::{BatchGenerator, Error, Layout, Request};
use parquet::file::reader::{FileReader, SerializedFileReader};

fn data_gen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_data-gen"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Runs data-gen with `args` and checks: non-zero exit, one stderr line containing `expect`.
fn refused(args: &[&str], expect: &str) {
    let out = data_gen(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} succeeded");
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
    assert!(
        stderr.contains(expect),
        "{args:?}: expected '{expect}' in: {stderr}"
    );
    assert!(stderr.starts_with("data-gen: error: "), "{stderr}");
}

#[test]
fn bad_arguments_are_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = out.to_str().unwrap();
    refused(
        &["--rows", "0", "--files", "1", "--out", o],
        "--rows must be at least 1",
    );
    refused(
        &["--rows", "10", "--files", "0", "--out", o],
        "--files must be at least 1",
    );
    refused(
        &["--rows", "10", "--files", "11", "--out", o],
        "--files (11) must not exceed --rows (10)",
    );
    refused(
        &["--rows", "ten", "--out", o],
        "'ten' is not a whole number",
    );
    refused(
        &["--rows", "10", "--files", "1", "--threads", "0", "--out", o],
        "--threads",
    );
    refused(
        &[
            "--rows",
            "10",
            "--files",
            "1",
            "--compression",
            "brotli",
            "--out",
            o,
        ],
        "brotli",
    );
    // Far more rows than this disk holds: refused by the free-space estimate, nothing written.
    refused(
        &["--rows", "10000G", "--files", "1", "--out", o],
        "not enough free disk",
    );
    assert!(
        entries(&out).is_empty(),
        "nothing written: {:?}",
        entries(&out)
    );
}

#[test]
fn a_non_empty_or_unwritable_output_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let full = tmp.path().join("full");
    std::fs::create_dir(&full).unwrap();
    std::fs::write(full.join("keep.txt"), b"precious").unwrap();
    refused(
        &[
            "--rows",
            "100",
            "--files",
            "1",
            "--out",
            full.to_str().unwrap(),
        ],
        "is not empty (use --force",
    );
    assert_eq!(std::fs::read(full.join("keep.txt")).unwrap(), b"precious");
    assert_eq!(entries(&full), vec!["keep.txt"]);

    // A directory under a regular file can never be created.
    let blocker = tmp.path().join("blocker");
    std::fs::write(&blocker, b"x").unwrap();
    let under = blocker.join("out");
    refused(
        &[
            "--rows",
            "100",
            "--files",
            "1",
            "--out",
            under.to_str().unwrap(),
        ],
        "is not writable",
    );
    refused(
        &[
            "--rows",
            "100",
            "--files",
            "1",
            "--out",
            blocker.to_str().unwrap(),
        ],
        "not a directory",
    );
}

#[test]
fn success_prints_a_one_line_summary_and_quiet_prints_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let out = data_gen(&[
        "--rows",
        "5000",
        "--files",
        "2",
        "--out",
        a.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    for part in ["5000 rows", "2 files", "rows/s", "per thread", "peak RSS"] {
        assert!(stdout.contains(part), "{part} missing from: {stdout}");
    }
    // stderr is not a terminal here, so no progress bar either.
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let b = tmp.path().join("b");
    let out = data_gen(&[
        "--rows",
        "5000",
        "--files",
        "2",
        "--quiet",
        "--out",
        b.to_str().unwrap(),
    ]);
    assert!(out.status.success() && out.stdout.is_empty() && out.stderr.is_empty());
    assert_eq!(
        entries(&b),
        vec!["manifest.json", "part-00000.parquet", "part-00001.parquet"]
    );
}

/// Delegates to the real generator but fails on one row group, as a full disk would.
struct FailingSource {
    inner: BatchGenerator,
    fail_at: u64,
}

impl BatchSource for FailingSource {
    fn schema(&self) -> SchemaRef {
        BatchSource::schema(&self.inner)
    }

    fn batches(
        &self,
        unit: &Unit,
        sink: &mut dyn FnMut(RecordBatch) -> data_gen::Result<()>,
    ) -> data_gen::Result<()> {
        if unit.start == self.fail_at {
            return Err(Error::io(
                "writing",
                std::io::Error::other("simulated device failure"),
            ));
        }
        self.inner.batches(unit, sink)
    }
}

#[test]
fn a_failure_mid_run_leaves_only_complete_files_under_final_names() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::new(100_000, 4, 10_000).unwrap();
    // Fail in the middle of file 2: 25,000 rows a file in row groups of 10,000, so units 6..9.
    let units = layout.units();
    assert_eq!((units[7].file, units[7].row_group), (2, 1));
    let source = FailingSource {
        inner: BatchGenerator::new(1, layout.rows()),
        fail_at: units[7].start,
    };
    let props = Request::new(tmp.path(), 100_000, 4)
        .settings()
        .writer_properties();
    let err = write_files(tmp.path(), &units, &source, props, 2, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("simulated device failure"));
    let names = entries(tmp.path());
    assert!(
        !names.iter().any(|n| n.ends_with(".tmp")),
        "temporary files removed: {names:?}"
    );
    assert!(
        !names.contains(&"part-00002.parquet".to_string()),
        "{names:?}"
    );
    for name in &names {
        let idx: usize = name[5..10].parse().unwrap();
        let reader =
            SerializedFileReader::new(std::fs::File::open(tmp.path().join(name)).unwrap()).unwrap();
        assert_eq!(
            reader.metadata().file_metadata().num_rows() as u64,
            layout.file_rows(idx)
        );
    }
}

#[test]
fn a_killed_run_never_leaves_an_incomplete_final_named_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ds");
    // Big enough to be mid-write when killed: 3 files of 4M rows.
    let mut child = Command::new(env!("CARGO_BIN_EXE_data-gen"))
        .args([
            "--rows",
            "12M",
            "--files",
            "3",
            "--threads",
            "2",
            "--quiet",
            "--out",
        ])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait (bounded) for a file to be in progress, then SIGKILL: no chance to clean up.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        if entries(&dir).iter().any(|n| n.ends_with(".parquet.tmp")) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no temporary file appeared"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before it could be interrupted"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let names = entries(&dir);
    assert!(!names.contains(&"manifest.json".to_string()), "{names:?}");
    let layout = Layout::new(12_000_000, 3, 1 << 20).unwrap();
    for name in names.iter().filter(|n| n.ends_with(".parquet")) {
        let idx: usize = name[5..10].parse().unwrap();
        let reader = SerializedFileReader::new(std::fs::File::open(dir.join(name)).unwrap())
            .unwrap_or_else(|e| panic!("{name} is a final-named partial file: {e}"));
        assert_eq!(
            reader.metadata().file_metadata().num_rows() as u64,
            layout.file_rows(idx)
        );
    }
    // The leftover temporary file blocks a plain rerun but --force cleans it up.
    let out = data_gen(&[
        "--rows",
        "3000",
        "--files",
        "3",
        "--quiet",
        "--force",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert_eq!(
        entries(&dir),
        vec![
            "manifest.json",
            "part-00000.parquet",
            "part-00001.parquet",
            "part-00002.parquet"
        ]
    );
}
