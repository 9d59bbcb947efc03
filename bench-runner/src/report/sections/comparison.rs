//! "Comparison": every later input against the first, as `bench-runner compare` judges it,
//! with a ratio chart.

use crate::compare::{self, Comparison};
use crate::error::Result;
use crate::report::Input;
use crate::report::charts;
use crate::report::doc::{Doc, Table, fmt_ms};
use crate::report::model::ms;

pub(crate) fn section(doc: &mut Doc, inputs: &[Input], opts: &compare::Options) -> Result<()> {
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
                            verdict: q.verdict_text(),
                        })
                    })
                    .collect();
                if !rows.is_empty() {
                    let name = format!("comparison-{k}.svg");
                    let svg = charts::ratios(&heading, opts.noise, &rows)?;
                    doc.chart(
                        &name,
                        &format!("{heading}: ratio of medians with its interval"),
                        svg,
                    );
                }
            }
            Err(e) => doc.para(&format!("Not compared: {e}.")),
        }
    }
    Ok(())
}

fn comparison_table(c: &Comparison) -> Table {
    // Where instructions were counted, their verdict comes first: it decides.
    let instr = c.has_instructions();
    let mut columns = vec![("engine", false), ("query", false)];
    if instr {
        columns.extend([
            ("base instr (M)", true),
            ("new instr (M)", true),
            ("instr ratio", true),
            ("instr verdict", false),
        ]);
    }
    columns.extend([
        ("base p50 ms", true),
        ("new p50 ms", true),
        ("ratio [95 % CI]", false),
        ("verdict", false),
    ]);
    columns.extend([("answer", false), ("plan", false)]);
    let mut t = Table::new(&columns);
    for q in &c.queries {
        let f = |v: Option<u64>| v.map_or("-".into(), |us| fmt_ms(ms(us)));
        let mut row = vec![q.engine.clone(), q.query.clone()];
        if instr {
            match &q.instructions {
                Some(i) => row.extend([
                    format!("{:.2}", i.base as f64 / 1e6),
                    format!("{:.2}", i.new as f64 / 1e6),
                    format!("{:.4}", i.ratio),
                    i.marked_text(),
                ]),
                None => row.extend(std::iter::repeat_n("-".to_string(), 4)),
            }
        }
        row.extend([
            f(q.base_median_us),
            f(q.new_median_us),
            match (q.ratio, q.ci_low, q.ci_high) {
                (Some(r), Some(l), Some(h)) => format!("{r:.3} [{l:.3}, {h:.3}]"),
                _ => "-".into(),
            },
            q.marked_text(),
        ]);
        row.extend([
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
        t.rows.push(row);
    }
    t
}
