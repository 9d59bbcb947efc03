//! "Latency": medians with p10–p90 whiskers for every series on one dataset, then each
//! series' per-query table (p50, p99, max, rows, answer trusted, plan fingerprint).

use crate::error::Result;
use crate::report::Input;
use crate::report::charts;
use crate::report::doc::{Doc, Table, fmt_ms};
use crate::report::model::{
    GEOMEAN_SHIFT_MS, Series, bar, correct, find, ms, p50_ms, shifted_geomean,
};
use crate::results::{EngineRun, Status};

pub(crate) fn section(
    doc: &mut Doc,
    series: &[Series],
    same_data: &[&Series],
    names: &[String],
) -> Result<()> {
    doc.heading(2, "Latency");
    let bars: Vec<Vec<Option<charts::Bar>>> = names
        .iter()
        .map(|n| {
            same_data
                .iter()
                .map(|s| find(s, n).map(bar).transpose().map(Option::flatten))
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<_>>()?;
    let svg = charts::latency_bars(
        "Median latency per query (whiskers: p10 to p90)",
        names,
        &same_data
            .iter()
            .map(|s| s.label.clone())
            .collect::<Vec<_>>(),
        &bars,
    )?;
    doc.chart(
        "latency.svg",
        "Median latency per query and engine, with p10–p90 whiskers",
        svg,
    );

    for s in series {
        doc.heading(3, &format!("{}: per query", s.label));
        if let Some(line) = sampling_line(s.input, s.engine) {
            doc.para(&line);
        }
        if let Some(line) = first_run_line(s.input, s.engine) {
            doc.para(&line);
        }
        doc.table(&engine_table(s.input, s.engine));
    }

    Ok(())
}

fn engine_table(input: &Input, e: &EngineRun) -> Table {
    let mut t = Table::new(&[
        ("query", false),
        ("category", false),
        ("p50 ms", true),
        ("p99 ms", true),
        ("max ms", true),
        ("n", true),
        ("median ±", false),
        ("rows", true),
        ("correct", false),
        ("plan", false),
    ]);
    for q in &e.queries {
        let l = q.latency.as_ref().filter(|_| q.status == Status::Ok);
        let f = |v: Option<u64>| v.map_or("-".into(), |us| fmt_ms(ms(us)));
        t.rows.push(vec![
            q.name.clone(),
            q.category.clone(),
            f(l.map(|l| l.p50)),
            f(l.map(|l| l.p99)),
            f(l.map(|l| l.max)),
            l.map_or("-".into(), |l| l.count.to_string()),
            crate::sampling::describe(q.sampling.as_ref()),
            q.answer.as_ref().map_or("-".into(), |a| a.rows.to_string()),
            if correct(&input.run, q) {
                "✓".into()
            } else {
                "✗".into()
            },
            q.plans
                .as_ref()
                .map_or("-".into(), |p| format!("`{}`", p.fingerprint)),
        ]);
    }
    let times: Vec<f64> = e.queries.iter().filter_map(p50_ms).collect();
    if let Some(g) = shifted_geomean(&times) {
        t.rows.push(vec![
            format!(
                "geometric mean ({} queries, shift {GEOMEAN_SHIFT_MS} ms)",
                times.len()
            ),
            String::new(),
            fmt_ms(g),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ]);
    }
    t
}

/// How adaptive sampling ended across the engine's queries, when it was adaptive.
fn sampling_line(input: &Input, e: &EngineRun) -> Option<String> {
    use crate::sampling::Stop;
    let a = input.run.arguments.sampling.as_ref()?;
    let count = |stop: Stop| {
        e.queries
            .iter()
            .filter(|q| q.sampling.as_ref().is_some_and(|o| o.stop == stop))
            .count()
    };
    Some(format!(
        "Sampled until the median's 95 % interval was within ±{} %: {} of {} queries reached it; {} spent their {} s budget first{}. \"median ±\" is the interval's larger distance from the median (distribution-free, from order statistics; below six runs no interval reaches 95 %, and its coverage is shown).",
        a.precision_pct,
        count(Stop::Precision),
        e.queries.len(),
        count(Stop::Budget),
        a.budget_seconds,
        match count(Stop::MaxIterations) {
            0 => String::new(),
            n => format!("; {n} reached {} iterations", a.max_iterations),
        }
    ))
}

/// Whether the first measured run was already warm: each query's first measured run against the
/// median of the runs after it (queries with three runs or more).
fn first_run_line(input: &Input, e: &EngineRun) -> Option<String> {
    let mut diffs: Vec<(f64, &str)> = e
        .queries
        .iter()
        .filter(|q| q.samples_us.len() >= 3)
        .filter_map(|q| {
            let rest = crate::sampling::MedianInterval::of(&q.samples_us[1..])?;
            Some((
                100.0 * (q.samples_us[0] as f64 / rest.median - 1.0),
                q.name.as_str(),
            ))
        })
        .collect();
    if diffs.is_empty() {
        return None;
    }
    diffs.sort_by(|a, b| b.0.abs().total_cmp(&a.0.abs()));
    let within = |pct: f64| diffs.iter().filter(|d| d.0.abs() <= pct).count();
    Some(format!(
        "First measured run (after {} warm-up runs) against the median of the runs after it: within ±2 % for {} of {} queries, ±5 % for {}; the largest difference {:+.1} % ({}).",
        input.run.arguments.warmup,
        within(2.0),
        diffs.len(),
        within(5.0),
        diffs[0].0,
        diffs[0].1
    ))
}
