//! The measurement loop, shared by every engine.
//!
//! Per query: plans (untimed), one cold run recorded apart, W warm-ups, then measured
//! iterations into an HdrHistogram until [`Sampling`] says stop (a fixed count, or the median
//! known within the precision target, or the time budget spent). Per-operator metrics come
//! from the last measured run's executed plan (DataFusion) or job (Ballista): no extra run.
//! Every run's answer is digested outside the timed region; runs that disagree fail the query.
//! A failing query is recorded with its error and the loop goes on.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use datafusion::arrow::array::RecordBatch;

use crate::digest::{AnswerDigest, digest};
use crate::engine::{Engine, timed_run};
use crate::error::{Error, Result};
use crate::histogram::{LatencySummary, new_histogram};
use crate::progress::Progress;
use crate::resources::{Meter, Resources, peak_rss_bytes, reset_peak_rss};
use crate::results::{Distributed, QueryResult, Status};
use crate::sampling::{Outcome, Sampling};
use crate::workload::Query;

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub sampling: Sampling,
    pub warmup: u32,
    pub timeout: Option<Duration>,
    pub save_answers: Option<PathBuf>,
    /// A CPU profile of each query, in runs after the measured ones.
    pub profile: Option<crate::profile::ProfileOptions>,
}

fn failed(q: &Query, error: String, resources: Resources) -> QueryResult {
    QueryResult {
        name: q.name.clone(),
        category: q.category.clone(),
        intent: q.intent.clone(),
        sql: q.sql.clone(),
        status: Status::Failed,
        error: Some(error),
        cold_us: None,
        warmup_runs: 0,
        latency: None,
        answer: None,
        disagreeing_digests: vec![],
        plans: None,
        analysis: None,
        resources,
        distributed: None,
        rounds_us: vec![],
        instructions: None,
        sampling: None,
        samples_us: vec![],
        profile: None,
        cancelled_job: None,
        order_not_checked: None,
    }
}

/// Records why a query's measuring ended at the execution `what`: a time limit (the query
/// timed out, and the job cancelled is named), an interruption or another error (failed).
fn ended_by(result: &mut QueryResult, what: &str, e: Error) {
    match &e {
        Error::TimedOut { job, .. } => {
            result.status = Status::TimedOut;
            result.cancelled_job = job.clone();
        }
        Error::Interrupted { job, .. } => result.cancelled_job = job.clone(),
        _ => {}
    }
    result.error = Some(format!("{what}: {e}"));
}

