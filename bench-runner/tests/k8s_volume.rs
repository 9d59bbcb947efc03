//! The local overlay's data volume, as the pods meet it, in containers run as the pods run
//! (uid 65532, read-only root, no capabilities, no new privileges), from our image built here.
//!
//! Before: a hostPath PersistentVolume with `DirectoryOrCreate`, whose directory the kubelet
//! creates as root with mode 0755 (hostPath ignores the pods' fsGroup, and Docker has no
//! fsGroup either: the bind mount below is the same directory the pod would get). The
//! scheduler cannot create its event log there and exits (on Kubernetes: a crash loop), and
//! data-gen cannot write the dataset.
//! After: a volume of the cluster's default StorageClass, whose directory kind's local-path
//! provisioner makes with `mkdir -m 0777` and minikube's hostpath provisioner with
//! `MkdirAll(0777)` then `Chmod(0777)`: both programs write it.
//! Without a Docker daemon the test says so in one line and checks nothing.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use common::{DOCKER, bin_dir, daemon, docker, docker_ok, prerequisite, repo, text};

/// The image, removed when dropped.
struct Image(String);

impl Drop for Image {
    fn drop(&mut self) {
        let _ = docker(&["rmi", "-f", &self.0]);
    }
}

/// Our program in a container locked down as the pods are, with `dir` as /data.
fn as_pod(image: &str, dir: &Path, detach: bool, cmd: &[&str]) -> Output {
    let mount = format!("{}:/data", dir.display());
    let mut args = vec![
        "run",
        "--user",
        "65532:65532",
        "--read-only",
        "--cap-drop",
        "ALL",
    ];
    args.extend(["--security-opt", "no-new-privileges", "--network", "none"]);
    args.extend(["--tmpfs", "/tmp", "-v", &mount]);
    args.push(if detach { "-d" } else { "--rm" });
    args.push(image);
    args.extend_from_slice(cmd);
    docker(&args)
}

fn dir_with_mode(root: &Path, name: &str, mode: u32) -> std::path::PathBuf {
    let d = root.join(name);
    std::fs::create_dir(&d).unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(mode)).unwrap();
    d
}

const SCHEDULER: &[&str] = &[
    "logbench-scheduler",
    "--bind-host=127.0.0.1",
    "--bind-port=50050",
    "--event-log-dir=/data/events",
];
const DATA_GEN: &[&str] = &[
    "data-gen",
    "--out=/data/logs",
    "--rows=2000",
    "--files=2",
    "--quiet",
];

#[test]
fn uid_65532_writes_a_provisioned_volume_but_not_a_kubelet_made_hostpath_directory() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    if !prerequisite("k8s_volume", DOCKER, daemon()) {
        return;
    }
    let image = Image(format!("lbtest{}-vol:dev", std::process::id()));
    let work = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(repo().join("deploy/image.sh"))
        .args(["--tag", &image.0, "--bin-dir", bin_dir().to_str().unwrap()])
        .env("LOGBENCH_IMAGE_DIR", work.path())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "image.sh: {}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let root = tempfile::tempdir().unwrap();

    // Before: the directory as the kubelet makes it for a hostPath DirectoryOrCreate volume.
    let kubelet = dir_with_mode(root.path(), "kubelet", 0o755);
    for (program, cmd, dir) in [
        ("the scheduler", SCHEDULER, "--event-log-dir /data/events"),
        ("data-gen", DATA_GEN, "/data/logs"),
    ] {
        let o = as_pod(&image.0, &kubelet, false, cmd);
        let err = text(&o.stderr);
        assert!(
            !o.status.success(),
            "{program} wrote a 0755 root-owned /data: {err}"
        );
        assert!(
            err.contains(dir) && err.contains("ermission denied"),
            "{program} names the directory and the reason: {err}"
        );
    }

    // After: the directory as the local-path and minikube provisioners make it.
    let provisioned = dir_with_mode(root.path(), "provisioned", 0o777);
    let o = as_pod(&image.0, &provisioned, false, DATA_GEN);
    assert!(o.status.success(), "data-gen: {}", text(&o.stderr));
    let manifest = provisioned.join("logs/manifest.json");
    assert!(manifest.is_file(), "data-gen wrote its dataset");
    let o = as_pod(&image.0, &provisioned, true, SCHEDULER);
    assert!(o.status.success(), "docker run -d: {}", text(&o.stderr));
    let id = text(&o.stdout).trim().to_string();
    // The scheduler creates its event log directory before it serves: wait for it (bounded),
    // and for the container to be still running after that.
    let deadline = Instant::now() + Duration::from_secs(60);
    let events = provisioned.join("events");
    while !events.is_dir() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let running = docker_ok(&["inspect", "-f", "{{.State.Running}}", &id]);
    let logs = docker(&["logs", &id]);
    let _ = docker(&["rm", "-f", &id]);
    assert!(
        events.is_dir(),
        "the scheduler made /data/events: {}",
        text(&logs.stderr)
    );
    assert_eq!(running.trim(), "true", "and runs: {}", text(&logs.stderr));
    // The files belong to the pods' user, so the next pod (another program) can write there.
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&manifest).unwrap().uid(), 65532);
}
