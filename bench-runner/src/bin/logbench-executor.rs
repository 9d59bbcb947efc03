//! `logbench-executor`: see [`bench_runner::cluster::executor`].

use std::process::ExitCode;

use bench_runner::cluster::executor::{ExecutorArgs, run};

fn main() -> ExitCode {
    let args: ExecutorArgs = match data_gen::cli::parse_args("logbench-executor") {
        Ok(a) => a,
        Err(code) => return code,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(32 << 20)
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("logbench-executor: error: {e}");
            ExitCode::FAILURE
        }
    }
}
