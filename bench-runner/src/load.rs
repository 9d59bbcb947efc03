//! Latency under load (`bench-runner load`): requests arrive on a schedule drawn from the clock
//! (open loop), never from the previous answer, so the queueing a busy engine causes shows in
//! the latencies instead of being hidden by a client that waits ("coordinated omission").
//!
//! Every request keeps its intended start: its response time is end − intended start (the
//! queueing included), its service time end − actual start. A request due while the runner
//! itself could not act (a stop signal, a slow machine) starts late, and the delay is in its
//! response time. A request that cannot start because `max_in_flight` requests are running is
//! recorded as dropped, never skipped. Every answer is digested and must equal the serial
//! answer of the same query.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::digest::{AnswerDigest, digest};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::histogram::{LatencySummary, new_histogram};
use crate::workload::Query;

/// The version of the load result file's layout.
pub const LOAD_SCHEMA_VERSION: u32 = 1;

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
}

impl Request {
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
    pub requests: Vec<Request>,
}

impl RateRun {
    /// Built from the requests' records.
    pub fn from_requests(
        offered_rate: f64,
        arrivals: Arrivals,
        seed: u64,
        duration_s: f64,
        max_in_flight: usize,
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
            max_in_flight,
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
            requests,
        })
    }
}

fn record(h: &mut Histogram<u64>, us: u64) -> Result<()> {
    h.record(us.max(1))
        .map_err(|e| Error::Results(format!("recording a latency of {us} µs: {e}")))
}

/// How a rate is run.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub max_in_flight: usize,
    /// Per request; a request past it is recorded as timed out.
    pub timeout: Option<Duration>,
}

/// Runs the schedule `plan` of queries `mix` (each with the digest of its serial answer) on
/// `engine`, open loop. Returns every request's record and the most requests running at
/// once; stops issuing on an interrupt (Ctrl-C), recording what was running as interrupted.
pub async fn drive(
    engine: Arc<dyn Engine>,
    mix: &[(Query, AnswerDigest)],
    plan: &[Planned],
    opts: &LoadOptions,
) -> (Vec<Request>, usize) {
    let start = Instant::now();
    let since = move || start.elapsed().as_micros() as u64;
    let in_flight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
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
        if in_flight.load(Ordering::SeqCst) >= opts.max_in_flight {
            records[i] = Some(Request {
                query: query.name.clone(),
                intended_us: p.at_us,
                started_us: None,
                ended_us: None,
                outcome: "dropped".into(),
                detail: Some(format!("{} requests in flight", opts.max_in_flight)),
            });
            continue;
        }
        let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        peak.fetch_max(now, Ordering::SeqCst);
        let started_us = since();
        started[i] = Some(started_us);
        let engine = engine.clone();
        let (name, sql, ordered) = (query.name.clone(), query.sql.clone(), query.fixes_order());
        let serial = serial.clone();
        let timeout = opts.timeout;
        let in_flight = in_flight.clone();
        let intended_us = p.at_us;
        tasks.spawn(async move {
            let (ended_us, outcome, detail) = execute_one(
                engine.as_ref(),
                &sql,
                ordered,
                &serial,
                timeout,
                since,
                || {
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                },
            )
            .await;
            (
                i,
                Request {
                    query: name,
                    intended_us,
                    started_us: Some(started_us),
                    ended_us: Some(ended_us),
                    outcome,
                    detail,
                },
            )
        });
    }
    if interrupted {
        tasks.abort_all();
    }
    while let Some(joined) = tasks.join_next().await {
        if let Ok((i, r)) = joined {
            records[i] = Some(r);
        }
    }
    let mut out = Vec::with_capacity(plan.len());
    for (i, p) in plan.iter().enumerate() {
        let query = &mix[p.query].0.name;
        out.push(records[i].take().unwrap_or_else(|| Request {
            query: query.clone(),
            intended_us: p.at_us,
            started_us: started[i],
            ended_us: None,
            outcome: "interrupted".into(),
            detail: None,
        }));
    }
    (out, peak.load(Ordering::SeqCst))
}

/// Runs `sql` once under `timeout`; returns its end (`clock` µs, taken before `ended` is called
/// and before the answer is digested: the check is not in the latency), its outcome and why.
async fn execute_one(
    engine: &dyn Engine,
    sql: &str,
    ordered: bool,
    serial: &AnswerDigest,
    timeout: Option<Duration>,
    clock: impl Fn() -> u64,
    ended: impl FnOnce(),
) -> (u64, String, Option<String>) {
    let run = engine.execute(sql);
    let answer = match timeout {
        Some(t) => tokio::time::timeout(t, run).await.ok(),
        None => Some(run.await),
    };
    let ended_us = clock();
    ended();
    let (outcome, detail) = match answer {
        None => (
            "timed out",
            timeout.map(|t| format!("after {} s", t.as_secs_f64())),
        ),
        Some(Err(e)) => ("error", Some(e.to_string())),
        Some(Ok(batches)) => match digest(&batches, ordered) {
            Ok(d) if d.same_rows(serial) => ("ok", None),
            Ok(d) => ("wrong answer", Some(format!("{d}; serially {serial}"))),
            Err(e) => ("error", Some(format!("digest: {e}"))),
        },
    };
    (ended_us, outcome.to_string(), detail)
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
                let (ended_us, outcome, detail) = execute_one(
                    engine.as_ref(),
                    sql,
                    *ordered,
                    serial,
                    timeout,
                    since,
                    || {},
                )
                .await;
                requests.push(Request {
                    query: name.clone(),
                    intended_us: started_us,
                    started_us: Some(started_us),
                    ended_us: Some(ended_us),
                    outcome,
                    detail,
                });
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

/// A query's serial answer and time: one execution on an otherwise idle engine, after a cold
/// one, in the same invocation as the load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Serial {
    pub query: String,
    pub weight: f64,
    pub cold_us: u64,
    pub warm_us: u64,
    pub answer: AnswerDigest,
}

/// Runs each query of the mix twice, alone (cold, then warm), for its answer and service
/// time: the reference the answers under load must equal.
pub async fn serial(
    engine: &dyn Engine,
    mix: &[(Query, f64)],
    timeout: Option<Duration>,
) -> Result<Vec<Serial>> {
    let mut out = Vec::new();
    for (q, weight) in mix {
        let (_, cold_us) = crate::engine::timed_run(engine, &q.sql, timeout).await?;
        let (batches, warm_us) = crate::engine::timed_run(engine, &q.sql, timeout).await?;
        out.push(Serial {
            query: q.name.clone(),
            weight: *weight,
            cold_us,
            warm_us,
            answer: digest(&batches, q.fixes_order())?,
        });
        engine.forget_last_run();
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let r = |intended, started, ended| Request {
            query: "q".into(),
            intended_us: intended,
            started_us: Some(started),
            ended_us: Some(ended),
            outcome: "ok".into(),
            detail: None,
        };
        let mut dropped = r(10, 0, 0);
        dropped.outcome = "dropped".into();
        (dropped.started_us, dropped.ended_us) = (None, None);
        let run = RateRun::from_requests(
            2.0,
            Arrivals::Constant,
            1,
            1.0,
            4,
            2,
            vec![r(0, 0, 100_000), r(500_000, 2_500_000, 2_600_000), dropped],
        )
        .unwrap();
        assert_eq!((run.ok, run.dropped, run.planned), (2, 1, 3));
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
