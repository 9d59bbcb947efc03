//! logbench's data generator: a synthetic web/API access log, written as Parquet.
//!
//! Layers, from pure to effectful:
//! - [`rng`], [`distributions`], [`traffic`], [`model`]: values from random bits, no IO;
//! - [`batch`]: any row range of a dataset as an Arrow `RecordBatch`;
//! - [`layout`], [`encoding`]: how rows map to files and row groups, and how columns are encoded;
//! - [`pipeline`], [`sink`]: parallel encoding, ordered atomic writes;
//! - [`manifest`], [`generate`]: the dataset's description and the front that runs it all.
//!
//! Every row is a pure function of `(seed, total rows, row index)`, so output is identical for
//! any thread count and any single file can be regenerated alone.

pub mod batch;
pub mod distributions;
pub mod encoding;
pub mod error;
pub mod generate;
pub mod layout;
pub mod manifest;
pub mod model;
pub mod pipeline;
pub mod rng;
pub mod schema;
pub mod sink;
pub mod traffic;

pub use batch::BatchGenerator;
pub use encoding::{Codec, ParquetSettings};
pub use error::{Error, Result};
pub use generate::{DEFAULT_SEED, Request, Summary, generate, generate_single_file, reusable};
pub use layout::Layout;
pub use manifest::Manifest;
