//! `bench-runner report` from committed fixture results (small real runs: DataFusion and a
//! two-executor Ballista cluster at 200k rows, DataFusion with one partition, DataFusion at
//! 400k rows). tests/fixtures/report/README.md says how they were made.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod common;
use common::{bench_runner, text};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/report")
        .join(name)
}

fn report(files: &[&str], out: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut args = vec!["report".to_string()];
    args.extend(files.iter().map(|f| fixture(f).display().to_string()));
    args.extend(["--out".into(), out.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = bench_runner(&args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let mut files = BTreeMap::new();
    for dir in [out.to_path_buf(), out.join("charts")] {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            if e.path().is_file() {
                let rel = e.path().strip_prefix(out).unwrap().display().to_string();
                files.insert(rel, std::fs::read(e.path()).unwrap());
            }
        }
    }
    files
}

/// Rows of the Markdown table that follows `heading` (header and alignment excluded).
fn table_after<'a>(md: &'a str, heading: &str) -> Vec<&'a str> {
    let start = md
        .find(heading)
        .unwrap_or_else(|| panic!("no {heading:?} in\n{md}"));
    md[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .collect()
}

fn assert_self_contained_and_well_formed(html: &str) {
    // Parsed as XML (the page is written to be both): every element closed, every entity valid.
    let body = html.trim_start_matches("<!DOCTYPE html>");
    roxmltree::Document::parse(body)
        .unwrap_or_else(|e| panic!("report.html is not well-formed: {e}"));
    let lower = html.to_lowercase();
    for bad in ["src=", "href=", "@import", "url(", "<script", "<link"] {
        assert!(
            !lower.contains(bad),
            "report.html refers outside itself: {bad}"
        );
    }
    // The only URL is the SVG namespace name, which is never fetched.
    let urls = lower.matches("http").count();
    let ns = lower
        .matches("xmlns=\"http://www.w3.org/2000/svg\"")
        .count();
    assert_eq!(urls, ns, "an external URL in report.html");
}

#[test]
fn single_run_report_has_tables_charts_plans_and_is_deterministic() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let tmp = tempfile::tempdir().unwrap();
    let a = report(&["df-ballista-200k.json"], &tmp.path().join("a"));
    let b = report(&["df-ballista-200k.json"], &tmp.path().join("b"));
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "the same files"
    );
    for (name, bytes) in &a {
        assert!(
            bytes == &b[name],
            "{name} differs between two reports of one input"
        );
    }

    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("df-ballista-200k.json")).unwrap()).unwrap();
    let queries: Vec<&str> = run["engines"][0]["queries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["name"].as_str().unwrap())
        .collect();
    let md = String::from_utf8(a["report.md"].clone()).unwrap();
    for engine in ["datafusion", "ballista"] {
        let rows = table_after(&md, &format!("### {engine}: per query"));
        // One row per query plus the geometric mean.
        assert_eq!(rows.len(), queries.len() + 1, "{engine}:\n{md}");
        for q in &queries {
            assert!(
                rows.iter()
                    .any(|r| r.starts_with(&format!("| {q} |")) && r.contains("✓")),
                "{engine} {q}"
            );
        }
        assert!(rows.last().unwrap().contains("geometric mean"));
    }
    let side = table_after(&md, "## Side by side");
    assert_eq!(side.len(), queries.len() + 1);
    assert!(side.iter().all(|r| r.contains("×")), "ratios: {side:?}");
    assert!(md.contains("## Failures\n\nNone."));

    // Every chart the Markdown names exists and is SVG that parses, with a title and labels.
    let linked: Vec<&str> = md
        .lines()
        .filter_map(|l| l.strip_prefix("![")?.split("](").nth(1)?.strip_suffix(')'))
        .collect();
    assert!(linked.len() >= 2 + queries.len(), "{linked:?}");
    for l in &linked {
        let svg = std::str::from_utf8(&a[*l]).unwrap();
        let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{l}: {e}"));
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        assert!(
            doc.descendants().filter(|n| n.has_tag_name("text")).count() >= 4,
            "{l}"
        );
    }
    assert!(linked.contains(&"charts/latency.svg"));
    assert!(linked.iter().any(|l| l.starts_with("charts/percentiles-")));
    assert!(
        linked.iter().any(|l| l.starts_with("charts/tasks-")),
        "Ballista tasks chart"
    );
    assert!(
        linked.iter().any(|l| l.starts_with("charts/stages-")),
        "Ballista stage timeline"
    );
    assert_eq!(
        a.keys().filter(|k| k.starts_with("charts/")).count(),
        linked.len(),
        "no chart unreferenced"
    );

    let html = String::from_utf8(a["report.html"].clone()).unwrap();
    assert_self_contained_and_well_formed(&html);
    assert_eq!(html.matches("<svg").count(), linked.len(), "charts inline");
    assert!(html.contains("<details><summary>agg_status_codes: physical plan"));
    assert!(html.contains("time per operator (EXPLAIN ANALYZE)"));
}

