//! `bench-runner compare` on result files made to be slower, faster and unchanged, and on pairs
//! it must refuse (other engines, datasets or workloads): verdicts and exit codes that are
//! known in advance, so a comparison that always said "no change" would fail here.

use std::path::{Path, PathBuf};

use bench_runner::compare::{Comparison, Verdict};
use bench_runner::histogram::{LatencySummary, new_histogram};
use bench_runner::results::RunResult;

mod common;
use common::{bench_runner, text};

/// A real run (DataFusion, 4 queries, 200k rows) from the report fixtures.
fn fixture() -> RunResult {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report/df-200k.json");
    RunResult::read(&p).unwrap()
}

/// `run` with each query's timings replaced by 30 known ones: its recorded median times
/// `factor`, spread by ±2 %, so the verdict a comparison must reach is known in advance.
fn timed(run: &RunResult, factor: f64) -> RunResult {
    let mut r = run.clone();
    for q in r.engines.iter_mut().flat_map(|e| e.queries.iter_mut()) {
        let Some(l) = q.latency.as_ref() else {
            continue;
        };
        let centre = l.p50 as f64 * factor;
        let mut h = new_histogram();
        for i in 0..30 {
            let spread = 1.0 + 0.02 * ((i % 5) as f64 - 2.0) / 2.0;
            h.record((centre * spread).round().max(1.0) as u64).unwrap();
        }
        q.latency = Some(LatencySummary::from_histogram(&h).unwrap());
    }
    r
}

fn write(dir: &Path, name: &str, r: &RunResult) -> PathBuf {
    let p = dir.join(name);
    r.write(&p).unwrap();
    p
}

/// Runs `compare BASE NEW --json` with no drift or floor (the made-up timings have no drift
/// between runs for them to absorb); the exit code and the comparison.
fn compare(dir: &Path, base: &Path, new: &Path) -> (Option<i32>, Comparison, String) {
    compare_with(dir, base, new, &["--drift", "0", "--floor-ms", "0"])
}

fn compare_with(
    dir: &Path,
    base: &Path,
    new: &Path,
    extra: &[&str],
) -> (Option<i32>, Comparison, String) {
    let js = dir.join("c.json");
    let _ = std::fs::remove_file(&js);
    let mut args = vec![
        "compare",
        base.to_str().unwrap(),
        new.to_str().unwrap(),
        "--json",
        js.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = bench_runner(&args);
    let c = serde_json::from_str(&std::fs::read_to_string(&js).unwrap()).unwrap();
    (o.status.code(), c, text(&o.stdout))
}

#[test]
fn compare_calls_slower_faster_and_unchanged_files_what_they_are() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let tmp = tempfile::tempdir().unwrap();
    let base_run = timed(&fixture(), 1.0);
    let n = base_run.engines[0].queries.len();
    let base = write(tmp.path(), "base.json", &base_run);

    // Every query twice as slow: each one SLOWER, ratio near 2, exit 1.
    let slow = write(tmp.path(), "slow.json", &timed(&fixture(), 2.0));
    let (code, c, out) = compare(tmp.path(), &base, &slow);
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(c.queries.len(), n);
    for q in &c.queries {
        assert_eq!(q.verdict, Verdict::Slower, "{}:\n{out}", q.query);
        let r = q.ratio.unwrap();
        assert!((1.9..2.1).contains(&r), "{}: ratio {r}", q.query);
        assert!(
            q.ci_low.unwrap() > 1.075,
            "{}: interval above the noise band",
            q.query
        );
    }
    assert_eq!(c.regressions(), n);
    assert!(out.contains("SLOWER"), "{out}");

    // Twice as fast: each one faster, nothing regressed, exit 0.
    let fast = write(tmp.path(), "fast.json", &timed(&fixture(), 0.5));
    let (code, c, out) = compare(tmp.path(), &base, &fast);
    assert_eq!(code, Some(0), "{out}");
    for q in &c.queries {
        assert_eq!(q.verdict, Verdict::Faster, "{}:\n{out}", q.query);
        assert!(q.ci_high.unwrap() < 1.0, "{}", q.query);
    }
    assert_eq!(c.regressions(), 0);

    // The same timings: no change, ratio 1, exit 0.
    let same = write(tmp.path(), "same.json", &base_run);
    let (code, c, out) = compare(tmp.path(), &base, &same);
    assert_eq!(code, Some(0), "{out}");
    for q in &c.queries {
        assert_eq!(q.verdict, Verdict::NoChange, "{}:\n{out}", q.query);
        assert_eq!(q.ratio, Some(1.0), "{}", q.query);
    }

    // 3 % slower, inside the 7.5 % noise band: no change, not a regression.
    let slight = write(tmp.path(), "slight.json", &timed(&fixture(), 1.03));
    let (code, c, out) = compare(tmp.path(), &base, &slight);
    assert_eq!(code, Some(0), "{out}");
    for q in &c.queries {
        assert_eq!(q.verdict, Verdict::NoChange, "{}:\n{out}", q.query);
    }
}

