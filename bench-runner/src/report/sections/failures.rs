//! "Failures": failed queries with their errors, and answers the engines disagree on.

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
