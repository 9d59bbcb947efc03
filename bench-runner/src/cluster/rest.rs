//! The scheduler's REST API over HTTP (reqwest, already in the tree through object_store).
//! Every call is bounded by a timeout, so an unreachable scheduler is an error, never a hang.

use std::sync::OnceLock;
use std::time::Duration;

use serde::Deserialize;

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

/// `GET http://{addr}{path}`: the status code and body.
pub async fn get(addr: &str, path: &str, timeout: Duration) -> Result<(u16, String)> {
    let late = || {
        Error::Engine(format!(
            "scheduler {addr} did not answer {path} within {:.0} s",
            timeout.as_secs_f64()
        ))
    };
    let failed = |e: reqwest::Error| {
        if e.is_timeout() {
            late()
        } else if e.is_connect() {
            Error::Engine(format!("scheduler {addr} unreachable: {}", root_cause(&e)))
        } else {
            Error::Engine(format!("scheduler {addr}{path}: {}", root_cause(&e)))
        }
    };
    let work = async {
        let response = client()?
            .get(format!("http://{addr}{path}"))
            .timeout(timeout)
            .send()
            .await
            .map_err(failed)?;
        let status = response.status().as_u16();
        let body = response.text().await.map_err(failed)?;
        Ok((status, body))
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| late())?
}

/// One registered executor, as `GET /api/executors` lists it.
#[derive(Debug, Clone, Deserialize)]
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
