//! The scheduler's REST API over HTTP (reqwest, already in the tree through object_store).
//! Every call is bounded by a timeout, so an unreachable scheduler is an error, never a hang.

use std::sync::OnceLock;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One client for the process (its connection pool is reused); no proxy, since the scheduler
/// is reached directly, whatever `HTTP_PROXY` says.
fn client() -> Result<&'static reqwest::Client> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(c) = CLIENT.get() {
        return Ok(c);
    }
    let c = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| Error::Engine(format!("HTTP client: {}", root_cause(&e))))?;
    Ok(CLIENT.get_or_init(|| c))
}

/// The innermost error's text: reqwest's own message only names the URL.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut e = e;
    while let Some(next) = e.source() {
        e = next;
    }
    e.to_string()
}

/// `GET http://{addr}{path}` on the scheduler: the status code and body.
pub async fn get(addr: &str, path: &str, timeout: Duration) -> Result<(u16, String)> {
    request(reqwest::Method::GET, "scheduler", addr, path, timeout).await
}

/// `METHOD http://{addr}{path}` on the server `who` names in errors: the status code and
/// body, within `timeout`.
pub async fn request(
    method: reqwest::Method,
    who: &str,
    addr: &str,
    path: &str,
    timeout: Duration,
) -> Result<(u16, String)> {
    let (status, body, _) = request_with_headers(method, who, addr, path, timeout).await?;
    Ok((status, body))
}

/// [`request`], with the response's headers.
pub async fn request_with_headers(
    method: reqwest::Method,
    who: &str,
    addr: &str,
    path: &str,
    timeout: Duration,
) -> Result<(u16, String, reqwest::header::HeaderMap)> {
    let late = || {
        Error::Engine(format!(
            "{who} {addr} did not answer {path} within {:.0} s",
            timeout.as_secs_f64()
        ))
    };
    let failed = |e: reqwest::Error| {
        if e.is_timeout() {
            late()
        } else if e.is_connect() {
            Error::Engine(format!("{who} {addr} unreachable: {}", root_cause(&e)))
        } else {
            Error::Engine(format!("{who} {addr}{path}: {}", root_cause(&e)))
        }
    };
    let work = async {
        let response = client()?
            .request(method, format!("http://{addr}{path}"))
            .timeout(timeout)
            .send()
            .await
            .map_err(failed)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.map_err(failed)?;
        Ok((status, body, headers))
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| late())?
}

/// One job, as `GET /api/jobs` and `GET /api/job/{id}` show it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Job {
    pub job_id: String,
    /// `Queued`, `Running`, `Completed`, `Failed` or `Invalid`.
    pub status: String,
    /// The status with its detail (a failure's or cancellation's reason).
    #[serde(default)]
    pub job_status: String,
    /// Milliseconds since the Unix epoch.
    #[serde(default)]
    pub start_time: u64,
    /// When it ended, milliseconds since the Unix epoch; 0 while it runs.
    #[serde(default)]
    pub end_time: u64,
    /// Stages planned so far (the adaptive planner adds the next as the last finishes), and
    /// how many of them completed.
    #[serde(default)]
    pub num_stages: u64,
    #[serde(default)]
    pub completed_stages: u64,
}

impl Job {
    /// Queued or running: holding, or waiting for, the executors' task slots.
    pub fn active(&self) -> bool {
        matches!(self.status.as_str(), "Queued" | "Running")
    }
}

/// Every job the scheduler knows.
pub async fn jobs(addr: &str, timeout: Duration) -> Result<Vec<Job>> {
    let (status, body) = get(addr, "/api/jobs", timeout).await?;
    if status != 200 {
        return Err(Error::Engine(format!(
            "scheduler {addr}/api/jobs: HTTP {status} {body}"
        )));
    }
    serde_json::from_str(&body)
        .map_err(|e| Error::Engine(format!("scheduler {addr}/api/jobs: {e}: {body}")))
}

/// One job, `None` when the scheduler does not know it.
pub async fn job(addr: &str, job_id: &str, timeout: Duration) -> Result<Option<Job>> {
    let path = format!("/api/job/{job_id}");
    match get(addr, &path, timeout).await? {
        (404, _) => Ok(None),
        (200, body) => serde_json::from_str(&body)
            .map(Some)
            .map_err(|e| Error::Engine(format!("scheduler {addr}{path}: {e}: {body}"))),
        (status, body) => Err(Error::Engine(format!(
            "scheduler {addr}{path}: HTTP {status} {body}"
        ))),
    }
}

