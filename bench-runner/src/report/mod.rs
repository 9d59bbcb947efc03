//! `bench-runner report`: result files as `report.md` (GitHub-flavoured Markdown),
//! `report.html` (one self-contained file: inline CSS and SVG, no network) and `charts/*.svg`.
//!
//! Everything is derived from the result files alone, in their order, with sorted maps and
//! fixed number formats: the same input gives the same bytes.

pub mod charts;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::compare::{self, Comparison, Verdict};
use crate::error::{Error, Result};
use crate::results::{EngineRun, QueryResult, RunResult, Status};

/// Shift (ms) added to every time before the geometric mean, and taken off after, so that
/// queries of a few milliseconds do not dominate it.
pub const GEOMEAN_SHIFT_MS: f64 = 10.0;

/// One input file.
pub struct Input {
    /// How the report names the run (the file's stem).
    pub label: String,
    pub run: RunResult,
}

/// One engine of one run: a column of the side-by-side table, a series of the charts.
struct Series<'a> {
    label: String,
    input: &'a Input,
    engine: &'a EngineRun,
}

pub struct Report {
    pub markdown: String,
    pub html: String,
    /// (file name under `charts/`, SVG).
    pub charts: Vec<(String, String)>,
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn fmt_ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn p50_ms(q: &QueryResult) -> Option<f64> {
    (q.status == Status::Ok)
        .then(|| q.latency.as_ref().map(|l| ms(l.p50)))
        .flatten()
}

/// exp(mean(ln(t + shift))) - shift over the given times (ms).
pub fn shifted_geomean(times: &[f64]) -> Option<f64> {
    if times.is_empty() {
        return None;
    }
    let s: f64 = times.iter().map(|t| (t + GEOMEAN_SHIFT_MS).ln()).sum();
    Some((s / times.len() as f64).exp() - GEOMEAN_SHIFT_MS)
}

/// Whether the query's answer is trusted: it completed, its runs agreed, and no other engine
/// of its run answered differently.
fn correct(run: &RunResult, q: &QueryResult) -> bool {
    q.status == Status::Ok && !run.answer_mismatches.iter().any(|m| m.query == q.name)
}

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Markdown table cells must not hold a pipe or a line break.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// A table both writers render: header, alignment (true = right) and rows.
struct Table {
    header: Vec<String>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(cols: &[(&str, bool)]) -> Self {
        Self {
            header: cols.iter().map(|c| c.0.to_string()).collect(),
            right: cols.iter().map(|c| c.1).collect(),
            rows: Vec::new(),
        }
    }

    fn markdown(&self) -> String {
        let mut s = format!(
            "| {} |\n|",
            self.header
                .iter()
                .map(|h| cell(h))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        for r in &self.right {
            s += if *r { "---:|" } else { "---|" };
        }
        s.push('\n');
        for row in &self.rows {
            s += &format!(
                "| {} |\n",
                row.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | ")
            );
        }
        s
    }

    fn html(&self) -> String {
        let mut s = String::from("<table><thead><tr>");
        for (h, r) in self.header.iter().zip(&self.right) {
            let _ = write!(
                s,
                "<th{}>{}</th>",
                if *r { " class=\"num\"" } else { "" },
                esc(h)
            );
        }
        s += "</tr></thead><tbody>";
        for row in &self.rows {
            s += "<tr>";
            for (c, r) in row.iter().zip(&self.right) {
                // `code` in a Markdown cell is <code> here.
                let body = match c.strip_prefix('`').and_then(|x| x.strip_suffix('`')) {
                    Some(code) => format!("<code>{}</code>", esc(code)),
                    None => esc(c),
                };
                let _ = write!(
                    s,
                    "<td{}>{body}</td>",
                    if *r { " class=\"num\"" } else { "" }
                );
            }
            s += "</tr>";
        }
        s += "</tbody></table>\n";
        s
    }
}

/// Both documents, written side by side.
struct Doc {
    md: String,
    html: String,
}

impl Doc {
    fn heading(&mut self, level: usize, text: &str) {
        let _ = write!(self.md, "{} {text}\n\n", "#".repeat(level));
        let _ = writeln!(
            self.html,
            "<h{level} id=\"{}\">{}</h{level}>",
            slug(text),
            esc(text)
        );
    }

