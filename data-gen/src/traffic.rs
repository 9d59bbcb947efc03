//! When requests happen: a 30-day traffic curve with a daily cycle and quieter weekends.
//!
//! Row `i` of `n` gets the time at which the curve's cumulative share of traffic reaches
//! `(i + jitter) / n`. That makes `ts` non-decreasing across the whole dataset by construction
//! (file 0, then file 1 …), so each file and row group covers its own time slice and min/max
//! statistics prune time ranges, while the density of rows over time follows the curve.

use crate::distributions::{QuantileTable, round_small};
use crate::schema::{DAY_US, WINDOW_DAYS};

/// Relative request rate at `minute` since the window start (2026-01-01 was a Thursday).
pub fn relative_rate(minute: i64) -> f64 {
    let day = minute / 1440;
    let hour = (minute % 1440) as f64 / 60.0;
    // Peak at 15:00 UTC, trough at 03:00: about 3.4 times fewer requests at night.
    let daily = 1.0 + 0.55 * ((hour - 15.0) / 24.0 * std::f64::consts::TAU).cos();
    let weekday = (day + 3) % 7; // 0 = Monday
    let weekly = if weekday >= 5 { 0.7 } else { 1.0 };
    daily * weekly
}

/// The inverse of the traffic curve's CDF, in microseconds since the window start.
#[derive(Debug, Clone)]
pub struct TrafficCurve {
    table: QuantileTable,
}

impl Default for TrafficCurve {
    fn default() -> Self {
        Self::new()
    }
}

impl TrafficCurve {
    pub fn new() -> Self {
        let minutes = (WINDOW_DAYS * 1440) as usize;
        let mut cum = Vec::with_capacity(minutes + 1);
        cum.push(0.0);
        let mut total = 0.0;
        for m in 0..minutes {
            total += relative_rate(m as i64);
            cum.push(total);
        }
        let minute_us = (DAY_US / 1440) as f64;
        let inverse = |p: f64| {
            let target = p * total;
            // The last minute whose cumulative share does not exceed the target.
            let m = cum
                .partition_point(|c| *c <= target)
                .saturating_sub(1)
                .min(minutes - 1);
            let within = (target - cum[m]) / (cum[m + 1] - cum[m]);
            (m as f64 + within.clamp(0.0, 1.0)) * minute_us
        };
        // 65,536 knots: one per 40 s of average traffic, over which the rate is flat enough
        // for linear interpolation to be exact to well under a microsecond's share.
        Self {
            table: QuantileTable::new(13, inverse),
        }
    }

    /// Offset in microseconds from the window start for cumulative share `p` in `[0, 1)`.
    #[inline(always)]
    pub fn offset_us(&self, p: f64) -> i64 {
        // Rounding is monotone, so `ts` stays non-decreasing.
        round_small(self.table.eval(p)) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curve_spans_the_window_and_is_monotone() {
        let c = TrafficCurve::new();
        assert_eq!(c.offset_us(0.0), 0);
        let end = c.offset_us(1.0 - 1e-12);
        assert!(end <= WINDOW_DAYS * DAY_US && end > WINDOW_DAYS * DAY_US - 60_000_000);
        let mut last = -1;
        for i in 0..1_000_000 {
            let v = c.offset_us(i as f64 / 1_000_000.0);
            assert!(v >= last);
            last = v;
        }
    }

    #[test]
    fn afternoons_are_busier_than_nights_and_weekdays_than_weekends() {
        let c = TrafficCurve::new();
        let n = 2_000_000;
        let mut per_hour = [0u32; 24];
        let mut per_weekday = [0u32; 7];
        for i in 0..n {
            let us = c.offset_us((i as f64 + 0.5) / n as f64);
            per_hour[((us / 3_600_000_000) % 24) as usize] += 1;
            per_weekday[(((us / DAY_US) + 3) % 7) as usize] += 1;
        }
        assert!(
            per_hour[15] as f64 > 3.0 * per_hour[3] as f64,
            "{per_hour:?}"
        );
        // 30 days from a Thursday: weekdays occur 4 or 5 times, so compare per-day averages.
        let days = |wd: usize| (0..30).filter(|d| (d + 3) % 7 == wd).count() as f64;
        let wed = per_weekday[2] as f64 / days(2);
        let sun = per_weekday[6] as f64 / days(6);
        assert!(
            (sun / wed - 0.7).abs() < 0.02,
            "sunday/wednesday = {}",
            sun / wed
        );
    }
}
