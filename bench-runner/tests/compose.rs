//! The Kubernetes topology in containers (`./deploy.sh compose`), for real, when a Docker
//! daemon answers: our image built here on a base made here, a scheduler and two executors
//! in their own locked-down containers on private networks, the workload run by a runner
//! container that reaches the scheduler only, and one trial of each fault
//! (`scripts/tools/faults.py`). Without a daemon the test says so in one line and checks nothing.
//! Every container, network and volume the test makes is removed when it ends, pass or fail.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{DOCKER, bin_dir, daemon, docker, docker_ok, ok, prerequisite, repo, text, venv};
use serde_json::Value;

/// Where deploy/image.sh builds the project's image: outside the checkout, removed by `Down`.
fn image_dir(project: &str) -> PathBuf {
    std::env::temp_dir().join(format!("{project}-image"))
}

/// `./deploy.sh compose ACTION --project P ...`, with the test's binaries and Python tools.
fn deploy(project: &str, action: &str, extra: &[&str]) -> Output {
    Command::new(repo().join("deploy.sh"))
        .args(["compose", action, "--project", project])
        .args(extra)
        .env("LOGBENCH_VENV", venv())
        .env("LOGBENCH_IMAGE_DIR", image_dir(project))
        .env("CARGO_TARGET_DIR", bin_dir().parent().unwrap())
        .stdin(Stdio::null())
        .output()
        .expect("deploy.sh runs")
}

/// What is labelled with the project: containers, networks, volumes.
fn leftovers(project: &str) -> Vec<String> {
    let label = format!("label=io.logbench.project={project}");
    let mut out = Vec::new();
    for (kind, args) in [
        ("container", vec!["ps", "-a", "-q", "--filter", &label]),
        ("network", vec!["network", "ls", "-q", "--filter", &label]),
        ("volume", vec!["volume", "ls", "-q", "--filter", &label]),
    ] {
        for id in text(&docker(&args).stdout).split_whitespace() {
            out.push(format!("{kind} {id}"));
        }
    }
    out
}

/// Takes the cluster down when dropped, whatever happened, and removes the copied results.
struct Down {
    project: String,
    copied: Vec<PathBuf>,
}

impl Drop for Down {
    fn drop(&mut self) {
        let o = deploy(&self.project, "down", &[]);
        if !o.status.success() {
            eprintln!("compose down: {}", text(&o.stderr));
        }
        for p in &self.copied {
            let _ = std::fs::remove_file(p);
            let _ = std::fs::remove_dir_all(p.with_extension(""));
        }
        let _ = std::fs::remove_dir_all(repo().join(format!(".bench/compose-{}", self.project)));
        let _ = std::fs::remove_dir_all(image_dir(&self.project));
        let _ = docker(&["rmi", "-f", &format!("{}:dev", self.project)]);
    }
}

fn inspect(name: &str) -> Value {
    let v: Value = serde_json::from_str(&docker_ok(&["inspect", name])).unwrap();
    v[0].clone()
}

