//! The runner's side of a Ballista cluster: which cluster a run uses ([`connect`]: one named by
//! address, the one `cluster up` left running, or one started for the run), a local cluster of
//! our programs as separate processes ([`local`]), and the scheduler's REST API ([`rest`]) and
//! per-job event logs ([`events`]) that show where the work ran. The programs themselves are
//! the `logbench-cluster` crate; this crate never links the Ballista server crates.

pub mod connect;
pub mod events;
pub mod local;
pub mod rest;

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
