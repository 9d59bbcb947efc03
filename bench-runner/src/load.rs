//! Latency under load (`bench-runner load`): requests arrive on a schedule drawn from the clock
//! (open loop), never from the previous answer, so the queueing a busy engine causes shows in
//! the latencies instead of being hidden by a client that waits ("coordinated omission").
//!
//! Every request keeps its intended start: its response time is end − intended start (the
//! queueing included), its service time end − actual start. A request due while the runner
//! itself could not act (a stop signal, a slow machine) starts late, and the delay is in its
//! response time. A request due while `max_in_flight` requests are running is recorded as
//! dropped, never skipped, or (`WhenBusy::Wait`, as wrk2's connections do) waits for one of them
//! to end, first come first served, and keeps its intended start: then the queue a saturated
//! engine builds is in the response time and not in the service time. Every answer is digested
//! and must equal the serial answer of the same query.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::digest::{AnswerDigest, digest};
use crate::engine::{Engine, JobRun, RequestSlot};
use crate::error::{Error, Result};
use crate::histogram::{LatencySummary, new_histogram};
use crate::workload::Query;

/// The version of the load result file's layout.
pub const LOAD_SCHEMA_VERSION: u32 = 2;

/// How requests arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arrivals {
    /// Evenly spaced, 1/rate apart.
    Constant,
    /// A Poisson process: exponential gaps with mean 1/rate, drawn from the seed.
    Poisson,
}

/// SplitMix64: a small, fully specified generator, so a schedule is the same for a seed on
/// every build and machine.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1), 53 bits.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// One request of a schedule: when it is due (µs from the start) and which query it runs (an
/// index into the mix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Planned {
    pub at_us: u64,
    pub query: usize,
}

/// The requests due in `duration_s` seconds at `rate` per second, each running a query drawn
/// by `weights` (relative, all above zero). Times and choices come from separate streams of
/// the seed, so the same seed gives the same arrival times whatever the mix.
pub fn schedule(
    rate: f64,
    duration_s: f64,
    arrivals: Arrivals,
    seed: u64,
    weights: &[f64],
) -> Vec<Planned> {
    assert!(rate > 0.0 && duration_s > 0.0 && !weights.is_empty());
    let mut times = SplitMix64(seed);
    let mut picks = SplitMix64(seed ^ 0xD1B5_4A32_D192_ED03);
    let total: f64 = weights.iter().sum();
    let mut pick = || {
        let mut x = picks.unit() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    };
    let mut out = Vec::new();
    let mut t = 0.0_f64;
    for i in 0u64.. {
        t = match arrivals {
            Arrivals::Constant => i as f64 / rate,
            // Inverse transform: 1 - u is in (0, 1], so the logarithm is finite.
            Arrivals::Poisson => t - (1.0 - times.unit()).ln() / rate,
        };
        if t >= duration_s {
            break;
        }
        out.push(Planned {
            at_us: (t * 1e6).round() as u64,
            query: pick(),
        });
    }
    out
}

/// Parses `name=weight,...` (weights relative, above zero) against the known query names.
pub fn parse_mix(text: &str, known: &[&str]) -> std::result::Result<Vec<(String, f64)>, String> {
    let mut out: Vec<(String, f64)> = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, weight) = part
            .split_once('=')
            .ok_or_else(|| format!("--mix: '{part}' is not NAME=WEIGHT"))?;
        let name = name.trim();
        let weight: f64 = weight
            .trim()
            .parse()
            .map_err(|_| format!("--mix: the weight of {name} ('{weight}') is not a number"))?;
        if !(weight.is_finite() && weight > 0.0) {
            return Err(format!(
                "--mix: the weight of {name} must be above zero, not {weight}"
            ));
        }
        if !known.contains(&name) {
            return Err(format!(
                "--mix: no query named '{name}' (known: {})",
                known.join(", ")
            ));
        }
        if out.iter().any(|(n, _)| n == name) {
            return Err(format!("--mix: {name} is named twice"));
        }
        out.push((name.to_string(), weight));
    }
    if out.is_empty() {
        return Err("--mix names no query".into());
    }
    Ok(out)
}

/// What became of one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub query: String,
    /// µs from the start of the rate's run.
    pub intended_us: u64,
    /// None when it never started (dropped).
    pub started_us: Option<u64>,
    pub ended_us: Option<u64>,
    /// `ok`, `error`, `timed out`, `wrong answer`, `dropped` or `interrupted`.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// On Ballista, the job of a request that ended: its id, its wait in the scheduler's
    /// queue (submission to first task launch) and its execution (first launch to end), as
    /// the scheduler measured them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<JobRun>,
    /// On Ballista, the job of a request abandoned past its limit or on an interrupt, which
    /// was cancelled in the scheduler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_job: Option<String>,
}

impl Request {
    /// A request answered well: for tests of what is computed from the records.
    #[cfg(test)]
    pub(crate) fn answered(intended_us: u64, started_us: u64, ended_us: u64) -> Self {
        Self {
            started_us: Some(started_us),
            ended_us: Some(ended_us),
            ..Self::unstarted("q", intended_us, "ok", None)
        }
    }

