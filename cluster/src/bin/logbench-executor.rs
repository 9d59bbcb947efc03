//! `logbench-executor`: see [`logbench_cluster::executor`].

use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: logbench_common::alloc::Switchable = logbench_common::alloc::Switchable;

use logbench_cluster::executor::{ExecutorArgs, run};

fn main() -> ExitCode {
    logbench_cluster::program_main::<ExecutorArgs, _, _>("logbench-executor", run)
}