/// Measures one query on `engine`.
pub async fn measure_query(
    engine: &dyn Engine,
    q: &Query,
    opts: &RunOptions,
    progress: &mut Progress,
) -> QueryResult {
    reset_peak_rss();
    engine.reset_memory_peak();
    let plans = match engine.explain(&q.sql).await {
        Ok(p) => p,
        Err(e) => return failed(q, format!("planning failed: {e}"), Resources::default()),
    };
    let mut result = failed(q, String::new(), Resources::default());
    result.plans = Some(plans);
    let mut digests: Vec<AnswerDigest> = Vec::new();
    let ordered = q.fixes_order();

    // Cold: the first execution in this process.
    progress.step(&q.name, "cold", None);
    let (answer, cold_us) = match timed_run(engine, &q.sql, opts.timeout).await {
        Ok(r) => r,
        Err(e) => {
            ended_by(&mut result, "cold run", e);
            return result;
        }
    };
    result.cold_us = Some(cold_us);
    progress.step(&q.name, "cold", Some(cold_us));
    match digest(&answer, ordered) {
        Ok(d) => digests.push(d),
        Err(e) => {
            result.error = Some(format!("digest: {e}"));
            return result;
        }
    }
    // A known divergence between engines in one column: that column kept by value.
    let tolerant = match q
        .tolerance
        .as_ref()
        .map(|t| crate::digest::tolerant(&answer, t))
    {
        Some(Ok(t)) => t,
        Some(Err(e)) => {
            result.error = Some(format!("digest: {e}"));
            return result;
        }
        None => None,
    };
    if let Some(dir) = &opts.save_answers
        && let Err(e) = save_answer(dir, &q.name, &answer)
    {
        result.error = Some(format!("saving the answer: {e}"));
        return result;
    }
    drop(answer);
    engine.forget_last_run();

    for w in 0..opts.warmup {
        progress.step(&q.name, &format!("warm-up {}/{}", w + 1, opts.warmup), None);
        match timed_run(engine, &q.sql, opts.timeout).await {
            Ok((answer, _)) => {
                digests.push(digest(&answer, ordered).expect("digested once already"))
            }
            Err(e) => {
                ended_by(&mut result, &format!("warm-up {}", w + 1), e);
                return result;
            }
        }
        result.warmup_runs += 1;
        engine.forget_last_run();
    }

    engine.reset_memory_peak();
    let _ = engine.take_job();
    engine.forget_last_run();
    let mut jobs = Vec::new();
    let mut hist = new_histogram();
    let mut samples = Vec::new();
    let meter = Meter::start();
    let measuring = Instant::now();
    let fixed = opts.sampling.fixed();
    let stop = loop {
        let i = samples.len() + 1;
        match timed_run(engine, &q.sql, opts.timeout).await {
            Ok((answer, us)) => {
                hist.record(us).expect("histograms resize");
                samples.push(us);
                jobs.extend(engine.take_job());
                let of = fixed.map_or(String::new(), |n| format!("/{n}"));
                progress.step(&q.name, &format!("iteration {i}{of}"), Some(us));
                digests.push(digest(&answer, ordered).expect("digested once already"));
            }
            Err(e) => {
                ended_by(&mut result, &format!("iteration {i}"), e);
                result.samples_us = samples;
                return result;
            }
        }
        if let Some(stop) = opts.sampling.stop(&samples, measuring.elapsed()) {
            break stop;
        }
        // What the run left behind (an executed plan and its state) goes outside the timed
        // region; the last run's stays for its metrics.
        engine.forget_last_run();
    };
    let (wall_ms, user_cpu_ms, system_cpu_ms) = meter.stop();
    let memory_peak = engine.memory_peak();
    result.sampling = Outcome::new(stop, &samples);
    result.samples_us = samples;

    progress.step(&q.name, "operator metrics", None);
    let analysis = match engine.last_run_analysis().await {
        Some(a) => a,
        // An engine that cannot read an executed plan's metrics runs EXPLAIN ANALYZE apart.
        None => {
            progress.step(&q.name, "explain analyze", None);
            engine.analyze(&q.sql).await
        }
    };

    if let Some(last) = jobs.last() {
        progress.step(&q.name, "job details", None);
        let details = engine.job_details(&last.job_id).await;
        result.distributed = Some(Distributed {
            details_error: details.as_ref().err().map(|e| e.to_string()),
            details: details.ok(),
            jobs,
        });
    }

    let spilled = analysis.as_ref().ok().map(|a| a.spilled_bytes());
    result.analysis = analysis.ok();
    result.resources = Resources {
        wall_ms,
        user_cpu_ms,
        system_cpu_ms,
        peak_rss_bytes: peak_rss_bytes(),
        spilled_bytes: spilled,
        peak_memory_pool_bytes: memory_peak,
    };
    match LatencySummary::from_histogram(&hist) {
        Ok(l) => result.latency = Some(l),
        Err(e) => {
            result.error = Some(e.to_string());
            return result;
        }
    }
    let mut answer = digests[0].clone();
    answer.tolerant = tolerant;
    if digests.iter().any(|d| !d.same_rows(&answer)) {
        result.error = Some(format!(
            "runs disagree: {} distinct answers over {} runs",
            {
                let mut u = digests.clone();
                u.sort_by(|a, b| a.digest.cmp(&b.digest).then(a.rows.cmp(&b.rows)));
                u.dedup_by(|a, b| a.same_rows(b));
                u.len()
            },
            digests.len()
        ));
        result.answer = Some(answer);
        result.disagreeing_digests = digests;
        return result;
    }
    result.order_not_checked = settle_order(&mut answer, &digests);
    result.answer = Some(answer);
    result.status = Status::Ok;
    result.error = None;
    if let Some(p) = &opts.profile {
        progress.step(&q.name, "profiling", None);
        let median = result.sampling.as_ref().map(|s| s.median_us);
        let profile =
            crate::profile::profile_query(engine, &q.name, &q.sql, median, opts.timeout, p).await;
        if let Some(e) = &profile.error {
            progress.note(&format!("{}: no profile: {e}", q.name));
        }
        result.profile = Some(profile);
    }
    result
}