    /// A request that has not ended (yet): dropped, or interrupted before it started.
    fn unstarted(query: &str, intended_us: u64, outcome: &str, detail: Option<String>) -> Self {
        Self {
            query: query.to_string(),
            intended_us,
            started_us: None,
            ended_us: None,
            outcome: outcome.to_string(),
            detail,
            job: None,
            cancelled_job: None,
        }
    }

    pub fn response_us(&self) -> Option<u64> {
        Some(self.ended_us?.saturating_sub(self.intended_us))
    }

    pub fn service_us(&self) -> Option<u64> {
        Some(self.ended_us?.saturating_sub(self.started_us?))
    }

    /// How late it started against its schedule.
    pub fn start_delay_us(&self) -> Option<u64> {
        Some(self.started_us?.saturating_sub(self.intended_us))
    }
}

/// Response and service times of the requests that ended well.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Latencies {
    pub response: LatencySummary,
    pub service: LatencySummary,
}

/// One offered rate, run to its end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateRun {
    /// Requests per second offered.
    pub offered_rate: f64,
    pub arrivals: Arrivals,
    pub seed: u64,
    pub duration_s: f64,
    pub max_in_flight: usize,
    /// What became of a request due while `max_in_flight` ran; absent in files from before
    /// requests could wait (they were dropped).
    #[serde(default)]
    pub when_busy: WhenBusy,
    pub planned: usize,
    pub ok: usize,
    pub errors: usize,
    pub timed_out: usize,
    pub wrong_answers: usize,
    pub dropped: usize,
    pub interrupted: usize,
    /// Answers per second: `ok` over the time from the start to the last answer (or the
    /// duration, if longer).
    pub achieved_rate: f64,
    /// The most requests running at once.
    pub peak_in_flight: usize,
    /// Over every query, then per query; absent when no request ended well.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overall: Option<Latencies>,
    pub queries: BTreeMap<String, Latencies>,
    /// On Ballista, the requests' waits in the scheduler's queue (submission to first task
    /// launch), over the requests that ended well.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_wait: Option<LatencySummary>,
    /// On Ballista, the tasks the rate's jobs ran on each executor (from the scheduler's event
    /// log), or why they are not known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks_per_executor: Option<BTreeMap<String, u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks_note: Option<String>,
    /// Jobs still queued or running when the rate ended, cancelled then (requests abandoned
    /// before the scheduler named their job).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cancelled_after: Vec<String>,
    /// CPU milliseconds per request started, over the rate from its first arrival to its last
    /// end: of this process (the load generator, and on DataFusion the engine too), and of the
    /// processes [`LoadResult::cpu_bound`] counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runner_cpu_ms_per_request: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_ms_per_request: Option<f64>,
    pub requests: Vec<Request>,
}

impl RateRun {
    /// Built from the requests' records.
    pub fn from_requests(
        offered_rate: f64,
        arrivals: Arrivals,
        seed: u64,
        duration_s: f64,
        opts: &LoadOptions,
        peak_in_flight: usize,
        requests: Vec<Request>,
    ) -> Result<Self> {
        let count = |o: &str| requests.iter().filter(|r| r.outcome == o).count();
        let ok = count("ok");
        let last_end = requests
            .iter()
            .filter_map(|r| r.ended_us)
            .max()
            .unwrap_or(0);
        let window_s = (last_end as f64 / 1e6).max(duration_s);
        let latencies = |pick: &dyn Fn(&Request) -> bool| -> Result<Option<Latencies>> {
            let mut response = new_histogram();
            let mut service = new_histogram();
            for r in requests.iter().filter(|r| r.outcome == "ok" && pick(r)) {
                record(&mut response, r.response_us().unwrap_or(0))?;
                record(&mut service, r.service_us().unwrap_or(0))?;
            }
            if response.is_empty() {
                return Ok(None);
            }
            Ok(Some(Latencies {
                response: LatencySummary::from_histogram(&response)?,
                service: LatencySummary::from_histogram(&service)?,
            }))
        };
        let mut waits = new_histogram();
        for r in requests.iter().filter(|r| r.outcome == "ok") {
            if let Some(j) = &r.job {
                record(&mut waits, j.scheduling_ms * 1000)?;
            }
        }
        let queue_wait = if waits.is_empty() {
            None
        } else {
            Some(LatencySummary::from_histogram(&waits)?)
        };
        let mut queries = BTreeMap::new();
        let mut names: Vec<&str> = requests.iter().map(|r| r.query.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        for name in names {
            if let Some(l) = latencies(&|r: &Request| r.query == name)? {
                queries.insert(name.to_string(), l);
            }
        }
        Ok(Self {
            offered_rate,
            arrivals,
            seed,
            duration_s,
            max_in_flight: opts.max_in_flight,
            when_busy: opts.when_busy,
            planned: requests.len(),
            ok,
            errors: count("error"),
            timed_out: count("timed out"),
            wrong_answers: count("wrong answer"),
            dropped: count("dropped"),
            interrupted: count("interrupted"),
            achieved_rate: ok as f64 / window_s,
            peak_in_flight,
            overall: latencies(&|_: &Request| true)?,
            queries,
            queue_wait,
            tasks_per_executor: None,
            tasks_note: None,
            cancelled_after: Vec::new(),
            runner_cpu_ms_per_request: None,
            cpu_ms_per_request: None,
            requests,
        })
    }
}

fn record(h: &mut Histogram<u64>, us: u64) -> Result<()> {
    h.record(us.max(1))
        .map_err(|e| Error::Results(format!("recording a latency of {us} µs: {e}")))
}

/// What becomes of a request due while `max_in_flight` requests are running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WhenBusy {
    /// Recorded as dropped.
    #[default]
    Drop,
    /// It waits, first come first served, for a request to end; it keeps its intended start.
    Wait,
}

