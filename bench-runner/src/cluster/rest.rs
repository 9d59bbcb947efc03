//! The scheduler's REST API, read with a small HTTP/1.1 client over loopback TCP (every call
//! bounded by a timeout, so an unreachable scheduler is an error, never a hang).

use std::time::Duration;

use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::{Error, Result};

/// `GET http://{addr}{path}`: the status code and body.
pub async fn get(addr: &str, path: &str, timeout: Duration) -> Result<(u16, String)> {
    let work = async {
        let mut stream = TcpStream::connect(addr)
            .await
            .map_err(|e| Error::Engine(format!("scheduler {addr} unreachable: {e}")))?;
        let request = format!(
            "GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\naccept: */*\r\n\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| Error::Engine(format!("scheduler {addr}: {e}")))?;
        let mut raw = Vec::new();
        stream
            .read_to_end(&mut raw)
            .await
            .map_err(|e| Error::Engine(format!("scheduler {addr}: {e}")))?;
        parse_response(&raw).map_err(|e| Error::Engine(format!("scheduler {addr}{path}: {e}")))
    };
    tokio::time::timeout(timeout, work).await.map_err(|_| {
        Error::Engine(format!(
            "scheduler {addr} did not answer {path} within {:.0} s",
            timeout.as_secs_f64()
        ))
    })?
}

fn parse_response(raw: &[u8]) -> std::result::Result<(u16, String), String> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no HTTP header in the answer")?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let body = &raw[split + 4..];
    let status = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or("no HTTP status line")?;
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_vec()
    };
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

fn dechunk(mut body: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("truncated chunked body")?;
        let size_text = String::from_utf8_lossy(&body[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| format!("bad chunk size '{size_text}'"))?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if body.len() < size + 2 {
            return Err("truncated chunk".into());
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_chunked_bodies() {
        let plain = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n[]";
        assert_eq!(parse_response(plain).unwrap(), (200, "[]".to_string()));
        let chunked =
            b"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        assert_eq!(parse_response(chunked).unwrap(), (503, "abcde".to_string()));
        assert!(parse_response(b"garbage").is_err());
        assert!(
            parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab")
                .is_err()
        );
    }
}
