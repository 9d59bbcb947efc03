//! `./deploy.sh k8s` against recorded cluster states. No Kubernetes runs on the machines this
//! project is built on (no kind node image can be pulled), so `kubectl`, `kind`, `minikube`
//! and `k3d` are stand-ins (tests/fixtures/k8s/) that answer from a scenario and record every
//! call; everything else is real: deploy.sh, deploy/kwait.py, the manifests rendered by the
//! real `kubectl kustomize`, the image built by deploy/image.sh (when a Docker daemon answers)
//! and the report rendered by bench-runner.
//!
//! Each scenario is one a real cluster produces, as `kubectl get -o json` shows it: a Job that
//! failed because bench-runner exited 1 after writing its result, an init container that
//! failed, an image that cannot be pulled, a pod no node can take; and the clusters `up` must
//! tell apart (kind, minikube and k3d under any context name, Docker Desktop, a registry
//! cluster, nodes of another architecture, no default StorageClass).

mod common;

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use common::{DOCKER, bin_dir, daemon, docker, prerequisite, repo, text, venv};
use serde_json::{Value, json};

/// One scenario: its file, the calls log, and the settings directory deploy.sh keeps for its
/// context (removed on drop).
struct Fake {
    dir: tempfile::TempDir,
    context: String,
}

impl Fake {
    fn new(name: &str, mut scenario: Value) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let context = format!("lbtest-{}-{name}", std::process::id());
        if scenario.get("context").is_none() {
            scenario["context"] = json!(context);
        }
        let context = scenario["context"].as_str().unwrap_or("none").to_string();
        fs::write(dir.path().join("scenario.json"), scenario.to_string()).unwrap();
        fs::create_dir(dir.path().join("log")).unwrap();
        Fake { dir, context }
    }

    /// The settings `up` would have left (for scenarios that start at `bench`).
    fn settings(&self, lines: &str) {
        let d = self.state_dir();
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join("settings"), lines).unwrap();
    }

    fn state_dir(&self) -> PathBuf {
        repo().join(".bench").join(format!("k8s-{}", self.context))
    }

    /// Where deploy/image.sh builds (the build context, the tag file, the archive), outside
    /// the checkout.
    fn image_dir(&self) -> PathBuf {
        self.dir.path().join("image")
    }

    fn deploy(&self, args: &[&str]) -> Output {
        let fixtures = repo().join("bench-runner/tests/fixtures/k8s");
        let real = which("kubectl").expect("kubectl (with kustomize) is needed to render");
        let path = format!(
            "{}:{}",
            fixtures.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = Command::new(deploy_sh());
        // A dry run writes nothing: it prints the default paths, which the scenarios expect.
        if !args.contains(&"--dry-run") {
            cmd.env("LOGBENCH_IMAGE_DIR", self.image_dir());
        }
        cmd.arg("k8s")
            .args(args)
            .env("PATH", path)
            .env("FAKE_KUBE", self.dir.path().join("scenario.json"))
            .env("FAKE_KUBE_LOG", self.dir.path().join("log"))
            .env("FAKE_KUBE_REAL", real)
            .env("LOGBENCH_VENV", venv())
            .env("LOGBENCH_KWAIT_POLL_S", "0.05")
            .env("LOGBENCH_KWAIT_STUCK_S", "0.2")
            .stdin(Stdio::null())
            .output()
            .expect("deploy.sh runs")
    }

    fn calls(&self) -> String {
        fs::read_to_string(self.dir.path().join("log/calls")).unwrap_or_default()
    }

    /// Everything given to `kubectl apply -f -`, in order.
    fn applied(&self) -> Vec<String> {
        (1..)
            .map(|n| self.dir.path().join(format!("log/apply-{n}.yaml")))
            .take_while(|p| p.exists())
            .map(|p| fs::read_to_string(p).unwrap())
            .collect()
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(self.state_dir());
        // The kustomization deploy.sh writes beside the manifests (kustomize loads nothing
        // from outside its own directory tree).
        let _ = fs::remove_dir_all(repo().join("deploy/k8s/.generated").join(&self.context));
    }
}

