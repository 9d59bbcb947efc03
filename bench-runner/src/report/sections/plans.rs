//! "Plans and operators": physical (and distributed) plans and per-operator compute time from
//! `EXPLAIN ANALYZE`, collapsed in the HTML; the Markdown points at the result files.

use std::fmt::Write as _;

use crate::report::doc::{Doc, esc};
use crate::report::model::Series;

/// Plans and per-operator time, HTML only (collapsed); the Markdown points at the result file.
pub(crate) fn section(doc: &mut Doc, series: &[Series]) {
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
