//! `logbench-scheduler`: see [`bench_runner::cluster::scheduler`].

use std::process::ExitCode;

use bench_runner::cluster::scheduler::{SchedulerArgs, run};

fn main() -> ExitCode {
    bench_runner::cluster::program_main::<SchedulerArgs, _, _>("logbench-scheduler", run)
}