/// deploy.sh, or the one LOGBENCH_TEST_DEPLOY_SH names (to run these scenarios against an
/// earlier version of it).
fn deploy_sh() -> PathBuf {
    std::env::var_os("LOGBENCH_TEST_DEPLOY_SH")
        .map_or_else(|| repo().join("deploy.sh"), PathBuf::from)
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(program))
        .find(|p| p.is_file() && !p.starts_with(repo().join("bench-runner/tests/fixtures")))
}

/// A pod as `kubectl get pods -o json` shows it: init containers and containers with a state
/// each (`{"terminated": {...}}`, `{"waiting": {...}}`), and optional conditions.
fn pod(
    name: &str,
    init: &[(&str, Value)],
    containers: &[(&str, Value)],
    conditions: Value,
) -> Value {
    let spec = |cs: &[(&str, Value)]| -> Vec<Value> {
        cs.iter()
            .map(|(n, _)| json!({"name": n, "image": "logbench"}))
            .collect()
    };
    let status = |cs: &[(&str, Value)]| -> Vec<Value> {
        cs.iter()
            .map(|(n, s)| json!({"name": n, "state": s}))
            .collect()
    };
    json!({
        "metadata": {"name": name},
        "spec": {"initContainers": spec(init), "containers": spec(containers)},
        "status": {"phase": "Failed", "initContainerStatuses": status(init),
                   "containerStatuses": status(containers), "conditions": conditions},
    })
}

fn exited(code: i32, reason: &str) -> Value {
    json!({"terminated": {"exitCode": code, "reason": reason}})
}

/// The architecture of this machine's binaries as Kubernetes names it, and another one.
fn arches() -> (&'static str, &'static str) {
    if std::env::consts::ARCH == "aarch64" {
        ("arm64", "amd64")
    } else {
        ("amd64", "arm64")
    }
}

fn kind_node() -> Value {
    json!({"name": "lb-control-plane", "providerID": "kind://docker/lb/lb-control-plane", "arch": arches().0})
}

fn has(o: &Output, needle: &str) -> bool {
    text(&o.stderr).contains(needle) || text(&o.stdout).contains(needle)
}

fn show(o: &Output) -> String {
    format!(
        "exit {:?}\nstderr:\n{}\nstdout:\n{}",
        o.status.code(),
        text(&o.stderr),
        text(&o.stdout)
    )
}

/// The result file deploy.sh names on its `result: ` line (relative to the checkout).
fn result_line(o: &Output) -> String {
    text(&o.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("result: ").map(str::to_string))
        .unwrap_or_else(|| panic!("a result line: {}", show(o)))
}

/// Asserts that deploy.sh exited 1 and said each of `needles`.
fn failed_saying(o: &Output, needles: &[&str]) {
    assert_eq!(o.status.code(), Some(1), "{}", show(o));
    for needle in needles {
        assert!(has(o, needle), "{needle:?} in {}", show(o));
    }
}

