//! Parquet settings: compression, row groups, and an encoding chosen per column.
//!
//! Encoding choices dominate write speed (docs/data.md's measurements): dictionary encoding is
//! kept for the low-cardinality columns where it shrinks data, and switched off for random
//! numerics where it only burns time building a dictionary that overflows; the monotonic
//! timestamp uses delta encoding, which turns it into a few bits per row.

use std::sync::Arc;

use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::metadata::SortingColumn;
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::schema::types::ColumnPath;
use serde::{Deserialize, Serialize};

use crate::schema;

/// Compression codec, as named on the command line and in the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    Zstd,
    Snappy,
    Lz4,
    None,
}

impl Codec {
    fn parquet(self) -> Compression {
        match self {
            // Level 1: the fastest zstd level, still well ahead of snappy in size.
            Codec::Zstd => Compression::ZSTD(ZstdLevel::default()),
            Codec::Snappy => Compression::SNAPPY,
            Codec::Lz4 => Compression::LZ4_RAW,
            Codec::None => Compression::UNCOMPRESSED,
        }
    }

    /// Output bytes per row, measured at 20M rows (13.5, 16.0, 15.8, 21.9) and rounded up; the
    /// disk check adds its own margin on top.
    pub fn estimated_bytes_per_row(self) -> f64 {
        match self {
            Codec::Zstd => 14.0,
            Codec::Snappy => 17.0,
            Codec::Lz4 => 17.0,
            Codec::None => 23.0,
        }
    }
}

/// How one column is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnEncoding {
    pub column: String,
    /// Value encoding, or `RLE_DICTIONARY` where a dictionary is used.
    pub encoding: String,
    pub dictionary: bool,
    /// `page` (with column and offset index), `chunk` (row-group min/max only) or `none`.
    pub statistics: String,
}

/// Everything about the Parquet files that is not the data itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParquetSettings {
    pub compression: Codec,
    pub row_group_rows: u64,
    /// Rows per generated Arrow batch (affects speed, never content).
    pub batch_rows: usize,
    pub data_page_size_limit: usize,
    pub writer_version: String,
    pub sorted_by: Vec<String>,
    pub columns: Vec<ColumnEncoding>,
}

/// Row groups of 1,048,576 rows: see docs/data.md for the measurement behind the choice.
pub const DEFAULT_ROW_GROUP_ROWS: u64 = 1 << 20;
pub const DEFAULT_BATCH_ROWS: usize = 8192;
const DATA_PAGE_SIZE: usize = 1 << 20;

/// How statistics are kept for a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stats {
    /// Row-group and page min/max with column and offset index: for columns that prune.
    Page,
    /// Row-group min/max only.
    Chunk,
    /// None: min/max of a low-cardinality string column never prunes (every row group holds
    /// every value) and computing it costs about 10 ns per row and column.
    Off,
}

/// Per column: (name, dictionary?, encoding when not dictionary, statistics).
///
/// Measured per column with zstd (docs/data.md): DELTA_BINARY_PACKED encodes the random integers
/// about 3x faster than PLAIN at the same size; doubles stay PLAIN (byte-stream-split was
/// faster but nearly twice the size).
fn column_plan() -> [(&'static str, bool, Encoding, Stats); 8] {
    [
        (
            schema::TS,
            false,
            Encoding::DELTA_BINARY_PACKED,
            Stats::Page,
        ),
        (
            schema::USER_ID,
            false,
            Encoding::DELTA_BINARY_PACKED,
            Stats::Chunk,
        ),
        (schema::METHOD, true, Encoding::PLAIN, Stats::Off),
        (schema::ENDPOINT, true, Encoding::PLAIN, Stats::Off),
        (schema::STATUS_CODE, false, Encoding::PLAIN, Stats::Chunk),
        (schema::LATENCY_MS, false, Encoding::PLAIN, Stats::Chunk),
        (
            schema::BYTES_SENT,
            false,
            Encoding::DELTA_BINARY_PACKED,
            Stats::Chunk,
        ),
        (schema::REGION, true, Encoding::PLAIN, Stats::Off),
    ]
}

impl ParquetSettings {
    pub fn new(compression: Codec, row_group_rows: u64, batch_rows: usize) -> Self {
        let columns = column_plan()
            .iter()
            .map(|(name, dict, enc, stats)| ColumnEncoding {
                column: name.to_string(),
                encoding: if *dict {
                    Encoding::RLE_DICTIONARY.to_string()
                } else {
                    enc.to_string()
                },
                dictionary: *dict,
                statistics: match stats {
                    Stats::Page => "page",
                    Stats::Chunk => "chunk",
                    Stats::Off => "none",
                }
                .to_string(),
            })
            .collect();
        Self {
            compression,
            row_group_rows,
            batch_rows,
            data_page_size_limit: DATA_PAGE_SIZE,
            writer_version: "1.0".into(),
            sorted_by: vec![schema::TS.to_string()],
            columns,
        }
    }

    pub fn writer_properties(&self) -> Arc<WriterProperties> {
        let mut b = WriterProperties::builder()
            .set_writer_version(WriterVersion::PARQUET_1_0)
            .set_compression(self.compression.parquet())
            .set_max_row_group_row_count(Some(self.row_group_rows as usize))
            .set_data_page_size_limit(self.data_page_size_limit)
            .set_write_batch_size(self.batch_rows.min(8192))
            .set_sorting_columns(Some(vec![SortingColumn {
                column_idx: 0,
                descending: false,
                nulls_first: false,
            }]))
            .set_created_by(format!(
                "logbench data-gen {} (parquet-rs)",
                env!("CARGO_PKG_VERSION")
            ));
        for (name, dict, enc, stats) in column_plan() {
            let path = ColumnPath::from(name);
            let stats = match stats {
                Stats::Page => EnabledStatistics::Page,
                Stats::Chunk => EnabledStatistics::Chunk,
                Stats::Off => EnabledStatistics::None,
            };
            b = b
                .set_column_dictionary_enabled(path.clone(), dict)
                .set_column_statistics_enabled(path.clone(), stats);
            if !dict {
                b = b.set_column_encoding(path, enc);
            }
        }
        Arc::new(b.build())
    }
}
