//! `bench-runner gate` and `calibrate` on real runs: a known slowdown caused by configuration
//! (no code is slowed), and an A/A run calibrated.

use std::collections::BTreeSet;
use std::path::Path;

use bench_runner::compare::{Comparison, Verdict};
use bench_runner::results::RunResult;

mod common;
use common::{bench_runner, generate, text, workload};

const BIN: &str = env!("CARGO_BIN_EXE_bench-runner");

fn gate(data: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    gate_in(&workload(), data, out, extra)
}

/// `gate` of the workload in `queries`, BASE and NEW both this build.
fn gate_in(queries: &Path, data: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "gate",
        "--base-bin",
        BIN,
        "--new-bin",
        BIN,
        "--data",
        data.to_str().unwrap(),
        "--queries",
        queries.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    bench_runner(&args)
}

/// NEW turns off Parquet statistics pruning. The data are in time order, so only the queries
/// that filter on a range of `ts` lose anything: the gate must flag no other query, must flag
/// every one of those whose slowdown is clearly above the calibrated minimum detectable effect,
/// and must not call any of them unchanged or faster (and no answer or plan may change).
/// `window_latency_rank` loses only about 1.2x (its window sort dominates), below the window
/// category's 68 % MDE: the gate calls it slower in some runs and inconclusive in others, and
/// the test accepts either for it, as for any slowed query whose ratio is under 1.68 (the
/// largest category MDE). Pruning makes two queries at least 1.7x slower, and those two must
/// be flagged.
/// The wall-time test runs alone; the others (valgrind counts, gates of their own) share the
/// machine with each other. On the 2-core machine two tests run at once: beside a callgrind
/// test, one outlier round of 8 left `filter_one_day` at 1.90 [1.70, 2.08] "inconclusive"
/// after the correction for 13 queries (a cold CI run, 2026-12-02). Alone, in the full suite of
/// 2026-12-03, 8 rounds left `sort_large` at 1.743 [1.422, 2.058] "inconclusive" after the
/// correction: 12 rounds, so that one round weighs less in the paired bootstrap.
static MACHINE: std::sync::RwLock<()> = std::sync::RwLock::new(());

fn alone() -> std::sync::RwLockWriteGuard<'static, ()> {
    MACHINE.write().unwrap_or_else(|e| e.into_inner())
}

fn shared() -> std::sync::RwLockReadGuard<'static, ()> {
    MACHINE.read().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn gate_flags_the_queries_a_configuration_slows_and_no_other() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(1800));
    let _alone = alone();
    let tmp = tempfile::tempdir().unwrap();
    let data = generate(&tmp.path().join("data"), 1_000_000, 4, 125_000);
    let out = tmp.path().join("gate");
    let o = gate(
        &data,
        &out,
        &[
            "--rounds",
            "12",
            "--iterations",
            "3",
            "--new-set",
            "datafusion.execution.parquet.pruning=false",
            "--new-set",
            "datafusion.execution.parquet.enable_page_index=false",
            // Wall time is what this test judges; instructions are the next test's.
            "--instr-runs",
            "0",
        ],
    );
    let stdout = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{stdout}\n{}", text(&o.stderr));

    let c: Comparison =
        serde_json::from_str(&std::fs::read_to_string(out.join("comparison.json")).unwrap())
            .unwrap();
    let new = RunResult::read(&out.join("new.json")).unwrap();
    let ts_range: BTreeSet<String> = new.engines[0]
        .queries
        .iter()
        .filter(|q| {
            let sql = q.sql.to_lowercase();
            sql.contains("where") && (sql.contains("ts <") || sql.contains("ts >="))
        })
        .map(|q| q.name.clone())
        .collect();
    assert!(ts_range.len() >= 2, "{ts_range:?}");
    let slower: BTreeSet<String> = c
        .queries
        .iter()
        .filter(|q| q.verdict == Verdict::Slower)
        .map(|q| q.query.clone())
        .collect();
    assert!(slower.is_subset(&ts_range), "a false alarm:\n{stdout}");
    assert!(slower.len() >= 2, "{stdout}");
    for q in c.queries.iter().filter(|q| ts_range.contains(&q.query)) {
        let ratio = q.ratio.unwrap();
        assert!(
            matches!(q.verdict, Verdict::Slower | Verdict::Inconclusive) && ratio > 1.0,
            "{} slowed by the configuration, called {:?} at {ratio:.3}:\n{stdout}",
            q.query,
            q.verdict
        );
        if ratio >= 1.68 {
            assert_eq!(q.verdict, Verdict::Slower, "{}:\n{stdout}", q.query);
        }
    }
    assert_eq!(c.correctness_differences(), 0, "{stdout}");
    assert!(c.queries.iter().all(|q| !q.plan_changed), "{stdout}");

    // Each side merged its rounds: 12 rounds x 3 iterations per query, kept per round.
    assert_eq!(new.arguments.iterations, Some(36));
    assert!(
        new.engines[0]
            .queries
            .iter()
            .all(|q| q.rounds_us.len() == 12)
    );
    new.validate().unwrap();
    assert!(
        new.engines[0]
            .queries
            .iter()
            .all(|q| q.latency.as_ref().unwrap().count == 36)
    );
    // The Markdown table CI prints: one row per query, the slowed ones marked.
    let md = std::fs::read_to_string(out.join("comparison.md")).unwrap();
    let rows: Vec<&str> = md
        .lines()
        .filter(|l| l.starts_with("| datafusion |"))
        .collect();
    assert_eq!(rows.len(), new.engines[0].queries.len());
    for q in &slower {
        assert!(
            rows.iter()
                .any(|r| r.contains(&format!("| {q} |")) && r.contains("slower")),
            "{md}"
        );
    }
    assert!(stdout.contains(&md), "the gate prints the Markdown table");
}