/// `up` keeps what it was given, and a plain `bench` uses it: the multinode overlay, the
/// image with the tag this build got, 3 executors. The bench Job fails because bench-runner
/// exited 1 (a query failed): the result file is still copied out and its report rendered, and
/// deploy.sh exits 1 saying so. `down` forgets the settings.
#[test]
fn up_settings_reach_bench_and_a_failed_bench_job_still_yields_its_result() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    if !prerequisite("k8s_deploy", DOCKER, daemon()) {
        return;
    }
    let result = repo().join("bench-runner/tests/fixtures/report/df-ballista-200k.json");
    let f = Fake::new(
        "up",
        json!({
            "context": format!("renamed-{}", std::process::id()),
            "nodes": [kind_node()],
            "storageclasses": [{"name": "standard", "default": true}],
            "jobs": {
                "logbench-data-gen": {"condition": "Complete", "pods": [
                    pod("logbench-data-gen-x1", &[("bucket", exited(0, "Completed")), ("data-gen", exited(0, "Completed"))],
                        &[("upload", exited(0, "Completed"))], json!([]))]},
                "logbench-bench": {"condition": "Failed", "reason": "BackoffLimitExceeded", "pods": [
                    pod("logbench-bench-x2", &[], &[("bench-runner", exited(1, "Error"))], json!([]))],
                    "logs": {"logbench-bench-x2/bench-runner": "bench-runner: 1 query failed: agg_top_users"}},
            },
            "result": result,
        }),
    );
    // A registry on this machine, should the cluster ever be taken for one that pulls: nothing
    // listens there, and nothing leaves the machine.
    let image = format!("localhost/lbtest-{}/logbench", std::process::id());
    let bins = bin_dir();
    let up = f.deploy(&[
        "up",
        "--overlay",
        "multinode",
        "--image",
        &image,
        "--executors",
        "3",
        "--rows",
        "1M",
        "--bin-dir",
        bins.to_str().unwrap(),
    ]);
    let tag = fs::read_to_string(f.image_dir().join("tag")).unwrap_or_default();
    let tag = tag.trim().to_string();
    let cleanup = |t: &str| {
        if !t.is_empty() {
            let _ = docker(&["rmi", t]);
        }
    };
    if !up.status.success() {
        cleanup(&tag);
        panic!("up failed: {}", show(&up));
    }
    assert!(
        tag.starts_with(&format!("{image}:")),
        "image.sh tagged {tag:?}"
    );
    let suffix = &tag[image.len() + 1..];
    assert!(
        suffix.len() >= 20 && suffix.rsplit('-').next().unwrap().len() == 12,
        "the tag is <commit>-<digest>: {suffix}"
    );
    // The context is not called kind-*: the node's providerID says kind, cluster "lb".
    let calls = f.calls();
    assert!(
        calls.contains(&format!(
            "kind load image-archive {} --name lb",
            f.image_dir().join("image.tar").display()
        )),
        "kind load from an archive: {calls}"
    );
    assert!(
        !f.image_dir().join("image.tar").exists(),
        "the archive is removed"
    );
    let cluster = f.applied().join("\n");
    assert!(
        cluster.contains(&format!("image: {tag}")),
        "the Deployments run {tag}"
    );
    assert!(cluster.contains("replicas: 3") && cluster.contains("name: logbench-minio"));

    let bench = f.deploy(&["bench", "--bin-dir", bins.to_str().unwrap()]);
    cleanup(&tag);
    assert_eq!(bench.status.code(), Some(1), "{}", show(&bench));
    assert!(has(&bench, "bench-runner exited 1"), "{}", show(&bench));
    assert!(
        has(&bench, "1 query failed: agg_top_users"),
        "its log is shown: {}",
        show(&bench)
    );
    let applied = f.applied();
    let jobs: Vec<&String> = applied.iter().filter(|a| a.contains("kind: Job")).collect();
    assert_eq!(jobs.len(), 2, "data-gen, then bench");
    for j in &jobs {
        assert!(
            j.contains(&format!("image: {tag}")),
            "up's image reaches the Jobs"
        );
        assert!(
            j.contains("LOGBENCH_IMAGE: ") && j.contains(&tag),
            "and the run's settings"
        );
        assert!(j.contains("LOGBENCH_ROWS: \"1000000\""), "up's rows: {j}");
    }
    assert!(
        jobs[1].contains("--data=$(LOGBENCH_DATA)"),
        "the multinode overlay's bench Job"
    );
    let run = result_line(&bench);
    let copied = repo().join(&run);
    let report = copied.with_extension("");
    let same = fs::read(&copied).ok() == fs::read(&result).ok();
    let rendered = report.join("report.md").is_file();
    let _ = fs::remove_file(&copied);
    let _ = fs::remove_dir_all(&report);
    assert!(same, "{run} is the file bench-runner wrote");
    assert!(rendered, "its report is rendered");

    let down = f.deploy(&["down"]);
    assert!(down.status.success(), "{}", show(&down));
    assert!(
        !f.state_dir().join("settings").exists(),
        "down forgets the cluster"
    );
}

