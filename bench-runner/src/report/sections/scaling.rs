//! "Scaling": with several inputs that differ in rows or in executors, median latency per
//! query against that quantity.

use crate::error::Result;
use crate::report::Input;
use crate::report::charts;
use crate::report::doc::Doc;
use crate::report::model::p50_ms;

pub(crate) fn section(doc: &mut Doc, inputs: &[Input], names: &[String]) -> Result<()> {
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
        svg,
    );
    Ok(())
}
