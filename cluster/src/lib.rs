//! The Ballista cluster programs: `logbench-scheduler` ([`scheduler`]) and `logbench-executor`
//! ([`executor`]), one process each. This is the only crate that links `ballista-scheduler` and
//! `ballista-executor`; the runner starts these programs (from beside its own binary) and talks
//! to them over the network only.

pub mod executor;
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
    let args: A = match logbench_common::cli::parse_args(tool) {
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