#[test]
fn compare_refuses_other_engines_datasets_and_workloads_in_one_line() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let tmp = tempfile::tempdir().unwrap();
    let base_run = fixture();
    let base = write(tmp.path(), "base.json", &base_run);
    let refused = |r: RunResult, name: &str, says: &str| {
        let p = write(tmp.path(), name, &r);
        let o = bench_runner(&["compare", base.to_str().unwrap(), p.to_str().unwrap()]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(err.contains(says), "{name}: {err}");
        assert!(text(&o.stdout).is_empty(), "{name}: no verdicts printed");
    };

    let mut other_engine = base_run.clone();
    other_engine.engines[0].engine.name = "ballista".into();
    refused(other_engine, "engine.json", "different engines");

    let mut other_data = base_run.clone();
    other_data.dataset.manifest_sha256 = "f".repeat(64);
    refused(other_data, "data.json", "different datasets");

    let mut other_sql = base_run.clone();
    other_sql.engines[0].queries[0].sql += " LIMIT 1";
    refused(other_sql, "sql.json", "the SQL of");

    let mut fewer = base_run.clone();
    fewer.engines[0].queries.pop();
    refused(fewer, "fewer.json", "only in BASE");
}

#[test]
fn an_ordered_digest_in_new_only_is_no_answer_change_but_another_order_is() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    // BASE as a build before the in-order digest existed wrote it; NEW records it.
    let tmp = tempfile::tempdir().unwrap();
    let mut old = fixture();
    for q in &mut old.engines[0].queries {
        q.answer.as_mut().unwrap().ordered = None;
    }
    let base = write(tmp.path(), "base.json", &old);
    let mut new_run = fixture();
    for q in &mut new_run.engines[0].queries {
        q.answer.as_mut().unwrap().ordered = Some("00000000000000aa".into());
    }
    let new = write(tmp.path(), "new.json", &new_run);
    let (code, c, out) = compare(tmp.path(), &base, &new);
    assert_eq!(code, Some(0), "{out}");
    assert!(c.queries.iter().all(|q| !q.answer_changed), "{out}");

    // Both record the order, and one query's differs: that answer changed.
    let mut other = new_run.clone();
    other.engines[0].queries[0].answer.as_mut().unwrap().ordered = Some("00000000000000bb".into());
    let other = write(tmp.path(), "other.json", &other);
    let (code, c, out) = compare(tmp.path(), &new, &other);
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(
        c.queries.iter().filter(|q| q.answer_changed).count(),
        1,
        "{out}"
    );
}

/// Two runs of one engine whose answers differ only within a query's stated tolerance (the
/// bound that lets two engines agree despite a known divergence) differ: that is the change a
/// fix of the divergence makes, and compare (and so the gate) must show it.
#[test]
fn an_answer_moved_within_a_stated_tolerance_is_still_an_answer_change() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let tmp = tempfile::tempdir().unwrap();
    let with_p99 = |p: f64, digest: &str| {
        let mut r = fixture();
        let a = r.engines[0].queries[0].answer.as_mut().unwrap();
        a.digest = digest.into();
        a.tolerant = Some(bench_runner::results::measure::TolerantAnswer {
            column: "p".into(),
            relative: 1e-5,
            rest: "0123456789abcdef0123456789abcdef".into(),
            values: vec![("00000000000000aa".into(), Some(p))],
        });
        r
    };
    let base = write(tmp.path(), "base.json", &with_p99(132.411_495_625, "aa"));
    let same = write(tmp.path(), "same.json", &with_p99(132.411_495_625, "aa"));
    let new = write(tmp.path(), "new.json", &with_p99(132.411_5, "bb"));
    let (code, c, out) = compare(tmp.path(), &base, &same);
    assert_eq!(code, Some(0), "{out}");
    assert!(c.queries.iter().all(|q| !q.answer_changed), "{out}");
    let (code, c, out) = compare(tmp.path(), &base, &new);
    assert_eq!(code, Some(1), "{out}");
    let changed: Vec<&str> = c
        .queries
        .iter()
        .filter(|q| q.answer_changed)
        .map(|q| q.query.as_str())
        .collect();
    assert_eq!(
        changed,
        vec![fixture().engines[0].queries[0].name.as_str()],
        "{out}"
    );
}

