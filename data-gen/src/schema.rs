//! The dataset contract: column names, Arrow types and the time window.
//!
//! The runner, the workload's SQL and users' own queries rely on these names and types; change
//! them only together with the manifest's `generator_version`.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

pub const TS: &str = "ts";
pub const USER_ID: &str = "user_id";
pub const METHOD: &str = "method";
pub const ENDPOINT: &str = "endpoint";
pub const STATUS_CODE: &str = "status_code";
pub const LATENCY_MS: &str = "latency_ms";
pub const BYTES_SENT: &str = "bytes_sent";
pub const REGION: &str = "region";

/// Column order in every file.
pub const COLUMNS: [&str; 8] = [
    TS,
    USER_ID,
    METHOD,
    ENDPOINT,
    STATUS_CODE,
    LATENCY_MS,
    BYTES_SENT,
    REGION,
];

/// 2026-01-01T00:00:00Z in microseconds since the Unix epoch.
pub const WINDOW_START_US: i64 = 1_767_225_600_000_000;
/// The generated window: 30 days.
pub const WINDOW_DAYS: i64 = 30;
pub const DAY_US: i64 = 86_400_000_000;
pub const WINDOW_END_US: i64 = WINDOW_START_US + WINDOW_DAYS * DAY_US;

/// Number of distinct user ids: `user_id` lies in `1 ..= USERS`.
pub const USERS: u64 = 10_000_000;

/// The timestamp type of `ts`.
pub fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// The Arrow schema of every file. No column is nullable.
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new(TS, ts_type(), false),
        Field::new(USER_ID, DataType::Int64, false),
        Field::new(METHOD, DataType::Utf8, false),
        Field::new(ENDPOINT, DataType::Utf8, false),
        Field::new(STATUS_CODE, DataType::Int16, false),
        Field::new(LATENCY_MS, DataType::Float64, false),
        Field::new(BYTES_SENT, DataType::Int64, false),
        Field::new(REGION, DataType::Utf8, false),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_matches_the_contract() {
        let s = schema();
        let got: Vec<(&str, String, bool)> = s
            .fields()
            .iter()
            .map(|f| {
                (
                    f.name().as_str(),
                    f.data_type().to_string(),
                    f.is_nullable(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("ts", "Timestamp(µs, \"UTC\")".to_string(), false),
                ("user_id", "Int64".to_string(), false),
                ("method", "Utf8".to_string(), false),
                ("endpoint", "Utf8".to_string(), false),
                ("status_code", "Int16".to_string(), false),
                ("latency_ms", "Float64".to_string(), false),
                ("bytes_sent", "Int64".to_string(), false),
                ("region", "Utf8".to_string(), false),
            ]
        );
        assert_eq!(
            COLUMNS.to_vec(),
            s.fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn window_is_thirty_days_from_new_year_2026() {
        assert_eq!(WINDOW_START_US / 1_000_000, 1_767_225_600);
        assert_eq!(WINDOW_END_US - WINDOW_START_US, 30 * 86_400 * 1_000_000);
    }
}
