//! `logbench-scheduler`: see [`bench_runner::cluster::scheduler`].

use std::process::ExitCode;

use bench_runner::cluster::scheduler::{SchedulerArgs, run};

fn main() -> ExitCode {
    let args: SchedulerArgs = match data_gen::cli::parse_args("logbench-scheduler") {
        Ok(a) => a,
        Err(code) => return code,
    };
    // Ballista plans deep expression trees recursively; its own binary uses 32 MiB stacks.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(32 << 20)
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("logbench-scheduler: error: {e}");
            ExitCode::FAILURE
        }
    }
}