/// How a rate is run.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub max_in_flight: usize,
    pub when_busy: WhenBusy,
    /// Per request; a request past it is recorded as timed out.
    pub timeout: Option<Duration>,
}

/// Runs the schedule `plan` of queries `mix` (each with the digest of its serial answer) on
/// `engine`, open loop. Returns every request's record and the most requests running at
/// once. On an interrupt (Ctrl-C) it stops issuing; the requests running are abandoned, their
/// jobs cancelled, and recorded as interrupted.
pub async fn drive(
    engine: Arc<dyn Engine>,
    mix: &[(Query, AnswerDigest)],
    plan: &[Planned],
    opts: &LoadOptions,
) -> (Vec<Request>, usize) {
    let start = Instant::now();
    let since = move || start.elapsed().as_micros() as u64;
    let slots = Arc::new(tokio::sync::Semaphore::new(opts.max_in_flight));
    let mut peak = 0;
    let mut tasks = tokio::task::JoinSet::new();
    let mut records: Vec<Option<Request>> = vec![None; plan.len()];
    let mut started: Vec<Option<u64>> = vec![None; plan.len()];
    let mut interrupted = false;
    for (i, p) in plan.iter().enumerate() {
        let due = start + Duration::from_micros(p.at_us);
        tokio::select! {
            () = tokio::time::sleep_until(due.into()) => {}
            () = crate::interrupt::wait() => { interrupted = true; }
        }
        if interrupted {
            break;
        }
        let (query, serial) = &mix[p.query];
        let slot = match opts.when_busy {
            WhenBusy::Drop => slots.clone().try_acquire_owned().ok(),
            WhenBusy::Wait => tokio::select! {
                s = slots.clone().acquire_owned() => s.ok(),
                () = crate::interrupt::wait() => { interrupted = true; None }
            },
        };
        if interrupted {
            break;
        }
        let Some(slot) = slot else {
            records[i] = Some(Request::unstarted(
                &query.name,
                p.at_us,
                "dropped",
                Some(format!("{} requests in flight", opts.max_in_flight)),
            ));
            continue;
        };
        peak = peak.max(opts.max_in_flight - slots.available_permits());
        let started_us = since();
        started[i] = Some(started_us);
        let engine = engine.clone();
        let (name, sql, ordered) = (query.name.clone(), query.sql.clone(), query.fixes_order());
        let serial = serial.clone();
        let timeout = opts.timeout;
        let intended_us = p.at_us;
        tasks.spawn(async move {
            let e = execute_one(
                engine.as_ref(),
                &sql,
                ordered,
                &serial,
                timeout,
                since,
                move || drop(slot),
            )
            .await;
            (i, e.into_request(name, intended_us, started_us))
        });
    }
    // The requests running see the interrupt themselves: each cancels its job.
    while let Some(joined) = tasks.join_next().await {
        if let Ok((i, r)) = joined {
            records[i] = Some(r);
        }
    }
    let mut out = Vec::with_capacity(plan.len());
    for (i, p) in plan.iter().enumerate() {
        let query = &mix[p.query].0.name;
        out.push(records[i].take().unwrap_or_else(|| {
            let mut r = Request::unstarted(query, p.at_us, "interrupted", None);
            r.started_us = started[i];
            r
        }));
    }
    (out, peak)
}

/// What one execution came to.
struct Executed {
    ended_us: u64,
    outcome: &'static str,
    detail: Option<String>,
    job: Option<JobRun>,
    cancelled_job: Option<String>,
}

impl Executed {
    fn into_request(self, query: String, intended_us: u64, started_us: u64) -> Request {
        Request {
            query,
            intended_us,
            started_us: Some(started_us),
            ended_us: Some(self.ended_us),
            outcome: self.outcome.to_string(),
            detail: self.detail,
            job: self.job,
            cancelled_job: self.cancelled_job,
        }
    }
}