/// An A/A gate (BASE and NEW the same binary and settings), then `calibrate` over it: every
/// query gets a false-alarm count and a minimum detectable effect; bad input exits 2.
#[test]
fn calibrate_reports_false_alarms_and_detectable_effects() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(1800));
    let _shared = shared();
    let tmp = tempfile::tempdir().unwrap();
    let data = generate(&tmp.path().join("data"), 300_000, 2, 100_000);
    let runs: Vec<_> = (0..2).map(|i| tmp.path().join(format!("aa-{i}"))).collect();
    for r in &runs {
        let o = gate(
            &data,
            r,
            &[
                "--query",
                "agg_status_codes",
                "--query",
                "filter_one_day",
                "--query",
                "sort_top_latency",
                "--rounds",
                "3",
                "--iterations",
                "3",
            ],
        );
        assert!(
            matches!(o.status.code(), Some(0 | 1)),
            "{}",
            text(&o.stderr)
        );
    }
    // Interleaved as documented: in each round every query runs on both sides back to back,
    // BASE first in odd rounds and NEW first in even ones, queries in workload order.
    let mut runs_in_order: Vec<(String, String)> = std::fs::read_dir(runs[0].join("rounds"))
        .unwrap()
        .flatten()
        .map(|e| {
            let r = RunResult::read(&e.path()).unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            (r.started_at, name)
        })
        .collect();
    runs_in_order.sort();
    let names: Vec<String> = runs_in_order.into_iter().map(|(_, n)| n).collect();
    let mut expected = Vec::new();
    for round in 1..=3 {
        for q in ["agg_status_codes", "filter_one_day", "sort_top_latency"] {
            let sides = if round % 2 == 1 {
                ["base", "new"]
            } else {
                ["new", "base"]
            };
            for side in sides {
                expected.push(format!("{side}-r{round:02}-{q}.json"));
            }
        }
    }
    assert_eq!(names, expected);

    let json = tmp.path().join("cal.json");
    let mut args = vec!["calibrate"];
    args.extend(runs.iter().map(|r| r.to_str().unwrap()));
    args.extend(["--json", json.to_str().unwrap()]);
    let o = bench_runner(&args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let cal: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(cal["runs"], 2);
    let queries = cal["queries"].as_array().unwrap();
    assert_eq!(queries.len(), 3);
    for q in queries {
        // A minimum detectable effect in (0, 100 %], or null when even doubling is not seen.
        if let Some(mde) = q["mde"].as_f64() {
            assert!(mde > 0.0 && mde <= 1.0, "{q}");
        }
        // Calibrate merges the rounds again and judges them as the gates did: the alarms it
        // counts are exactly the "slower" verdicts in the gates' own comparisons.
        let name = q["query"].as_str().unwrap();
        let gated = runs
            .iter()
            .filter(|r| {
                let c: Comparison = serde_json::from_str(
                    &std::fs::read_to_string(r.join("comparison.json")).unwrap(),
                )
                .unwrap();
                c.queries
                    .iter()
                    .any(|x| x.query == name && x.verdict == Verdict::Slower)
            })
            .count() as u64;
        assert_eq!(q["slower_alarms"].as_u64().unwrap(), gated, "{q}");
        assert!(q["median_half_width"].as_f64().unwrap() >= 0.0, "{q}");
    }
    assert!(
        queries.iter().any(|q| q["mde"].is_f64()),
        "some slowdown below 100 % is detectable: {cal}"
    );
    // The false-alarm sweep is monotone: a wider noise band never alarms more often.
    let sweep: Vec<u64> = cal["by_noise"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[1].as_u64().unwrap())
        .collect();
    assert!(sweep.windows(2).all(|w| w[0] >= w[1]), "{sweep:?}");

    // Instructions: each A/A gate counted both sides (the same binary): no instruction alarm,
    // every query's A/A difference inside the threshold, and a detectable change not far above
    // the threshold (what the metric is for).
    let instr = &cal["instructions"];
    assert!(instr.is_object(), "both gates counted instructions: {cal}");
    assert_eq!(instr["failed_runs"], 0, "{instr}");
    let queries = instr["queries"].as_array().unwrap();
    assert_eq!(queries.len(), 3);
    for q in queries {
        let dev = q["largest_deviation"].as_f64().unwrap();
        let t = q["threshold"].as_f64().unwrap();
        assert!(dev < t, "{q}");
        // The smallest step of 0.01 % that lifts the needed runs' ratios, each within
        // [1 - dev, 1 + dev], over 1 + t: between (1 + t) / (1 + dev) - 1 and one step above
        // (1 + t) / (1 - dev) - 1 (the ratios multiply, so it is not t + dev exactly).
        let mde = q["mde"].as_f64().unwrap();
        let (low, high) = ((1.0 + t) / (1.0 + dev) - 1.0, (1.0 + t) / (1.0 - dev) - 1.0);
        assert!(mde > low - 1e-9 && mde <= high + 1e-4 + 1e-9, "{q}");
        assert!(q["per_execution"].as_u64().unwrap() > 100_000, "{q}");
    }
    for r in &runs {
        let c: Comparison =
            serde_json::from_str(&std::fs::read_to_string(r.join("comparison.json")).unwrap())
                .unwrap();
        assert_eq!(c.instruction_regressions(), 0);
        assert!(
            c.queries
                .iter()
                .all(|q| q.instructions.as_ref().unwrap().verdict == Verdict::NoChange),
            "{c:?}"
        );
    }

    let o = bench_runner(&["calibrate", tmp.path().join("missing").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("missing"), "{}", text(&o.stderr));
}

/// `--base REV`: the revision is resolved in this checkout and its binary looked up in the
/// per-commit cache of the target directory, where a kept one is reused rather than rebuilt.
/// (The worktree build itself runs in CI's own gate, which builds BASE = HEAD~1.)
#[test]
fn gate_base_rev_resolves_the_commit_and_reuses_its_kept_binary() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(1800));
    let _shared = shared();
    let tmp = tempfile::tempdir().unwrap();
    let data = generate(&tmp.path().join("data"), 100_000, 1, 50_000);
    let head = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .unwrap();
    let head = text(&head.stdout).trim().to_string();
    assert_eq!(head.len(), 40, "the tests run in a git checkout");
    let target = tmp.path().join("target");
    let kept = target
        .join("logbench-gate")
        .join(&head)
        .join("bench-runner");
    std::fs::create_dir_all(kept.parent().unwrap()).unwrap();
    std::fs::copy(BIN, &kept).unwrap();
    let out = tmp.path().join("gate");
    let o = bench_runner(&[
        "gate",
        "--base",
        "HEAD",
        "--new-bin",
        BIN,
        "--target-dir",
        target.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--query",
        "agg_status_codes",
        "--rounds",
        "2",
        "--iterations",
        "2",
        "--instr-runs",
        "0",
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = text(&o.stderr);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{err}");
    assert!(err.contains(&format!("BASE is HEAD = {head}")), "{err}");
    assert!(err.contains(&format!("BASE {head}: reusing")), "{err}");
    assert!(out.join("comparison.json").is_file());
    // Without --queries both sides ran this build's built-in workload, written out once.
    assert!(out.join("workload/agg_status_codes.sql").is_file());

    // A revision that does not exist: one line, exit 2.
    let o = bench_runner(&[
        "gate",
        "--base",
        "no-such-rev",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert_eq!(text(&o.stderr).lines().count(), 1, "{}", text(&o.stderr));
}

/// The known small slowdown, by configuration: NEW runs with batches of 4096 rows instead of
/// 8192. Wall time on this machine cannot see it; the instruction counts must: each query is
/// flagged exactly when its change passes its threshold (0.3 %, or its own where the A/A gates
/// required one), so every query changed by 1 % or more under the default threshold is flagged
/// and none changed by under 0.2 %; at least one is; the gate fails on an instruction
/// regression. Each query's ratio and verdict are then checked against the change plain
/// callgrind measures on its own (whole processes, no client requests).
#[test]
fn gate_counts_instructions_and_flags_what_batch_size_4096_changes() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(1800));
    let _shared = shared();
    let tmp = tempfile::tempdir().unwrap();
    let data = generate(&tmp.path().join("data"), 300_000, 2, 100_000);
    let out = tmp.path().join("gate");
    // Each query counted exactly 3 times (not the 9 that `agg_top_users`'s and
    // `filter_one_day`'s headers ask of the shipped workload): this test judges the verdicts
    // against the counts and plain callgrind, whatever the runs.
    let names = [
        "agg_top_users",
        "headline_error_users",
        "agg_status_codes",
        "filter_one_day",
    ];
    let queries = common::workload_without_instr_runs(&tmp.path().join("queries"), &names);
    let o = gate_in(
        &queries,
        &data,
        &out,
        &[
            "--rounds",
            "2",
            "--iterations",
            "1",
            "--new-set",
            "datafusion.execution.batch_size=4096",
        ],
    );
    let stdout = text(&o.stdout);
    let c: Comparison =
        serde_json::from_str(&std::fs::read_to_string(out.join("comparison.json")).unwrap())
            .unwrap_or_else(|e| panic!("{e}\n{stdout}\n{}", text(&o.stderr)));
    assert!(
        c.instr_threshold > 0.002 && c.instr_threshold <= 0.01,
        "default threshold {}",
        c.instr_threshold
    );
    let mut flagged = 0;
    for q in &c.queries {
        let i = q
            .instructions
            .as_ref()
            .unwrap_or_else(|| panic!("{} counted on both sides:\n{stdout}", q.query));
        assert!(i.base > 100_000 && i.new > 100_000, "{i:?}");
        let t = i.threshold;
        assert!(t >= c.instr_threshold, "{i:?}");
        // Within one process the counted runs agree to a few percent at most (measured: up to
        // about 1 % for the hash aggregations, hence the median of three).
        assert!(
            i.base_spread_ppm < 50_000 && i.new_spread_ppm < 50_000,
            "{}: {i:?}",
            q.query
        );
        // The verdict from the counts themselves: more instructions past the threshold is
        // slower, fewer is faster (a change, never a regression), within it no change.
        let change = (i.ratio - 1.0).abs();
        let want = if change <= t * 0.999 {
            Verdict::NoChange
        } else if i.ratio > 1.0 {
            Verdict::Slower
        } else {
            Verdict::Faster
        };
        assert_eq!(i.verdict, want, "{}: {i:?}", q.query);
        let changed = i.verdict != Verdict::NoChange;
        if change >= 0.01 && t <= c.instr_threshold {
            assert!(changed, "{}: {i:?}", q.query);
        }
        if change < 0.002 {
            assert!(!changed, "{}: {i:?}", q.query);
        }
        flagged += usize::from(changed);
    }
    assert!(flagged >= 1, "batch_size=4096 is seen:\n{stdout}");

    // Each query's change measured independently of the regions, the medians and the gate:
    // plain callgrind over the whole counting worker (no client requests), one execution as
    // the difference of 3 and 1 halved, under each setting. The gate's ratio must agree with
    // it within 6 %, and its verdict must follow it where the change is clear of the threshold
    // by 2 %: slower, or faster, never flagged the other way. Both count the multi-threaded
    // runtime, whose hand-offs between threads move `agg_top_users` by up to 4 % (1 against
    // 4 workers, docs/methodology.md); in one CI pass (2026-12-03) its gate ratio was 1.0852
    // against plain callgrind's 1.0437, 4.0 % apart. An inverted or misattributed ratio is
    // off by 10 % or more (0.9273 against 1.0555 when the defect was put back).
    let expected: Vec<(String, f64)> = std::thread::scope(|s| {
        let jobs: Vec<_> = c
            .queries
            .iter()
            .map(|q| {
                let (name, scratch, data, queries) = (q.query.clone(), tmp.path(), &data, &queries);
                s.spawn(move || {
                    let one = |set: &[&str]| {
                        common::plain_worker_instructions(data, queries, scratch, &name, set)
                    };
                    let ratio = one(&["datafusion.execution.batch_size=4096"]) / one(&[]);
                    (name, ratio)
                })
            })
            .collect();
        jobs.into_iter().map(|j| j.join().unwrap()).collect()
    });
    for (name, want) in &expected {
        let i = c
            .queries
            .iter()
            .find(|q| &q.query == name)
            .and_then(|q| q.instructions.as_ref())
            .unwrap();
        eprintln!(
            "{name}: gate ratio {:.4}, plain callgrind {want:.4}",
            i.ratio
        );
        assert!(
            (i.ratio / want - 1.0).abs() < 0.06,
            "{name}: the gate's instruction ratio {:.4} against plain callgrind's {want:.4}",
            i.ratio
        );
        if (want - 1.0).abs() >= i.threshold + 0.02 {
            let clear = if *want > 1.0 {
                Verdict::Slower
            } else {
                Verdict::Faster
            };
            assert_eq!(i.verdict, clear, "{name}: plain callgrind {want:.4}: {i:?}");
        }
    }
    // The gate fails exactly when a query got slower on either metric (read from the rows,
    // not from the gate's own summary); a faster query alone passes it.
    let slower = c.queries.iter().any(|q| {
        q.verdict == Verdict::Slower
            || q.instructions
                .as_ref()
                .is_some_and(|i| i.verdict == Verdict::Slower)
    });
    assert_eq!(o.status.code(), Some(i32::from(slower)), "{stdout}");
    // One Markdown table with both metrics.
    let md = std::fs::read_to_string(out.join("comparison.md")).unwrap();
    assert!(
        md.contains("| instr ratio |") && md.contains("| ratio [95 % CI] |"),
        "{md}"
    );
    let new = RunResult::read(&out.join("new.json")).unwrap();
    let setup = new.instructions_setup.as_ref().expect("how it was counted");
    assert_eq!(setup.runs, 3);
    assert!(stdout.contains(&md));
}

/// Every engine patch under patches/ applies to the registry sources of the version it names
/// (scripts/tools/patch-crate.sh), changing exactly the files it names; a version that is not
/// in the registry is refused in one line that says how to get it.
#[test]
fn the_engine_patches_apply_to_the_sources_they_name() {
    let repo = common::repo();
    let script = repo.join("scripts/tools/patch-crate.sh");
    let tmp = tempfile::tempdir().unwrap();
    let mut patches: Vec<_> = ["patches", "bench-runner/tests/fixtures/patches"]
        .iter()
        .flat_map(|d| std::fs::read_dir(repo.join(d)).unwrap().flatten())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "patch"))
        .collect();
    patches.sort();
    assert!(patches.len() >= 3, "{patches:?}");
    let files_of = |p: &Path| -> BTreeSet<String> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .filter_map(|l| l.strip_prefix("+++ b/"))
            .map(|f| f.split('\t').next().unwrap().to_string())
            .collect()
    };
    // One copy with two patches of the same crate: the percentile_cont fix and the test's
    // slowed MAX, as the patched-engine gate test builds it.
    let both = [
        repo.join(
            "patches/datafusion-functions-aggregate-55.2.0--percentile-cont-exact-weight.patch",
        ),
        repo.join(SLOW_MAX_PATCH),
    ];
    let sets = patches
        .iter()
        .map(|p| vec![p.clone()])
        .chain([both.to_vec()]);
    for set in sets {
        let p = &set[0];
        let o = std::process::Command::new(&script)
            .args(&set)
            .arg(tmp.path())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}: {}", p.display(), text(&o.stderr));
        let out = std::path::PathBuf::from(text(&o.stdout).trim());
        let name = out.file_name().unwrap().to_str().unwrap().to_string();
        assert!(
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with(&format!("{name}--")),
            "{} made {name}",
            p.display()
        );
        // The registry copy it came from: the same crate directory name.
        let src = registry_source(&name);
        let d = std::process::Command::new("diff")
            .args(["-rq"])
            .arg(&src)
            .arg(&out)
            .output()
            .unwrap();
        assert_eq!(d.status.code(), Some(1), "the patch changed something");
        let changed: BTreeSet<String> = text(&d.stdout)
            .lines()
            .map(|l| {
                let f = l
                    .split(" and ")
                    .nth(1)
                    .unwrap()
                    .split(" differ")
                    .next()
                    .unwrap();
                Path::new(f)
                    .strip_prefix(&out)
                    .unwrap()
                    .display()
                    .to_string()
            })
            .collect();
        let named: BTreeSet<String> = set.iter().flat_map(|p| files_of(p)).collect();
        assert_eq!(changed, named, "{set:?}");
    }
    let missing = tmp.path().join("datafusion-functions-1.0.0--x.patch");
    std::fs::copy(&patches[0], &missing).unwrap();
    let o = std::process::Command::new(&script)
        .arg(&missing)
        .arg(tmp.path().join("out"))
        .output()
        .unwrap();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("cargo fetch"), "{err}");
}

