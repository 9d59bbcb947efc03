//! logbench's runner: measures SQL workloads on DataFusion (and Ballista), records results.
//!
//! Stages joined by the result file: [`workload`] (what to run), [`engine`] (where),
//! [`run`] and [`runner`] (measuring: [`histogram`], [`digest`], [`resources`], [`plans`]),
//! [`results`] (the file format), with [`dataset`] checks and the [`environment`] captured
//! alongside. Judging and presenting read result files only: [`compare`], [`gate`] (BASE and
//! NEW builds measured interleaved), [`calibrate`], [`report`], and [`summary`] / [`table`] for
//! the terminal. [`cluster`] is the runner's side of a Ballista cluster; the scheduler and
//! executor programs are the `logbench-cluster` crate.

pub mod ballista_cluster;
pub mod calibrate;
pub mod callgrind;
pub mod compare;
pub mod dataset;
pub mod digest;
pub mod engine;
pub mod environment;
pub mod error;
pub mod gate;
pub mod histogram;
pub mod interrupt;
pub mod load;
pub mod measurement;
pub mod memory;
pub mod overhead;
pub mod plans;
pub mod profile;
pub mod progress;
pub mod report;
pub mod resources;
pub mod results;
pub mod run;
pub mod sampling;
pub mod summary;
pub mod table;
pub mod workload;

pub use error::{Error, Result};
/// Where datasets live and the object-store registry, shared with the cluster programs.
pub use logbench_store as store;