fn networks(c: &Value) -> BTreeSet<String> {
    c["NetworkSettings"]["Networks"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

/// Each container runs as the pods do: uid 65532, read-only root, no capabilities, no new
/// privileges, no port published.
fn locked_down(c: &Value) {
    let name = c["Name"].as_str().unwrap();
    let h = &c["HostConfig"];
    assert_eq!(c["Config"]["User"], "65532:65532", "{name}: user");
    assert_eq!(h["ReadonlyRootfs"], true, "{name}: read-only root");
    assert_eq!(
        h["CapDrop"],
        serde_json::json!(["ALL"]),
        "{name}: capabilities"
    );
    assert!(
        h["SecurityOpt"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o == "no-new-privileges:true"),
        "{name}: no-new-privileges"
    );
    let published = h["PortBindings"].as_object().map_or(0, |m| m.len());
    assert_eq!(published, 0, "{name}: no port is published");
}

fn faults(project: &str, kind: &str, out: &Path) -> Value {
    let o = Command::new(venv().join("bin/python"))
        .arg(repo().join("scripts/tools/faults.py"))
        .args(["--project", project, "--kind", kind, "--trials", "1"])
        // A cut shorter than the scheduler's 30 s executor timeout: a stalled job cannot
        // keep the executor away long enough to be removed and refused on its return.
        .args(if kind == "cut" {
            &["--cut-for", "15"][..]
        } else {
            &[]
        })
        .args(["--bound", "60", "--out"])
        .arg(out)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let report = format!("{}{}", text(&o.stdout), text(&o.stderr));
    // Exit 1: a trial hung, an answer was wrong, or the harness failed (a job that never
    // appeared, executors not all back before the next trial).
    assert!(o.status.success(), "faults.py --kind {kind}: {report}");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap();
    let t = &doc["trials"][0];
    eprintln!(
        "{kind}: {}\n{kind}: reference {}\n{kind}: trial {t}",
        doc["summary"], doc["reference"]
    );
    // A fault that lands after the job tests nothing (faults.py tries earlier, three times,
    // on a job it has made last at least a second).
    if kind != "restart" {
        assert!(
            doc["reference"]["job_s"].as_f64().unwrap() >= 1.0,
            "{kind}: the fault-free job lasts a second: {}",
            doc["reference"]
        );
    }
    assert_eq!(
        t["struck_inside"], true,
        "{kind}: the fault struck inside the job: {t}"
    );
    match t["outcome"].as_str().unwrap() {
        // The answer equals the fault-free one, which faults.py checked against DataFusion's.
        "correct" => {}
        // Only Ballista's known stall (the AQE rollback after a lost executor's map output):
        // its job cancelled, its id and the scheduler's lines recorded.
        "stalled job" => {
            assert!(
                t["job_id"].as_str().is_some_and(|j| !j.is_empty()),
                "{kind}: {t}"
            );
            assert_eq!(
                t["upstream_stall"], true,
                "{kind}: not the known stall: {t}"
            );
            assert!(
                !t["scheduler_log"].as_array().unwrap().is_empty(),
                "{kind}: {t}"
            );
            // The cluster was asked once more before its scheduler was restarted.
            assert!(t["probe_after"]["outcome"].is_string(), "{kind}: {t}");
        }
        // Only Ballista's two known failures. A shuffle stream the fault broke mid-body: the
        // job ended Failed at once on a non-retryable execution error naming the broken
        // transport. Or a lost result: the job Completed with part of its final stage's output
        // on the killed executor, which the client's fetch (through the scheduler's flight
        // proxy) could not reach.
        "error" if t["upstream_lost_result"] == true => {
            assert_eq!(t["job_status"], "Completed", "{kind}: {t}");
            assert!(t["fetch_stage"].as_u64().is_some(), "{kind}: {t}");
        }
        "error" => assert_eq!(
            t["upstream_fetch_error"], true,
            "{kind}: not a known upstream failure: {t}\n{report}"
        ),
        other => panic!("{kind}: outcome {other}: {t}\n{report}"),
    }
    if kind != "restart" {
        assert_eq!(
            t["all_registered_before_next"], true,
            "{kind}: every executor registered again: {t}"
        );
    }
    doc
}

/// faults.py's names for Ballista's known failures match the messages they were seen with and
/// nothing else: an error the harness does not know fails the fault test instead.
#[test]
fn the_fault_harness_names_only_the_known_upstream_failures() {
    // The messages as the runner recorded them (docs/findings/), shortened where they repeat.
    let check = r#"
import sys
sys.path.insert(0, "scripts/tools")
import faults as f
lost = ("Shuffle fetch partition error from Executor executor-1, map_stage 3, map_partition 0, "
        "error desc: Status { code: Internal, message: \"Error connecting to Ballista executor at "
        "http://172.20.0.4:50051: tonic::transport::Error(Transport, ConnectError(...))\" }")
broken = ("Job failed due to stage 3 failed: Task failed due to runtime execution error: "
          "DataFusionError(Shared(External(ArrowError(ExternalError(Status { code: Unknown, "
          "message: \"h2 protocol error: error reading a body from connection\" })))))")
cases = [
    (f.upstream_lost_result(lost, "Completed", "executor-1"), True),
    (f.upstream_lost_result(lost, "Failed", "executor-1"), False),
    (f.upstream_lost_result(lost, "Completed", "executor-2"), False),
    (f.upstream_lost_result(broken, "Completed", "executor-1"), False),
    (f.upstream_fetch_error(broken, "Failed"), True),
    (f.upstream_fetch_error(lost, "Completed"), False),
    (f.fetch_stage(lost), 3),
    (f.fetch_stage(broken), None),
]
bad = [i for i, (got, want) in enumerate(cases) if got != want]
print("wrong cases:", bad)
sys.exit(1 if bad else 0)
"#;
    let o = Command::new(venv().join("bin/python"))
        .args(["-c", check])
        .current_dir(repo())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
}

#[test]
fn the_kubernetes_topology_runs_in_containers_and_survives_each_fault() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(2400));
    if !prerequisite("compose", DOCKER, daemon()) {
        return;
    }
    let project = format!("lbtest{}", std::process::id());
    common::watched()
        .lock()
        .unwrap()
        .compose_projects
        .push(project.clone());
    let mut down = Down {
        project: project.clone(),
        copied: Vec::new(),
    };
    let p = project.as_str();

    // up: the image on a base made here, a scheduler and two executors, all registered.
    let bins = bin_dir().display().to_string();
    let image = format!("{p}:dev");
    let o = deploy(
        p,
        "up",
        &[
            "--executors",
            "2",
            "--rows",
            "300000",
            "--bin-dir",
            &bins,
            "--image",
            &image,
            // The executors as before the manifests were sized for minikube: 2 task slots.
            "--scale",
            "2",
        ],
    );
    ok(&o);
    let size: u64 = docker_ok(&["image", "inspect", "-f", "{{.Size}}", &image])
        .trim()
        .parse()
        .unwrap();
    assert!(
        size > 10_000_000,
        "the image holds the four programs ({size} bytes)"
    );

    // The topology: executors on the cluster network only, the scheduler on both.
    let client = format!("{p}_client");
    let cluster = format!("{p}_cluster");
    let sched = inspect(&format!("{p}-scheduler"));
    locked_down(&sched);
    assert_eq!(
        networks(&sched),
        BTreeSet::from([client.clone(), cluster.clone()])
    );
    let mut addresses = BTreeSet::new();
    for i in 1..=2 {
        let e = inspect(&format!("{p}-executor-{i}"));
        locked_down(&e);
        assert_eq!(
            networks(&e),
            BTreeSet::from([cluster.clone()]),
            "executor-{i}"
        );
        addresses.insert(
            e["NetworkSettings"]["Networks"][&cluster]["IPAddress"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(addresses.len(), 2, "each executor has its own address");
    for net in [&client, &cluster] {
        let n: Value = serde_json::from_str(&docker_ok(&["network", "inspect", net])).unwrap();
        assert_eq!(n[0]["Internal"], true, "{net} is private: no route out");
    }

    // The runner's network: the scheduler answers, with each executor advertising its own
    // container; an executor's name does not even resolve there.
    let cfile = repo().join(format!(".bench/compose-{p}/compose.yaml"));
    let cfile = cfile.to_str().unwrap();
    let runner = |args: &[&str]| {
        let mut all = vec!["-p", p, "-f", cfile, "run", "--rm", "wait"];
        all.extend_from_slice(args);
        let plugin = docker(&["compose", "version"]).status.success();
        let mut cmd = if plugin {
            let mut c = Command::new("docker");
            c.arg("compose");
            c
        } else {
            Command::new("docker-compose")
        };
        cmd.args(&all).stdin(Stdio::null()).output().unwrap()
    };
    let o = runner(&[
        "bench-runner",
        "cluster",
        "executors",
        "--scheduler=logbench-scheduler:50050",
        "--json",
        "--timeout=30",
    ]);
    ok(&o);
    let listed: Value = serde_json::from_str(&text(&o.stdout)).unwrap();
    let hosts: BTreeSet<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["host"].as_str().unwrap())
        .collect();
    assert_eq!(
        hosts,
        BTreeSet::from([
            format!("{p}-executor-1").as_str(),
            format!("{p}-executor-2").as_str()
        ])
    );
    let o = runner(&[
        "bench-runner",
        "cluster",
        "executors",
        &format!("--scheduler={p}-executor-1:50053"),
        "--timeout=3",
    ]);
    assert!(
        !o.status.success(),
        "an executor is unreachable from the runner's network: {}",
        text(&o.stdout)
    );

    // bench: data-gen and the workload on both engines; the answers agree, and Ballista's
    // came through the scheduler's Flight proxy (the runner has no other way). Then a short
    // load sweep on each engine, in the load Job's containers, into the same report.
    let o = deploy(
        p,
        "bench",
        &[
            "--iterations",
            "2",
            "--load-rates",
            "2",
            "--load-duration",
            "3",
        ],
    );
    let log = text(&o.stdout);
    // deploy.sh's own last line (bench-runner's, before it, names the path in the container).
    let result = log
        .lines()
        .filter_map(|l| l.strip_prefix("result: "))
        .next_back()
        .map(|r| repo().join(r.trim()));
    if let Some(r) = &result {
        down.copied.push(r.clone());
        for engine in ["datafusion", "ballista"] {
            down.copied
                .push(r.with_extension(format!("load-{engine}.json")));
        }
    }
    ok(&o);
    let result_path = result.clone().unwrap();
    for engine in ["datafusion", "ballista"] {
        let path = result_path.with_extension(format!("load-{engine}.json"));
        let load: Value = serde_json::from_str(
            &std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}\n{log}", path.display())),
        )
        .unwrap();
        let rate = &load["rates"][0];
        assert_eq!(rate["offered_rate"], 2.0, "{engine}: {rate}");
        assert!(rate["ok"].as_u64().unwrap() > 0, "{engine}: {rate}");
        assert_eq!(rate["errors"], 0, "{engine}: {rate}");
        assert_eq!(rate["wrong_answers"], 0, "{engine}: {rate}");
        assert_eq!(load["dataset"]["rows"], 300_000, "{engine}");
        if engine == "ballista" {
            // Jobs through the scheduler of this cluster, each with its queue wait, and tasks
            // on both executors (from the event log on the shared volume).
            assert!(rate["queue_wait"].is_object(), "{rate}");
            let tasks = rate["tasks_per_executor"].as_object();
            assert_eq!(tasks.map_or(0, |t| t.len()), 2, "{rate}");
        }
    }
    let report = std::fs::read_to_string(result_path.with_extension("").join("report.md"))
        .unwrap_or_default();
    assert!(
        report.contains("Latency under load"),
        "the sweep is in the report"
    );
    let result: Value =
        serde_json::from_str(&std::fs::read_to_string(result.unwrap()).unwrap()).unwrap();
    let engines = result["engines"].as_array().unwrap();
    assert_eq!(engines.len(), 2);
    for e in engines {
        for q in e["queries"].as_array().unwrap() {
            assert_eq!(
                q["status"], "ok",
                "{} on {}: {}",
                q["name"], e["engine"], q["error"]
            );
        }
    }
    // Left out of the file when there are none.
    let mismatches = result["answer_mismatches"].as_array().map_or(0, Vec::len);
    assert_eq!(mismatches, 0, "{}", result["answer_mismatches"]);
    assert_eq!(result["dataset"]["rows"], 300_000);

    // One trial of each fault; outcomes and times are in the files. A scheduler restart loses
    // no executor, so Ballista's stall cannot explain a restart trial that did not answer.
    let dir = tempfile::tempdir().unwrap();
    for kind in ["kill", "cut", "restart"] {
        let doc = faults(p, kind, &dir.path().join(format!("{kind}.json")));
        if kind == "restart" {
            assert_eq!(doc["trials"][0]["outcome"], "correct", "{doc}");
        }
    }

    drop(down);
    assert_eq!(
        leftovers(p),
        Vec::<String>::new(),
        "down removes everything"
    );
}
