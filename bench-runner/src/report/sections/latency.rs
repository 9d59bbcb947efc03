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
        ]);
    }
    t
}
