//! Helpers shared by the integration tests: the binary, the shipped workload, datasets.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use bench_runner::cluster::local::{ClusterState, Status as ClusterStatus, ours_alive};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// The S3 settings a developer's shell may hold; no test process inherits them.
pub const AWS_SETTINGS: [&str; 6] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT",
    "AWS_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
];

/// Runs `bench-runner` with `args`, no stdin and no S3 settings from the environment.
pub fn bench_runner(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bench-runner"));
    for v in AWS_SETTINGS {
        cmd.env_remove(v);
    }
    cmd.args(args).stdin(Stdio::null()).output().unwrap()
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

/// Asserts that a command succeeded, showing its output when it did not.
pub fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "exit {:?}\nstderr: {}\nstdout: {}",
        o.status.code(),
        text(&o.stderr),
        text(&o.stdout)
    );
}

/// Stops a cluster left by `cluster up` when dropped: `cluster down`, then SIGKILL for any
/// PID in its state file that still runs.
pub struct ClusterGuard {
    dir: PathBuf,
    pids: Vec<u32>,
}

impl ClusterGuard {
    pub fn up(dir: &Path, extra: &[&str]) -> Self {
        let mut args = vec!["cluster", "up", "--state-dir", dir.to_str().unwrap()];
        args.extend_from_slice(extra);
        let o = bench_runner(&args);
        let guard = Self::adopt(dir);
        ok(&o);
        assert!(
            text(&o.stdout).trim().starts_with("df://127.0.0.1:"),
            "prints the scheduler address: {}",
            text(&o.stdout)
        );
        guard
    }

    /// Guards a cluster that something else started with its state in `dir`.
    pub fn adopt(dir: &Path) -> Self {
        let mut guard = ClusterGuard {
            dir: dir.to_path_buf(),
            pids: Vec::new(),
        };
        guard.remember();
        guard
    }

    fn remember(&mut self) {
        if let Ok(Some(s)) = ClusterState::load(&self.dir) {
            self.pids.push(s.scheduler.pid);
            self.pids.extend(s.executors.iter().map(|e| e.pid));
        }
    }

    pub fn state(&self) -> ClusterState {
        ClusterState::load(&self.dir)
            .unwrap()
            .expect("a state file")
    }

    pub fn status(&self) -> ClusterStatus {
        let o = bench_runner(&[
            "cluster",
            "status",
            "--json",
            "--state-dir",
            self.dir.to_str().unwrap(),
        ]);
        ok(&o);
        serde_json::from_slice(&o.stdout).unwrap()
    }
}

impl Drop for ClusterGuard {
    fn drop(&mut self) {
        self.remember();
        let _ = bench_runner(&["cluster", "down", "--state-dir", self.dir.to_str().unwrap()]);
        for &pid in &self.pids {
            if ours_alive(pid) {
                let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
            }
        }
    }
}

/// The pinned Python tools, installed on first use (every install step lives in the repo).
pub fn venv() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(install_tools).clone()
}

fn install_tools() -> PathBuf {
    let dir = std::env::var_os("LOGBENCH_VENV").map_or_else(
        || Path::new(env!("CARGO_TARGET_TMPDIR")).join("../venv"),
        PathBuf::from,
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/pytools.sh");
    let o = Command::new(&script)
        .arg(&dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{} {} failed: {}{}",
        script.display(),
        dir.display(),
        text(&o.stdout),
        text(&o.stderr)
    );
    dir
}

/// The repository's top directory.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Where the tests' release binaries are (what deploy.sh and deploy/image.sh take as --bin-dir).
pub fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_bench-runner"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("docker runs")
}

pub fn docker_ok(args: &[&str]) -> String {
    let o = docker(args);
    assert!(
        o.status.success(),
        "docker {args:?}: {}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    text(&o.stdout)
}

/// Whether a Docker daemon answers.
pub fn daemon() -> bool {
    Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
