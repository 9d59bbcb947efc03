//! "Failures": failed and timed-out queries with their errors, answers the engines disagree
//! on, and answers whose order went unchecked (ties).

use crate::report::doc::{Doc, Table};
use crate::report::model::Series;
use crate::results::Status;

pub(crate) fn section(doc: &mut Doc, series: &[Series]) {
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
                let answers: Vec<String> =
                    m.answers.iter().map(|(e, a)| format!("{e}: {a}")).collect();
                t.rows.push(vec![
                    s.label.clone(),
                    q.name.clone(),
                    format!("answers differ between engines ({})", answers.join(" vs ")),
                ]);
            } else if q.status != Status::Ok {
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
    // Answers checked on their rows alone: the query fixes an order its runs did not agree on.
    let unordered: Vec<String> = series
        .iter()
        .flat_map(|s| {
            s.engine
                .queries
                .iter()
                .filter(|q| q.order_not_checked.is_some())
                .map(move |q| format!("{} ({}, {})", q.name, s.label, q.order_note()))
        })
        .collect();
    if !unordered.is_empty() {
        doc.para(&format!(
            "Rows compared, order not checked (tied rows came back in different orders): {}.",
            unordered.join("; ")
        ));
    }
}
