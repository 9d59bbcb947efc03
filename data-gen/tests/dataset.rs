//! Whole-dataset properties: determinism across thread counts, single-file regeneration,
//! schema on disk, and manifest contents checked against the files themselves.

use std::fs::File;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMicrosecondType;
use data_gen::manifest::{MANIFEST_FILE, sha256_file};
use data_gen::{Codec, Layout, Manifest, Request, generate, generate_single_file, schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::reader::{FileReader, SerializedFileReader};

const ROWS: u64 = 300_007;
const FILES: u64 = 3;

fn request(dir: &Path, threads: usize, seed: u64) -> Request {
    let mut r = Request::new(dir, ROWS, FILES);
    r.threads = threads;
    r.seed = seed;
    r.row_group_rows = 40_000; // several row groups per file: exercises ordering
    r
}

fn hashes(dir: &Path) -> Vec<String> {
    (0..FILES as usize)
        .map(|f| sha256_file(&dir.join(Layout::file_name(f))).unwrap())
        .collect()
}

#[test]
fn files_are_byte_identical_for_any_thread_count_and_run() {
    let tmp = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    for (i, threads) in [1, 2, 3, 8, 2].into_iter().enumerate() {
        let dir = tmp.path().join(format!("t{i}"));
        generate(&request(&dir, threads, 7), &mut |_| {}).unwrap();
        let manifest = std::fs::read(dir.join(MANIFEST_FILE)).unwrap();
        seen.push((hashes(&dir), manifest));
    }
    for other in &seen[1..] {
        assert_eq!(
            other.0, seen[0].0,
            "data files differ between thread counts"
        );
        assert_eq!(other.1, seen[0].1, "manifests differ between thread counts");
    }
    // And a different seed gives different data.
    let dir = tmp.path().join("other-seed");
    generate(&request(&dir, 2, 8), &mut |_| {}).unwrap();
    let other = hashes(&dir);
    for (a, b) in other.iter().zip(&seen[0].0) {
        assert_ne!(a, b);
    }
}

#[test]
fn a_single_file_regenerated_alone_matches_the_full_run() {
    let tmp = tempfile::tempdir().unwrap();
    let full = tmp.path().join("full");
    let summary = generate(&request(&full, 2, 11), &mut |_| {}).unwrap();
    let alone = tmp.path().join("alone");
    let written = generate_single_file(&request(&alone, 1, 11), 1).unwrap();
    let entry = &summary.manifest.files[1];
    assert_eq!(written.sha256, entry.sha256);
    assert_eq!(written.rows, entry.rows);
    assert_eq!(
        sha256_file(&alone.join("part-00001.parquet")).unwrap(),
        entry.sha256
    );
    // Only that file was written, and no manifest.
    let names: Vec<_> = std::fs::read_dir(&alone)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("part-00001.parquet")]);
    // Out-of-range index and an existing file without force are refused.
    assert!(
        generate_single_file(&request(&alone, 1, 11), 3)
            .unwrap_err()
            .to_string()
            .contains("out of range")
    );
    assert!(
        generate_single_file(&request(&alone, 1, 11), 1)
            .unwrap_err()
            .to_string()
            .contains("--force")
    );
}

#[test]
fn files_carry_the_contract_schema_and_the_manifest_describes_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ds");
    let mut req = request(&dir, 2, 5);
    req.compression = Codec::Snappy;
    let summary = generate(&req, &mut |_| {}).unwrap();
    let m = Manifest::read(&dir).unwrap();
    assert_eq!(m, summary.manifest);
    assert_eq!((m.rows, m.file_count, m.seed), (ROWS, FILES as usize, 5));
    assert_eq!(m.parquet.compression, Codec::Snappy);
    assert_eq!(m.schema.len(), 8);
    m.verify(&dir, true).unwrap();

    let layout = Layout::new(ROWS, FILES, 40_000).unwrap();
    let mut last_ts = i64::MIN;
    for (i, f) in m.files.iter().enumerate() {
        let path = dir.join(&f.name);
        assert_eq!(f.name, Layout::file_name(i));
        assert_eq!(f.rows, layout.file_rows(i));
        assert_eq!(f.first_row, layout.file_start(i));
        assert_eq!(f.bytes, std::fs::metadata(&path).unwrap().len());
        assert_eq!(f.sha256, sha256_file(&path).unwrap());

        let meta = SerializedFileReader::new(File::open(&path).unwrap()).unwrap();
        let md = meta.metadata();
        assert_eq!(md.num_row_groups() as u64, f.row_groups);
        assert_eq!(md.file_metadata().num_rows() as u64, f.rows);
        let rg0 = md.row_group(0);
        assert_eq!(
            format!("{:?}", rg0.column(0).compression()),
            "SNAPPY",
            "compression applied"
        );

        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap()).unwrap();
        assert_eq!(reader.schema().fields(), schema::schema().fields());
        let mut rows = 0;
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        for batch in reader.build().unwrap() {
            let batch = batch.unwrap();
            rows += batch.num_rows() as u64;
            for c in batch.columns() {
                assert_eq!(c.null_count(), 0);
            }
            for t in batch
                .column(0)
                .as_primitive::<TimestampMicrosecondType>()
                .values()
            {
                assert!(*t >= last_ts, "ts is non-decreasing across files");
                last_ts = *t;
                lo = lo.min(*t);
                hi = hi.max(*t);
            }
        }
        assert_eq!(rows, f.rows);
        assert_eq!((f.ts_min_us, f.ts_max_us), (lo, hi));
        assert!(f.ts_min.starts_with("2026-01-") && f.ts_min.ends_with('Z'));
    }
    assert!(
        m.files.windows(2).all(|w| w[0].ts_max_us <= w[1].ts_min_us),
        "files cover their own time slices"
    );

    // A tampered dataset fails verification, naming the file.
    std::fs::write(dir.join("part-00002.parquet"), b"not parquet").unwrap();
    let err = m.verify(&dir, false).unwrap_err().to_string();
    assert!(err.contains("part-00002.parquet"), "{err}");
    std::fs::remove_file(dir.join("part-00002.parquet")).unwrap();
    let err = m.verify(&dir, false).unwrap_err().to_string();
    assert!(err.contains("missing"), "{err}");
}

#[test]
fn force_replaces_a_dataset_and_removes_files_beyond_the_new_count() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ds");
    let mut req = Request::new(&dir, 1_000, 5);
    req.threads = 2;
    generate(&req, &mut |_| {}).unwrap();
    req.files = 2;
    assert!(
        generate(&req, &mut |_| {})
            .unwrap_err()
            .to_string()
            .contains("not empty")
    );
    req.force = true;
    let summary = generate(&req, &mut |_| {}).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec!["manifest.json", "part-00000.parquet", "part-00001.parquet"]
    );
    summary.manifest.verify(&dir, true).unwrap();
}