/// Runs `sql` once under `timeout`; its end is `clock` µs, taken before the answer is digested
/// (the check is not in the latency). A request past its limit, or running when the run is
/// interrupted, is abandoned and its job cancelled (and waited for) before `ended` is called:
/// until then it holds its place among the requests in flight.
async fn execute_one(
    engine: &dyn Engine,
    sql: &str,
    ordered: bool,
    serial: &AnswerDigest,
    timeout: Option<Duration>,
    clock: impl Fn() -> u64,
    ended: impl FnOnce(),
) -> Executed {
    enum How {
        Done(Result<Vec<datafusion::arrow::array::RecordBatch>>),
        TimedOut(Duration),
        Interrupted,
    }
    let slot = RequestSlot::default();
    let how = {
        let limit = async {
            match timeout {
                Some(t) => tokio::time::sleep(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = engine.execute_request(sql, &slot) => How::Done(r),
            () = limit => How::TimedOut(timeout.unwrap_or_default()),
            () = crate::interrupt::wait() => How::Interrupted,
        }
    };
    let ended_us = clock();
    let held = &slot;
    let abandoned = |outcome: &'static str, why: String| async move {
        let cancelled = engine.cancel_request(held).await;
        let (detail, job) = match cancelled {
            Ok(Some(id)) => (format!("{why}; job {id} cancelled"), Some(id)),
            Ok(None) => (why, None),
            Err(e) => (format!("{why}; cancelling its job failed: {e}"), None),
        };
        (outcome, Some(detail), None, job)
    };
    let (outcome, detail, job, cancelled_job) = match how {
        How::Done(answer) => {
            ended();
            let job = engine.request_job(&slot);
            let (outcome, detail) = match answer {
                Err(e) => ("error", Some(e.to_string())),
                Ok(batches) => match digest(&batches, ordered) {
                    Ok(d) if d.same_rows(serial) => ("ok", None),
                    Ok(d) => ("wrong answer", Some(format!("{d}; serially {serial}"))),
                    Err(e) => ("error", Some(format!("digest: {e}"))),
                },
            };
            (outcome, detail, job, None)
        }
        How::TimedOut(after) => {
            let r = abandoned("timed out", format!("after {} s", after.as_secs_f64())).await;
            ended();
            r
        }
        How::Interrupted => {
            let r = abandoned("interrupted", "on an interrupt".to_string()).await;
            ended();
            r
        }
    };
    Executed {
        ended_us,
        outcome,
        detail,
        job,
        cancelled_job,
    }
}

/// The tasks the jobs of `requests` ran on each executor, summed (the scheduler's event log,
/// read after the rate), or why they are not known.
pub async fn tasks_per_executor(
    engine: &dyn Engine,
    requests: &[Request],
) -> (Option<BTreeMap<String, u64>>, Option<String>) {
    let mut sum: BTreeMap<String, u64> = BTreeMap::new();
    let mut jobs = 0;
    for j in requests.iter().filter_map(|r| r.job.as_ref()) {
        match engine.job_tasks(&j.job_id).await {
            Ok(tasks) => {
                for (executor, n) in crate::ballista_cluster::events::tasks_per_executor(&tasks) {
                    *sum.entry(executor).or_default() += n;
                }
                jobs += 1;
            }
            Err(e) => return (None, Some(format!("job {}: {e}", j.job_id))),
        }
    }
    if jobs == 0 {
        return (None, Some("no request answered through a job".into()));
    }
    (Some(sum), None)
}

/// A permutation of `0..n` drawn from `seed` (Fisher–Yates).
pub fn permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut rng = SplitMix64(seed);
    let mut p: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        p.swap(i, j);
    }
    p
}

/// One closed stream of the throughput test: every query of the mix once, in its own order,
/// each started when the previous one ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stream {
    pub order: Vec<String>,
    /// Closed loop: each request's intended start is its actual start.
    pub requests: Vec<Request>,
    pub elapsed_us: u64,
}

/// The throughput test (TPC-H's, on this workload): S streams at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamsRun {
    pub streams: usize,
    pub seed: u64,
    /// From the start to the end of the last stream.
    pub elapsed_us: u64,
    /// Throughput: S × queries × 3600 / elapsed seconds.
    pub queries_per_hour: f64,
    /// Power: 3600 / the geometric mean of the serial warm times in seconds (one stream's
    /// rate on an idle engine).
    pub power_per_hour: f64,
    /// sqrt(power × throughput), as TPC-H's QphH combines them.
    pub composite_per_hour: f64,
    /// Jain's index of the streams' rates (queries per second each): 1 when all are served
    /// alike, 1/S when one stream gets everything.
    pub fairness: f64,
    /// Requests that did not end with the serial answer.
    pub failed: usize,
    pub per_stream: Vec<Stream>,
}

/// Jain's fairness index of `x`: (Σx)² / (n Σx²).
pub fn jain(x: &[f64]) -> f64 {
    let sum: f64 = x.iter().sum();
    let squares: f64 = x.iter().map(|v| v * v).sum();
    if squares == 0.0 {
        return 1.0;
    }
    sum * sum / (x.len() as f64 * squares)
}

