//! How many times to measure a query: a fixed count, or until the median is known well enough.
//!
//! Adaptive sampling (the default) keeps measuring after the cold run and the warm-ups until
//! the 95 % confidence interval of the median lies within ±`precision` of it, with at least
//! `min_iterations` runs, and gives up when the measured runs have taken `budget` or reached
//! `max_iterations`. The interval is the distribution-free one built from order statistics
//! (the sign-test interval): `[x(k), x(n+1-k)]` of the sorted samples covers the true median
//! with probability `1 - 2 P(B <= k-1)`, B ~ Binomial(n, 1/2), whatever the distribution of
//! the latencies. It needs no model of the noise (latencies are skewed and often bimodal), but
//! it needs six samples before any interval reaches 95 %: with fewer the widest one, `[min,
//! max]`, covers `1 - 2^(1-n)` (75 % at three), and precision is not called reached.

use std::time::Duration;

pub use crate::results::measure::{Adaptive, Outcome, Stop};

/// The confidence the stopping rule asks of the interval.
pub const CONFIDENCE: f64 = 0.95;

impl Default for Adaptive {
    /// The defaults, chosen on the 2-core machine at 200M rows (docs/methodology.md, "Adaptive sampling").
    fn default() -> Self {
        Self {
            precision_pct: 2.0,
            min_iterations: 3,
            max_iterations: 200,
            budget_seconds: 10.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Sampling {
    /// Exactly this many measured runs (`--iterations N`).
    Fixed(u32),
    Adaptive(Adaptive),
}

impl Sampling {
    /// The fixed count, if any.
    pub fn fixed(&self) -> Option<u32> {
        match self {
            Sampling::Fixed(n) => Some(*n),
            Sampling::Adaptive(_) => None,
        }
    }

    /// After `samples` measured runs taking `elapsed` in all: `None` to measure again, or
    /// why measuring ends.
    pub fn stop(&self, samples: &[u64], elapsed: Duration) -> Option<Stop> {
        let n = samples.len() as u32;
        match self {
            Sampling::Fixed(want) => (n >= *want).then_some(Stop::Fixed),
            Sampling::Adaptive(a) => {
                if n < a.min_iterations.max(1) {
                    None
                } else if MedianInterval::of(samples).is_some_and(|i| i.within(a.precision_pct)) {
                    Some(Stop::Precision)
                } else if n >= a.max_iterations {
                    Some(Stop::MaxIterations)
                } else if elapsed.as_secs_f64() >= a.budget_seconds {
                    Some(Stop::Budget)
                } else {
                    None
                }
            }
        }
    }
}

impl Stop {
    pub fn label(self) -> &'static str {
        match self {
            Stop::Fixed => "fixed count",
            Stop::Precision => "precision",
            Stop::Budget => "budget",
            Stop::MaxIterations => "max iterations",
        }
    }
}

impl Outcome {
    pub fn new(stop: Stop, samples: &[u64]) -> Option<Self> {
        let i = MedianInterval::of(samples)?;
        Some(Self {
            stop,
            median_us: i.median,
            interval_us: [i.lo, i.hi],
            confidence: i.confidence,
            half_width_pct: i.half_width_pct(),
        })
    }
}

/// `±1.2 % (precision)`: the half-width reached and why sampling ended, for tables; a 95 %
/// interval not reached shows its coverage.
pub fn describe(o: Option<&Outcome>) -> String {
    let Some(o) = o else {
        return "-".into();
    };
    let conf = if o.confidence >= CONFIDENCE {
        String::new()
    } else {
        format!(" at {:.0} %", 100.0 * o.confidence)
    };
    format!("±{:.1} %{conf} ({})", o.half_width_pct, o.stop.label())
}

/// The median of `sorted` (ascending): the middle value, or the mean of the middle two for an
/// even count; NaN for none. Every median in the runner, the report and `compare` is this one.
pub fn median_sorted(sorted: &[u64]) -> f64 {
    let n = sorted.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => sorted[n / 2] as f64,
        _ => (sorted[n / 2 - 1] as f64 + sorted[n / 2] as f64) / 2.0,
    }
}

/// The median of `samples` in any order (see [`median_sorted`]).
pub fn median(samples: &[u64]) -> f64 {
    let mut s = samples.to_vec();
    s.sort_unstable();
    median_sorted(&s)
}

/// The median of a sample and its order-statistic interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MedianInterval {
    pub median: f64,
    pub lo: u64,
    pub hi: u64,
    pub confidence: f64,
}