/// The multinode data-gen Job fails in its first init container: every container's state is
/// shown (not only "waiting to start: PodInitializing"), with the failed one's log lines, and
/// the bench Job is never started.
#[test]
fn a_failed_init_container_is_named_with_its_logs_and_stops_the_run() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let f = Fake::new(
        "init",
        json!({
            "nodes": [kind_node()],
            "jobs": {"logbench-data-gen": {"condition": "Failed", "reason": "BackoffLimitExceeded", "pods": [
                pod("logbench-data-gen-q7", &[("bucket", exited(1, "Error")), ("data-gen", json!({}))],
                    &[("upload", json!({"waiting": {"reason": "PodInitializing"}}))], json!([]))],
                "logs": {"logbench-data-gen-q7/bucket": "mc: <ERROR> Unable to make bucket `s3/logbench`. Access Denied."}}},
        }),
    );
    f.settings("overlay=multinode\nimage=logbench:t1\nexecutors=2\nrows=1000000\nfiles=1\niterations=1\nscale=1\nstorage_class=\nbase=local\n");
    let o = f.deploy(&["bench", "--bin-dir", bin_dir().to_str().unwrap()]);
    failed_saying(
        &o,
        &[
            "job logbench-data-gen failed (BackoffLimitExceeded",
            "init container bucket: terminated, exit code 1 (Error)",
            "init container data-gen: not started",
            "container upload: waiting, PodInitializing",
            "Unable to make bucket `s3/logbench`. Access Denied.",
            "the data-gen Job did not complete",
        ],
    );
    assert!(
        !f.applied()
            .iter()
            .any(|a| a.contains("name: logbench-bench")),
        "no bench Job after a failed data-gen"
    );
}

/// Pods that cannot start end the wait in seconds, not at its timeout (an hour or two): an
/// image that cannot be pulled, and a pod no node has room for. The bench Job killed for
/// memory (exit 137, no result file) is reported with its exit code.
#[test]
fn pods_that_cannot_start_or_die_end_the_wait_with_the_reason() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let settings = "overlay=local\nimage=logbench:t2\nexecutors=2\nrows=1000000\nfiles=1\niterations=1\nscale=1\nstorage_class=\nbase=local\n";
    let pull = pod(
        "logbench-data-gen-a1",
        &[],
        &[(
            "data-gen",
            json!({"waiting": {"reason": "ImagePullBackOff",
            "message": "Back-off pulling image \"logbench:t2\""}}),
        )],
        json!([]),
    );
    let unschedulable = pod(
        "logbench-data-gen-b2",
        &[],
        &[("data-gen", json!({}))],
        json!([{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                "message": "0/1 nodes are available: 1 Insufficient cpu."}]),
    );
    for (name, p, needle) in [
        (
            "pull",
            pull,
            "container data-gen: ImagePullBackOff (Back-off pulling image \"logbench:t2\")",
        ),
        (
            "sched",
            unschedulable,
            "not scheduled: Unschedulable: 0/1 nodes are available: 1 Insufficient cpu.",
        ),
    ] {
        let f = Fake::new(
            name,
            json!({"nodes": [kind_node()], "jobs": {"logbench-data-gen": {"pods": [p]}}}),
        );
        f.settings(settings);
        let started = std::time::Instant::now();
        let o = f.deploy(&["bench", "--bin-dir", bin_dir().to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1), "{}", show(&o));
        assert!(
            has(&o, "job logbench-data-gen is stuck") && has(&o, needle),
            "{needle:?} in {}",
            show(&o)
        );
        assert!(
            started.elapsed().as_secs() < 60,
            "ended in {:?}",
            started.elapsed()
        );
    }
    let f = Fake::new(
        "oom",
        json!({"nodes": [kind_node()], "jobs": {
            "logbench-data-gen": {"condition": "Complete", "pods": [
                pod("logbench-data-gen-c3", &[], &[("data-gen", exited(0, "Completed"))], json!([]))]},
            "logbench-bench": {"condition": "Failed", "reason": "BackoffLimitExceeded", "pods": [
                pod("logbench-bench-d4", &[], &[("bench-runner", exited(137, "OOMKilled"))], json!([]))]}}}),
    );
    f.settings(settings);
    let o = f.deploy(&["bench", "--bin-dir", bin_dir().to_str().unwrap()]);
    failed_saying(
        &o,
        &[
            "container bench-runner: terminated, exit code 137 (OOMKilled)",
            "bench-runner wrote no result file",
            "bench-runner exited 137",
        ],
    );
}