/// Writes an answer as `DIR/<name>.parquet` (temporary name, then rename).
pub fn save_answer(dir: &Path, name: &str, batches: &[RecordBatch]) -> Result<()> {
    use datafusion::parquet::arrow::ArrowWriter;
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let path = dir.join(format!("{name}.parquet"));
    let tmp = dir.join(format!("{name}.parquet.tmp"));
    let write = || -> Result<()> {
        let file = std::fs::File::create(&tmp)
            .map_err(|e| Error::io(format!("creating {}", tmp.display()), e))?;
        let schema = match batches.first() {
            Some(b) => b.schema(),
            None => std::sync::Arc::new(datafusion::arrow::datatypes::Schema::empty()),
        };
        let mut w = ArrowWriter::try_new(file, schema, None)
            .map_err(|e| Error::Results(format!("{}: {e}", path.display())))?;
        for b in batches {
            w.write(b)
                .map_err(|e| Error::Results(format!("{}: {e}", path.display())))?;
        }
        w.close()
            .map_err(|e| Error::Results(format!("{}: {e}", path.display())))?;
        std::fs::rename(&tmp, &path)
            .map_err(|e| Error::io(format!("renaming {}", tmp.display()), e))
    };
    let r = write();
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

/// Called with the queries measured so far after each one (to save them as they come); an
/// error ends the run.
pub type Checkpoint<'a> = dyn FnMut(&[QueryResult]) -> Result<()> + Send + 'a;

/// Measures every query in order; failures are recorded and the loop goes on.
pub async fn measure_all(
    engine: &dyn Engine,
    queries: &[Query],
    opts: &RunOptions,
    progress: &mut Progress,
    checkpoint: &mut Checkpoint<'_>,
) -> Result<Vec<QueryResult>> {
    let mut out = Vec::with_capacity(queries.len());
    for (i, q) in queries.iter().enumerate() {
        progress.start_query(i + 1, queries.len(), &q.name);
        let r = measure_query(engine, q, opts, progress).await;
        progress.finish_query(&r);
        out.push(r);
        checkpoint(&out)?;
        if crate::interrupt::requested() {
            return Err(Error::Interrupted {
                job: None,
                cancel_error: None,
            });
        }
    }
    Ok(out)
}

/// For runs that agree on their rows: when they returned them in different orders (the
/// `ORDER BY` leaves ties), the order is not the query's to check, so `answer` loses its
/// in-order digest and the reason is returned for `order_not_checked` (never dropped in
/// silence: the summary, the cross-check and the report show it).
fn settle_order(answer: &mut AnswerDigest, digests: &[AnswerDigest]) -> Option<String> {
    if digests.iter().any(|d| d.ordered != answer.ordered) {
        answer.ordered = None;
        return Some(crate::results::ORDER_TIES.into());
    }
    None
}

#[cfg(test)]
mod order_tests {
    use super::*;

    fn d(ordered: Option<&str>) -> AnswerDigest {
        AnswerDigest {
            rows: 3,
            digest: "0".repeat(32),
            ordered: ordered.map(str::to_string),
            tolerant: None,
        }
    }

    #[test]
    fn tied_orders_drop_the_ordered_digest_and_say_why() {
        let runs = [d(Some("aa")), d(Some("aa")), d(Some("bb"))];
        let mut answer = runs[0].clone();
        assert_eq!(settle_order(&mut answer, &runs).as_deref(), Some("ties"));
        assert_eq!(answer.ordered, None);
    }

    #[test]
    fn one_order_over_every_run_is_kept() {
        let runs = [d(Some("aa")), d(Some("aa"))];
        let mut answer = runs[0].clone();
        assert_eq!(settle_order(&mut answer, &runs), None);
        assert_eq!(answer.ordered.as_deref(), Some("aa"));
        // A query without ORDER BY has no ordered digest and nothing to say.
        let runs = [d(None), d(None)];
        let mut answer = runs[0].clone();
        assert_eq!(settle_order(&mut answer, &runs), None);
    }
}
