//! logbench's runner: measures SQL workloads on DataFusion (and Ballista), records results.
//!
//! Stages joined by the result file: [`workload`] (what to run), [`engine`] (where),
//! [`runner`] (measuring: [`histogram`], [`digest`], [`resources`], [`plans`]), [`results`]
//! (the file format), with [`dataset`] checks and the [`environment`] captured alongside.

pub mod calibrate;
pub mod cluster;
pub mod compare;
pub mod dataset;
pub mod digest;
pub mod engine;
pub mod environment;
pub mod error;
pub mod gate;
pub mod histogram;
pub mod memory;
pub mod overhead;
pub mod plans;
pub mod progress;
pub mod report;
pub mod resources;
pub mod results;
pub mod runner;
pub mod store;
pub mod workload;

pub use error::{Error, Result};
