//! `run --profile`: a CPU profile of every query, taken in runs of its own after the measured
//! ones, so that no measured time carries the profiler's cost.
//!
//! A profiling window is opened on the processes that do the engine's work (this process for
//! DataFusion; every executor for Ballista, through its health port's `/profile/start` and
//! `/profile/stop`), the query runs until [`ProfileOptions::seconds`] of wall time have passed
//! (at least once, at most [`MAX_RUNS`] times), and the window closes. Each process's samples
//! are written as folded stacks and an interactive flamegraph beside the result file; the
//! result records the hottest frames and what the profiler cost (the profiled runs' median
//! against the measured median of the same query, in the same process, minutes apart).

use std::path::{Path, PathBuf};
use std::time::Duration;

use logbench_common::profile::{self, Profile};

use crate::engine::{Engine, ProfileTargets};
use crate::error::{Error, Result};
pub use crate::results::measure::{HotFrame, ProcessProfile, QueryProfile};
use crate::sampling::median;

/// Profiled runs per query at most, whatever `seconds` says.
pub const MAX_RUNS: usize = 50;
/// Frames kept in the result per query (by self time).
pub const HOT_FRAMES: usize = 40;

#[derive(Debug, Clone)]
pub struct ProfileOptions {
    /// Where the files go: `<result stem>.profiles/`.
    pub dir: PathBuf,
    /// The same directory as the result file names it (relative to the result file's folder).
    pub link: String,
    pub frequency_hz: u32,
    /// Profiled wall time per query to reach (at least one run).
    pub seconds: f64,
}

impl QueryProfile {
    fn failed(frequency_hz: u32, runs_us: Vec<u64>, error: String) -> Self {
        QueryProfile {
            frequency_hz,
            runs_us,
            overhead_pct: None,
            processes: vec![],
            hottest: vec![],
            error: Some(error),
        }
    }

    /// Samples per second of CPU the profiled processes used: the sampling rate reached, where
    /// every process reported its CPU time.
    pub fn samples_per_cpu_second(&self) -> Option<f64> {
        let cpu_ms = self
            .processes
            .iter()
            .map(|pp| pp.cpu_ms)
            .sum::<Option<f64>>()
            .filter(|&ms| ms > 0.0)?;
        Some(self.samples() as f64 / (cpu_ms / 1000.0))
    }

    pub fn samples(&self) -> u64 {
        self.processes.iter().map(|p| p.samples).sum()
    }

    /// A frame's self share, 0 when it is not among the recorded frames.
    pub fn self_pct(&self, frame: &str) -> f64 {
        self.hottest
            .iter()
            .find(|h| h.frame == frame)
            .map_or(0.0, |h| h.self_pct)
    }
}

/// The hottest frames of `profile` as shares of its samples.
pub fn hottest(profile: &Profile, n: usize) -> Vec<HotFrame> {
    let total = profile.samples().max(1) as f64;
    profile
        .frame_shares()
        .into_iter()
        .take(n)
        .map(|f| HotFrame {
            frame: f.frame,
            self_pct: f.self_samples as f64 * 100.0 / total,
            total_pct: f.total_samples as f64 * 100.0 / total,
        })
        .collect()
}

/// A frame whose self share changed between two profiles of a query.
#[derive(Debug, Clone, PartialEq)]
pub struct Suspect {
    pub frame: String,
    pub base_pct: f64,
    pub new_pct: f64,
}

/// The frames whose self share grew most from `base` to `new`, largest growth first (at most
/// `n`, only those that grew).
pub fn suspects(base: &QueryProfile, new: &QueryProfile, n: usize) -> Vec<Suspect> {
    let mut out: Vec<Suspect> = new
        .hottest
        .iter()
        .map(|h| Suspect {
            frame: h.frame.clone(),
            base_pct: base.self_pct(&h.frame),
            new_pct: h.self_pct,
        })
        .filter(|s| s.new_pct > s.base_pct)
        .collect();
    out.sort_by(|a, b| {
        (b.new_pct - b.base_pct)
            .total_cmp(&(a.new_pct - a.base_pct))
            .then(a.frame.cmp(&b.frame))
    });
    out.truncate(n);
    out
}

/// A file name for `query` (and `process`) safe on every file system.
fn file_stem(query: &str, process: Option<&str>) -> String {
    let clean = |s: &str| {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect::<String>()
    };
    match process {
        None => clean(query),
        Some(p) => format!("{}.{}", clean(query), clean(p)),
    }
}

/// An open profiling window.
enum Window {
    Here(profile::Sampler),
    /// (executor id, health address)
    Executors(Vec<(String, String)>),
}

