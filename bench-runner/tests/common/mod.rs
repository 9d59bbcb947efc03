//! Helpers shared by the integration tests: the binary, the shipped workload, datasets.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Runs `bench-runner` with `args` and no stdin.
pub fn bench_runner(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bench-runner"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The `queries/` directory the project ships.
pub fn workload() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../queries")
}

/// Generates `rows` rows in `files` files into `dir` (replacing what is there).
pub fn generate(dir: &Path, rows: u64, files: u64, row_group_rows: u64) -> PathBuf {
    let mut req = data_gen::Request::new(dir, rows, files);
    req.row_group_rows = row_group_rows;
    req.force = true;
    data_gen::generate(&req, &mut |_| {}).expect("dataset generates");
    dir.to_path_buf()
}