/// Runs `streams` closed streams of the mix at once on `engine`; stream k's order is the
/// permutation of seed + k. `serial_warm_us` (per query of the mix) gives the power figure.
pub async fn throughput_test(
    engine: Arc<dyn Engine>,
    mix: &[(Query, AnswerDigest)],
    serial_warm_us: &[u64],
    streams: usize,
    seed: u64,
    timeout: Option<Duration>,
) -> StreamsRun {
    let start = Instant::now();
    let since = move || start.elapsed().as_micros() as u64;
    let mut tasks = tokio::task::JoinSet::new();
    for k in 0..streams {
        let order = permutation(mix.len(), seed.wrapping_add(k as u64));
        let jobs: Vec<(String, String, bool, AnswerDigest)> = order
            .iter()
            .map(|&i| {
                let (q, d) = &mix[i];
                (q.name.clone(), q.sql.clone(), q.fixes_order(), d.clone())
            })
            .collect();
        let engine = engine.clone();
        tasks.spawn(async move {
            let mut requests = Vec::new();
            for (name, sql, ordered, serial) in &jobs {
                if crate::interrupt::requested() {
                    break;
                }
                let started_us = since();
                let e = execute_one(
                    engine.as_ref(),
                    sql,
                    *ordered,
                    serial,
                    timeout,
                    since,
                    || {},
                )
                .await;
                requests.push(e.into_request(name.clone(), started_us, started_us));
            }
            let elapsed_us = since();
            (
                k,
                Stream {
                    order: jobs.into_iter().map(|j| j.0).collect(),
                    requests,
                    elapsed_us,
                },
            )
        });
    }
    let mut per_stream: Vec<(usize, Stream)> = tasks.join_all().await;
    per_stream.sort_by_key(|(k, _)| *k);
    let per_stream: Vec<Stream> = per_stream.into_iter().map(|(_, s)| s).collect();
    let elapsed_us = per_stream
        .iter()
        .map(|s| s.elapsed_us)
        .max()
        .unwrap_or(0)
        .max(1);
    let done: usize = per_stream.iter().map(|s| s.requests.len()).sum();
    let failed = per_stream
        .iter()
        .flat_map(|s| &s.requests)
        .filter(|r| r.outcome != "ok")
        .count();
    let queries_per_hour = done as f64 * 3600.0 / (elapsed_us as f64 / 1e6);
    let log_mean = serial_warm_us
        .iter()
        .map(|us| ((*us).max(1) as f64 / 1e6).ln())
        .sum::<f64>()
        / serial_warm_us.len().max(1) as f64;
    let power_per_hour = 3600.0 / log_mean.exp();
    let rates: Vec<f64> = per_stream
        .iter()
        .map(|s| s.requests.len() as f64 / (s.elapsed_us.max(1) as f64 / 1e6))
        .collect();
    StreamsRun {
        streams,
        seed,
        elapsed_us,
        queries_per_hour,
        power_per_hour,
        composite_per_hour: (power_per_hour * queries_per_hour).sqrt(),
        fairness: jain(&rates),
        failed,
        per_stream,
    }
}

/// A query's serial answer and time on an otherwise idle engine, in the same invocation as the
/// load: one cold execution, then [`SERIAL_WARM_RUNS`] warm ones, whose medians are kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Serial {
    pub query: String,
    pub weight: f64,
    pub cold_us: u64,
    /// How many warm executions the medians below come from (1 in files written before
    /// 2026-12-04).
    #[serde(default = "one")]
    pub warm_runs: u32,
    /// The median of the warm executions' wall times.
    pub warm_us: u64,
    /// The median of the warm executions' CPU times, over the processes
    /// [`LoadResult::cpu_bound`] names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warm_cpu_us: Option<u64>,
    pub answer: AnswerDigest,
}

fn one() -> u32 {
    1
}

/// CPU time so far of this process and of `pids` (the cluster's processes on this machine).
pub fn cpu_time(pids: &[u32]) -> Duration {
    logbench_common::process::cpu_time()
        + pids
            .iter()
            .filter_map(|p| logbench_common::process::cpu_time_of(*p))
            .sum::<Duration>()
}

/// The rate the machine's cores could serve if the engine's CPU were its only limit: cores ÷
/// the mix's mean CPU seconds per request, from the serial warm executions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpuBound {
    pub cores: usize,
    /// What was counted: this process alone (DataFusion), or with the local cluster's.
    pub counted: String,
    /// The weighted mean over the mix.
    pub cpu_s_per_request: f64,
    /// Requests per second.
    pub rate: f64,
}

impl CpuBound {
    pub fn from_serial(serial: &[Serial], counted: String) -> Option<Self> {
        let weight: f64 = serial.iter().map(|s| s.weight).sum();
        let cpu_s = serial
            .iter()
            .map(|s| Some(s.weight * s.warm_cpu_us? as f64 / 1e6))
            .sum::<Option<f64>>()?
            / weight;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        (cpu_s > 0.0).then(|| Self {
            cores,
            counted,
            cpu_s_per_request: cpu_s,
            rate: cores as f64 / cpu_s,
        })
    }
}

/// Warm executions per query in [`serial`]. One was too few for the CPU bound: on a 2-core
/// machine (2026-12-04, 20M rows, Ballista) one warm execution's CPU moved 6 % between two
/// invocations of the same mix, and up to 25 % for a query in a cluster's first jobs.
pub const SERIAL_WARM_RUNS: usize = 3;