/// `bench --load-rates`: after the bench Job, the load Job runs with the rates and duration
/// given (its DataFusion sweep in an init container, then Ballista's), its result files are
/// copied beside the bench's and rendered into the same report. A load Job whose Ballista
/// sweep exits 1 (a request failed) still yields its files, and deploy.sh exits 1 saying so.
#[test]
fn a_load_sweep_runs_after_the_bench_and_joins_its_report() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let settings = "overlay=local\nimage=logbench:t3\nexecutors=2\nrows=1000000\nfiles=1\niterations=1\nscale=1\nstorage_class=\nbase=local\n";
    let fixtures = repo().join("bench-runner/tests/fixtures/report");
    let done = |name: &str, init: &[&str], main: &str, code: i32| {
        let init: Vec<(&str, Value)> = init.iter().map(|c| (*c, exited(0, "Completed"))).collect();
        let pods = json!([pod(
            &format!("{name}-p1"),
            &init,
            &[(
                main,
                exited(code, if code == 0 { "Completed" } else { "Error" })
            )],
            json!([])
        )]);
        if code == 0 {
            json!({"condition": "Complete", "pods": pods})
        } else {
            json!({"condition": "Failed", "reason": "BackoffLimitExceeded", "pods": pods})
        }
    };
    for ballista_exit in [0, 1] {
        let f = Fake::new(
            &format!("load{ballista_exit}"),
            json!({"nodes": [kind_node()], "jobs": {
                "logbench-data-gen": done("logbench-data-gen", &[], "data-gen", 0),
                "logbench-bench": done("logbench-bench", &[], "bench-runner", 0),
                "logbench-load": done("logbench-load", &["load-datafusion"], "load-ballista", ballista_exit)},
                "result": fixtures.join("df-ballista-200k.json"),
                "loads": {"datafusion": fixtures.join("load-df-200k.json"),
                          "ballista": fixtures.join("load-df-200k.json")}}),
        );
        f.settings(settings);
        let o = f.deploy(&[
            "bench",
            "--bin-dir",
            bin_dir().to_str().unwrap(),
            "--load-rates",
            "0.5,1",
            "--load-duration",
            "20",
        ]);
        let run = result_line(&o);
        let copied = repo().join(&run);
        let report = copied.with_extension("");
        let loads: Vec<PathBuf> = ["datafusion", "ballista"]
            .iter()
            .map(|e| copied.with_extension(format!("load-{e}.json")))
            .collect();
        let all_copied = loads.iter().all(|l| l.is_file());
        let md = fs::read_to_string(report.join("report.md")).unwrap_or_default();
        let _ = fs::remove_file(&copied);
        for l in &loads {
            let _ = fs::remove_file(l);
        }
        let _ = fs::remove_dir_all(&report);
        if ballista_exit == 0 {
            assert!(o.status.success(), "{}", show(&o));
        } else {
            failed_saying(&o, &["some requests failed under load"]);
        }
        assert!(all_copied, "both load files copied: {}", show(&o));
        assert!(md.contains("Latency under load"), "{md}");
        let applied = f.applied();
        let jobs: Vec<&String> = applied.iter().filter(|a| a.contains("kind: Job")).collect();
        assert_eq!(jobs.len(), 3, "data-gen, bench, then load");
        assert!(jobs[2].contains("name: logbench-load"), "{}", jobs[2]);
        assert!(
            jobs[2].contains("LOGBENCH_LOAD_RATES: 0.5,1")
                && jobs[2].contains("LOGBENCH_LOAD_DURATION: \"20\""),
            "the sweep's settings reach the Job: {}",
            jobs[2]
        );
    }
}