/// `gate --new-patch`: a copy of an engine crate that the tree would not use (another version)
/// is refused in one line, before anything is built, naming the version the tree asks for;
/// a spec that names no copy is refused the same way. (A patch that is used builds the engine
/// again, 15 to 25 minutes on 2 cores: measured in docs/findings/, not here.)
#[test]
fn gate_refuses_an_engine_patch_the_tree_would_not_use() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(600));
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("datafusion-functions-99.0.0");
    std::fs::create_dir_all(copy.join("src")).unwrap();
    std::fs::write(
        copy.join("Cargo.toml"),
        "[package]\nname = \"datafusion-functions\"\nversion = \"99.0.0\"\nedition = \"2024\"\n\n[lib]\npath = \"src/lib.rs\"\n",
    )
    .unwrap();
    std::fs::write(copy.join("src/lib.rs"), "").unwrap();
    let target = tmp.path().join("target");
    std::fs::create_dir_all(target.join("release")).unwrap();
    let spec = format!("datafusion-functions={}", copy.display());
    let o = bench_runner(&[
        "gate",
        "--base",
        "HEAD",
        "--new-patch",
        &spec,
        "--target-dir",
        target.to_str().unwrap(),
        "--out",
        tmp.path().join("gate").to_str().unwrap(),
    ]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let last = err.lines().last().unwrap_or("");
    assert!(
        last.contains("patch datafusion-functions is not used") && last.contains("55."),
        "{err}"
    );
    // Nothing was built, and the worktree is gone.
    assert!(!target.join("logbench-gate").exists(), "{err}");
    let o = bench_runner(&["gate", "--new-patch", "datafusion-functions=/no/such/copy"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("--new-patch") && err.contains("/no/such/copy"),
        "{err}"
    );
}

/// The test's own engine patch: MAX without GROUP BY (only `filter_one_day` uses it) makes 64
/// extra passes over each batch; every answer stays the same.
const SLOW_MAX_PATCH: &str =
    "bench-runner/tests/fixtures/patches/datafusion-functions-aggregate-55.2.0--slow-max.patch";

/// A crate's sources in cargo's registry (`<crate>-<version>`).
fn registry_source(name: &str) -> std::path::PathBuf {
    let home = std::env::var("CARGO_HOME")
        .unwrap_or_else(|_| format!("{}/.cargo", std::env::var("HOME").unwrap()));
    std::fs::read_dir(Path::new(&home).join("registry/src"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join(name))
        .find(|d| d.is_dir())
        .unwrap_or_else(|| panic!("the registry holds {name}"))
}

/// `gate --base-patch/--new-patch` on real engine builds of `datafusion-functions-aggregate`
/// (each side rebuilds that crate and everything above it: DataFusion, Ballista's client and
/// bench-runner). Three gates, two builds:
/// - an unmodified copy of the crate against the registry's: an A/A verdict (no query changes
///   on either metric, no answer changes), the patch and its source hash recorded;
/// - that copy against one with our percentile_cont fix and a MAX slowed on purpose: fails;
///   `filter_one_day` is slower by instructions and no other query is flagged; only
///   `agg_latency_p99`'s answer changed, shown row by row beside DuckDB's;
/// - the same two builds (kept, not rebuilt) on `agg_latency_p99` alone: the answer change
///   fails the gate, and passes it with `--accept-answer-change`.
///
/// NEW is built from the committed HEAD (the gate says so when the checkout has changes).
#[test]
#[ignore = "builds DataFusion twice (about 25 min on 2 cores), over CI's budget: run with \
            cargo test --release --workspace --test gate -- --ignored patched"]
fn gate_judges_patched_engine_builds() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(3600));
    let _alone = alone();
    let repo = common::repo();
    let tmp = tempfile::tempdir().unwrap();
    let krate = "datafusion-functions-aggregate";
    // The copies live at one place beside the target directory, not in the temporary one: a
    // side's build is kept under its commit and its patches' paths and hashes, so a second run
    // of this test at the same commit reuses both builds instead of making them again.
    let copies = common::bin_dir().join("../logbench-test-copies");
    std::fs::create_dir_all(&copies).unwrap();
    let copies = copies.canonicalize().unwrap();
    let unmodified = copies.join("unmodified");
    let _ = std::fs::remove_dir_all(&unmodified);
    std::fs::create_dir_all(&unmodified).unwrap();
    let cp = std::process::Command::new("cp")
        .arg("-r")
        .arg(registry_source("datafusion-functions-aggregate-55.2.0"))
        .arg(&unmodified)
        .status()
        .unwrap();
    assert!(cp.success());
    let unmodified = unmodified.join("datafusion-functions-aggregate-55.2.0");
    let o = std::process::Command::new(repo.join("scripts/tools/patch-crate.sh"))
        .arg(repo.join(
            "patches/datafusion-functions-aggregate-55.2.0--percentile-cont-exact-weight.patch",
        ))
        .arg(repo.join(SLOW_MAX_PATCH))
        .arg(copies.join("changed"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let changed = std::path::PathBuf::from(text(&o.stdout).trim());
    let data = generate(&tmp.path().join("data"), 300_000, 2, 100_000);
    let queries = workload();
    let spec = |dir: &Path| format!("{krate}={}", dir.display());
    let gate = |name: &str, extra: &[&str]| {
        let out = tmp.path().join(name);
        let mut args = vec![
            "gate",
            "--base",
            "HEAD",
            "--data",
            data.to_str().unwrap(),
            "--queries",
            queries.to_str().unwrap(),
            "--rounds",
            "3",
            "--iterations",
            "2",
            // Wall time of 2-15 ms queries in 3 rounds cannot hold a 7.5 % band: in one A/A
            // gate of these builds two queries read 1.25x and 1.30x "slower" with the same
            // instruction counts. The patches are judged by instructions and answers; wall
            // time only past 1.5x.
            "--noise",
            "0.5",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let o = bench_runner(&args);
        let (stdout, stderr) = (text(&o.stdout), text(&o.stderr));
        eprintln!("{name}:\n{stderr}");
        let c: Comparison =
            serde_json::from_str(&std::fs::read_to_string(out.join("comparison.json")).unwrap())
                .unwrap_or_else(|e| panic!("{name}: {e}\n{stdout}\n{stderr}"));
        (o.status.code(), c, stdout + &stderr, out)
    };
    let flagged = |c: &Comparison| -> BTreeSet<String> {
        c.queries
            .iter()
            .filter(|q| {
                q.verdict == Verdict::Slower
                    || q.verdict == Verdict::Faster
                    || q.instructions
                        .as_ref()
                        .is_none_or(|i| i.verdict != Verdict::NoChange)
            })
            .map(|q| q.query.clone())
            .collect()
    };
    let answers = |c: &Comparison| -> BTreeSet<String> {
        c.queries
            .iter()
            .filter(|q| q.answer_changed)
            .map(|q| q.query.clone())
            .collect()
    };

    // A patch that changes nothing.
    let (code, c, log, out) = gate("aa", &["--new-patch", &spec(&unmodified)]);
    assert_eq!(code, Some(0), "{log}");
    assert_eq!(c.queries.len(), 13, "{log}");
    assert_eq!(flagged(&c), BTreeSet::new(), "{log}");
    assert_eq!(answers(&c), BTreeSet::new(), "{log}");
    assert!(c.base_patches.is_empty(), "{:?}", c.base_patches);
    assert_eq!(c.new_patches.len(), 1, "{:?}", c.new_patches);
    assert!(
        c.new_patches[0].starts_with(&spec(&unmodified))
            && c.new_patches[0].contains("sources sha256:"),
        "{:?}",
        c.new_patches
    );
    let new = RunResult::read(&out.join("new.json")).unwrap();
    assert_eq!(new.environment.engine_patches, c.new_patches);
    assert!(log.contains("built in"), "{log}");

    // The fix and the slowed MAX, against the unmodified copy (kept from the gate above).
    let sides = [
        "--base-patch",
        &spec(&unmodified),
        "--new-patch",
        &spec(&changed),
    ];
    let (code, c, log, out) = gate("changed", &sides);
    assert!(log.contains("reusing"), "BASE is the A/A gate's NEW: {log}");
    assert_eq!(code, Some(1), "{log}");
    assert_eq!(
        flagged(&c),
        BTreeSet::from(["filter_one_day".to_string()]),
        "{log}"
    );
    let slowed = c
        .queries
        .iter()
        .find(|q| q.query == "filter_one_day")
        .unwrap();
    let i = slowed.instructions.as_ref().unwrap();
    assert_eq!(i.verdict, Verdict::Slower, "{i:?}");
    assert_ne!(slowed.verdict, Verdict::Faster, "{log}");
    assert_eq!(
        answers(&c),
        BTreeSet::from(["agg_latency_p99".to_string()]),
        "{log}"
    );
    let shown = std::fs::read_to_string(out.join("answers.md")).unwrap();
    assert!(
        shown.contains("agg_latency_p99") && shown.contains("DuckDB"),
        "{shown}"
    );
    assert!(c.new_patches[0].starts_with(&spec(&changed)), "{c:?}");
    assert!(c.base_patches[0].starts_with(&spec(&unmodified)), "{c:?}");

    // The answer change alone: a failure unless accepted.
    let one = [&sides[..], &["--query", "agg_latency_p99"]].concat();
    let (code, c, log, _) = gate("answer", &one);
    assert_eq!(code, Some(1), "{log}");
    assert!(c.queries[0].answer_changed && !c.queries[0].answer_change_accepted);
    let accepted = [&one[..], &["--accept-answer-change", "agg_latency_p99"]].concat();
    let (code, c, log, _) = gate("accepted", &accepted);
    assert_eq!(code, Some(0), "{log}");
    assert!(c.queries[0].answer_changed && c.queries[0].answer_change_accepted);
    assert!(
        !log.contains("building bench-runner"),
        "the kept builds are reused: {log}"
    );
}