/// Runs each query of the mix alone, once cold and [`SERIAL_WARM_RUNS`] times warm, for its
/// answer and service time: the reference the answers under load must equal. The warm runs
/// must give the same rows as each other.
pub async fn serial(
    engine: &dyn Engine,
    mix: &[(Query, f64)],
    timeout: Option<Duration>,
    pids: &[u32],
) -> Result<Vec<Serial>> {
    let mut out = Vec::new();
    for (q, weight) in mix {
        let (_, cold_us) = crate::engine::timed_run(engine, &q.sql, timeout).await?;
        engine.forget_last_run();
        let (mut walls, mut cpus) = (Vec::new(), Vec::new());
        let mut answer: Option<AnswerDigest> = None;
        for _ in 0..SERIAL_WARM_RUNS {
            let cpu = cpu_time(pids);
            let (batches, warm_us) = crate::engine::timed_run(engine, &q.sql, timeout).await?;
            cpus.push(cpu_time(pids).saturating_sub(cpu).as_micros() as u64);
            walls.push(warm_us);
            let this = digest(&batches, q.fixes_order())?;
            engine.forget_last_run();
            match &answer {
                // The rule answers under load are held to (`same_rows`).
                Some(first) if !this.same_rows(first) => {
                    return Err(Error::Engine(format!(
                        "{}: its serial runs gave different answers ({} rows, {} and {} rows, {}): \
                         no reference for the answers under load",
                        q.name, first.rows, first.digest, this.rows, this.digest
                    )));
                }
                Some(_) => {}
                None => answer = Some(this),
            }
        }
        out.push(Serial {
            query: q.name.clone(),
            weight: *weight,
            cold_us,
            warm_runs: SERIAL_WARM_RUNS as u32,
            warm_us: crate::sampling::median(&walls).round() as u64,
            warm_cpu_us: Some(crate::sampling::median(&cpus).round() as u64),
            answer: answer.expect("at least one warm run"),
        });
    }
    Ok(out)
}

/// The result of `bench-runner load`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadResult {
    pub load_schema_version: u32,
    pub run_id: String,
    pub started_at: String,
    pub finished_at: String,
    /// False while running, or when interrupted.
    pub complete: bool,
    pub environment: crate::environment::Environment,
    pub dataset: crate::results::DatasetInfo,
    pub argv: Vec<String>,
    pub engine: crate::engine::EngineConfig,
    pub serial: Vec<Serial>,
    /// The CPU-bound rate from the serial executions, where the engine's processes are all on
    /// this machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_bound: Option<CpuBound>,
    pub rates: Vec<RateRun>,
    /// `--find-knee`: why the sweep stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub knee: Option<String>,
    /// `--streams`: the throughput test, after the rates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub streams: Option<StreamsRun>,
}

impl LoadResult {
    /// The highest achieved rate of the sweep.
    pub fn saturation_rate(&self) -> Option<f64> {
        self.rates.iter().map(|r| r.achieved_rate).reduce(f64::max)
    }

    pub fn write(&self, path: &std::path::Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).expect("serialises") + "\n";
        crate::results::write_file(path, text.as_bytes())
    }

    pub fn read(path: &std::path::Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        serde_json::from_str(&text)
            .map_err(|e| Error::Results(format!("{} is not a load result: {e}", path.display())))
    }
}

/// One offered rate both load results ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateComparison {
    pub offered_rate: f64,
    pub base_achieved: f64,
    pub new_achieved: f64,
    /// Response and service p99 in µs, where the rate answered anything.
    pub base_response_p99_us: Option<u64>,
    pub new_response_p99_us: Option<u64>,
    pub base_service_p99_us: Option<u64>,
    pub new_service_p99_us: Option<u64>,
    /// Requests that did not end with the serial answer (dropped included).
    pub base_not_ok: usize,
    pub new_not_ok: usize,
}

impl RateComparison {
    /// NEW's response p99 over BASE's.
    pub fn response_p99_ratio(&self) -> Option<f64> {
        Some(self.new_response_p99_us? as f64 / self.base_response_p99_us?.max(1) as f64)
    }
}

/// Two load results side by side (`bench-runner compare` of two load results): the saturation
/// throughput, and at each offered rate both ran the achieved rate and the p99s. One run per
/// rate gives no interval, so there are ratios and no verdicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadComparison {
    pub base: String,
    pub new: String,
    pub base_saturation: Option<f64>,
    pub new_saturation: Option<f64>,
    pub rates: Vec<RateComparison>,
    /// Why the two are not like for like (another dataset, mix or engine), where they differ.
    pub differences: Vec<String>,
}

