//! `bench-runner run` on local DataFusion over a small generated dataset, through the binary.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use bench_runner::results::{RunResult, Status};
use bench_runner::sampling::{MedianInterval, Stop};

mod common;
use common::{bench_runner, generate, text, workload};

const ROWS: u64 = 300_000;

/// A small dataset shared by the tests of this binary (generated once).
fn dataset() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("run-datafusion-logs");
        generate(&dir, ROWS, 4, 30_000)
    })
}

#[test]
fn the_whole_workload_runs_and_the_result_round_trips() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r.json");
    let answers = tmp.path().join("answers");
    let o = common::run(
        dataset(),
        &[
            "--queries",
            workload().to_str().unwrap(),
            "--iterations",
            "3",
            "--warmup",
            "1",
            "--out",
            out.to_str().unwrap(),
            "--save-answers",
            answers.to_str().unwrap(),
        ],
    );
    assert!(
        o.status.success(),
        "stderr: {}\nstdout: {}",
        text(&o.stderr),
        text(&o.stdout)
    );

    let raw = std::fs::read_to_string(&out).unwrap();
    let r = RunResult::read(&out).unwrap();
    r.validate().unwrap();
    assert!(r.complete);
    assert_eq!(r.arguments.iterations, Some(3));
    assert_eq!(r.arguments.engines, ["datafusion"]);
    assert!(
        r.to_json() == raw,
        "the file is exactly what the type writes back"
    );
    let back: RunResult = serde_json::from_str(&r.to_json()).unwrap();
    assert_eq!(back, r);

    assert_eq!(r.dataset.rows, ROWS);
    assert_eq!(r.dataset.manifest_sha256.len(), 64);
    let e = &r.engines[0];
    assert_eq!(e.engine.name, "datafusion");
    assert_eq!(e.table_rows, ROWS);
    let names: Vec<&str> = e.queries.iter().map(|q| q.name.as_str()).collect();
    assert!(names.len() >= 10, "{names:?}");
    for q in &e.queries {
        assert_eq!(q.status, Status::Ok, "{}: {:?}", q.name, q.error);
        let lat = q.latency.as_ref().unwrap();
        assert_eq!(
            lat.count, 3,
            "{}: the cold run and warm-up are not in the histogram",
            q.name
        );
        assert!(q.cold_us.unwrap() > 0);
        assert_eq!(q.warmup_runs, 1);
        let plans = q.plans.as_ref().unwrap();
        assert!(
            plans.physical.contains("DataSourceExec"),
            "{}",
            plans.physical
        );
        // Operator metrics from the last measured run's executed plan: its root produced the
        // answer's rows.
        let ops = &q.analysis.as_ref().unwrap().operators;
        assert_eq!(
            ops[0].output_rows,
            Some(q.answer.as_ref().unwrap().rows),
            "{}: {ops:?}",
            q.name
        );
        // A fixed count: every run's time in order, and the median's interval over them.
        assert_eq!(q.samples_us.len(), 3, "{}", q.name);
        let s = q.sampling.as_ref().unwrap();
        assert_eq!(s.stop, Stop::Fixed);
        let i = MedianInterval::of(&q.samples_us).unwrap();
        assert_eq!((s.interval_us, s.median_us), ([i.lo, i.hi], i.median));
        assert!(q.disagreeing_digests.is_empty());
        // The saved answer has the rows the digest counted.
        let path = answers.join(format!("{}.parquet", q.name));
        let rows: i64 = datafusion::parquet::file::reader::SerializedFileReader::new(
            std::fs::File::open(&path).unwrap(),
        )
        .map(|r| {
            use datafusion::parquet::file::reader::FileReader;
            r.metadata().file_metadata().num_rows()
        })
        .unwrap();
        assert_eq!(rows as u64, q.answer.as_ref().unwrap().rows, "{}", q.name);
    }
    let by_name = |n: &str| e.queries.iter().find(|q| q.name == n).unwrap();
    assert_eq!(
        by_name("agg_status_codes").answer.as_ref().unwrap().rows,
        16
    );
    assert_eq!(
        by_name("sort_top_latency").answer.as_ref().unwrap().rows,
        100
    );
    // At most 720 hours x 10 regions; at this small scale a few rare night buckets are empty.
    let buckets = by_name("agg_hourly_region").answer.as_ref().unwrap().rows;
    assert!((7_000..=7_200).contains(&buckets), "{buckets}");
    // The variant that truncates timestamps without a zone gives the same hours, rows and order.
    let (zoned, naive) = (
        by_name("agg_hourly_region").answer.as_ref().unwrap(),
        by_name("agg_hourly_region_naive").answer.as_ref().unwrap(),
    );
    assert!(zoned.ordered.is_some());
    assert_eq!(zoned, naive);
    // The summary names every query.
    let stdout = text(&o.stdout);
    for n in names {
        assert!(stdout.contains(n), "{n} missing from the summary");
    }
}