/// Plain runs (not a gate's rounds) get a band widened by the drift measured between
/// sequential runs and an absolute floor: a query of about 2 ms whose median doubles is within
/// what sequential runs of one binary showed, and is not called slower; the same doubling of a
/// query of 10 ms is. With `--drift 0 --floor-ms 0` both are.
#[test]
fn plain_runs_are_judged_with_the_measured_drift_and_floor() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let tmp = tempfile::tempdir().unwrap();
    let base = write(tmp.path(), "base.json", &timed(&fixture(), 1.0));
    let slow = write(tmp.path(), "slow.json", &timed(&fixture(), 2.0));
    let (code, c, out) = compare_with(tmp.path(), &base, &slow, &[]);
    assert_eq!(code, Some(1), "{out}");
    let floor_ms = c.floor_us / 1e3;
    assert!(
        floor_ms > 0.0 && c.drift > 0.0,
        "defaults: {floor_ms} ms, {}",
        c.drift
    );
    for q in &c.queries {
        let base_ms = q.base_median_us.unwrap() as f64 / 1e3;
        let band = q.band.unwrap();
        let expected = (1.0 + c.noise) * (1.0 + c.drift) + floor_ms / base_ms;
        assert!((band - expected).abs() < 1e-9, "{}: band {band}", q.query);
        // Doubled (±2 %): slower exactly when 2 clears the band.
        if band < 1.9 {
            assert_eq!(q.verdict, Verdict::Slower, "{}:\n{out}", q.query);
        } else if band > 2.1 {
            assert_ne!(q.verdict, Verdict::Slower, "{}:\n{out}", q.query);
        }
    }
    assert!(
        c.queries.iter().any(|q| q.verdict != Verdict::Slower),
        "the fixture has a query of a few ms that the floor protects:\n{out}"
    );
    assert!(
        c.queries.iter().any(|q| q.verdict == Verdict::Slower),
        "and queries of 10 ms whose doubling is seen:\n{out}"
    );
    assert!(out.contains("drift") && out.contains("floor"), "{out}");
    let (_, c, out) = compare_with(
        tmp.path(),
        &base,
        &slow,
        &["--drift", "0", "--floor-ms", "0"],
    );
    assert!(
        c.queries.iter().all(|q| q.verdict == Verdict::Slower),
        "{out}"
    );
}

/// A whole-line SQL comment (a header line an older parser kept in the SQL, such as
/// `-- instr-threshold: 2 %` in a gate whose BASE predates it) is no workload difference; a
/// changed statement still is.
#[test]
fn comment_lines_are_no_workload_difference() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let tmp = tempfile::tempdir().unwrap();
    let base_run = timed(&fixture(), 1.0);
    let base = write(tmp.path(), "base.json", &base_run);
    let mut commented = base_run.clone();
    let q = &mut commented.engines[0].queries[0];
    q.sql = format!("-- instr-threshold: 2 %\n{}", q.sql);
    let new = write(tmp.path(), "commented.json", &commented);
    let (code, c, out) = compare(tmp.path(), &base, &new);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        c.queries.iter().all(|q| q.verdict == Verdict::NoChange),
        "{out}"
    );
    let mut changed = base_run.clone();
    let q = &mut changed.engines[0].queries[0];
    q.sql = q.sql.replacen("SELECT", "SELECT DISTINCT", 1);
    let new = write(tmp.path(), "changed.json", &changed);
    let o = bench_runner(&["compare", base.to_str().unwrap(), new.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("the SQL of"),
        "{}",
        text(&o.stderr)
    );
}