impl LoadComparison {
    pub fn new(base: &LoadResult, new: &LoadResult) -> Self {
        let not_ok = |r: &RateRun| r.planned - r.ok;
        let p99 = |r: &RateRun, f: fn(&Latencies) -> u64| r.overall.as_ref().map(f);
        let mut rates = Vec::new();
        for b in &base.rates {
            if let Some(n) = new.rates.iter().find(|n| n.offered_rate == b.offered_rate) {
                rates.push(RateComparison {
                    offered_rate: b.offered_rate,
                    base_achieved: b.achieved_rate,
                    new_achieved: n.achieved_rate,
                    base_response_p99_us: p99(b, |l| l.response.p99),
                    new_response_p99_us: p99(n, |l| l.response.p99),
                    base_service_p99_us: p99(b, |l| l.service.p99),
                    new_service_p99_us: p99(n, |l| l.service.p99),
                    base_not_ok: not_ok(b),
                    new_not_ok: not_ok(n),
                });
            }
        }
        let mut differences = Vec::new();
        if base.dataset.rows != new.dataset.rows {
            differences.push(format!(
                "datasets of {} and {} rows",
                base.dataset.rows, new.dataset.rows
            ));
        }
        let mix = |r: &LoadResult| {
            r.serial
                .iter()
                .map(|s| format!("{}={}", s.query, s.weight))
                .collect::<Vec<_>>()
                .join(",")
        };
        if mix(base) != mix(new) {
            differences.push(format!("mixes {} and {}", mix(base), mix(new)));
        }
        if base.engine.name != new.engine.name {
            differences.push(format!(
                "engines {} and {}",
                base.engine.name, new.engine.name
            ));
        }
        Self {
            base: base.run_id.clone(),
            new: new.run_id.clone(),
            base_saturation: base.saturation_rate(),
            new_saturation: new.saturation_rate(),
            rates,
            differences,
        }
    }

    /// Rows of the table both renderings show.
    fn rows(&self) -> Vec<[String; 7]> {
        let ms =
            |us: Option<u64>| us.map_or("–".to_string(), |v| format!("{:.1}", v as f64 / 1e3));
        self.rates
            .iter()
            .map(|r| {
                [
                    format!("{}", r.offered_rate),
                    format!("{:.3}", r.base_achieved),
                    format!("{:.3}", r.new_achieved),
                    ms(r.base_response_p99_us),
                    ms(r.new_response_p99_us),
                    r.response_p99_ratio()
                        .map_or("–".to_string(), |x| format!("{x:.3}")),
                    format!("{} / {}", r.base_not_ok, r.new_not_ok),
                ]
            })
            .collect()
    }

    const HEADER: [&'static str; 7] = [
        "offered /s",
        "BASE achieved /s",
        "NEW achieved /s",
        "BASE response p99 ms",
        "NEW response p99 ms",
        "p99 NEW/BASE",
        "not ok BASE / NEW",
    ];

    fn saturation_line(&self) -> String {
        let s = |v: Option<f64>| v.map_or("–".to_string(), |x| format!("{x:.3}"));
        let ratio = match (self.base_saturation, self.new_saturation) {
            (Some(b), Some(n)) if b > 0.0 => format!(" (NEW/BASE {:.3})", n / b),
            _ => String::new(),
        };
        format!(
            "saturation throughput: BASE {} answers/s, NEW {} answers/s{ratio}",
            s(self.base_saturation),
            s(self.new_saturation)
        )
    }