impl MedianInterval {
    /// `None` for no samples.
    pub fn of(samples: &[u64]) -> Option<Self> {
        let n = samples.len();
        if n == 0 {
            return None;
        }
        let mut s = samples.to_vec();
        s.sort_unstable();
        let median = median_sorted(&s);
        // The narrowest interval [x(k), x(n+1-k)] (1-based) still covering CONFIDENCE; with too
        // few samples for that, the widest one.
        let mut k = 1;
        while k < n.div_ceil(2) && coverage(n, k + 1) >= CONFIDENCE {
            k += 1;
        }
        Some(Self {
            median,
            lo: s[k - 1],
            hi: s[n - k],
            confidence: coverage(n, k),
        })
    }

    pub fn half_width_pct(&self) -> f64 {
        if self.median <= 0.0 {
            return 0.0;
        }
        let d = (self.median - self.lo as f64).max(self.hi as f64 - self.median);
        100.0 * d / self.median
    }

    /// Whether the interval is a 95 % one and lies within ±`pct` % of the median.
    pub fn within(&self, pct: f64) -> bool {
        self.confidence >= CONFIDENCE && self.half_width_pct() <= pct
    }
}

/// Coverage of `[x(k), x(n+1-k)]` for the median of `n` samples: `1 - 2 P(B <= k-1)`.
fn coverage(n: usize, k: usize) -> f64 {
    // P(B <= k-1) summed in log space: 0.5^n underflows long before n is large.
    let ln_half_n = n as f64 * 0.5f64.ln();
    let mut ln_choose = 0.0f64; // ln C(n, 0)
    let mut tail = 0.0;
    for j in 0..k {
        if j > 0 {
            ln_choose += ((n - j + 1) as f64).ln() - (j as f64).ln();
        }
        tail += (ln_choose + ln_half_n).exp();
    }
    (1.0 - 2.0 * tail).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_matches_the_binomial_table() {
        // n = 6: [min, max] misses the median only when all six fall on one side: 2/64.
        assert!((coverage(6, 1) - (1.0 - 2.0 / 64.0)).abs() < 1e-12);
        assert!((coverage(3, 1) - 0.75).abs() < 1e-12);
        // n = 10: k = 2 covers 1 - 2 (1 + 10)/1024 = 0.978515625; k = 3 only 0.890625.
        assert!((coverage(10, 2) - 0.978515625).abs() < 1e-12);
        assert!((coverage(10, 3) - 0.890625).abs() < 1e-12);
        // Large n, where 0.5^n underflows: exact values from Python's math.comb.
        assert!((coverage(1000, 470) - 0.9463221503549898).abs() < 1e-9);
        assert!((coverage(1000, 460) - 0.9896118684338442).abs() < 1e-9);
    }

    #[test]
    fn the_interval_is_the_narrowest_95_percent_one() {
        let s: Vec<u64> = (1..=10).map(|v| v * 100).collect();
        let i = MedianInterval::of(&s).unwrap();
        assert_eq!((i.lo, i.hi), (200, 900));
        assert_eq!(i.median, 550.0);
        assert!(i.confidence >= CONFIDENCE);
        // Five samples: no interval reaches 95 %, so [min, max] at 1 - 2/32.
        let i = MedianInterval::of(&[5, 1, 4, 2, 3]).unwrap();
        assert_eq!((i.lo, i.hi, i.median), (1, 5, 3.0));
        assert!((i.confidence - 0.9375).abs() < 1e-12);
        assert!(!i.within(1000.0), "below 95 % precision is never reached");
    }

    #[test]
    fn adaptive_stops_on_precision_budget_or_cap() {
        let a = Sampling::Adaptive(Adaptive {
            precision_pct: 2.0,
            min_iterations: 3,
            max_iterations: 8,
            budget_seconds: 10.0,
        });
        let quiet = [1000, 1001, 999, 1000, 1002, 998];
        assert_eq!(
            a.stop(&quiet[..2], Duration::ZERO),
            None,
            "under the minimum"
        );
        assert_eq!(
            a.stop(&quiet[..5], Duration::ZERO),
            None,
            "no 95 % interval yet"
        );
        assert_eq!(a.stop(&quiet, Duration::ZERO), Some(Stop::Precision));
        let noisy = [1000, 1500, 700, 1200, 900, 1300];
        assert_eq!(a.stop(&noisy, Duration::from_secs(1)), None);
        assert_eq!(a.stop(&noisy, Duration::from_secs(10)), Some(Stop::Budget));
        assert_eq!(
            a.stop(&[noisy, noisy].concat()[..8], Duration::ZERO),
            Some(Stop::MaxIterations)
        );
        // The minimum holds even past the budget.
        assert_eq!(a.stop(&[40_000_000; 2], Duration::from_secs(80)), None);
        assert_eq!(
            a.stop(&[40_000_000; 3], Duration::from_secs(120)),
            Some(Stop::Budget)
        );
        let f = Sampling::Fixed(4);
        assert_eq!(f.stop(&quiet[..3], Duration::from_secs(99)), None);
        assert_eq!(f.stop(&quiet[..4], Duration::ZERO), Some(Stop::Fixed));
    }
}
