//! `bench-runner load`: latency under load, open loop ([`bench_runner::load`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bench_runner::engine::datafusion::DataFusionEngine;
use bench_runner::engine::{Engine, parse_settings};
use bench_runner::load::{self, Arrivals, LoadOptions, LoadResult, RateRun, WhenBusy};
use bench_runner::memory::PoolKind;
use bench_runner::store::DataLocation;
use bench_runner::{dataset, workload};
use clap::ValueEnum;
use logbench_common::time::{compact, now_rfc3339};

use super::cluster::ClusterArgs;
use super::run::{TimeLimit, parse_time_limit};
use super::{Outcome, usage};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LoadEngine {
    Datafusion,
    Ballista,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WhenBusyArg {
    Drop,
    Wait,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ArrivalsArg {
    Constant,
    Poisson,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Dataset written by data-gen (with manifest.json): a directory or s3://bucket/prefix.
    #[arg(long, value_parser = DataLocation::parse)]
    data: DataLocation,
    /// The engine under load: datafusion (concurrent queries on one session in this process)
    /// or ballista (concurrent jobs through the scheduler).
    #[arg(long, value_enum, default_value = "datafusion")]
    engine: LoadEngine,
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Offered requests per second; several (1,2,4) run in turn on the same engine, a sweep.
    #[arg(
        long = "rate",
        alias = "rates",
        value_delimiter = ',',
        required_unless_present = "streams",
        value_name = "RATE"
    )]
    rate: Vec<f64>,
    /// From the one --rate given, double the rate until the achieved rate stops rising (less
    /// than 5 % above the best so far), the response p99 passes --slo, or 10 rates have run.
    #[arg(long)]
    find_knee: bool,
    /// --find-knee: the response-time p99 (ms) past which the sweep stops.
    #[arg(long, value_name = "MS", requires = "find_knee")]
    slo: Option<f64>,
    /// The throughput test, after the rates: S closed streams at once, each running every
    /// query of the mix once in its own seeded order.
    #[arg(long, value_name = "S")]
    streams: Option<usize>,
    /// Seconds of arrivals per rate (requests still running at the end are waited for).
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    duration: f64,
    /// constant: evenly spaced; poisson: exponential gaps drawn from --seed.
    #[arg(long, value_enum, default_value = "poisson")]
    arrivals: ArrivalsArg,
    /// Seed of the arrival times and of the query drawn for each request.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Only this query, equal weights (repeatable). Default: every query of the workload.
    #[arg(long = "query", value_name = "NAME", conflicts_with = "mix")]
    query: Vec<String>,
    /// The queries and their relative weights: name=weight,name=weight.
    #[arg(long, value_name = "NAME=WEIGHT,...")]
    mix: Option<String>,
    /// Requests running at once at most (as wrk2's connections); see --when-busy.
    #[arg(long, default_value_t = 64, value_name = "N")]
    max_in_flight: usize,
    /// A request due while --max-in-flight run: drop (recorded as dropped) or wait for one
    /// to end, first come first served, keeping its intended start (the queue is then in its
    /// response time, not in its service time).
    #[arg(long, value_enum, default_value = "drop")]
    when_busy: WhenBusyArg,
    /// Seconds of rest between two rates of a sweep.
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS")]
    settle: f64,
    /// Time limit of each request, in seconds, or `none`; past it the request is recorded as
    /// timed out.
    #[arg(long, value_name = "SECONDS|none", default_value = "300", value_parser = parse_time_limit)]
    timeout: TimeLimit,
    /// Directory of *.sql files (default: the built-in workload).
    #[arg(long)]
    queries: Option<PathBuf>,
    /// Engine setting, e.g. datafusion.execution.target_partitions=4 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// DataFusion's memory-pool limit in bytes (accepts 512M, 4G); unbounded by default.
    #[arg(long, value_parser = logbench_common::bytes::parse_bytes)]
    memory_limit: Option<u64>,
    /// The pool that enforces --memory-limit: greedy (first come, first served; the default)
    /// or fair (the limit split evenly among the operators that can spill). Recorded in the
    /// result.
    #[arg(long, value_enum)]
    memory_pool: Option<PoolKind>,
    /// Result file (default results/local/load-<engine>-<time>.json).
    #[arg(long)]
    out: Option<PathBuf>,
    /// No progress or summary.
    #[arg(long)]
    quiet: bool,
}