#[test]
fn several_runs_are_compared_and_charted_for_scaling() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let tmp = tempfile::tempdir().unwrap();
    // BASE, then the same data with one partition: compared query by query.
    let c = report(
        &["df-200k.json", "df-200k-1partition.json"],
        &tmp.path().join("c"),
    );
    let md = String::from_utf8(c["report.md"].clone()).unwrap();
    let rows = table_after(&md, "### df-200k-1partition against df-200k");
    assert_eq!(rows.len(), 4, "{md}");
    assert!(
        rows.iter().all(|r| r.contains("| ✓ |")),
        "same answers: {rows:?}"
    );
    assert!(c.contains_key("charts/comparison-1.svg"));
    roxmltree::Document::parse(std::str::from_utf8(&c["charts/comparison-1.svg"]).unwrap())
        .unwrap();
    assert_self_contained_and_well_formed(&String::from_utf8(c["report.html"].clone()).unwrap());

    // Two dataset sizes: a scaling chart, and no comparison across datasets.
    let s = report(&["df-200k.json", "df-400k.json"], &tmp.path().join("s"));
    let md = String::from_utf8(s["report.md"].clone()).unwrap();
    assert!(
        md.contains("![Median latency per query against rows](charts/scaling.svg)"),
        "{md}"
    );
    assert!(
        md.contains("Not compared: configuration: different datasets"),
        "{md}"
    );
    let svg =
        roxmltree::Document::parse(std::str::from_utf8(&s["charts/scaling.svg"]).unwrap()).unwrap();
    assert!(
        svg.descendants()
            .any(|n| n.text().map(str::trim) == Some("agg_status_codes")),
        "legend names the queries"
    );

    // Bad input: one line, exit 2, nothing written.
    let out = tmp.path().join("bad");
    let o = bench_runner(&[
        "report",
        "/nonexistent.json",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(text(&o.stderr).lines().count(), 1, "{}", text(&o.stderr));
    assert!(!out.exists());
}

/// The reference run committed in `results/reference/` and the charts README shows from
/// `charts/` (made by `scripts/tools/reference.sh`): rendering the one gives exactly the other.
#[test]
fn the_committed_charts_are_rendered_from_the_committed_reference_result() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let results: Vec<PathBuf> = std::fs::read_dir(repo.join("results/reference"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    assert_eq!(results.len(), 1, "one reference result: {results:?}");
    let run = bench_runner::results::RunResult::read(&results[0]).unwrap();
    run.validate().unwrap();
    assert!(run.complete, "the reference run finished");

    let tmp = tempfile::tempdir().unwrap();
    let o = bench_runner(&[
        "report",
        results[0].to_str().unwrap(),
        "--out",
        tmp.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let svgs = |dir: &Path| -> BTreeMap<String, Vec<u8>> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "svg"))
            .map(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read(&p).unwrap())
            })
            .collect()
    };
    let rendered = svgs(&tmp.path().join("charts"));
    let committed = svgs(&repo.join("charts"));
    assert_eq!(
        rendered.keys().collect::<Vec<_>>(),
        committed.keys().collect::<Vec<_>>(),
        "the same charts: run scripts/tools/reference.sh again"
    );
    for (name, bytes) in &rendered {
        assert!(
            committed[name] == *bytes,
            "charts/{name} differs from what the reference result renders: run scripts/tools/reference.sh again"
        );
    }
    // README shows them.
    let readme = std::fs::read_to_string(repo.join("README.md")).unwrap();
    assert!(
        readme.contains("](charts/latency.svg)"),
        "README shows the latency chart"
    );
}

