//! A real Ballista cluster: our scheduler and executor programs ([`scheduler`], [`executor`]),
//! a local cluster of them as separate processes ([`local`]), and the scheduler's REST API
//! ([`rest`]) and per-job event logs ([`events`]) that show where the work ran.

pub mod events;
pub mod executor;
pub mod local;
pub mod rest;
pub mod scheduler;

/// Logs to stderr (the cluster's log files) at `level`, or at `RUST_LOG` when it is set.
/// Ballista logs through the `log` crate; the subscriber bridges it.
pub fn init_logging(level: &str) {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| level.to_string());
    let _ = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .try_init();
}

/// `host:port` split, with a message naming the flag on failure.
pub fn split_host_port(flag: &str, value: &str) -> Result<(String, u16), String> {
    let value = value
        .trim_start_matches("df://")
        .trim_start_matches("http://");
    let (host, port) = value
        .rsplit_once(':')
        .ok_or_else(|| format!("{flag} '{value}' is not host:port"))?;
    let port = port
        .trim_end_matches('/')
        .parse::<u16>()
        .map_err(|_| format!("{flag} '{value}': '{port}' is not a port number"))?;
    if host.is_empty() {
        return Err(format!("{flag} '{value}' has no host"));
    }
    Ok((host.to_string(), port))
}