const EXECUTOR_TIMEOUT: Duration = Duration::from_secs(60);

async fn executor_call(addr: &str, path: &str) -> Result<String> {
    executor_call_cpu(addr, path).await.map(|(body, _)| body)
}

/// [`executor_call`], with the CPU time the executor reports (`/profile/stop`'s
/// [`profile::CPU_HEADER`]), zero when it reports none.
async fn executor_call_cpu(addr: &str, path: &str) -> Result<(String, Duration)> {
    let (status, body, headers) = crate::ballista_cluster::rest::request_with_headers(
        reqwest::Method::POST,
        "executor",
        addr,
        path,
        EXECUTOR_TIMEOUT,
    )
    .await?;
    if status == 200 {
        let cpu = headers
            .get(profile::CPU_HEADER)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            .map_or(Duration::ZERO, Duration::from_micros);
        Ok((body, cpu))
    } else {
        Err(Error::Engine(format!(
            "executor {addr}{path} answered HTTP {status}: {}",
            body.lines().next().unwrap_or("")
        )))
    }
}

async fn open(targets: &ProfileTargets, hz: u32) -> Result<Window> {
    match targets {
        ProfileTargets::ThisProcess => profile::start(hz).map(Window::Here).map_err(Error::Engine),
        ProfileTargets::Executors(list) if list.is_empty() => Err(Error::Engine(
            "no executor profiling address is known".into(),
        )),
        ProfileTargets::Executors(list) => {
            let start = format!("/profile/start?hz={hz}");
            for (i, (_, addr)) in list.iter().enumerate() {
                let mut r = executor_call(addr, &start).await;
                if r.as_ref()
                    .is_err_and(|e| e.to_string().contains("HTTP 409"))
                {
                    // A window an earlier runner left open: close it and start afresh.
                    let _ = executor_call(addr, "/profile/stop").await;
                    r = executor_call(addr, &start).await;
                }
                if let Err(e) = r {
                    for (_, opened) in &list[..i] {
                        let _ = executor_call(opened, "/profile/stop").await;
                    }
                    return Err(e);
                }
            }
            Ok(Window::Executors(list.clone()))
        }
        ProfileTargets::Unavailable(why) => Err(Error::Engine(why.clone())),
    }
}

