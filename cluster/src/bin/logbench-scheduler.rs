//! `logbench-scheduler`: see [`logbench_cluster::scheduler`].

use std::process::ExitCode;

use logbench_cluster::scheduler::{SchedulerArgs, run};

fn main() -> ExitCode {
    logbench_cluster::program_main::<SchedulerArgs, _, _>("logbench-scheduler", run)
}
