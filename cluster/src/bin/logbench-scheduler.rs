//! `logbench-scheduler`: see [`logbench_cluster::scheduler`].

use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: logbench_common::alloc::Switchable = logbench_common::alloc::Switchable;

use logbench_cluster::scheduler::{SchedulerArgs, run};

fn main() -> ExitCode {
    logbench_cluster::program_main::<SchedulerArgs, _, _>("logbench-scheduler", run)
}
