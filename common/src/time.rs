//! Time stamps as result files and run ids carry them.

use chrono::{DateTime, SecondsFormat, Utc};

/// `2026-01-01T00:00:00.000000Z` for microseconds since the epoch (UTC, always six digits).
pub fn rfc3339_micros(us: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(us)
        .expect("microseconds since the epoch within chrono's range")
        .to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Now, as [`rfc3339_micros`] writes it.
pub fn now_rfc3339() -> String {
    let us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    rfc3339_micros(us)
}

/// `20261121T114803Z` from an RFC 3339 instant: for file and run names.
pub fn compact(rfc3339: &str) -> String {
    rfc3339[..19].replace(['-', ':'], "") + "Z"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339_micros(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            rfc3339_micros(1_767_225_600_000_000),
            "2026-01-01T00:00:00.000000Z"
        );
        assert_eq!(
            rfc3339_micros(951_782_400_000_001),
            "2000-02-29T00:00:00.000001Z"
        );
        // data-gen's window end (2026-01-31T00:00Z), less one microsecond.
        assert_eq!(
            rfc3339_micros(1_769_817_600_000_000 - 1),
            "2026-01-30T23:59:59.999999Z"
        );
        assert_eq!(rfc3339_micros(-1), "1969-12-31T23:59:59.999999Z");
        assert_eq!(compact("2026-11-21T11:48:03.123456Z"), "20261121T114803Z");
    }
}
