//! "Side by side": median latency per query of every series on the first series' dataset,
//! with ratios against the first (and their bootstrap intervals) and a shifted geometric mean.

use crate::compare::stats::bootstrap_ratios;
use crate::report::doc::{Doc, Table, fmt_ms};
use crate::report::model::{GEOMEAN_SHIFT_MS, Series, find, p50_ms, shifted_geomean};
use crate::results::QueryResult;

const RESAMPLES: usize = 2_000;

/// A query's measured runs in µs: as recorded, or read back out of its histogram.
fn runs(q: &QueryResult) -> Vec<u64> {
    if !q.samples_us.is_empty() {
        return q.samples_us.clone();
    }
    q.latency
        .as_ref()
        .and_then(|l| crate::compare::stats::samples(l).ok())
        .unwrap_or_default()
}

/// The 95 % percentile-bootstrap interval of median(new) / median(base); None with fewer than
/// 3 runs a side.
fn interval(base: &[u64], new: &[u64]) -> Option<(f64, f64)> {
    if base.len() < 3 || new.len() < 3 {
        return None;
    }
    let r = bootstrap_ratios(base, new, RESAMPLES, 0x5eed);
    let at = |q: f64| r[(((r.len() - 1) as f64) * q).round() as usize];
    Some((at(0.025), at(0.975)))
}

pub(crate) fn section(doc: &mut Doc, same_data: &[&Series], names: &[String]) {
    if same_data.len() < 2 {
        return;
    }
    doc.heading(2, "Side by side");
    doc.para(&format!(
        "Median latency per query on the same dataset; ratios against {}, with the 95 % \
         bootstrap interval of the ratio of medians from each side's measured runs ({} \
         resamples; no correction for many queries, so read them one at a time). The \
         geometric mean adds {GEOMEAN_SHIFT_MS} ms to every time before averaging (and takes \
         it off after, as ClickBench's shift does), so that the smallest queries do not \
         dominate it.",
        same_data[0].label, RESAMPLES
    ));
    doc.table(&side_by_side(same_data, names));
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
        let base = find(series[0], name).map(runs);
        for (s, t) in series[1..].iter().zip(&times[1..]) {
            row.push(match (times[0], t) {
                (Some(a), Some(b)) if a > 0.0 => {
                    let interval = base
                        .as_deref()
                        .zip(find(s, name).map(runs))
                        .and_then(|(x, y)| interval(x, &y))
                        .map_or(String::new(), |(lo, hi)| format!(" [{lo:.2}, {hi:.2}]"));
                    format!("{:.2}×{interval}", b / a)
                }
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
