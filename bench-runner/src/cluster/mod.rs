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

/// The `main` of a cluster program: parse `A` (one-line errors, exit 2), run `run` on a
/// multi-threaded runtime with 32 MiB stacks (Ballista plans deep expression trees
/// recursively; its own binaries do the same), exit 1 with one line on failure.
pub fn program_main<A, F, Fut>(tool: &str, run: F) -> std::process::ExitCode
where
    A: clap::Parser,
    F: FnOnce(A) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let args: A = match data_gen::cli::parse_args(tool) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(32 << 20)
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{tool}: error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
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
