//! `run --profile`: CPU profiles of the queries on DataFusion (this process) and on a real
//! Ballista cluster (each executor's profiling window), the files beside the result, the
//! report's links and hottest frames, and `compare` naming a slower query's suspects.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use bench_runner::profile::QueryProfile;
use bench_runner::results::{RunResult, Status};
use logbench_common::profile::Profile;

mod common;
use common::{ClusterGuard, bench_runner, generate, ok, text, workload};

const ROWS: u64 = 300_000;

fn dataset() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("profile-logs");
        generate(&dir, ROWS, 4, 30_000)
    })
}

/// `run --profile` on `engine` with `extra` arguments, 3 measured runs a query; the result.
fn profiled_run(out: &Path, engine: &str, queries: &[&str], extra: &[&str]) -> RunResult {
    profiled_runs(out, engine, queries, extra, 3)
}

/// `run --profile` with `iterations` measured runs a query.
fn profiled_runs(
    out: &Path,
    engine: &str,
    queries: &[&str],
    extra: &[&str],
    iterations: usize,
) -> RunResult {
    let iterations = iterations.to_string();
    let workload = workload();
    let mut args = vec![
        "run",
        "--data",
        dataset().to_str().unwrap(),
        "--queries",
        workload.to_str().unwrap(),
        "--engine",
        engine,
        "--iterations",
        &iterations,
        "--profile",
        "--profile-frequency",
        "1999",
        "--profile-seconds",
        "1",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ];
    for q in queries {
        args.extend(["--query", q]);
    }
    args.extend_from_slice(extra);
    ok(&bench_runner(&args));
    let r = RunResult::read(out).unwrap();
    r.validate().unwrap();
    r
}