    pub fn to_terminal(&self) -> String {
        let mut out = format!("load: BASE {} against NEW {}\n", self.base, self.new);
        for d in &self.differences {
            out += &format!("note: not like for like: {d}\n");
        }
        out += &self.saturation_line();
        out.push('\n');
        if self.rates.is_empty() {
            out += "no offered rate ran in both\n";
            return out;
        }
        let mut t = crate::table::new(&Self::HEADER, &[0, 1, 2, 3, 4, 5, 6]);
        for r in self.rows() {
            t.add_row(r.to_vec());
        }
        out += &crate::table::render(&t);
        out += "One run per rate: ratios, no verdicts (no interval to judge them by).\n";
        out
    }

    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "**Load:** BASE `{}` against NEW `{}`. {}.\n\n",
            self.base,
            self.new,
            self.saturation_line()
        );
        for d in &self.differences {
            out += &format!("Not like for like: {d}.\n\n");
        }
        out += &format!("| {} |\n|", Self::HEADER.join(" | "));
        out += &"---:|".repeat(7);
        out.push('\n');
        for r in self.rows() {
            out += &format!("| {} |\n", r.join(" | "));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_serial_record_written_before_warm_runs_were_counted_had_one() {
        let old = r#"{"query": "q", "weight": 1.0, "cold_us": 5, "warm_us": 4, "warm_cpu_us": 3,
            "answer": {"rows": 1, "digest": "00"}}"#;
        let s: Serial = serde_json::from_str(old).unwrap();
        assert_eq!((s.warm_runs, s.warm_us), (1, 4));
    }

    fn gaps(plan: &[Planned]) -> Vec<f64> {
        plan.windows(2)
            .map(|w| (w[1].at_us - w[0].at_us) as f64)
            .collect()
    }

    fn cv(x: &[f64]) -> f64 {
        let n = x.len() as f64;
        let mean = x.iter().sum::<f64>() / n;
        let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
        var.sqrt() / mean
    }

    #[test]
    fn poisson_gaps_are_exponential_and_constant_gaps_are_not() {
        let p = schedule(50.0, 200.0, Arrivals::Poisson, 7, &[1.0]);
        // 10,000 expected arrivals: the count within 4 standard deviations (±400).
        assert!((9_600..=10_400).contains(&p.len()), "{}", p.len());
        let c = cv(&gaps(&p));
        assert!((0.95..=1.05).contains(&c), "Poisson gaps' CV {c}");
        // An exponential's median is ln 2 times its mean.
        let mut g = gaps(&p);
        g.sort_by(f64::total_cmp);
        let ratio = g[g.len() / 2] / (g.iter().sum::<f64>() / g.len() as f64);
        assert!((ratio - 2f64.ln()).abs() < 0.03, "median/mean {ratio}");
        let k = schedule(50.0, 200.0, Arrivals::Constant, 7, &[1.0]);
        assert_eq!(k.len(), 10_000);
        assert!(cv(&gaps(&k)) < 0.001);
        assert_eq!(k[1].at_us, 20_000);
    }

    #[test]
    fn a_seed_gives_one_schedule_and_the_mix_its_weights() {
        let a = schedule(20.0, 100.0, Arrivals::Poisson, 3, &[1.0, 3.0]);
        assert_eq!(a, schedule(20.0, 100.0, Arrivals::Poisson, 3, &[1.0, 3.0]));
        assert_ne!(a, schedule(20.0, 100.0, Arrivals::Poisson, 4, &[1.0, 3.0]));
        // The times do not depend on the mix.
        let times = |p: &[Planned]| p.iter().map(|x| x.at_us).collect::<Vec<_>>();
        assert_eq!(
            times(&a),
            times(&schedule(20.0, 100.0, Arrivals::Poisson, 3, &[1.0]))
        );
        let second = a.iter().filter(|p| p.query == 1).count() as f64 / a.len() as f64;
        assert!((second - 0.75).abs() < 0.04, "share {second}");
    }

    #[test]
    fn permutations_are_permutations_and_differ_by_seed() {
        let p = permutation(13, 5);
        let mut sorted = p.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..13).collect::<Vec<_>>());
        assert_eq!(p, permutation(13, 5));
        assert_ne!(p, permutation(13, 6));
    }

    #[test]
    fn jain_is_one_when_even_and_one_over_n_when_one_gets_all() {
        assert!((jain(&[2.0, 2.0, 2.0]) - 1.0).abs() < 1e-12);
        assert!((jain(&[3.0, 0.0, 0.0, 0.0]) - 0.25).abs() < 1e-12);
        assert!(jain(&[1.0, 2.0]) < 1.0);
    }

    #[test]
    fn a_mix_is_checked_against_the_workload() {
        let known = ["a", "b"];
        assert_eq!(
            parse_mix("a=1, b=2.5", &known).unwrap(),
            vec![("a".to_string(), 1.0), ("b".to_string(), 2.5)]
        );
        for (bad, says) in [
            ("a=0", "above zero"),
            ("a=-1", "above zero"),
            ("c=1", "no query named 'c'"),
            ("a", "not NAME=WEIGHT"),
            ("a=x", "not a number"),
            ("a=1,a=2", "named twice"),
            ("", "names no query"),
        ] {
            let e = parse_mix(bad, &known).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn response_time_counts_from_the_intended_start() {
        let r = Request::answered;
        let mut dropped = r(10, 0, 0);
        dropped.outcome = "dropped".into();
        (dropped.started_us, dropped.ended_us) = (None, None);
        // One answered through a job that waited 40 ms in the scheduler's queue.
        let mut queued = r(0, 0, 100_000);
        queued.job = Some(JobRun {
            job_id: "j1".into(),
            scheduling_ms: 40,
            execution_ms: 55,
            result_bytes: 10,
        });
        let run = RateRun::from_requests(
            2.0,
            Arrivals::Constant,
            1,
            1.0,
            &LoadOptions {
                max_in_flight: 4,
                when_busy: WhenBusy::Drop,
                timeout: None,
            },
            2,
            vec![queued, r(500_000, 2_500_000, 2_600_000), dropped],
        )
        .unwrap();
        assert_eq!((run.ok, run.dropped, run.planned), (2, 1, 3));
        let wait = run.queue_wait.as_ref().unwrap();
        assert_eq!(wait.count, 1);
        assert!((39_900..=40_100).contains(&wait.max), "{}", wait.max);
        let all = run.overall.as_ref().unwrap();
        // The late start is in the response time (2.1 s), not in the service time (0.1 s).
        assert!(
            (2_095_000..=2_105_000).contains(&all.response.max),
            "{}",
            all.response.max
        );
        assert!(
            (99_000..=101_000).contains(&all.service.max),
            "{}",
            all.service.max
        );
        // Two answers over the 2.6 s to the last one.
        assert!((run.achieved_rate - 2.0 / 2.6).abs() < 1e-9);
    }
}