    fn para(&mut self, text: &str) {
        let _ = write!(self.md, "{text}\n\n");
        let _ = writeln!(self.html, "<p>{}</p>", esc(&text.replace('*', "")));
    }

    fn table(&mut self, t: &Table) {
        self.md += &t.markdown();
        self.md.push('\n');
        self.html += &t.html();
    }

    fn chart(&mut self, name: &str, alt: &str, svg: &str) {
        let _ = write!(self.md, "![{alt}](charts/{name})\n\n");
        // Inline: the HTML needs no other file.
        let body = svg.trim_start_matches(|c| c != '<');
        let _ = writeln!(
            self.html,
            "<figure>{body}<figcaption>{}</figcaption></figure>",
            esc(alt)
        );
    }

    fn details(&mut self, summary: &str, pre: &str) {
        let _ = writeln!(
            self.html,
            "<details><summary>{}</summary><pre>{}</pre></details>",
            esc(summary),
            esc(pre)
        );
    }
}

fn environment_table(inputs: &[Input]) -> Table {
    let mut cols: Vec<(&str, bool)> = vec![("", false)];
    cols.extend(inputs.iter().map(|i| (i.label.as_str(), false)));
    let mut t = Table::new(&cols);
    let row = |name: &str, f: &dyn Fn(&RunResult) -> String| {
        let mut r = vec![name.to_string()];
        r.extend(inputs.iter().map(|i| f(&i.run)));
        r
    };
    let gib = |b: u64| data_gen::error::human_bytes(b);
    t.rows = vec![
        row("started", &|r| r.started_at.clone()),
        row("machine", &|r| {
            format!(
                "{}, {} logical cores, {}",
                r.environment.cpu_model,
                r.environment.logical_cores,
                gib(r.environment.memory_bytes)
            )
        }),
        row("system", &|r| {
            format!("{} ({})", r.environment.os, r.environment.kernel)
        }),
        row("build", &|r| {
            format!("{}, {}", r.environment.rustc, r.environment.build_profile)
        }),
        row("commit", &|r| {
            let c = &r.environment.git_commit;
            format!(
                "{}{}",
                &c[..12.min(c.len())],
                match r.environment.git_dirty.as_str() {
                    "" | "false" | "clean" => String::new(),
                    "true" => " with uncommitted changes".into(),
                    other => format!(" ({other})"),
                }
            )
        }),
        row("crates", &|r| {
            r.environment
                .crate_versions
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        }),
        row("dataset", &|r| {
            format!(
                "{} rows, {} files, {}, seed {}",
                r.dataset.rows,
                r.dataset.files,
                gib(r.dataset.total_bytes),
                r.dataset.seed
            )
        }),
        row("parquet", &|r| {
            let p = &r.dataset.parquet;
            format!(
                "{:?}, {} rows per row group, sorted by {}",
                p.compression,
                p.row_group_rows,
                if p.sorted_by.is_empty() {
                    "nothing".into()
                } else {
                    p.sorted_by.join(", ")
                }
            )
        }),
        row("manifest", &|r| {
            r.dataset.manifest_sha256[..16.min(r.dataset.manifest_sha256.len())].to_string()
        }),
        row("measured", &|r| {
            format!(
                "{} iterations after {} warm-up runs per query",
                r.arguments.iterations, r.arguments.warmup
            )
        }),
        row("engines", &|r| {
            r.engines
                .iter()
                .map(|e| {
                    let mut s = format!(
                        "{} (target_partitions {}",
                        e.engine.name, e.engine.target_partitions
                    );
                    if let Some(c) = &e.engine.cluster {
                        let _ = write!(s, ", {} executors, {}", c.executors.len(), c.kind);
                    }
                    s + ")"
                })
                .collect::<Vec<_>>()
                .join("; ")
        }),
    ];
    t
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

/// The queries of the first series, then any others, in order of first appearance.
fn query_names(series: &[Series]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for s in series {
        for q in &s.engine.queries {
            if !names.contains(&q.name) {
                names.push(q.name.clone());
            }
        }
    }
    names
}

fn find<'a>(s: &'a Series, name: &str) -> Option<&'a QueryResult> {
    s.engine.queries.iter().find(|q| q.name == name)
}

fn side_by_side(series: &[&Series], names: &[String]) -> Table {
    let mut cols: Vec<(String, bool)> = vec![("query".into(), false)];
    for s in series {
        cols.push((format!("{} p50 ms", s.label), true));
    }
    for s in &series[1..] {
        cols.push((format!("{} / {}", s.label, series[0].label), true));
    }
    let refs: Vec<(&str, bool)> = cols.iter().map(|(a, b)| (a.as_str(), *b)).collect();
    let mut t = Table::new(&refs);
    let mut common: Vec<Vec<f64>> = vec![Vec::new(); series.len()];
    for name in names {
        let times: Vec<Option<f64>> = series
            .iter()
            .map(|s| find(s, name).and_then(p50_ms))
            .collect();
        if times.iter().all(Option::is_some) {
            for (c, t) in common.iter_mut().zip(&times) {
                c.push(t.expect("checked"));
            }
        }
        let mut row = vec![name.clone()];
        row.extend(times.iter().map(|t| t.map_or("-".into(), fmt_ms)));
        for t in &times[1..] {
            row.push(match (times[0], t) {
                (Some(a), Some(b)) if a > 0.0 => format!("{:.2}×", b / a),
                _ => "-".into(),
            });
        }
        t.rows.push(row);
    }
    let g: Vec<Option<f64>> = common.iter().map(|c| shifted_geomean(c)).collect();
    let mut row = vec![format!(
        "geometric mean ({} queries all completed, shift {GEOMEAN_SHIFT_MS} ms)",
        common[0].len()
    )];
    row.extend(g.iter().map(|v| v.map_or("-".into(), fmt_ms)));
    for v in &g[1..] {
        row.push(match (g[0], v) {
            (Some(a), Some(b)) => {
                format!("{:.2}×", (b + GEOMEAN_SHIFT_MS) / (a + GEOMEAN_SHIFT_MS))
            }
            _ => "-".into(),
        });
    }
    t.rows.push(row);
    t
}

fn bar(q: &QueryResult) -> Result<Option<charts::Bar>> {
    let Some(l) = q.latency.as_ref().filter(|_| q.status == Status::Ok) else {
        return Ok(None);
    };
    let h = l.histogram()?;
    Ok(Some(charts::Bar {
        p50: ms(l.p50),
        p10: ms(h.value_at_quantile(0.1)),
        p90: ms(h.value_at_quantile(0.9)),
    }))
}

fn spectrum_points(q: &QueryResult) -> Result<Option<Vec<(f64, f64)>>> {
    let Some(l) = q.latency.as_ref().filter(|_| q.status == Status::Ok) else {
        return Ok(None);
    };
    let h = l.histogram()?;
    Ok(Some(
        (0..=60)
            .map(|i| {
                let x = i as f64 * 0.05;
                let quantile = 1.0 - 10f64.powf(-x);
                (x, ms(h.value_at_quantile(quantile)).max(0.001))
            })
            .collect(),
    ))
}

/// Builds the report from result files (the first is the baseline of any comparison).
pub fn build(inputs: &[Input], opts: &compare::Options) -> Result<Report> {
    if inputs.is_empty() {
        return Err(Error::Config("no result files to report on".into()));
    }
    let several = inputs.len() > 1;
    let series: Vec<Series> = inputs
        .iter()
        .flat_map(|i| {
            i.run.engines.iter().map(move |e| Series {
                label: if several {
                    format!("{} {}", i.label, e.engine.name)
                } else {
                    e.engine.name.clone()
                },
                input: i,
                engine: e,
            })
        })
        .collect();
    let names = query_names(&series);
    let mut doc = Doc {
        md: String::new(),
        html: String::new(),
    };
    let mut charts_out: Vec<(String, String)> = Vec::new();
    let title = if several {
        format!("Benchmark report: {} runs", inputs.len())
    } else {
        format!("Benchmark report: {}", inputs[0].run.run_id)
    };
    doc.heading(1, &title);
    let failures: usize = series
        .iter()
        .map(|s| {
            s.engine
                .queries
                .iter()
                .filter(|q| !correct(&s.input.run, q))
                .count()
        })
        .sum();
    doc.para(&format!(
        "{} queries on {} ({}); {}.",
        names.len(),
        series
            .iter()
            .map(|s| s.label.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        if several {
            "runs in the order given; the first is the baseline"
        } else {
            "one run"
        },
        if failures == 0 {
            "every query completed with a consistent answer".to_string()
        } else {
            format!("{failures} failed or disagreed (listed under Failures)")
        }
    ));
    doc.heading(2, "Environment and dataset");
    doc.table(&environment_table(inputs));

    // Series over the first series' dataset can be compared directly.
    let same_data: Vec<&Series> = series
        .iter()
        .filter(|s| {
            s.input.run.dataset.manifest_sha256 == series[0].input.run.dataset.manifest_sha256
        })
        .collect();
    if same_data.len() > 1 {
        doc.heading(2, "Side by side");
        doc.para(&format!(
            "Median latency per query on the same dataset; ratios against {}. The geometric mean \
             adds {GEOMEAN_SHIFT_MS} ms to every time before averaging (and takes it off after), \
             so that the smallest queries do not dominate it.",
            same_data[0].label
        ));
        doc.table(&side_by_side(&same_data, &names));
    }

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
        &names,
        &same_data
            .iter()
            .map(|s| s.label.clone())
            .collect::<Vec<_>>(),
        &bars,
    )?;
    doc.chart(
        "latency.svg",
        "Median latency per query and engine, with p10–p90 whiskers",
        &svg,
    );
    charts_out.push(("latency.svg".into(), svg));

    for s in &series {
        doc.heading(3, &format!("{}: per query", s.label));
        doc.table(&engine_table(s.input, s.engine));
    }

    doc.heading(2, "Latency percentiles");
    doc.para("Each query's latency by percentile, as HdrHistogram plots it: the x axis is in \"nines\" (p90, p99 and p99.9 evenly spaced); with few iterations the upper percentiles are the slowest runs.");
    for n in &names {
        let mut lines = Vec::new();
        for s in &same_data {
            if let Some(points) = find(s, n).map(spectrum_points).transpose()?.flatten() {
                lines.push((s.label.clone(), points));
            }
        }
        if lines.is_empty() {
            continue;
        }
        let name = format!("percentiles-{}.svg", slug(n));
        let svg = charts::spectrum(&format!("{n}: latency by percentile"), &lines)?;
        doc.chart(&name, &format!("{n}: latency by percentile"), &svg);
        charts_out.push((name, svg));
    }

    distributed_section(&mut doc, &mut charts_out, &series)?;
    if several {
        scaling_section(&mut doc, &mut charts_out, inputs, &names)?;
        comparison_section(&mut doc, &mut charts_out, inputs, opts)?;
    }
    failures_section(&mut doc, &series);
    plans_section(&mut doc, &series);

    Ok(Report {
        markdown: doc.md.trim_end().to_string() + "\n",
        html: wrap_html(&title, &doc.html),
        charts: charts_out,
    })
}

fn distributed_section(
    doc: &mut Doc,
    out: &mut Vec<(String, String)>,
    series: &[Series],
) -> Result<()> {
    for s in series {
        let details: Vec<(&QueryResult, &crate::engine::JobDetails)> = s
            .engine
            .queries
            .iter()
            .filter_map(|q| {
                q.distributed
                    .as_ref()
                    .and_then(|d| d.details.as_ref())
                    .map(|d| (q, d))
            })
            .collect();
        if details.is_empty() {
            continue;
        }
        doc.heading(2, &format!("{}: where the work ran", s.label));
        let mut t = Table::new(&[
            ("query", false),
            ("stages", true),
            ("tasks per executor", false),
            ("shuffle partitions remote / local", true),
            ("shuffle bytes fetched", true),
        ]);
        let mut executors: Vec<String> = Vec::new();
        for (_, d) in &details {
            for e in d.tasks_per_executor.iter().flat_map(|m| m.keys()) {
                if !executors.contains(e) {
                    executors.push(e.clone());
                }
            }
        }
        executors.sort();
        let mut names = Vec::new();
        let mut counts = Vec::new();
        for (q, d) in &details {
            t.rows.push(vec![
                q.name.clone(),
                d.stage_count.to_string(),
                d.tasks_per_executor.as_ref().map_or("-".into(), |m| {
                    m.iter()
                        .map(|(e, n)| format!("{e}: {n}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                }),
                format!(
                    "{} / {}",
                    d.shuffle_remote_partitions, d.shuffle_local_partitions
                ),
                d.shuffle_fetched_bytes.to_string(),
            ]);
            if let Some(m) = &d.tasks_per_executor {
                names.push(q.name.clone());
                counts.push(
                    executors
                        .iter()
                        .map(|e| m.get(e).copied().unwrap_or(0))
                        .collect(),
                );
            }
        }
        doc.table(&t);
        if !names.is_empty() {
            let name = format!("tasks-{}.svg", slug(&s.label));
            let svg = charts::tasks_per_executor(
                &format!("{}: tasks per executor", s.label),
                &names,
                &executors,
                &counts,
            )?;
            doc.chart(
                &name,
                &format!("{}: tasks per executor, per query", s.label),
                &svg,
            );
            out.push((name, svg));
        }
        for (q, d) in &details {
            let spans: Vec<&crate::cluster::events::StageSpan> =
                d.stages.iter().filter_map(|st| st.span.as_ref()).collect();
            if spans.is_empty() {
                continue;
            }
            let t0 = spans.iter().map(|sp| sp.start_ms).min().unwrap_or(0);
            let bars: Vec<charts::StageBar> = spans
                .iter()
                .map(|sp| charts::StageBar {
                    stage: sp.stage_id,
                    start_ms: (sp.start_ms - t0) as f64,
                    end_ms: (sp.end_ms.max(sp.start_ms) - t0) as f64,
                    tasks: sp.tasks,
                })
                .collect();
            let name = format!("stages-{}-{}.svg", slug(&s.label), slug(&q.name));
            let svg =
                charts::stage_timeline(&format!("{}: {} stage timeline", s.label, q.name), &bars)?;
            doc.chart(
                &name,
                &format!("{}: stages of {} over time", s.label, q.name),
                &svg,
            );
            out.push((name, svg));
        }
    }
    Ok(())
}

fn scaling_section(
    doc: &mut Doc,
    out: &mut Vec<(String, String)>,
    inputs: &[Input],
    names: &[String],
) -> Result<()> {
    let rows: Vec<u64> = inputs.iter().map(|i| i.run.dataset.rows).collect();
    let executors: Vec<usize> = inputs
        .iter()
        .map(|i| {
            i.run
                .engines
                .iter()
                .find_map(|e| e.engine.cluster.as_ref().map(|c| c.executors.len()))
                .unwrap_or(0)
        })
        .collect();
    let distinct = |v: &[f64]| {
        let mut s: Vec<u64> = v.iter().map(|x| x.to_bits()).collect();
        s.sort();
        s.dedup();
        s.len()
    };
    let xr: Vec<f64> = rows.iter().map(|r| *r as f64).collect();
    let xe: Vec<f64> = executors.iter().map(|e| *e as f64).collect();
    let (x, desc, what) = if distinct(&xr) == inputs.len() {
        (xr, "rows in the dataset (log scale)", "rows")
    } else if distinct(&xe) == inputs.len() && executors.iter().all(|e| *e > 0) {
        (xe, "Ballista executors (log scale)", "executors")
    } else {
        return Ok(());
    };
    let lines: Vec<(String, Vec<Option<f64>>)> = names
        .iter()
        .map(|n| {
            (
                n.clone(),
                inputs
                    .iter()
                    .map(|i| {
                        i.run
                            .engines
                            .first()
                            .and_then(|e| e.queries.iter().find(|q| &q.name == n))
                            .and_then(p50_ms)
                    })
                    .collect(),
            )
        })
        .collect();
    doc.heading(2, "Scaling");
    doc.para(&format!(
        "Median latency of each query against {what}, one run per point (each run's first engine)."
    ));
    let svg = charts::scaling(&format!("Median latency against {what}"), desc, &x, &lines)?;
    doc.chart(
        "scaling.svg",
        &format!("Median latency per query against {what}"),
        &svg,
    );
    out.push(("scaling.svg".into(), svg));
    Ok(())
}

fn comparison_section(
    doc: &mut Doc,
    out: &mut Vec<(String, String)>,
    inputs: &[Input],
    opts: &compare::Options,
) -> Result<()> {
    doc.heading(2, "Comparison");
    let base = &inputs[0];
    for (k, new) in inputs.iter().enumerate().skip(1) {
        let heading = format!("{} against {}", new.label, base.label);
        doc.heading(3, &heading);
        match compare::compare(&base.run, &new.run, opts) {
            Ok(c) => {
                doc.para(&c.summary_line());
                doc.table(&comparison_table(&c));
                let rows: Vec<charts::RatioRow> = c
                    .queries
                    .iter()
                    .filter_map(|q| {
                        Some(charts::RatioRow {
                            query: format!(
                                "{}{}",
                                q.query,
                                if q.plan_changed {
                                    " (plan changed)"
                                } else {
                                    ""
                                }
                            ),
                            ratio: q.ratio?,
                            low: q.ci_low?,
                            high: q.ci_high?,
                            verdict: q.verdict.label().to_string(),
                        })
                    })
                    .collect();
                if !rows.is_empty() {
                    let name = format!("comparison-{k}.svg");
                    let svg = charts::ratios(&heading, opts.noise, &rows)?;
                    doc.chart(
                        &name,
                        &format!("{heading}: ratio of medians with its interval"),
                        &svg,
                    );
                    out.push((name, svg));
                }
            }
            Err(e) => doc.para(&format!("Not compared: {e}.")),
        }
    }
    Ok(())
}

fn comparison_table(c: &Comparison) -> Table {
    let mut t = Table::new(&[
        ("engine", false),
        ("query", false),
        ("base p50 ms", true),
        ("new p50 ms", true),
        ("ratio [95 % CI]", false),
        ("verdict", false),
        ("answer", false),
        ("plan", false),
    ]);
    for q in &c.queries {
        let f = |v: Option<u64>| v.map_or("-".into(), |us| fmt_ms(ms(us)));
        t.rows.push(vec![
            q.engine.clone(),
            q.query.clone(),
            f(q.base_median_us),
            f(q.new_median_us),
            match (q.ratio, q.ci_low, q.ci_high) {
                (Some(r), Some(l), Some(h)) => format!("{r:.3} [{l:.3}, {h:.3}]"),
                _ => "-".into(),
            },
            match q.verdict {
                Verdict::Slower => "🔴 slower".into(),
                Verdict::Faster => "🟢 faster".into(),
                v => v.label().into(),
            },
            if q.answer_changed {
                "✗ differs".into()
            } else {
                "✓".into()
            },
            if q.plan_changed {
                "changed".into()
            } else {
                "same".into()
            },
        ]);
    }
    t
}

fn failures_section(doc: &mut Doc, series: &[Series]) {
    let mut t = Table::new(&[("run", false), ("query", false), ("error", false)]);
    for s in series {
        for q in &s.engine.queries {
            if let Some(m) = s
                .input
                .run
                .answer_mismatches
                .iter()
                .find(|m| m.query == q.name)
            {
                let answers: Vec<String> = m
                    .answers
                    .iter()
                    .map(|(e, a)| format!("{e}: {} rows {}", a.rows, a.digest))
                    .collect();
                t.rows.push(vec![
                    s.label.clone(),
                    q.name.clone(),
                    format!("answers differ between engines ({})", answers.join(" vs ")),
                ]);
            } else if q.status == Status::Failed {
                t.rows.push(vec![
                    s.label.clone(),
                    q.name.clone(),
                    q.error.clone().unwrap_or_default(),
                ]);
            }
        }
    }
    doc.heading(2, "Failures");
    if t.rows.is_empty() {
        doc.para("None.");
    } else {
        doc.table(&t);
    }
}

/// Plans and per-operator time, HTML only (collapsed); the Markdown points at the result file.
fn plans_section(doc: &mut Doc, series: &[Series]) {
    doc.heading(2, "Plans and operators");
    doc.md += "The physical plans and the per-operator breakdown from `EXPLAIN ANALYZE` are in `report.html` (collapsed) and in the result files.\n\n";
    for s in series {
        let _ = writeln!(doc.html, "<h3>{}</h3>", esc(&s.label));
        for q in &s.engine.queries {
            if let Some(p) = &q.plans {
                let mut text = p.physical.clone();
                if let Some(d) = &p.distributed {
                    text += "\n\n-- distributed plan --\n";
                    text += d;
                }
                doc.details(
                    &format!("{}: physical plan ({})", q.name, p.fingerprint),
                    &text,
                );
            }
            if let Some(a) = &q.analysis {
                let total: u64 = a
                    .operators
                    .iter()
                    .filter_map(|o| o.elapsed_compute_ns)
                    .sum();
                let mut t = String::from(
                    "<table><thead><tr><th>operator</th><th class=\"num\">output rows</th><th class=\"num\">compute ms</th><th>share of compute</th></tr></thead><tbody>",
                );
                for o in &a.operators {
                    let ns = o.elapsed_compute_ns.unwrap_or(0);
                    let share = if total > 0 {
                        ns as f64 / total as f64
                    } else {
                        0.0
                    };
                    let name = o.operator.split(':').next().unwrap_or(&o.operator);
                    let _ = write!(
                        t,
                        "<tr><td style=\"padding-left:{}em\">{}</td><td class=\"num\">{}</td><td class=\"num\">{:.2}</td><td><span class=\"bar\" style=\"width:{:.1}%\"></span> {:.1} %</td></tr>",
                        0.5 + o.depth as f64,
                        esc(name),
                        o.output_rows.map_or("-".into(), |r| r.to_string()),
                        ns as f64 / 1e6,
                        share * 100.0,
                        share * 100.0
                    );
                }
                t += "</tbody></table>";
                let _ = writeln!(
                    doc.html,
                    "<details><summary>{}: time per operator (EXPLAIN ANALYZE)</summary>{t}</details>",
                    esc(&q.name)
                );
            }
        }
    }
}

const CSS: &str = "
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #1a1a1a; background: #fff; margin: 0; }
main { max-width: 1200px; margin: 0 auto; padding: 24px 32px 64px; }
h1 { font-size: 1.8rem; border-bottom: 2px solid #1d2f6f; padding-bottom: 6px; }
h2 { font-size: 1.35rem; margin-top: 2.2rem; border-bottom: 1px solid #ccc; padding-bottom: 4px; }
h3 { font-size: 1.1rem; margin-top: 1.6rem; }
table { border-collapse: collapse; margin: 12px 0 20px; font-size: 0.9rem; display: block; overflow-x: auto; max-width: 100%; }
th, td { border: 1px solid #d0d0d0; padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f0f2f7; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:nth-child(even) { background: #fafafa; }
figure { margin: 16px 0 28px; }
figure svg { max-width: 100%; height: auto; display: block; border: 1px solid #e2e2e2; }
figcaption { font-size: 0.85rem; color: #555; margin-top: 4px; }
details { margin: 6px 0; }
summary { cursor: pointer; }
pre { background: #f6f8fa; padding: 10px; overflow-x: auto; font-size: 0.8rem; }
span.bar { display: inline-block; height: 0.8em; background: #1d2f6f; vertical-align: middle; }
";

fn wrap_html(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        esc(title)
    )
}

impl Report {
    /// Writes report.md, report.html and charts/ into `dir`, each file under a temporary
    /// name first; charts from an earlier report that this one does not draw are removed.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let charts = dir.join("charts");
        std::fs::create_dir_all(&charts)
            .map_err(|e| Error::io(format!("creating {}", charts.display()), e))?;
        let put = |p: &Path, text: &str| {
            data_gen::manifest::write_atomically(p, text.as_bytes())
                .map_err(|e| Error::Results(e.to_string()))
        };
        let keep: BTreeMap<&str, &str> = self
            .charts
            .iter()
            .map(|(n, s)| (n.as_str(), s.as_str()))
            .collect();
        for (name, svg) in &keep {
            put(&charts.join(name), svg)?;
        }
        if let Ok(entries) = std::fs::read_dir(&charts) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.ends_with(".svg") && !keep.contains_key(name.as_str()) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        put(&dir.join("report.md"), &self.markdown)?;
        put(&dir.join("report.html"), &self.html)
    }
}
