//! "Side by side": median latency per query of every series on the first series' dataset,
//! with ratios against the first and a shifted geometric mean.

use crate::report::doc::{Doc, Table, fmt_ms};
use crate::report::model::{GEOMEAN_SHIFT_MS, Series, find, p50_ms, shifted_geomean};

pub(crate) fn section(doc: &mut Doc, same_data: &[&Series], names: &[String]) {
    if same_data.len() < 2 {
        return;
    }
    doc.heading(2, "Side by side");
    doc.para(&format!(
        "Median latency per query on the same dataset; ratios against {}. The geometric mean \
         adds {GEOMEAN_SHIFT_MS} ms to every time before averaging (and takes it off after), \
         so that the smallest queries do not dominate it.",
        same_data[0].label
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