/// Cancels `job_id` (`PATCH /api/job/{id}`) and waits until the scheduler lists it as ended,
/// at most `wait`. A job that had already ended is not an error.
pub async fn cancel_job(addr: &str, job_id: &str, timeout: Duration, wait: Duration) -> Result<()> {
    let path = format!("/api/job/{job_id}");
    let (status, body) = request(reqwest::Method::PATCH, "scheduler", addr, &path, timeout).await?;
    // 409: already ended (completed or failed); 404: never made (a dropped submission).
    if !matches!(status, 200 | 404 | 409) {
        return Err(Error::Engine(format!(
            "cancelling job {job_id}: HTTP {status} {body}"
        )));
    }
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match job(addr, job_id, timeout).await? {
            Some(j) if j.active() => {}
            _ => return Ok(()),
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::Engine(format!(
                "job {job_id} still listed as active {:.0} s after it was cancelled",
                wait.as_secs_f64()
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Cancels every job still queued or running, of those submitted at or after `since_ms` (ms
/// since the Unix epoch; a queued job with no start time yet counts) where given, each waited
/// for as [`cancel_job`] does, oldest first; their ids.
pub async fn cancel_active(
    addr: &str,
    since_ms: Option<u64>,
    timeout: Duration,
    wait: Duration,
) -> Result<Vec<String>> {
    let mut all = jobs(addr, timeout).await?;
    all.sort_by(|a, b| (a.start_time, &a.job_id).cmp(&(b.start_time, &b.job_id)));
    let mut cancelled = Vec::new();
    for j in all {
        let recent = since_ms.is_none_or(|s| j.start_time == 0 || j.start_time >= s);
        if j.active() && recent {
            cancel_job(addr, &j.job_id, timeout, wait).await?;
            cancelled.push(j.job_id);
        }
    }
    Ok(cancelled)
}

/// One registered executor, as `GET /api/executors` lists it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Executor {
    pub id: String,
    pub host: String,
    pub port: u16,
    /// Last heartbeat, milliseconds since the Unix epoch.
    pub last_seen: Option<u64>,
}

/// The executors the scheduler currently counts as alive.
pub async fn executors(addr: &str, timeout: Duration) -> Result<Vec<Executor>> {
    let (status, body) = get(addr, "/api/executors", timeout).await?;
    if status != 200 {
        return Err(Error::Engine(format!(
            "scheduler {addr}/api/executors answered HTTP {status}: {body}"
        )));
    }
    serde_json::from_str(&body).map_err(|e| {
        Error::Engine(format!(
            "scheduler {addr}/api/executors: unexpected answer ({e})"
        ))
    })
}

/// Polls `GET /api/executors` until at least `n` executors are registered, and returns them.
/// A scheduler that answers with fewer is waited for until `timeout`; one that cannot be reached
/// or does not answer is an error at once, unless `retry_unreachable` (a scheduler that may
/// still be starting: then it too is retried until `timeout`, and the last error is reported).
pub async fn wait_for_executors(
    addr: &str,
    n: usize,
    timeout: Duration,
    retry_unreachable: bool,
) -> Result<Vec<Executor>> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let last = match executors(
            addr,
            left.clamp(Duration::from_millis(100), Duration::from_secs(5)),
        )
        .await
        {
            Ok(found) if found.len() >= n => return Ok(found),
            Ok(found) => format!("{} of {n} executors registered", found.len()),
            Err(e) if !retry_unreachable => return Err(e),
            Err(e) => e.to_string(),
        };
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::Engine(format!(
                "scheduler {addr}: not {n} executors within {} s ({last})",
                timeout.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// One line per executor: id, address, seconds since its last heartbeat.
pub fn executors_table(found: &[Executor]) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut out = format!("{} executors registered\n", found.len());
    for e in found {
        let seen = e.last_seen.map_or("never".to_string(), |ms| {
            format!("{:.1} s ago", now.saturating_sub(ms) as f64 / 1000.0)
        });
        out.push_str(&format!(
            "  {:<24} {}:{:<6} last heartbeat {seen}\n",
            e.id, e.host, e.port
        ));
    }
    out
}
