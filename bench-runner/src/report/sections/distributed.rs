//! "<series>: where the work ran", for Ballista runs: stages, tasks per executor, shuffle
//! partitions and bytes, a tasks-per-executor chart and a stage timeline per query.

use crate::error::Result;
use crate::report::charts;
use crate::report::doc::{Doc, Table, slug};
use crate::report::model::Series;
use crate::results::QueryResult;

pub(crate) fn section(doc: &mut Doc, series: &[Series]) -> Result<()> {
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
                svg,
            );
        }
        for (q, d) in &details {
            let spans: Vec<&crate::ballista_cluster::events::StageSpan> =
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
                svg,
            );
        }
    }
    Ok(())
}
