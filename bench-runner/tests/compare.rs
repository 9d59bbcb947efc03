//! `bench-runner compare` on real result files (a small generated dataset, DataFusion).

use std::path::Path;

use bench_runner::compare::{Comparison, Verdict};
use bench_runner::results::RunResult;

mod common;
use common::{bench_runner, generate, text, workload};

fn run(data: &Path, out: &Path) {
    let queries = workload();
    let o = common::run(
        data,
        &[
            "--queries",
            queries.to_str().unwrap(),
            "--query",
            "agg_status_codes",
            "--query",
            "filter_one_day",
            "--iterations",
            "15",
            "--warmup",
            "1",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
}

#[test]
fn compare_reports_answers_plans_and_refuses_bad_input() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let tmp = tempfile::tempdir().unwrap();
    let data = generate(&tmp.path().join("data"), 200_000, 2, 50_000);
    let (a, b) = (tmp.path().join("a.json"), tmp.path().join("b.json"));
    run(&data, &a);
    run(&data, &b);

    // Two clean runs: no answer differences; the outputs are written.
    let (md, js, bmf) = (
        tmp.path().join("c.md"),
        tmp.path().join("c.json"),
        tmp.path().join("c.bmf.json"),
    );
    let o = bench_runner(&[
        "compare",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--markdown",
        md.to_str().unwrap(),
        "--json",
        js.to_str().unwrap(),
        "--bmf",
        bmf.to_str().unwrap(),
    ]);
    let c: Comparison = serde_json::from_str(&std::fs::read_to_string(&js).unwrap()).unwrap();
    assert_eq!(c.queries.len(), 2);
    assert_eq!(c.correctness_differences(), 0);
    assert!(
        c.queries
            .iter()
            .all(|q| !q.plan_changed && q.ci_low.unwrap() <= q.ci_high.unwrap())
    );
    // Two sequential runs of one binary (an A/A pair): neither slower nor faster, exit 0. The
    // queries take a few milliseconds here, where drift between runs used to raise false alarms
    // (docs/gate-calibration.md); the floor is what keeps them quiet. An interval clear of 1.0
    // inside the drift band is "within drift": the drift between the runs, not an alarm.
    assert!(
        c.queries.iter().all(|q| matches!(
            q.verdict,
            Verdict::NoChange | Verdict::WithinDrift | Verdict::Inconclusive
        )),
        "{}",
        text(&o.stdout)
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    let table = std::fs::read_to_string(&md).unwrap();
    assert_eq!(
        table
            .lines()
            .filter(|l| l.starts_with("| datafusion |"))
            .count(),
        2
    );
    let bmf: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&bmf).unwrap()).unwrap();
    assert!(
        bmf["datafusion/agg_status_codes"]["latency"]["value"]
            .as_f64()
            .unwrap()
            > 0.0
    );

    // An answer that changed is a correctness difference: exit 1, flagged.
    let mut changed = RunResult::read(&b).unwrap();
    changed.engines[0].queries[0]
        .answer
        .as_mut()
        .unwrap()
        .digest = "0".repeat(32);
    if let Some(p) = changed.engines[0].queries[1].plans.as_mut() {
        p.fingerprint = "ffffffffffffffff".into();
    }
    let cpath = tmp.path().join("changed.json");
    changed.write(&cpath).unwrap();
    let o = bench_runner(&["compare", a.to_str().unwrap(), cpath.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o.stdout);
    assert!(
        out.contains("ANSWER DIFFERS") && out.contains("plan changed"),
        "{out}"
    );

    // Bad input: exit 2 with one line naming the problem.
    let o = bench_runner(&[
        "compare",
        a.to_str().unwrap(),
        tmp.path().join("missing.json").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("NEW") && text(&o.stderr).lines().count() == 1,
        "{}",
        text(&o.stderr)
    );
    let mut other = RunResult::read(&b).unwrap();
    other.dataset.manifest_sha256 = "f".repeat(64);
    let opath = tmp.path().join("other.json");
    other.write(&opath).unwrap();
    let o = bench_runner(&["compare", a.to_str().unwrap(), opath.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("different datasets"),
        "{}",
        text(&o.stderr)
    );
    let mut fewer = RunResult::read(&b).unwrap();
    fewer.engines[0].queries.pop();
    fewer.arguments.selected_queries.pop();
    let fpath = tmp.path().join("fewer.json");
    fewer.write(&fpath).unwrap();
    let o = bench_runner(&["compare", a.to_str().unwrap(), fpath.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("different workloads: query filter_one_day is only in BASE"),
        "{}",
        text(&o.stderr)
    );
}
