//! The summary `bench-runner run` prints: per engine a row per query (latency, rows, plan,
//! status), the distributed job's shape under it, and any answers the engines disagree on.

use comfy_table::Cell;

use crate::results::{RunResult, Status};
use crate::table;

/// The whole summary, as printed after a run.
pub fn to_terminal(r: &RunResult) -> String {
    let mut s = String::new();
    for e in &r.engines {
        let mut t = table::new(
            &[
                &format!("{} query", e.engine.name),
                "category",
                "p50 ms",
                "p99 ms",
                "max ms",
                "n",
                "median ±",
                "rows",
                "plan",
                "status",
            ],
            &[2, 3, 4, 5, 6, 7],
        );
        let mut jobs = Vec::new();
        for q in &e.queries {
            // A query that never produced a latency (it failed) shows dashes, not NaN.
            let ms = |f: fn(&crate::histogram::LatencySummary) -> u64| {
                q.latency
                    .as_ref()
                    .map_or("-".to_string(), |l| format!("{:.1}", f(l) as f64 / 1e3))
            };
            t.add_row(vec![
                Cell::new(&q.name),
                Cell::new(&q.category),
                Cell::new(ms(|l| l.p50)),
                Cell::new(ms(|l| l.p99)),
                Cell::new(ms(|l| l.max)),
                Cell::new(
                    q.latency
                        .as_ref()
                        .map_or("-".into(), |l| l.count.to_string()),
                ),
                Cell::new(crate::sampling::describe(q.sampling.as_ref())),
                Cell::new(
                    q.answer
                        .as_ref()
                        .map_or("-".to_string(), |a| a.rows.to_string()),
                ),
                Cell::new(q.plans.as_ref().map_or("-", |p| p.fingerprint.as_str())),
                Cell::new(match q.status {
                    Status::Ok if q.order_not_checked.is_some() => {
                        format!("ok ({})", q.order_note())
                    }
                    Status::Ok => "ok".to_string(),
                    Status::Failed | Status::TimedOut => format!(
                        "{}: {}",
                        q.status.label().to_uppercase(),
                        q.error.as_deref().unwrap_or("")
                    ),
                }),
            ]);
            if let Some(d) = q.distributed.as_ref().and_then(|d| d.details.as_ref()) {
                let per_executor =
                    d.tasks_per_executor
                        .as_ref()
                        .map_or("unknown".to_string(), |m| {
                            m.iter()
                                .map(|(k, v)| format!("{k}={v}"))
                                .collect::<Vec<_>>()
                                .join(" ")
                        });
                jobs.push(format!(
                    "  {}: {} stages, shuffle partitions {} remote / {} local ({:.1} MiB fetched), tasks per executor: {per_executor}\n",
                    q.name,
                    d.stage_count,
                    d.shuffle_remote_partitions,
                    d.shuffle_local_partitions,
                    d.shuffle_fetched_bytes as f64 / (1 << 20) as f64,
                ));
            }
        }
        s += &table::render(&t);
        // Distributed jobs' shapes under the table, so the columns stay narrow.
        if !jobs.is_empty() {
            s += &format!("{} jobs:\n{}", e.engine.name, jobs.concat());
        }
    }
    // Queries whose engines were compared on their rows alone, though the query fixes an order.
    let unordered: Vec<String> = r
        .engines
        .iter()
        .flat_map(|e| {
            e.queries
                .iter()
                .filter(|q| q.order_not_checked.is_some())
                .map(|q| format!("{} ({}: {})", q.name, e.engine.name, q.order_note()))
        })
        .collect();
    if r.engines.len() > 1 && !unordered.is_empty() {
        s += &format!(
            "cross-check: rows compared, order not checked, for {}\n",
            unordered.join(", ")
        );
    }
    for m in &r.answer_mismatches {
        s += &format!(
            "ANSWERS DIFFER for {}: {}\n",
            m.query,
            m.answers
                .iter()
                .map(|(e, a)| format!("{e} {a}"))
                .collect::<Vec<_>>()
                .join(" vs ")
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A query whose tied rows came back in different orders says so in its status and in
    /// the cross-check line; without it neither appears.
    #[test]
    fn an_unchecked_order_is_shown_in_the_row_and_the_cross_check() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/report/df-ballista-200k.json");
        let mut r = RunResult::read(&path).unwrap();
        let plain = to_terminal(&r);
        assert!(!plain.contains("order: not checked"), "{plain}");
        let q = &mut r.engines[1].queries[0];
        q.order_not_checked = Some(crate::results::ORDER_TIES.into());
        let name = q.name.clone();
        let s = to_terminal(&r);
        assert!(s.contains("ok (order: not checked, ties)"), "{s}");
        assert!(
            s.contains(&format!(
                "cross-check: rows compared, order not checked, for {name} (ballista: order: not checked, ties)"
            )),
            "{s}"
        );
    }
}
