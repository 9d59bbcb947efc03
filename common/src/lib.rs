//! Helpers that every logbench program needs and none of them owns, each in a module named
//! for what it does: the programs' heap [`alloc`]ator, [`atomic`] file writes, [`time`]
//! stamps, [`bytes`] sizes, [`cli`] errors, the [`mix`] function behind the generator's and
//! the bootstrap's randomness, [`process`] CPU time and peak memory, and [`profile`]: CPU
//! profiles of the running process as folded stacks and flamegraphs.
//!
//! This crate depends on nothing heavier than clap, chrono, pprof and mimalloc, so data-gen,
//! the runner and the cluster programs can all use it without pulling each other's
//! dependencies in.

pub mod alloc;
pub mod atomic;
pub mod bytes;
pub mod cli;
pub mod mix;
pub mod process;
pub mod profile;
pub mod time;