#[test]
fn a_broken_query_is_recorded_and_the_others_still_run() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let tmp = tempfile::tempdir().unwrap();
    let qdir = tmp.path().join("q");
    std::fs::create_dir(&qdir).unwrap();
    std::fs::write(qdir.join("a_broken.sql"), "SELECT no_such_column FROM logs").unwrap();
    std::fs::write(
        qdir.join("b_plain.sql"),
        "select count(*) as n from logs where region = 'us-east-1'",
    )
    .unwrap();
    std::fs::write(
        qdir.join("c_slow.sql"),
        "-- name: c_slow\n-- category: stress\n-- intent: too slow for its timeout\nSELECT COUNT(*) FROM logs a JOIN logs b ON a.user_id <> b.user_id",
    )
    .unwrap();
    let out = tmp.path().join("r.json");
    let o = common::run(
        dataset(),
        &[
            "--queries",
            qdir.to_str().unwrap(),
            "--iterations",
            "2",
            "--warmup",
            "0",
            "--timeout",
            "2",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "a failed query makes the exit code 1: {}",
        text(&o.stderr)
    );
    // The summary shows a failed query's missing timings as dashes, never NaN.
    let summary = text(&o.stdout);
    assert!(!summary.contains("NaN"), "{summary}");
    let broken = summary.lines().find(|l| l.contains("a_broken")).unwrap();
    assert!(
        broken.contains(" - ") && broken.contains("FAILED"),
        "{broken}"
    );
    let r = RunResult::read(&out).unwrap();
    r.validate().unwrap();
    let q = &r.engines[0].queries;
    assert_eq!(q.len(), 3);
    assert_eq!(q[0].status, Status::Failed);
    assert!(
        q[0].error.as_ref().unwrap().contains("no_such_column"),
        "{:?}",
        q[0].error
    );
    assert_eq!(
        (q[1].name.as_str(), q[1].category.as_str(), q[1].status),
        ("b_plain", "custom", Status::Ok)
    );
    assert_eq!(q[2].status, Status::TimedOut);
    assert!(
        q[2].error.as_ref().unwrap().contains("timed out"),
        "{:?}",
        q[2].error
    );
}

