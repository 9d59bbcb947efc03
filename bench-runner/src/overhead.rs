//! How much the harness itself adds: the same query through `bench-runner`'s measurement loop
//! and through a bare program (`SessionContext::new()` or `SessionContext::remote(..)`,
//! `register_parquet`, `sql`, `collect`, timed with `Instant`), alternating in blocks in one
//! process so drift hits both.

use std::path::Path;
use std::time::Instant;

use datafusion::prelude::{ParquetReadOptions, SessionContext};

use crate::engine::Engine;
use crate::error::Result;
use crate::measurement::{RunOptions, measure_query};
use crate::progress::Progress;
use crate::sampling::median;
use crate::workload::Query;

#[derive(Debug, Clone)]
pub struct Overhead {
    pub query: String,
    pub bare_median_us: u64,
    pub harness_median_us: u64,
    /// harness / bare − 1.
    pub overhead: f64,
    pub samples_each: usize,
}

/// The bare program's session: local DataFusion, or Ballista on `scheduler` (`host:port`),
/// with the dataset registered as `logs`.
pub async fn bare_context(dir: &Path, scheduler: Option<&str>) -> Result<SessionContext> {
    let ctx = match scheduler {
        None => SessionContext::new(),
        Some(addr) => {
            use ballista::prelude::SessionContextExt;
            SessionContext::remote(&format!("df://{addr}")).await?
        }
    };
    let path = format!(
        "{}/",
        dir.canonicalize()
            .map_err(|e| crate::Error::io("dataset", e))?
            .display()
    );
    ctx.register_parquet("logs", &path, ParquetReadOptions::default())
        .await?;
    Ok(ctx)
}

/// `rounds` blocks of `per_round` iterations each, alternating `bare` and the harness on
/// `engine` (which has the dataset registered as `logs`).
pub async fn measure(
    bare: &SessionContext,
    engine: &dyn Engine,
    q: &Query,
    rounds: usize,
    per_round: u32,
) -> Result<Overhead> {
    // Both warm: one run each before measuring.
    bare.sql(&q.sql).await?.collect().await?;
    engine.execute(&q.sql).await?;

    let opts = RunOptions {
        sampling: crate::sampling::Sampling::Fixed(per_round),
        warmup: 0,
        timeout: None,
        save_answers: None,
        profile: None,
    };
    let (mut bare_us, mut harness_us) = (Vec::new(), Vec::new());
    for r in 0..rounds {
        let bare_block = || async {
            let mut v = Vec::new();
            for _ in 0..per_round {
                let t = Instant::now();
                let batches = bare.sql(&q.sql).await?.collect().await?;
                v.push(t.elapsed().as_micros() as u64);
                drop(batches);
            }
            Ok::<_, crate::Error>(v)
        };
        let harness_block = || async {
            let res = measure_query(engine, q, &opts, &mut Progress::new(true)).await;
            if res.latency.is_none() {
                return Err(crate::Error::Engine(res.error.unwrap_or_default()));
            }
            // Every run's wall time as measured, in order.
            Ok::<_, crate::Error>(res.samples_us)
        };
        if r % 2 == 0 {
            bare_us.extend(bare_block().await?);
            harness_us.extend(harness_block().await?);
        } else {
            harness_us.extend(harness_block().await?);
            bare_us.extend(bare_block().await?);
        }
    }
    Ok(Overhead::of(&q.name, &bare_us, &harness_us))
}

impl Overhead {
    /// The medians of both sides' samples (µs) and their ratio.
    fn of(query: &str, bare_us: &[u64], harness_us: &[u64]) -> Self {
        let (b, h) = (
            median(bare_us).round() as u64,
            median(harness_us).round() as u64,
        );
        Overhead {
            query: query.to_string(),
            bare_median_us: b,
            harness_median_us: h,
            overhead: h as f64 / b.max(1) as f64 - 1.0,
            samples_each: harness_us.len(),
        }
    }
}

/// DuckDB: `runs` executions of `q` as the runner times them ([`crate::engine::timed_run`], the
/// round trip to the worker with the answer decoded) against DuckDB's own timer of each (the
/// query run and its answer materialized in the worker), after one warm-up execution.
pub async fn against_engine_timer(
    engine: &crate::engine::duckdb::DuckDbEngine,
    q: &Query,
    runs: usize,
) -> Result<Overhead> {
    engine.execute(&q.sql).await?;
    let (mut own_us, mut harness_us) = (Vec::new(), Vec::new());
    for _ in 0..runs.max(1) {
        let (batches, us) = crate::engine::timed_run(engine, &q.sql, None).await?;
        drop(batches);
        harness_us.push(us);
        own_us.push(engine.last_engine_ns() / 1000);
    }
    Ok(Overhead::of(&q.name, &own_us, &harness_us))
}

/// The table `bench-runner overhead` prints, and the median over queries under it.
pub fn to_terminal(all: &[Overhead]) -> String {
    let mut t = crate::table::new(
        &[
            "query",
            "bare p50 ms",
            "harness p50 ms",
            "overhead",
            "samples",
        ],
        &[1, 2, 3, 4],
    );
    for o in all {
        t.add_row(vec![
            o.query.clone(),
            format!("{:.2}", o.bare_median_us as f64 / 1e3),
            format!("{:.2}", o.harness_median_us as f64 / 1e3),
            format!("{:+.2}%", o.overhead * 100.0),
            o.samples_each.to_string(),
        ]);
    }
    let mut s = crate::table::render(&t);
    let mut v: Vec<f64> = all.iter().map(|o| o.overhead).collect();
    v.sort_by(f64::total_cmp);
    if let (Some(lo), Some(hi)) = (v.first(), v.last()) {
        s += &format!(
            "median overhead over {} queries: {:+.2}% (range {:+.2}% to {:+.2}%)\n",
            v.len(),
            v[v.len() / 2] * 100.0,
            lo * 100.0,
            hi * 100.0
        );
    }
    s
}
