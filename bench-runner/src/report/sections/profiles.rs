//! "CPU profiles" (runs with `--profile`): per query, the flamegraphs and folded stacks beside
//! the result file, what profiling cost, and the frames with the most self time.

use crate::profile::QueryProfile;
use crate::report::doc::{Doc, Table, fmt_ms};
use crate::report::model::Series;

/// Frames listed per query.
const LISTED: usize = 8;

pub(crate) fn section(doc: &mut Doc, series: &[Series]) {
    let profiled: Vec<&Series> = series
        .iter()
        .filter(|s| s.engine.queries.iter().any(|q| q.profile.is_some()))
        .collect();
    if profiled.is_empty() {
        return;
    }
    doc.heading(2, "CPU profiles");
    doc.para(
        "Taken in runs of their own after the measured ones (the measured times carry no profiler cost). \
         *per CPU s* is the sampling rate reached: samples per second of CPU the profiled processes used \
         (the kernel's tick can hold it below the rate asked for). \
         *cost* is the profiled runs' median against the measured median. Self time: samples with the frame \
         itself running; total: with it anywhere on the stack. The folded stacks re-render with any flamegraph tool.",
    );
    for s in profiled {
        doc.heading(3, &format!("{}: profiles", s.label));
        let mut t = Table::new(&[
            ("query", false),
            ("runs", true),
            ("median ms", true),
            ("samples", true),
            ("per CPU s", true),
            ("cost", true),
            ("files", false),
        ]);
        for q in &s.engine.queries {
            let Some(p) = &q.profile else { continue };
            t.rows.push(overview_row(&q.name, p, &s.input.link_base));
        }
        doc.table(&t);
        for q in &s.engine.queries {
            let Some(p) = &q.profile else { continue };
            if p.hottest.is_empty() {
                continue;
            }
            doc.para(&format!("**{}**: hottest frames (self time)", q.name));
            let mut t = Table::new(&[("frame", false), ("self %", true), ("total %", true)]);
            for h in p.hottest.iter().take(LISTED) {
                t.rows.push(vec![
                    format!("`{}`", h.frame),
                    format!("{:.1}", h.self_pct),
                    format!("{:.1}", h.total_pct),
                ]);
            }
            doc.table(&t);
        }
    }
}

fn overview_row(name: &str, p: &QueryProfile, base: &str) -> Vec<String> {
    let median = if p.runs_us.is_empty() {
        "-".into()
    } else {
        fmt_ms(crate::sampling::median(&p.runs_us) / 1000.0)
    };
    let files = match &p.error {
        Some(e) => format!("no profile: {e}"),
        None => p
            .processes
            .iter()
            .map(|pp| {
                let who = if p.processes.len() > 1 || pp.process != "bench-runner" {
                    format!("{} ", pp.process)
                } else {
                    String::new()
                };
                let svg = pp
                    .flamegraph
                    .as_ref()
                    .map_or(String::new(), |f| format!("[{who}flamegraph]({base}{f}) "));
                format!("{svg}[{who}folded]({base}{})", pp.folded)
            })
            .collect::<Vec<_>>()
            .join(" · "),
    };
    vec![
        name.to_string(),
        p.runs_us.len().to_string(),
        median,
        p.samples().to_string(),
        p.samples_per_cpu_second()
            .map_or("-".into(), |r| format!("{r:.0}")),
        p.overhead_pct.map_or("-".into(), |o| format!("{o:+.1} %")),
        files,
    ]
}