/// Plain runs 20 % apart with tight intervals: every interval excludes 1.0 and lies inside the
/// drift band, so no query is "no change" (nor a regression): each is "within drift (±X %)" in
/// the terminal, Markdown and JSON, the summary counts them apart, and the exit code is 0. The
/// same timings and a 3 % change (inside the 7.5 % noise band) stay "no change".
#[test]
fn plain_runs_apart_by_less_than_the_drift_are_within_drift_not_no_change() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let tmp = tempfile::tempdir().unwrap();
    let base = write(tmp.path(), "base.json", &timed(&fixture(), 1.0));
    let moved = write(tmp.path(), "moved.json", &timed(&fixture(), 1.2));
    let md = tmp.path().join("c.md");
    let (code, c, out) = compare_with(
        tmp.path(),
        &base,
        &moved,
        &["--markdown", md.to_str().unwrap()],
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(!c.queries.is_empty());
    for q in &c.queries {
        let (lo, hi, band) = (q.ci_low.unwrap(), q.ci_high.unwrap(), q.band.unwrap());
        assert!(
            lo > 1.0 && hi <= band,
            "{}: [{lo}, {hi}] in {band}",
            q.query
        );
        assert_eq!(q.verdict, Verdict::WithinDrift, "{}:\n{out}", q.query);
        assert!(
            q.verdict_text()
                .starts_with(&format!("within drift (±{:.0} %", (band - 1.0) * 100.0)),
            "{}",
            q.verdict_text()
        );
    }
    assert_eq!(c.within_drift(), c.queries.len());
    assert!(!out.contains("no change"), "{out}");
    assert!(out.contains("within drift (±"), "{out}");
    let summary = out.lines().find(|l| l.contains("regressions")).unwrap();
    assert!(
        summary.contains(&format!("0 regressions, {} within drift", c.queries.len())),
        "{summary}"
    );
    let markdown = std::fs::read_to_string(&md).unwrap();
    assert!(
        markdown.contains("within drift (±") && !markdown.contains("no change"),
        "{markdown}"
    );
    let js = std::fs::read_to_string(tmp.path().join("c.json")).unwrap();
    assert!(js.contains("\"within_drift\""), "{js}");

    for factor in [1.0, 1.03] {
        let f = write(tmp.path(), "f.json", &timed(&fixture(), factor));
        let (code, c, out) = compare_with(tmp.path(), &base, &f, &[]);
        assert_eq!(code, Some(0), "{out}");
        assert!(
            c.queries.iter().all(|q| q.verdict == Verdict::NoChange),
            "×{factor}:\n{out}"
        );
    }
}

/// Both files carry instruction counts: the instruction verdict comes first in the table, the
/// summary says which metric decided, and a count past its threshold fails the comparison
/// (exit 1) while the wall times are within drift.
#[test]
fn instruction_counts_come_first_and_decide() {
    use bench_runner::results::measure::QueryInstructions;
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let tmp = tempfile::tempdir().unwrap();
    let counted = |factor: f64, instr: f64| {
        let mut r = timed(&fixture(), factor);
        for q in r.engines.iter_mut().flat_map(|e| e.queries.iter_mut()) {
            let n = (50_000_000.0 * instr) as u64;
            q.instructions = Some(QueryInstructions {
                per_execution: n,
                runs: vec![n; 3],
                spread_ppm: 0,
            });
        }
        r
    };
    let base = write(tmp.path(), "base.json", &counted(1.0, 1.0));
    let same = write(tmp.path(), "same.json", &counted(1.2, 1.0));
    let (code, c, out) = compare_with(tmp.path(), &base, &same, &[]);
    assert_eq!(code, Some(0), "{out}");
    let header = out.lines().find(|l| l.contains("instr verdict")).unwrap();
    assert!(
        header.find("instr verdict").unwrap() < header.find("base ms").unwrap(),
        "{header}"
    );
    let summary = out.lines().find(|l| l.contains("regressions")).unwrap();
    assert!(
        summary.starts_with("instructions: 0 regressions")
            && summary.contains("no regression by either metric"),
        "{summary}"
    );
    assert_eq!(c.within_drift(), c.queries.len());

    // 3 % more instructions (every query's threshold is below that): flagged, exit 1, and the
    // summary names the metric that decided.
    let more = write(tmp.path(), "more.json", &counted(1.2, 1.03));
    let (code, c, out) = compare_with(tmp.path(), &base, &more, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(c.instruction_regressions(), c.queries.len(), "{out}");
    assert_eq!(c.regressions(), 0, "{out}");
    let summary = out.lines().find(|l| l.contains("regressions")).unwrap();
    assert!(summary.contains("failed on instructions"), "{summary}");
}
