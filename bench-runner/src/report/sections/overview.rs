//! The report's title and its one-paragraph summary: what ran, and whether every answer held.

use crate::report::Input;
use crate::report::doc::Doc;
use crate::report::model::{Series, correct};

/// Writes the title and summary; returns the title (the HTML page's too).
pub(crate) fn section(
    doc: &mut Doc,
    inputs: &[Input],
    series: &[Series],
    names: &[String],
) -> String {
    let several = inputs.len() > 1;
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
    for i in inputs.iter().filter(|i| !i.run.complete) {
        let measured: usize = i.run.engines.iter().map(|e| e.queries.len()).sum();
        let planned = i.run.arguments.selected_queries.len()
            * i.run.arguments.engines.len().max(i.run.engines.len());
        doc.para(&format!(
            "**Incomplete run:** {} ended before it finished; it holds the {measured} of {planned} query runs measured until then.",
            i.label
        ));
    }
    title
}
