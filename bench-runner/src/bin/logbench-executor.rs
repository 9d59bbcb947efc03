//! `logbench-executor`: see [`bench_runner::cluster::executor`].

use std::process::ExitCode;

use bench_runner::cluster::executor::{ExecutorArgs, run};

fn main() -> ExitCode {
    bench_runner::cluster::program_main::<ExecutorArgs, _, _>("logbench-executor", run)
}