#[test]
fn a_dataset_that_does_not_match_its_manifest_is_refused() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let tmp = tempfile::tempdir().unwrap();
    let copy = copy_dataset(&tmp.path().join("logs"));
    std::fs::remove_file(copy.join("part-00002.parquet")).unwrap();
    let o = common::run(&copy, &["--queries", workload().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("does not match its manifest") && err.contains("part-00002.parquet"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");

    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let o = common::run(&empty, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("no manifest.json"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn settings_are_applied_recorded_and_checked() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r.json");
    let o = common::run(
        dataset(),
        &[
            "--queries",
            workload().to_str().unwrap(),
            "--query",
            "agg_status_codes",
            "--iterations",
            "2",
            "--warmup",
            "0",
            "--set",
            "datafusion.execution.target_partitions=3",
            "--set",
            "datafusion.execution.batch_size=4096",
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let r = RunResult::read(&out).unwrap();
    let e = &r.engines[0].engine;
    assert_eq!(e.target_partitions, 3);
    assert_eq!(
        e.changed_settings["datafusion.execution.batch_size"]
            .value
            .as_deref(),
        Some("4096")
    );
    assert_eq!(
        e.changed_settings["datafusion.execution.batch_size"]
            .default
            .as_deref(),
        Some("8192")
    );
    assert_eq!(r.engines[0].queries.len(), 1);

    // Refused in one line before anything runs or is written: an unknown key, a value that
    // does not parse, and a 0 that DataFusion would silently replace by the CPU count.
    for (setting, says) in [
        ("datafusion.nope=1", "datafusion.nope"),
        ("datafusion.execution.batch_size=many", "batch_size=many"),
        (
            "datafusion.execution.target_partitions=0",
            "must be at least 1",
        ),
        ("logbench.nope=true", "no such logbench setting"),
        ("logbench.unordered_hash_repartition=maybe", "true or false"),
    ] {
        let refused = tmp.path().join("refused.json");
        let o = common::run(
            dataset(),
            &["--set", setting, "--out", refused.to_str().unwrap()],
        );
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{setting}: {err}");
        assert_eq!(err.lines().count(), 1, "{setting}: {err}");
        assert!(err.contains(says), "{setting}: {err}");
        assert!(!refused.exists(), "{setting}: no result file");
    }
}

/// `--set logbench.unordered_hash_repartition=true` changes the one operator it names: the
/// hash repartition that DataFusion makes merge its inputs in time order (the files are
/// sorted by `ts`, so the hourly aggregation streams on it) becomes a plain one, the
/// aggregation above it a hash aggregation, and the answer stays the same, in the same order.
#[test]
fn the_unordered_repartition_setting_changes_that_operator_and_not_the_answer() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let tmp = tempfile::tempdir().unwrap();
    let queries = workload();
    let run = |name: &str, extra: &[&str]| {
        let out = tmp.path().join(name);
        let mut args = vec![
            "--queries",
            queries.to_str().unwrap(),
            "--query",
            "agg_hourly_region",
            "--iterations",
            "1",
            "--warmup",
            "0",
            "--set",
            "datafusion.execution.target_partitions=2",
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ];
        args.extend_from_slice(extra);
        let o = common::run(dataset(), &args);
        assert!(o.status.success(), "{extra:?}: {}", text(&o.stderr));
        let r = RunResult::read(&out).unwrap();
        let q = r.engines[0].queries[0].clone();
        assert_eq!(q.status, Status::Ok, "{:?}", q.error);
        q
    };
    let ordered = run("ordered.json", &[]);
    let plain = run(
        "plain.json",
        &["--set", "logbench.unordered_hash_repartition=true"],
    );
    let physical =
        |q: &bench_runner::results::QueryResult| q.plans.as_ref().unwrap().physical.clone();
    let (before, after) = (physical(&ordered), physical(&plain));
    let kept = |p: &str| {
        p.lines()
            .filter(|l| {
                l.contains("RepartitionExec: partitioning=Hash")
                    && l.contains("preserve_order=true")
            })
            .count()
    };
    assert!(
        kept(&before) > 0,
        "DataFusion's own plan keeps the order:\n{before}"
    );
    assert_eq!(kept(&after), 0, "{after}");
    assert!(
        after.contains("RepartitionExec: partitioning=Hash"),
        "the repartition itself stays: {after}"
    );
    // The final aggregation no longer streams on the order; the sort above it sorts.
    let final_agg = |p: &str| {
        p.lines()
            .find(|l| l.contains("mode=FinalPartitioned"))
            .map(str::to_string)
            .unwrap_or_default()
    };
    assert!(final_agg(&before).contains("ordering_mode="), "{before}");
    assert!(!final_agg(&after).contains("ordering_mode="), "{after}");
    assert_eq!(
        ordered.answer, plain.answer,
        "the same answer, in the same order"
    );
    assert!(ordered.answer.as_ref().unwrap().ordered.is_some());
    let r = RunResult::read(&tmp.path().join("plain.json")).unwrap();
    assert_eq!(
        r.engines[0].engine.requested_settings["logbench.unordered_hash_repartition"], "true",
        "recorded"
    );
}

/// A copy of the shared dataset in `dir`.
fn copy_dataset(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    for entry in std::fs::read_dir(dataset()).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
    }
    dir.to_path_buf()
}

#[test]
fn verify_digests_refuses_a_file_changed_in_place() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let tmp = tempfile::tempdir().unwrap();
    let copy = copy_dataset(&tmp.path().join("logs"));
    // One byte changed inside a part file: same name, same size, so only the digest tells.
    let part = copy.join("part-00001.parquet");
    let mut bytes = std::fs::read(&part).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&part, &bytes).unwrap();
    let out = tmp.path().join("r.json");
    let o = common::run(
        &copy,
        &[
            "--query",
            "agg_status_codes",
            "--verify-digests",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("part-00001.parquet has SHA-256") && err.contains("manifest says"),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn a_memory_limit_is_recorded_and_binds_the_pool() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let tmp = tempfile::tempdir().unwrap();
    let run = |name: &str, limit: Option<&str>| -> RunResult {
        let out = tmp.path().join(name);
        let mut args = vec![
            "run",
            "--data",
            dataset().to_str().unwrap(),
            "--query",
            "agg_distinct_users",
            "--iterations",
            "2",
            "--warmup",
            "0",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ];
        if let Some(l) = limit {
            args.extend(["--memory-limit", l]);
        }
        let o = bench_runner(&args);
        assert!(
            matches!(o.status.code(), Some(0 | 1)),
            "{}",
            text(&o.stderr)
        );
        RunResult::read(&out).unwrap()
    };
    let free = run("free.json", None);
    let q = &free.engines[0].queries[0];
    assert_eq!(q.status, Status::Ok);
    let unbounded_peak = q.resources.peak_memory_pool_bytes.unwrap();
    // A meter that reads nothing would make every check below pass.
    assert!(unbounded_peak > 0, "the pool's peak was measured");
    assert_eq!(free.engines[0].engine.memory_limit, None);

    // A quarter of what the query reserved unbounded: recorded, and never exceeded.
    let limit = (unbounded_peak / 4).max(1);
    let bound = run("bound.json", Some(&limit.to_string()));
    assert_eq!(bound.engines[0].engine.memory_limit, Some(limit));
    let q = &bound.engines[0].queries[0];
    match q.status {
        // Within the limit: by spilling, with the same answer.
        Status::Ok => {
            assert!(q.resources.peak_memory_pool_bytes.unwrap() <= limit);
            assert_eq!(q.answer, free.engines[0].queries[0].answer);
        }
        // Or refused by the pool, saying so.
        Status::Failed => {
            let e = q.error.as_deref().unwrap_or_default();
            assert!(e.contains("Resources exhausted"), "{e}");
        }
        Status::TimedOut => panic!("{:?}", q.error),
    }

    // Far below the measured peak (1 KiB, not even room to spill): the pool refuses.
    let starved = run("starved.json", Some("1024"));
    let q = &starved.engines[0].queries[0];
    assert_eq!(q.status, Status::Failed, "a 1 KiB pool fails the query");
    let e = q.error.as_deref().unwrap_or_default();
    assert!(e.contains("Resources exhausted"), "{e}");
}

/// `run` with `args` on two quick queries into `out`, expected to pass.
fn run_quick(out: &Path, args: &[&str]) -> RunResult {
    let mut all = vec![
        "run",
        "--data",
        dataset().to_str().unwrap(),
        "--query",
        "filter_one_day",
        "--query",
        "agg_status_codes",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ];
    all.extend(args);
    let o = bench_runner(&all);
    assert!(o.status.success(), "{args:?}: {}", text(&o.stderr));
    let r = RunResult::read(out).unwrap();
    r.validate().unwrap();
    r
}

#[test]
fn adaptive_sampling_stops_where_its_rule_says() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let tmp = tempfile::tempdir().unwrap();
    // Any precision is reached at the first 95 % interval, which takes six runs. At six runs
    // the interval is [min, max]: with ±1000 % one stall of a 1 ms query past 11 ms missed it
    // (9 runs of `filter_one_day` in a warm CI run, 2026-12-05); ±1,000,000 % needs a stall of
    // 10 s.
    let r = run_quick(&tmp.path().join("wide.json"), &["--precision", "1000000"]);
    assert_eq!(r.arguments.iterations, None);
    assert_eq!(r.arguments.sampling.as_ref().unwrap().precision_pct, 1e6);
    for q in &r.engines[0].queries {
        let s = q.sampling.as_ref().unwrap();
        assert_eq!(
            (s.stop, q.samples_us.len()),
            (Stop::Precision, 6),
            "{}",
            q.name
        );
        assert!(s.confidence >= 0.95 && s.half_width_pct <= 1e6);
    }
    // An unreachable precision with no budget: the minimum count, then the budget ends it.
    let r = run_quick(
        &tmp.path().join("budget.json"),
        &[
            "--precision",
            "0.0001",
            "--budget",
            "0",
            "--min-iterations",
            "4",
        ],
    );
    for q in &r.engines[0].queries {
        let s = q.sampling.as_ref().unwrap();
        assert_eq!(
            (s.stop, q.samples_us.len()),
            (Stop::Budget, 4),
            "{}",
            q.name
        );
        assert_eq!(q.latency.as_ref().unwrap().count, 4);
        // Four runs give [min, max] at 1 - 2/16.
        assert!((s.confidence - 0.875).abs() < 1e-9, "{}", s.confidence);
    }
    // The cap ends it before an unreachable precision or a large budget does.
    let r = run_quick(
        &tmp.path().join("cap.json"),
        &[
            "--precision",
            "0.0001",
            "--budget",
            "600",
            "--max-iterations",
            "7",
        ],
    );
    for q in &r.engines[0].queries {
        let s = q.sampling.as_ref().unwrap();
        assert_eq!(
            (s.stop, q.samples_us.len()),
            (Stop::MaxIterations, 7),
            "{}",
            q.name
        );
    }
    // The defaults: whatever ended it is recorded with the interval its samples give.
    let r = run_quick(&tmp.path().join("auto.json"), &[]);
    for q in &r.engines[0].queries {
        let s = q.sampling.as_ref().unwrap();
        let i = MedianInterval::of(&q.samples_us).unwrap();
        assert_eq!((s.interval_us, s.confidence), ([i.lo, i.hi], i.confidence));
        match s.stop {
            Stop::Precision => assert!(i.within(2.0)),
            Stop::Budget | Stop::MaxIterations => assert!(!i.within(2.0)),
            Stop::Fixed => panic!("{}: auto sampling recorded a fixed count", q.name),
        }
        assert!(q.samples_us.len() >= 3);
    }

    // Adaptive settings with a fixed count, or out of range: one line, exit 2, nothing written.
    for (args, says) in [
        (
            vec!["--iterations", "5", "--precision", "1"],
            "--precision applies to --iterations auto",
        ),
        (
            vec!["--iterations", "0"],
            "neither a whole number above zero nor auto",
        ),
        (
            vec!["--min-iterations", "9", "--max-iterations", "5"],
            "--min-iterations 9",
        ),
        (
            vec!["--precision", "0"],
            "--precision needs a percentage above zero",
        ),
    ] {
        let out = tmp.path().join("refused.json");
        let mut all = vec![
            "run",
            "--data",
            dataset().to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        all.extend(&args);
        let o = bench_runner(&all);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!out.exists(), "{args:?}");
    }
}

#[test]
fn a_run_that_fails_halfway_keeps_the_queries_it_measured() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r.json");
    // DataFusion runs, then the Ballista scheduler is not there: a usage error, and the file
    // holds DataFusion's queries, marked incomplete.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap().to_string();
    drop(closed);
    let o = common::run(
        dataset(),
        &[
            "--engine",
            "datafusion,ballista",
            "--scheduler",
            &addr,
            "--query",
            "filter_one_day",
            "--query",
            "agg_status_codes",
            "--iterations",
            "2",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("marked incomplete") && err.contains(&addr),
        "{err}"
    );
    let r = RunResult::read(&out).unwrap();
    r.validate().unwrap();
    assert!(!r.complete);
    assert_eq!(r.arguments.engines, ["datafusion", "ballista"]);
    assert_eq!(r.engines.len(), 1);
    assert!(r.engines[0].queries.iter().all(|q| q.status == Status::Ok));
    assert_eq!(r.engines[0].queries.len(), 2);

    // The report says so.
    let report = tmp.path().join("report");
    let o = bench_runner(&[
        "report",
        out.to_str().unwrap(),
        "--out",
        report.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    assert!(
        md.contains("**Incomplete run:**") && md.contains("2 of 4 query runs"),
        "{md}"
    );
}

#[test]
fn a_run_killed_halfway_keeps_the_queries_it_measured() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r.json");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_bench-runner"))
        .args(["run", "--data", dataset().to_str().unwrap(), "--queries"])
        .arg(workload())
        .args(["--iterations", "3", "--quiet", "--out"])
        .arg(&out)
        .spawn()
        .unwrap();
    // The file appears after the first query; the run is killed as soon as it does.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !out.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "no result file after 120 s"
        );
        assert!(child.try_wait().unwrap().is_none(), "the run ended early");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let r = RunResult::read(&out).unwrap();
    r.validate().unwrap();
    assert!(!r.complete);
    let measured = &r.engines[0].queries;
    assert!(!measured.is_empty() && measured.len() < r.arguments.selected_queries.len());
    assert!(
        measured
            .iter()
            .all(|q| q.status == Status::Ok && q.samples_us.len() == 3)
    );
}

/// `bench-runner load`, open loop on DataFusion, with the runner itself stopped for 2 s
/// (SIGSTOP, then SIGCONT) a second into the arrivals: the requests due during the stop start
/// late and keep their intended start, so the stop is in their response time and not in their
/// service time; every answer under load equals the serial answer.
#[test]
fn load_shows_a_stop_of_the_runner_in_the_response_times() {
    use std::io::BufRead;
    use std::time::Duration;
    let _deadline = common::Deadline::new(Duration::from_secs(300));
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("load.json");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_bench-runner"))
        .args(["load", "--data", dataset().to_str().unwrap(), "--queries"])
        .arg(workload())
        .args(["--query", "filter_one_day", "--rate", "20", "--arrivals"])
        .args(["constant", "--duration", "6", "--out"])
        .arg(&out)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (began, arrivals) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut log = String::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("rate 20/s") {
                let _ = began.send(());
            }
            log += &line;
            log.push('\n');
        }
        log
    });
    arrivals
        .recv_timeout(Duration::from_secs(120))
        .expect("the arrivals begin");
    let signal = |s: &str| {
        let o = std::process::Command::new("kill")
            .args([s, &child.id().to_string()])
            .output()
            .unwrap();
        assert!(o.status.success(), "kill {s}: {}", text(&o.stderr));
    };
    // The scenario, not a wait for readiness: a second of arrivals, then a 2 s stop.
    std::thread::sleep(Duration::from_secs(1));
    signal("-STOP");
    std::thread::sleep(Duration::from_secs(2));
    signal("-CONT");
    let status = child.wait().unwrap();
    let log = reader.join().unwrap();
    assert!(status.success(), "{status}\n{log}");

    let r = bench_runner::load::LoadResult::read(&out).unwrap();
    assert!(r.complete);
    assert_eq!(r.serial.len(), 1);
    // The serial reference is the median of several warm runs, not one.
    assert_eq!(
        r.serial[0].warm_runs as usize,
        bench_runner::load::SERIAL_WARM_RUNS
    );
    assert!(r.serial[0].warm_runs > 1 && r.serial[0].warm_us > 0);
    let run = &r.rates[0];
    assert_eq!((run.planned, run.ok), (120, 120), "{log}");
    let delays: Vec<u64> = run
        .requests
        .iter()
        .map(|q| q.start_delay_us().unwrap())
        .collect();
    // About 40 requests were due during the stop, late by up to 2 s.
    let late = delays.iter().filter(|d| **d >= 250_000).count();
    assert!(late >= 25, "{late} requests started 0.25 s late or more");
    assert!(*delays.iter().max().unwrap() >= 1_500_000, "{delays:?}");
    let all = run.overall.as_ref().unwrap();
    assert!(
        all.response.p90 >= 1_000_000 && all.service.p90 < 500_000,
        "response p90 {} µs, service p90 {} µs",
        all.response.p90,
        all.service.p90
    );
}