/// The folded stacks a profile names, read back from beside the result file.
fn folded(result: &Path, rel: &str) -> Profile {
    let path = result.parent().unwrap().join(rel);
    Profile::parse_folded(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Share of samples (in percent) whose stack holds a frame matching `pred`.
fn stack_share(p: &Profile, pred: impl Fn(&str) -> bool) -> f64 {
    let hit: u64 = p
        .stacks
        .iter()
        .filter(|(s, _)| s.split(';').skip(1).any(&pred))
        .map(|(_, n)| n)
        .sum();
    hit as f64 * 100.0 / p.samples().max(1) as f64
}

fn check_files(result: &Path, p: &QueryProfile) {
    assert!(p.error.is_none(), "{:?}", p.error);
    assert!(!p.runs_us.is_empty());
    for pp in &p.processes {
        let f = folded(result, &pp.folded);
        assert_eq!(f.samples(), pp.samples, "{}", pp.folded);
        // The process's CPU time over its window is reported, and SIGPROF comes at most once
        // per 1/frequency of it: more samples than that would mean a wrong CPU time.
        let cpu_s = pp.cpu_ms.expect("CPU time reported") / 1000.0;
        assert!(cpu_s > 0.0, "{}", pp.folded);
        assert!(
            pp.samples as f64 <= p.frequency_hz as f64 * cpu_s * 1.05 + 2.0,
            "{}: {} samples in {cpu_s:.3} s of CPU at {} Hz",
            pp.folded,
            pp.samples,
            p.frequency_hz
        );
        let svg = std::fs::read_to_string(
            result
                .parent()
                .unwrap()
                .join(pp.flamegraph.as_ref().unwrap()),
        )
        .unwrap();
        assert!(
            svg.starts_with("<?xml") && svg.contains("<svg"),
            "{}",
            pp.folded
        );
    }
    assert!(p.samples() > 0);
    let h = &p.hottest;
    assert!(!h.is_empty());
    assert!(h.windows(2).all(|w| w[0].self_pct >= w[1].self_pct));
    assert!(h.iter().all(|f| f.self_pct <= f.total_pct + 1e-9));
}

/// DataFusion: the zoned `date_trunc` path shows in `agg_hourly_region`'s profile and not in
/// the variant that truncates the same UTC instants without a zone (the same answer); the
/// report links the flamegraphs and lists the hottest frames.
#[test]
fn datafusion_profiles_show_the_zoned_date_trunc_path_and_the_report_links_them() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("results").join("df.json");
    let r = profiled_run(
        &out,
        "datafusion",
        &["agg_hourly_region", "agg_hourly_region_naive"],
        &[],
    );
    let e = &r.engines[0];
    let q = |n: &str| e.queries.iter().find(|q| q.name == n).unwrap();
    let (zoned, naive) = (q("agg_hourly_region"), q("agg_hourly_region_naive"));
    for x in [zoned, naive] {
        assert_eq!(x.status, Status::Ok, "{:?}", x.error);
        let p = x.profile.as_ref().unwrap();
        check_files(&out, p);
        assert_eq!(p.processes.len(), 1);
        assert_eq!(p.processes[0].process, "bench-runner");
        assert_eq!(p.frequency_hz, 1999);
        assert!(p.overhead_pct.is_some());
        let sum: f64 = p.runs_us.iter().map(|&u| u as f64 / 1e6).sum();
        assert!(
            sum >= 1.0 || p.runs_us.len() == 50,
            "profiled until 1 s: {:?}",
            p.runs_us
        );
        assert!(
            x.samples_us.len() == 3,
            "the profiled runs are not measured runs"
        );
    }
    assert!(
        zoned
            .answer
            .as_ref()
            .unwrap()
            .same_rows(naive.answer.as_ref().unwrap()),
        "the variant gives the same answer"
    );
    // The per-value path converts every timestamp through chrono's time-zone types. Its share
    // of the small test dataset's samples depends on the machine (45 % at 200M rows here,
    // 18.1 % in one CI run on 2026-12-05, when this asked for 20 %), so the test asks for a
    // tenth of the samples against under 2 % in the variant: five times the variant's at least.
    let tz = |f: &str| f.contains("date_trunc_coarse_with_tz") || f.contains("with_timezone");
    let f = |x: &bench_runner::results::QueryResult| {
        folded(&out, &x.profile.as_ref().unwrap().processes[0].folded)
    };
    let (in_zoned, in_naive) = (stack_share(&f(zoned), tz), stack_share(&f(naive), tz));
    assert!(
        in_zoned > 10.0 && in_naive < 2.0,
        "time-zone frames: {in_zoned:.1} % of agg_hourly_region's samples, {in_naive:.1} % of the variant's"
    );

    // The report, in another folder: links that resolve, and the hottest frames.
    let report = tmp.path().join("report");
    ok(&bench_runner(&[
        "report",
        out.to_str().unwrap(),
        "--out",
        report.to_str().unwrap(),
    ]));
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    let html = std::fs::read_to_string(report.join("report.html")).unwrap();
    assert!(md.contains("## CPU profiles"), "{md}");
    assert!(md.contains("**agg_hourly_region**: hottest frames (self time)"));
    let link = "../results/df.profiles/datafusion/agg_hourly_region.svg";
    assert!(md.contains(&format!("[flamegraph]({link})")), "{md}");
    assert!(html.contains(&format!("<a href=\"{link}\">flamegraph</a>")));
    assert!(report.join(link).is_file());
    let top = &zoned.profile.as_ref().unwrap().hottest[0];
    assert!(md.contains(&format!("`{}`", top.frame.replace('|', "\\|"))));
}

fn http(addr: &str, request: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// Ballista: each executor of a real cluster is profiled through its health port while the
/// job runs; the window refuses what it should.
#[test]
fn ballista_profiles_every_executor_through_its_window() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("cluster");
    let guard = ClusterGuard::up(&state, &["--executors", "2", "--vcores", "1"]);
    let executors = guard.state().executors;
    let addr = format!("127.0.0.1:{}", executors[0].health_port);

    let answer = http(&addr, "POST /profile/stop HTTP/1.1\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 409"), "{answer}");
    let answer = http(&addr, "GET /profile/start HTTP/1.1\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");
    let answer = http(&addr, "POST /profile/start?hz=many HTTP/1.1\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");

    let out = tmp.path().join("ballista.json");
    let r = profiled_run(
        &out,
        "ballista",
        &["agg_status_codes"],
        &["--cluster-state-dir", state.to_str().unwrap()],
    );
    let q = &r.engines[0].queries[0];
    assert_eq!(q.status, Status::Ok, "{:?}", q.error);
    let p = q.profile.as_ref().unwrap();
    check_files(&out, p);
    let mut ids: Vec<&str> = p.processes.iter().map(|x| x.process.as_str()).collect();
    ids.sort();
    let mut want: Vec<&str> = executors.iter().map(|e| e.id.as_str()).collect();
    want.sort();
    assert_eq!(ids, want, "one profile per executor");
    for pp in &p.processes {
        assert!(
            pp.folded
                .ends_with(&format!("agg_status_codes.{}.folded", pp.process)),
            "{}",
            pp.folded
        );
    }
    // The executors ran the plan: their stacks hold DataFusion's operators (a frame's name
    // may be short, with DataFusion's types in its generic arguments).
    let all = p.processes.iter().map(|pp| folded(&out, &pp.folded)).fold(
        Profile::default(),
        |mut a, b| {
            a.merge(&b);
            a
        },
    );
    assert!(
        stack_share(&all, |f| f.contains("datafusion")) > 10.0,
        "{}",
        all.folded().lines().take(5).collect::<Vec<_>>().join("\n")
    );
    // The window was closed: a new one opens.
    let answer = http(&addr, "POST /profile/start?hz=99 HTTP/1.1\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let answer = http(&addr, "POST /profile/stop HTTP/1.1\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(guard);
}

/// A real slowdown (NEW runs with tiny batches) and profiles on both sides: `compare` calls
/// the query slower and names the frames whose share grew most.
#[test]
fn compare_names_the_suspects_of_a_slower_profiled_query() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("base.json");
    let new = tmp.path().join("new.json");
    // Far beyond the drift band that widens plain compares (50 % and a 2 ms floor): tiny
    // batches make the query about 5x slower, and 9 runs a side keep the bootstrap interval
    // of the ratio clear of the band (with 3 a side, CI once saw 4.8 [1.58, 7.2]: inconclusive).
    profiled_runs(&base, "datafusion", &["agg_status_codes"], &[], 9);
    profiled_runs(
        &new,
        "datafusion",
        &["agg_status_codes"],
        &["--set", "datafusion.execution.batch_size=8"],
        9,
    );
    let json = tmp.path().join("c.json");
    let o = bench_runner(&[
        "compare",
        base.to_str().unwrap(),
        new.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    let stdout = text(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(1),
        "a regression: {stdout}{}",
        text(&o.stderr)
    );
    let c: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let q = &c["queries"][0];
    assert_eq!(q["verdict"], "slower", "{q}");
    let suspects = q["suspects"].as_array().unwrap();
    assert!(!suspects.is_empty() && suspects.len() <= 5, "{q}");
    let growth =
        |s: &serde_json::Value| s["new_pct"].as_f64().unwrap() - s["base_pct"].as_f64().unwrap();
    assert!(suspects.iter().all(|s| growth(s) > 0.0));
    assert!(suspects.windows(2).all(|w| growth(&w[0]) >= growth(&w[1])));
    // The terminal form names them too.
    let first = suspects[0]["frame"].as_str().unwrap();
    assert!(
        stdout.contains("the profiles' suspects:") && stdout.contains(first),
        "{stdout}"
    );
}
