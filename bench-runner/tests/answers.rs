//! The answer checks fail when answers differ: across engines (`answer_mismatches`, exit 1) and
//! across the runs of one query on one engine (the query fails). Each test makes a difference
//! happen for real, or plants one in a real result, and requires it to be caught.

use std::path::Path;

use bench_runner::results::{RunResult, Status};

mod common;
use common::{generate, text};

fn fixture(name: &str) -> RunResult {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/report")
        .join(name);
    RunResult::read(&p).unwrap()
}

/// A workload directory holding `files` (name, SQL with header).
fn workload(dir: &Path, files: &[(&str, &str)]) -> String {
    std::fs::create_dir_all(dir).unwrap();
    for (name, sql) in files {
        std::fs::write(dir.join(format!("{name}.sql")), sql).unwrap();
    }
    dir.display().to_string()
}

#[test]
fn cross_check_finds_exactly_the_query_whose_answer_differs() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let mut run = fixture("df-ballista-200k.json");
    let names: Vec<String> = run.engines.iter().map(|e| e.engine.name.clone()).collect();
    assert_eq!(names, ["datafusion", "ballista"]);
    // As recorded: both engines agree on every query.
    assert!(RunResult::cross_check(&run.engines).is_empty());

    // One digest changed on one engine: that query, and only it, with both answers.
    let victim = run.engines[1].queries[1].name.clone();
    run.engines[1].queries[1].answer.as_mut().unwrap().digest = "0".repeat(32);
    let found = RunResult::cross_check(&run.engines);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].query, victim);
    assert_eq!(
        found[0].answers.keys().cloned().collect::<Vec<_>>(),
        ["ballista", "datafusion"]
    );
    // A row count that differs is a difference too.
    let mut rows = fixture("df-ballista-200k.json");
    rows.engines[0].queries[0].answer.as_mut().unwrap().rows += 1;
    assert_eq!(RunResult::cross_check(&rows.engines).len(), 1);

    // A run holding a mismatch counts as failed (exit 1).
    run.answer_mismatches = found;
    assert!(run.any_failed());
    assert!(!fixture("df-ballista-200k.json").any_failed());
}

#[test]
fn the_same_rows_in_another_order_are_a_mismatch_where_the_query_fixes_the_order() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let mut run = fixture("df-ballista-200k.json");
    let name = run.engines[0].queries[0].name.clone();
    let set = |run: &mut RunResult, engine: usize, ordered: Option<&str>| {
        run.engines[engine].queries[0]
            .answer
            .as_mut()
            .unwrap()
            .ordered = ordered.map(str::to_string);
    };
    // Both engines recorded the same order: no mismatch.
    set(&mut run, 0, Some("00000000000000aa"));
    set(&mut run, 1, Some("00000000000000aa"));
    assert!(RunResult::cross_check(&run.engines).is_empty());
    // The same rows (order-insensitive digests equal) in another order: a mismatch.
    set(&mut run, 1, Some("00000000000000bb"));
    let found = RunResult::cross_check(&run.engines);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].query, name);
    // An engine that could not fix the order (ties ordered differently between its runs)
    // leaves only the rows to compare.
    set(&mut run, 1, None);
    assert!(RunResult::cross_check(&run.engines).is_empty());
}

#[test]
fn a_query_whose_answer_changes_between_runs_fails() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let tmp = tempfile::tempdir().unwrap();
    let data = generate(&tmp.path().join("data"), 20_000, 1, 10_000);
    let queries = workload(
        &tmp.path().join("q"),
        &[
            ("coin", "-- name: coin\nSELECT random() AS r"),
            ("steady", "-- name: steady\nSELECT COUNT(*) AS n FROM logs"),
        ],
    );
    let out = tmp.path().join("r.json");
    let o = common::run(
        &data,
        &[
            "--queries",
            &queries,
            "--iterations",
            "3",
            "--warmup",
            "1",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let r = RunResult::read(&out).unwrap();
    let q = |n: &str| r.engines[0].queries.iter().find(|q| q.name == n).unwrap();
    assert_eq!(q("coin").status, Status::Failed);
    let err = q("coin").error.clone().unwrap();
    assert!(
        err.starts_with("runs disagree: 5 distinct answers over 5 runs"),
        "{err}"
    );
    assert_eq!(q("coin").disagreeing_digests.len(), 5);
    assert_eq!(q("steady").status, Status::Ok);
    assert!(
        text(&o.stdout).contains("FAILED: runs disagree"),
        "{}",
        text(&o.stdout)
    );
}

#[test]
fn engines_that_answer_differently_are_a_mismatch_and_exit_1() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    // Ballista turns DataFusion's mapping of SQL string types to Utf8View off: the same
    // statement gives a different answer on each engine, for real.
    let tmp = tempfile::tempdir().unwrap();
    let data = generate(&tmp.path().join("data"), 20_000, 1, 10_000);
    let queries = workload(
        &tmp.path().join("q"),
        &[
            (
                "string_type",
                "-- name: string_type\nSELECT arrow_typeof(CAST('x' AS VARCHAR)) AS t",
            ),
            ("steady", "-- name: steady\nSELECT COUNT(*) AS n FROM logs"),
        ],
    );
    let out = tmp.path().join("r.json");
    let o = common::run(
        &data,
        &[
            "--queries",
            &queries,
            "--engine",
            "datafusion,ballista",
            "--executors",
            "1",
            "--iterations",
            "2",
            "--warmup",
            "0",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let stdout = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{stdout}\n{}", text(&o.stderr));
    let r = RunResult::read(&out).unwrap();
    assert!(
        r.engines
            .iter()
            .flat_map(|e| &e.queries)
            .all(|q| q.status == Status::Ok),
        "both queries ran on both engines"
    );
    assert_eq!(r.answer_mismatches.len(), 1, "{:?}", r.answer_mismatches);
    assert_eq!(r.answer_mismatches[0].query, "string_type");
    assert_eq!(r.answer_mismatches[0].answers.len(), 2);
    assert!(
        stdout.contains("ANSWERS DIFFER for string_type"),
        "{stdout}"
    );
}