/// Above capacity, with requests waiting for the one slot (`--when-busy wait`, as wrk2's
/// connections): the queue the engine cannot drain is in the response times, which grow over
/// the run, and not in the service times; the memory pool asked for is the one recorded.
#[test]
fn load_above_capacity_queues_in_the_response_time_and_it_grows() {
    use std::time::Duration;
    let _deadline = common::Deadline::new(Duration::from_secs(300));
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("over.json");
    let o = bench_runner(&[
        "load",
        "--data",
        dataset().to_str().unwrap(),
        "--queries",
        workload().to_str().unwrap(),
        "--query",
        "agg_status_codes",
        "--rate",
        "200",
        "--arrivals",
        "constant",
        "--duration",
        "2",
        "--max-in-flight",
        "1",
        "--when-busy",
        "wait",
        "--memory-limit",
        "1G",
        "--memory-pool",
        "fair",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    common::ok(&o);
    let r = bench_runner::load::LoadResult::read(&out).unwrap();
    assert_eq!(r.engine.memory_pool.as_deref(), Some("fair"));
    assert_eq!(r.engine.memory_limit, Some(1 << 30));
    let run = &r.rates[0];
    assert_eq!(run.when_busy, bench_runner::load::WhenBusy::Wait);
    // None dropped: each waited its turn, and every answer is the serial one.
    assert_eq!((run.planned, run.ok, run.dropped), (400, 400, 0));
    assert_eq!(run.peak_in_flight, 1);
    // The premise: 200 requests a second is more than one slot serves.
    let warm_s = r.serial[0].warm_us as f64 / 1e6;
    assert!(
        200.0 * warm_s > 1.5,
        "serially {warm_s} s a query: not above capacity"
    );
    let all = run.overall.as_ref().unwrap();
    assert!(
        all.response.p99 > 5 * all.service.p99,
        "response p99 {} µs, service p99 {} µs",
        all.response.p99,
        all.service.p99
    );
    // Growing: the requests due last waited far longer than those due first.
    let mean = |part: &[bench_runner::load::Request]| {
        part.iter().map(|q| q.response_us().unwrap()).sum::<u64>() as f64 / part.len() as f64
    };
    let third = run.requests.len() / 3;
    let (first, last) = (
        mean(&run.requests[..third]),
        mean(&run.requests[2 * third..]),
    );
    assert!(
        last > 2.0 * first,
        "mean response of the first third {first} µs, of the last {last} µs"
    );

    // The result compares with itself (ratios of 1) and has its section in the report.
    let o = bench_runner(&["compare", out.to_str().unwrap(), out.to_str().unwrap()]);
    common::ok(&o);
    let said = text(&o.stdout);
    assert!(
        said.contains("p99 NEW/BASE") && said.contains("1.000"),
        "{said}"
    );
    let o = bench_runner(&[
        "compare",
        dataset().join("manifest.json").to_str().unwrap(),
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let rep = tmp.path().join("report");
    let o = bench_runner(&[
        "report",
        out.to_str().unwrap(),
        "--out",
        rep.to_str().unwrap(),
    ]);
    common::ok(&o);
    let md = std::fs::read_to_string(rep.join("report.md")).unwrap();
    assert!(md.contains("## Latency under load"), "{md}");
    for chart in [
        "load-latency.svg",
        "load-throughput.svg",
        "load-over-rate1.svg",
    ] {
        let svg = std::fs::read_to_string(rep.join("charts").join(chart)).unwrap();
        assert!(
            svg.contains("<polyline") || svg.contains("<path"),
            "{chart}"
        );
    }
}

/// Bad load arguments are one line and exit 2, before anything runs.
#[test]
fn load_refuses_bad_rates_mixes_and_durations() {
    let data = dataset().to_str().unwrap();
    for (args, says) in [
        (vec!["--rate", "0"], "--rate 0"),
        (vec!["--rate", "1,-2"], "--rate -2"),
        (vec!["--rate", "1", "--duration", "0"], "--duration 0"),
        (
            vec!["--rate", "1", "--mix", "nope=1"],
            "no query named 'nope'",
        ),
        (
            vec!["--rate", "1", "--mix", "filter_one_day=0"],
            "above zero",
        ),
        (
            vec!["--rate", "1", "--max-in-flight", "0"],
            "--max-in-flight",
        ),
        (vec!["--streams", "0"], "--streams 0"),
        (vec!["--rate", "1,2", "--find-knee"], "one rate"),
        (
            vec!["--rate", "1", "--memory-pool", "fair"],
            "--memory-limit",
        ),
    ] {
        let mut all = vec!["load", "--data", data];
        all.extend(args.iter().copied());
        let o = bench_runner(&all);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

/// The throughput test: S closed streams at once, each running every query of the mix once in
/// its own seeded order, every answer the serial one.
#[test]
fn load_streams_run_every_query_once_per_stream() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(300));
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("streams.json");
    let o = bench_runner(&[
        "load",
        "--data",
        dataset().to_str().unwrap(),
        "--queries",
        workload().to_str().unwrap(),
        "--query",
        "filter_one_day",
        "--query",
        "agg_status_codes",
        "--query",
        "sort_top_latency",
        "--streams",
        "3",
        "--seed",
        "9",
        "--out",
        out.to_str().unwrap(),
    ]);
    common::ok(&o);
    let r = bench_runner::load::LoadResult::read(&out).unwrap();
    assert!(r.rates.is_empty() && r.complete);
    let t = r.streams.unwrap();
    assert_eq!((t.streams, t.per_stream.len(), t.failed), (3, 3, 0));
    for s in &t.per_stream {
        let mut order = s.order.clone();
        order.sort();
        assert_eq!(
            order,
            ["agg_status_codes", "filter_one_day", "sort_top_latency"]
        );
        let ran: Vec<&str> = s.requests.iter().map(|q| q.query.as_str()).collect();
        assert_eq!(ran, s.order);
        assert!(s.requests.iter().all(|q| q.outcome == "ok"));
    }
    assert!(
        t.fairness > 1.0 / 3.0 && t.fairness <= 1.0 + 1e-12,
        "{}",
        t.fairness
    );
    assert!(t.queries_per_hour > 0.0 && t.power_per_hour > 0.0);
    let expected = (t.queries_per_hour * t.power_per_hour).sqrt();
    assert!((t.composite_per_hour - expected).abs() < 1e-6 * expected);
}