/// `up` finds how the image reaches the nodes from the nodes, whatever the context is called,
/// and refuses, before building anything, a cluster it cannot run on (dry runs).
#[test]
fn up_loads_the_image_as_each_cluster_needs_and_refuses_what_cannot_work() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let sc = json!([{"name": "standard", "default": true}]);
    let bins = bin_dir();
    let up = |name: &str, nodes: Value, classes: &Value, extra: &[&str]| {
        let f = Fake::new(name, json!({"nodes": nodes, "storageclasses": classes}));
        let mut args = vec!["up", "--dry-run", "--bin-dir", bins.to_str().unwrap()];
        args.extend_from_slice(extra);
        f.deploy(&args)
    };
    let cases: [(&str, Value, &[&str], &str); 7] = [
        (
            "kind",
            json!([kind_node()]),
            &[],
            "kind load image-archive .bench/image/image.tar --name lb",
        ),
        (
            "minikube",
            json!([{"name": "dev", "minikube": "dev"}]),
            &[],
            "minikube -p dev image load .bench/image/image.tar",
        ),
        (
            "k3d",
            json!([{"name": "k3d-lab-server-0", "providerID": "k3s://k3d-lab-server-0"}]),
            &[],
            "k3d image import .bench/image/image.tar --cluster lab",
        ),
        (
            "desktop",
            json!([{"name": "docker-desktop"}]),
            &[],
            "needs no loading",
        ),
        (
            "rancher",
            json!([{"name": "lima-rancher-desktop"}]),
            &[],
            "needs no loading",
        ),
        (
            "override",
            json!([kind_node()]),
            &["--load", "minikube:other"],
            "minikube -p other image load .bench/image/image.tar",
        ),
        (
            "eks",
            json!([{"name": "ip-10-0-1-5.ec2.internal", "providerID": "aws:///us-east-1a/i-0abc"}]),
            &[
                "--image",
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/logbench",
            ],
            "docker push 123456789012.dkr.ecr.us-east-1.amazonaws.com/logbench:",
        ),
    ];
    for (name, nodes, extra, needle) in cases {
        let o = up(name, nodes, &sc, extra);
        assert!(
            o.status.success() && has(&o, needle),
            "{name}: {needle:?} in {}",
            show(&o)
        );
    }
    let o = up("badload", json!([kind_node()]), &sc, &["--load", "kind"]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(has(&o, "--load is kind:CLUSTER"), "{}", show(&o));
    let eks = json!([{"name": "ip-10-0-1-5.ec2.internal"}]);
    let o = up("push", eks.clone(), &sc, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(
        has(
            &o,
            "pass --image REGISTRY/NAME (docker push 'logbench' would go to Docker Hub)"
        ),
        "{}",
        show(&o)
    );
    let o = up(
        "nosc",
        eks.clone(),
        &json!([{"name": "gp2"}]),
        &["--image", "reg.example/logbench"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(
        has(&o, "no default StorageClass") && has(&o, "--storage-class NAME"),
        "{}",
        show(&o)
    );
    let o = up(
        "gp3",
        eks,
        &json!([]),
        &["--image", "reg.example/logbench", "--storage-class", "gp3"],
    );
    assert!(
        o.status.success() && has(&o, "storageClassName: gp3"),
        "{}",
        show(&o)
    );
    let (ours, other) = arches();
    let foreign = json!([{"name": "lb-control-plane", "providerID": "kind://docker/lb/lb-control-plane", "arch": other}]);
    let o = up("arch", foreign, &sc, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    let needle = format!("are linux/{ours}, but a node of this cluster is linux/{other}");
    assert!(has(&o, &needle), "{needle:?} in {}", show(&o));
    assert!(
        !has(&o, "build the image"),
        "refused before building: {}",
        show(&o)
    );
}

/// deploy.sh reads `--rows` as data-gen reads it (`logbench_common::cli::parse_count`): the
/// same number for every count both accept, and a one-line refusal (exit 2) for what data-gen
/// refuses, never a shell error.
#[test]
fn deploy_sh_reads_counts_as_data_gen_does() {
    for given in ["20M", "1_000_000", "007", "5k", "2G", "300000"] {
        let o = Command::new(deploy_sh())
            .args(["--dry-run", "--rows", given])
            .output()
            .unwrap();
        assert!(o.status.success(), "{given}: {}", show(&o));
        let want = logbench_common::cli::parse_count(given).unwrap();
        assert!(
            text(&o.stdout).contains(&format!("data-gen --out data/logs-{want} --rows {want} ")),
            "{given}: {}",
            show(&o)
        );
    }
    for given in ["1.5M", "M", "-3", "20X", "99999999999G", "", "0"] {
        let o = Command::new(deploy_sh())
            .args(["--dry-run", "--rows", given])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{given}: {}", show(&o));
        let err = text(&o.stderr);
        assert_eq!(err.trim().lines().count(), 1, "{given}: {err}");
        assert!(
            err.contains("--rows needs a whole number"),
            "{given}: {err}"
        );
        assert!(
            logbench_common::cli::parse_count(given).is_err() || given == "0",
            "{given}"
        );
    }
}