#[test]
fn the_fixtures_are_at_the_current_schema_version_and_one_is_kept_old() {
    let version = |name: &str| -> u64 {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(fixture(name)).unwrap()).unwrap();
        v["schema_version"].as_u64().unwrap()
    };
    let current = u64::from(bench_runner::results::SCHEMA_VERSION);
    for name in ["df-ballista-200k.json", "df-200k.json", "df-400k.json"] {
        assert_eq!(version(name), current, "{name}: regenerate it with make.sh");
    }
    // Kept at version 1 on purpose: the reports and compares above read it beside new files.
    assert_eq!(version("df-200k-1partition.json"), 1);
}

/// `bench-runner check` passes a clean run, names each problem of a run that is not (exit 1),
/// and refuses a file it cannot read (exit 2).
#[test]
fn check_passes_a_clean_run_and_names_what_is_wrong_with_another() {
    let clean = fixture("df-ballista-200k.json");
    let o = bench_runner(&[
        "check",
        clean.to_str().unwrap(),
        "--engines",
        "datafusion,ballista",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("ok on datafusion and ballista"),
        "{}",
        text(&o.stdout)
    );

    let o = bench_runner(&["check", clean.to_str().unwrap(), "--engines", "ballista"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("expected [\"ballista\"]"),
        "{}",
        text(&o.stderr)
    );

    let tmp = tempfile::tempdir().unwrap();
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&clean).unwrap()).unwrap();
    let q = &mut v["engines"][1]["queries"][0];
    q["status"] = "timed_out".into();
    q["error"] = "past its 1 s limit".into();
    let name = q["name"].as_str().unwrap().to_string();
    v["complete"] = false.into();
    let bad = tmp.path().join("bad.json");
    std::fs::write(&bad, serde_json::to_vec(&v).unwrap()).unwrap();
    let o = bench_runner(&["check", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("incomplete"), "{err}");
    assert!(
        err.contains(&format!("ballista/{name} timed out: past its 1 s limit")),
        "{err}"
    );

    let o = bench_runner(&["check", tmp.path().join("missing.json").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("missing.json"),
        "{}",
        text(&o.stderr)
    );
}

/// A query whose runs returned tied rows in different orders is named in the report as
/// compared on rows only; a clean run's report says nothing of it.
#[test]
fn the_report_names_a_query_whose_order_went_unchecked() {
    let tmp = tempfile::tempdir().unwrap();
    let clean = report(&["df-ballista-200k.json"], &tmp.path().join("clean"));
    let md = String::from_utf8(clean["report.md"].clone()).unwrap();
    assert!(!md.contains("order not checked"), "{md}");

    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("df-ballista-200k.json")).unwrap()).unwrap();
    let q = &mut v["engines"][1]["queries"][0];
    q["order_not_checked"] = "ties".into();
    let name = q["name"].as_str().unwrap().to_string();
    let tied = tmp.path().join("tied.json");
    std::fs::write(&tied, serde_json::to_vec(&v).unwrap()).unwrap();
    let out = tmp.path().join("tied");
    let o = bench_runner(&[
        "report",
        tied.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("order not checked (tied rows came back in different orders)")
            && md.contains(&format!("{name} ("))
            && md.contains("order: not checked, ties)"),
        "{md}"
    );
}
