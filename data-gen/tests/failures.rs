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
    // Far more rows than this disk holds: refused by the free-space estimate, nothing written,
    // not even the folders leading to --out.
    let chain = tmp.path().join("a").join("b").join("out");
    refused(
        &[
            "--rows",
            "10000G",
            "--files",
            "1",
            "--out",
            chain.to_str().unwrap(),
        ],
        "not enough free disk",
    );
    assert!(
        !tmp.path().join("a").exists(),
        "no folder made for a refusal"
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

/// When to kill: a test on the names in the output folder.
type Ready<'a> = &'a dyn Fn(&[String]) -> bool;

/// SIGKILLs a `data-gen` writing `args` into `dir` once `ready` holds for the names in `dir`
/// (polled, bounded); returns the names left behind.
fn kill_when(dir: &Path, args: &[&str], ready: Ready) -> Vec<String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_data-gen"))
        .args(args)
        .arg("--out")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !ready(&entries(dir)) {
        assert!(std::time::Instant::now() < deadline, "never ready");
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before it could be interrupted"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    // SIGKILL: no chance to clean up.
    child.kill().unwrap();
    child.wait().unwrap();
    entries(dir)
}

#[test]
fn a_killed_run_never_leaves_an_incomplete_final_named_file() {
    let tmp = tempfile::tempdir().unwrap();
    // 6 files of 2M rows: long enough to be killed at each moment below.
    let args = ["--rows", "12M", "--files", "6", "--threads", "2", "--quiet"];
    let reference = tmp.path().join("reference");
    let done = Command::new(env!("CARGO_BIN_EXE_data-gen"))
        .args(args)
        .arg("--out")
        .arg(&reference)
        .output()
        .unwrap();
    assert!(done.status.success());
    let sha = |p: &Path| data_gen::manifest::sha256_file(p).unwrap();
    let finals = |names: &[String]| names.iter().filter(|n| n.ends_with(".parquet")).count();

    // Killed: while the first file is being written; after one file was renamed; after three.
    let moments: [(&str, usize, Ready); 3] = [
        ("first file in progress", 0, &|n: &[String]| {
            n.iter().any(|n| n.ends_with(".parquet.tmp"))
        }),
        ("after the first rename", 1, &|n: &[String]| finals(n) >= 1),
        ("after three renames", 3, &|n: &[String]| finals(n) >= 3),
    ];
    for (k, (moment, at_least, ready)) in moments.into_iter().enumerate() {
        let dir = tmp.path().join(format!("killed-{k}"));
        let names = kill_when(&dir, &args, ready);
        assert!(
            !names.contains(&"manifest.json".to_string()),
            "{moment}: {names:?}"
        );
        let complete: Vec<&String> = names.iter().filter(|n| n.ends_with(".parquet")).collect();
        assert!(complete.len() >= at_least, "{moment}: {names:?}");
        assert!(
            complete.len() < 6,
            "{moment}: the run was not interrupted: {names:?}"
        );
        // Every final-named file is byte-for-byte the reference run's.
        for name in complete {
            assert_eq!(
                sha(&dir.join(name)),
                sha(&reference.join(name)),
                "{moment}: {name} is final-named but not the complete file"
            );
        }
    }

    // A leftover temporary file blocks a plain rerun but --force cleans it up.
    let dir = tmp.path().join("killed-0");
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

#[test]
fn reuse_keeps_a_matching_dataset_and_regenerates_anything_else_but_foreign_files() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("logs");
    let o = out.to_str().unwrap();
    let args = |rows: &'static str| {
        vec![
            "--rows",
            rows,
            "--files",
            "2",
            "--row-group-rows",
            "2000",
            "--out",
            o,
            "--reuse",
        ]
    };
    let stamp = |name: &str| {
        std::fs::metadata(out.join(name))
            .unwrap()
            .modified()
            .unwrap()
    };
    let rows_in_manifest = || data_gen::Manifest::read(&out).unwrap().rows;

    // Nothing there: generated.
    let first = data_gen(&args("10000"));
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let before = (stamp("part-00000.parquet"), stamp("manifest.json"));

    // The same settings and intact files: kept, nothing rewritten.
    let again = data_gen(&args("10000"));
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("reusing"));
    assert_eq!(
        (stamp("part-00000.parquet"), stamp("manifest.json")),
        before
    );

    // A truncated file (reuse checks names and sizes; `bench-runner run --verify-digests`
    // checks contents): generated again, and the files match the manifest afterwards.
    let part = out.join("part-00001.parquet");
    let bytes = std::fs::read(&part).unwrap();
    std::fs::write(&part, &bytes[..bytes.len() - 1]).unwrap();
    assert!(data_gen(&args("10000")).status.success());
    data_gen::Manifest::read(&out)
        .unwrap()
        .verify(&out, true)
        .unwrap();

    // Other settings: replaced.
    assert!(data_gen(&args("12000")).status.success());
    assert_eq!(rows_in_manifest(), 12000);

    // A folder with someone else's files: refused in one line, nothing touched.
    let other = tmp.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("notes.txt"), b"mine").unwrap();
    refused(
        &[
            "--rows",
            "10000",
            "--files",
            "2",
            "--out",
            other.to_str().unwrap(),
            "--reuse",
        ],
        "not a data-gen dataset (notes.txt)",
    );
    assert_eq!(entries(&other), ["notes.txt"]);
}
