//! "Environment and dataset": machine, build, crates, dataset and settings of every input.

use std::fmt::Write as _;

use crate::report::Input;
use crate::report::doc::{Doc, Table};
use crate::results::RunResult;

pub(crate) fn section(doc: &mut Doc, inputs: &[Input]) {
    doc.heading(2, "Environment and dataset");
    doc.table(&table(inputs));
}

fn table(inputs: &[Input]) -> Table {
    let mut cols: Vec<(&str, bool)> = vec![("", false)];
    cols.extend(inputs.iter().map(|i| (i.label.as_str(), false)));
    let mut t = Table::new(&cols);
    let row = |name: &str, f: &dyn Fn(&RunResult) -> String| {
        let mut r = vec![name.to_string()];
        r.extend(inputs.iter().map(|i| f(&i.run)));
        r
    };
    let gib = |b: u64| logbench_common::bytes::human_bytes(b);
    t.rows = vec![
        row("started", &|r| r.started_at.clone()),
        row("machine", &|r| {
            format!(
                "{}, {} logical cores, {}",
                r.environment.cpu_model,
                r.environment.logical_cores,
                gib(r.environment.memory_bytes)
            )
        }),
        row("system", &|r| {
            format!("{} ({})", r.environment.os, r.environment.kernel)
        }),
        row("build", &|r| {
            format!("{}, {}", r.environment.rustc, r.environment.build_profile)
        }),
        row("commit", &|r| {
            let c = &r.environment.git_commit;
            format!(
                "{}{}",
                &c[..12.min(c.len())],
                match r.environment.git_dirty.as_str() {
                    "" | "false" | "clean" => String::new(),
                    "true" => " with uncommitted changes".into(),
                    other => format!(" ({other})"),
                }
            )
        }),
        row("crates", &|r| {
            r.environment
                .crate_versions
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        }),
        row("dataset", &|r| {
            format!(
                "{} rows, {} files, {}, seed {}",
                r.dataset.rows,
                r.dataset.files,
                gib(r.dataset.total_bytes),
                r.dataset.seed
            )
        }),
        row("parquet", &|r| {
            let p = &r.dataset.parquet;
            format!(
                "{:?}, {} rows per row group, sorted by {}",
                p.compression,
                p.row_group_rows,
                if p.sorted_by.is_empty() {
                    "nothing".into()
                } else {
                    p.sorted_by.join(", ")
                }
            )
        }),
        row("manifest", &|r| {
            r.dataset.manifest_sha256[..16.min(r.dataset.manifest_sha256.len())].to_string()
        }),
        row("measured", &|r| {
            let n = match (&r.arguments.iterations, &r.arguments.sampling) {
                (Some(n), _) => format!("{n} iterations"),
                (None, Some(a)) => format!(
                    "until the median's 95 % interval is within ±{} % ({} to {} iterations, {} s budget)",
                    a.precision_pct, a.min_iterations, a.max_iterations, a.budget_seconds
                ),
                (None, None) => "iterations not recorded".into(),
            };
            let incomplete = if r.complete { "" } else { " (INCOMPLETE run)" };
            format!(
                "{n} after {} warm-up runs per query{incomplete}",
                r.arguments.warmup
            )
        }),
        row("engines", &|r| {
            r.engines
                .iter()
                .map(|e| {
                    let mut s = format!(
                        "{} (target_partitions {}",
                        e.engine.name, e.engine.target_partitions
                    );
                    if let Some(c) = &e.engine.cluster {
                        let _ = write!(s, ", {} executors, {}", c.executors.len(), c.kind);
                    }
                    s + ")"
                })
                .collect::<Vec<_>>()
                .join("; ")
        }),
    ];
    // Where a run was made in a container (deploy.sh k8s or compose): the image, after the commit.
    if inputs.iter().any(|i| i.run.environment.image.is_some()) {
        let image = row("image", &|r| {
            r.environment.image.clone().unwrap_or_else(|| "none".into())
        });
        t.rows.insert(5, image);
    }
    t
}