pub async fn exec(args: Args) -> Outcome {
    if let Some(r) = args.rate.iter().find(|r| !(r.is_finite() && **r > 0.0)) {
        return Err(usage(format!(
            "--rate {r}: a rate is requests per second, above zero"
        )));
    }
    if !(args.duration.is_finite() && args.duration > 0.0) {
        return Err(usage(format!(
            "--duration {}: the seconds of arrivals must be above zero",
            args.duration
        )));
    }
    if !(args.settle.is_finite() && args.settle >= 0.0) {
        return Err(usage(format!(
            "--settle {}: seconds, zero or more",
            args.settle
        )));
    }
    if args.streams == Some(0) {
        return Err(usage(
            "--streams 0: the throughput test needs at least one stream",
        ));
    }
    if args.find_knee && args.rate.len() != 1 {
        return Err(usage(
            "--find-knee starts from one --rate and doubles it: give one rate",
        ));
    }
    if let Some(slo) = args.slo.filter(|v| !(v.is_finite() && *v > 0.0)) {
        return Err(usage(format!("--slo {slo}: milliseconds, above zero")));
    }
    if args.max_in_flight == 0 {
        return Err(usage("--max-in-flight must be at least 1"));
    }
    if let (Some(pool), None) = (args.memory_pool, args.memory_limit) {
        return Err(usage(format!(
            "--memory-pool {}: a pool enforces --memory-limit, and none was given",
            pool.to_possible_value().expect("named").get_name()
        )));
    }
    if args.engine == LoadEngine::Ballista
        && (args.memory_limit.is_some() || args.memory_pool.is_some())
    {
        return Err(usage(
            "--memory-limit and --memory-pool are DataFusion's in this process; the executors set their own",
        ));
    }
    let settings = parse_settings(&args.set)?;
    let (queries, _) = workload::load(args.queries.as_deref())?;
    let known: Vec<&str> = queries.iter().map(|q| q.name.as_str()).collect();
    let weights: Vec<(String, f64)> = match &args.mix {
        Some(text) => load::parse_mix(text, &known).map_err(usage)?,
        None => workload::select(queries.clone(), &args.query)?
            .into_iter()
            .map(|q| (q.name, 1.0))
            .collect(),
    };
    let mix: Vec<(workload::Query, f64)> = weights
        .iter()
        .map(|(name, w)| {
            let q = queries.iter().find(|q| &q.name == name).expect("checked");
            (q.clone(), *w)
        })
        .collect();
    let timeout = args.timeout.0.map(Duration::from_secs_f64);
    let (_, dataset) = dataset::verify_location(&args.data, false).await?;

    let started_at = now_rfc3339();
    let name = match args.engine {
        LoadEngine::Datafusion => "datafusion",
        LoadEngine::Ballista => "ballista",
    };
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("results/local").join(format!("load-{name}-{}.json", compact(&started_at)))
    });
    // Held to the end: a cluster started for this run stops when it drops.
    let mut _embedded = None;
    // The cluster's processes on this machine, for their CPU time.
    let mut pids = Vec::new();
    let (engine, cluster): (Arc<dyn Engine>, _) = match args.engine {
        LoadEngine::Datafusion => (
            Arc::new(DataFusionEngine::with_pool(
                &settings,
                args.memory_limit.map(|b| b as usize),
                args.memory_pool.unwrap_or_default(),
            )?),
            None,
        ),
        LoadEngine::Ballista => {
            let c = args.cluster.connect(&settings).await?;
            _embedded = c.embedded;
            pids = c.pids;
            (Arc::new(c.engine), Some(c.info))
        }
    };
    engine.register("logs", &args.data).await?;
    dataset::check_rows(engine.as_ref(), "logs", &dataset).await?;
    bench_runner::interrupt::install();
    let say = |s: &str| {
        if !args.quiet {
            eprintln!("bench-runner: {s}");
        }
    };
    say(&format!(
        "load on {name}: serial answers of {} queries first",
        mix.len()
    ));
    let serial = load::serial(engine.as_ref(), &mix, timeout, &pids).await?;
    // The bound needs every process of the engine: none is known for a remote cluster.
    let counted = match (args.engine, pids.len()) {
        (LoadEngine::Datafusion, _) => Some("this process (the engine runs in it)".to_string()),
        (LoadEngine::Ballista, 0) => None,
        (LoadEngine::Ballista, n) => Some(format!(
            "this process and the local cluster's {n} (scheduler and executors)"
        )),
    };
    let cpu_bound = counted.and_then(|c| load::CpuBound::from_serial(&serial, c));
    let mut config = engine.config();
    config.cluster = cluster;
    let mut result = LoadResult {
        load_schema_version: load::LOAD_SCHEMA_VERSION,
        run_id: format!("load-{name}-{}", compact(&started_at)),
        started_at,
        finished_at: String::new(),
        complete: false,
        environment: bench_runner::environment::Environment::capture(),
        dataset,
        argv: std::env::args().collect(),
        engine: config,
        serial,
        cpu_bound,
        rates: Vec::new(),
        knee: None,
        streams: None,
    };
    let with_answers: Vec<_> = mix
        .iter()
        .zip(&result.serial)
        .map(|((q, _), s)| (q.clone(), s.answer.clone()))
        .collect();
    let weights: Vec<f64> = mix.iter().map(|(_, w)| *w).collect();
    let arrivals = match args.arrivals {
        ArrivalsArg::Constant => Arrivals::Constant,
        ArrivalsArg::Poisson => Arrivals::Poisson,
    };
    let opts = LoadOptions {
        max_in_flight: args.max_in_flight,
        when_busy: match args.when_busy {
            WhenBusyArg::Drop => WhenBusy::Drop,
            WhenBusyArg::Wait => WhenBusy::Wait,
        },
        timeout,
    };
    let mut rates = args.rate.clone();
    let mut i = 0;
    while i < rates.len() {
        let rate = rates[i];
        if i > 0 && args.settle > 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(args.settle)).await;
        }
        if bench_runner::interrupt::requested() {
            break;
        }
        let plan = load::schedule(rate, args.duration, arrivals, args.seed, &weights);
        say(&format!(
            "rate {rate}/s: {} requests over {} s ({:?} arrivals)",
            plan.len(),
            args.duration,
            arrivals
        ));
        let since_ms = now_ms();
        let (own_cpu, all_cpu) = (load::cpu_time(&[]), load::cpu_time(&pids));
        let (requests, peak) = load::drive(engine.clone(), &with_answers, &plan, &opts).await;
        let (own_cpu, all_cpu) = (
            load::cpu_time(&[]).saturating_sub(own_cpu),
            load::cpu_time(&pids).saturating_sub(all_cpu),
        );
        let started = requests.iter().filter(|r| r.started_us.is_some()).count();
        let mut run = RateRun::from_requests(
            rate,
            arrivals,
            args.seed,
            args.duration,
            &opts,
            peak,
            requests,
        )?;
        if started > 0 {
            let per = |d: Duration| d.as_secs_f64() * 1e3 / started as f64;
            run.runner_cpu_ms_per_request = Some(per(own_cpu));
            if result.cpu_bound.is_some() {
                run.cpu_ms_per_request = Some(per(all_cpu));
            }
        }
        if args.engine == LoadEngine::Ballista {
            run.cancelled_after = leftovers(engine.as_ref(), since_ms).await?;
            (run.tasks_per_executor, run.tasks_note) =
                load::tasks_per_executor(engine.as_ref(), &run.requests).await;
        }
        say(&line(&run));
        if args.find_knee {
            let best = result
                .rates
                .iter()
                .map(|r| r.achieved_rate)
                .fold(0.0, f64::max);
            let p99_ms = run
                .overall
                .as_ref()
                .map_or(f64::INFINITY, |l| l.response.p99 as f64 / 1000.0);
            let stop = if i > 0 && run.achieved_rate < best * 1.05 {
                Some(format!(
                    "the achieved rate {:.3}/s is less than 5 % above the best so far, {best:.3}/s",
                    run.achieved_rate
                ))
            } else if let Some(slo) = args.slo.filter(|slo| p99_ms > *slo) {
                Some(format!(
                    "the response p99 {p99_ms:.1} ms passed --slo {slo} ms"
                ))
            } else if rates.len() == 10 {
                Some("10 rates ran".to_string())
            } else {
                rates.push(rate * 2.0);
                None
            };
            if let Some(why) = stop {
                say(&format!("knee: {why}"));
                result.knee = Some(why);
            }
        }
        result.rates.push(run);
        result.finished_at = now_rfc3339();
        result
            .write(&out)
            .with_context(|| format!("writing {}", out.display()))?;
        i += 1;
    }
    if let Some(streams) = args
        .streams
        .filter(|_| !bench_runner::interrupt::requested())
    {
        say(&format!(
            "throughput test: {streams} streams of {} queries each",
            mix.len()
        ));
        let warm: Vec<u64> = result.serial.iter().map(|s| s.warm_us).collect();
        let since_ms = now_ms();
        let t = load::throughput_test(
            engine.clone(),
            &with_answers,
            &warm,
            streams,
            args.seed,
            timeout,
        )
        .await;
        leftovers(engine.as_ref(), since_ms).await?;
        say(&format!(
            "throughput {:.1} queries/h, power {:.1}/h, composite {:.1}/h, fairness {:.3}, {} not ok",
            t.queries_per_hour, t.power_per_hour, t.composite_per_hour, t.fairness, t.failed
        ));
        result.streams = Some(t);
    }
    let interrupted = bench_runner::interrupt::requested();
    result.complete = !interrupted;
    result.finished_at = now_rfc3339();
    result
        .write(&out)
        .with_context(|| format!("writing {}", out.display()))?;
    if !args.quiet {
        if let Some(s) = result.saturation_rate() {
            println!("saturation: {s:.3} answers/s (the highest achieved rate)");
        }
        if let Some(b) = &result.cpu_bound {
            println!(
                "CPU bound: {:.3} requests/s ({} cores / {:.3} CPU s a request, {})",
                b.rate, b.cores, b.cpu_s_per_request, b.counted
            );
        }
        println!("result: {}", out.display());
    }
    let failed = result
        .rates
        .iter()
        .any(|r| r.errors + r.timed_out + r.wrong_answers > 0)
        || result.streams.as_ref().is_some_and(|t| t.failed > 0);
    Ok(!(failed || interrupted))
}