/// Closes the window: each process's profile (every executor's window is closed even when one
/// fails; the first failure is returned).
async fn close(window: Window) -> Result<Vec<(String, Profile)>> {
    match window {
        Window::Here(sampler) => {
            let p = tokio::task::spawn_blocking(move || sampler.finish())
                .await
                .map_err(|e| Error::Engine(e.to_string()))?
                .map_err(Error::Engine)?;
            Ok(vec![("bench-runner".into(), p)])
        }
        Window::Executors(list) => {
            let mut out = Vec::new();
            let mut first_error = None;
            for (id, addr) in list {
                match executor_call_cpu(&addr, "/profile/stop")
                    .await
                    .and_then(|(text, cpu)| {
                        let mut p = Profile::parse_folded(&text)
                            .map_err(|e| Error::Engine(format!("executor {id}'s profile: {e}")))?;
                        p.cpu = cpu;
                        Ok(p)
                    }) {
                    Ok(p) => out.push((id, p)),
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            match first_error {
                Some(e) => Err(e),
                None => Ok(out),
            }
        }
    }
}

/// Profiles `sql` on `engine`: opens the window, runs it, closes the window, writes the files
/// under `opts.dir/<engine>/`. A failure is recorded in the returned profile, never an error:
/// the query's measurement stands without it.
pub async fn profile_query(
    engine: &dyn Engine,
    query: &str,
    sql: &str,
    measured_median_us: Option<f64>,
    timeout: Option<Duration>,
    opts: &ProfileOptions,
) -> QueryProfile {
    let hz = opts.frequency_hz;
    let window = match open(&engine.profile_targets(), hz).await {
        Ok(w) => w,
        Err(e) => return QueryProfile::failed(hz, vec![], format!("opening the window: {e}")),
    };
    let mut runs_us = Vec::new();
    let mut run_error = None;
    let mut spent = 0.0;
    while runs_us.is_empty() || (spent < opts.seconds && runs_us.len() < MAX_RUNS) {
        match crate::engine::timed_run(engine, sql, timeout).await {
            Ok((answer, us)) => {
                drop(answer);
                runs_us.push(us);
                spent += us as f64 / 1e6;
            }
            Err(e) => {
                run_error = Some(format!("profiled run {}: {e}", runs_us.len() + 1));
                break;
            }
        }
        let _ = engine.take_job();
        engine.forget_last_run();
    }
    let closed = close(window).await;
    if let Some(e) = run_error {
        return QueryProfile::failed(hz, runs_us, e);
    }
    let processes = match closed {
        Ok(p) => p,
        Err(e) => return QueryProfile::failed(hz, runs_us, format!("closing the window: {e}")),
    };
    match write_files(engine.name(), query, &processes, opts) {
        Ok(files) => {
            let mut all = Profile::default();
            for (_, p) in &processes {
                all.merge(p);
            }
            QueryProfile {
                frequency_hz: hz,
                overhead_pct: measured_median_us
                    .filter(|m| *m > 0.0)
                    .map(|m| (median(&runs_us) / m - 1.0) * 100.0),
                runs_us,
                processes: files,
                hottest: hottest(&all, HOT_FRAMES),
                error: None,
            }
        }
        Err(e) => QueryProfile::failed(hz, runs_us, e.to_string()),
    }
}

/// Writes each process's folded stacks and flamegraph (temporary names, then rename).
fn write_files(
    engine: &str,
    query: &str,
    processes: &[(String, Profile)],
    opts: &ProfileOptions,
) -> Result<Vec<ProcessProfile>> {
    let dir = opts.dir.join(engine);
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let several = processes.len() > 1 || processes.iter().any(|(p, _)| p != "bench-runner");
    let mut out = Vec::new();
    for (process, p) in processes {
        let stem = file_stem(query, several.then_some(process.as_str()));
        let put = |name: &str, bytes: &[u8]| -> Result<String> {
            logbench_common::atomic::write_atomically(&dir.join(name), bytes)
                .map_err(|e| Error::Results(e.to_string()))?;
            Ok(format!("{}/{engine}/{name}", opts.link))
        };
        let folded = put(&format!("{stem}.folded"), p.folded().as_bytes())?;
        let samples = p.samples();
        let flamegraph = if samples == 0 {
            None
        } else {
            let title = format!("{query} on {engine} ({process}): {samples} samples");
            let svg = p.flamegraph_svg(&title).map_err(Error::Results)?;
            Some(put(&format!("{stem}.svg"), &svg)?)
        };
        out.push(ProcessProfile {
            process: process.clone(),
            samples,
            folded,
            flamegraph,
            cpu_ms: (!p.cpu.is_zero()).then_some(p.cpu.as_secs_f64() * 1000.0),
        });
    }
    Ok(out)
}

/// `<dir>/<stem>.profiles` for the result file `out`, and its name as the result records it.
pub fn dir_for(out: &Path) -> (PathBuf, String) {
    let stem = out
        .file_stem()
        .map_or("run".into(), |s| s.to_string_lossy().into_owned());
    let name = format!("{stem}.profiles");
    (out.with_file_name(&name), name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prof(frames: &[(&str, f64)]) -> QueryProfile {
        QueryProfile {
            frequency_hz: 499,
            runs_us: vec![1],
            overhead_pct: None,
            processes: vec![],
            hottest: frames
                .iter()
                .map(|(f, p)| HotFrame {
                    frame: f.to_string(),
                    self_pct: *p,
                    total_pct: *p,
                })
                .collect(),
            error: None,
        }
    }

    #[test]
    fn suspects_are_the_frames_that_grew_most() {
        let base = prof(&[("a", 40.0), ("b", 30.0), ("c", 5.0)]);
        let new = prof(&[("a", 20.0), ("c", 35.0), ("d", 12.0), ("b", 31.0)]);
        let s = suspects(&base, &new, 2);
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].frame.as_str(), s[0].base_pct, s[0].new_pct),
            ("c", 5.0, 35.0)
        );
        assert_eq!((s[1].frame.as_str(), s[1].base_pct), ("d", 0.0));
        assert!(suspects(&new, &new, 5).is_empty(), "nothing grew");
    }

    #[test]
    fn hottest_frames_are_shares_of_all_samples() {
        let p = Profile::parse_folded("t;main;f 3\nt;main;g 1\n").unwrap();
        let h = hottest(&p, 2);
        assert_eq!(h[0].frame, "f");
        assert_eq!((h[0].self_pct, h[0].total_pct), (75.0, 75.0));
        assert_eq!(h[1].frame, "g");
        assert_eq!(h.len(), 2);
    }

    #[test]
    fn names_and_directories() {
        assert_eq!(file_stem("agg/x y", Some("exec-1")), "agg_x_y.exec-1");
        let (dir, link) = dir_for(Path::new("results/local/run-1.json"));
        assert_eq!(dir, Path::new("results/local/run-1.profiles"));
        assert_eq!(link, "run-1.profiles");
    }
}