fn now_ms() -> u64 {
    bench_runner::ballista_cluster::local::now_ms()
}

/// Cancels the jobs a rate left queued or running (requests abandoned before the scheduler
/// named their job); their ids. A cluster that cannot say is an error: the next rate would
/// run beside them.
async fn leftovers(engine: &dyn Engine, since_ms: u64) -> anyhow::Result<Vec<String>> {
    let ids = engine
        .cancel_active_since(since_ms)
        .await
        .context("cancelling the jobs the load left running")?;
    if !ids.is_empty() {
        eprintln!(
            "bench-runner: cancelled {} job(s) left running: {}",
            ids.len(),
            ids.join(", ")
        );
    }
    Ok(ids)
}

/// One rate's figures on one line.
fn line(r: &RateRun) -> String {
    let ms = |us: u64| us as f64 / 1000.0;
    let lat = r.overall.as_ref().map_or("no answers".to_string(), |l| {
        format!(
            "response p50 {:.1} p99 {:.1} ms, service p50 {:.1} p99 {:.1} ms",
            ms(l.response.p50),
            ms(l.response.p99),
            ms(l.service.p50),
            ms(l.service.p99)
        )
    });
    let wait = r.queue_wait.as_ref().map_or(String::new(), |w| {
        format!(
            "; scheduler queue wait p50 {:.1} p99 {:.1} ms",
            ms(w.p50),
            ms(w.p99)
        )
    });
    format!(
        "offered {}/s achieved {:.3}/s: {} ok, {} dropped, {} errors, {} timed out, {} wrong, peak {} in flight; {lat}{wait}",
        r.offered_rate,
        r.achieved_rate,
        r.ok,
        r.dropped,
        r.errors,
        r.timed_out,
        r.wrong_answers,
        r.peak_in_flight
    )
}
