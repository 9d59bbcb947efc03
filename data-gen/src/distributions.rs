//! Pure value samplers (no IO, no Arrow): each turns uniform random bits into a value.
//!
//! The hot loop must cost a few nanoseconds per value, so every continuous distribution is
//! sampled through a precomputed inverse-CDF table with linear interpolation, and every discrete
//! one through a direct lookup table. Tables are built once per dataset from exact formulas.

/// Inverse normal CDF (Acklam's rational approximation, relative error below 1.2e-9).
pub fn normal_quantile(p: f64) -> f64 {
    debug_assert!(p > 0.0 && p < 1.0);
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const P_LOW: f64 = 0.024_25;
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < P_LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - P_LOW {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// 1.5 * 2^52: adding it to a double in `[0, 2^51)` leaves the nearest integer in the low
/// mantissa bits, a rounding with no float-to-integer conversion (Rust's saturating `as`
/// costs a NaN check and two clamps per call on x86-64).
const MAGIC: f64 = 6_755_399_441_055_744.0;

/// `x` rounded to the nearest integer, for `x` in `[0, 2^51)`.
#[inline(always)]
pub fn round_small(x: f64) -> u64 {
    (x + MAGIC).to_bits().wrapping_sub(MAGIC.to_bits())
}

/// An index `i` with `i <= x <= i + 1` for `x` in `[0, 2^51)`: `floor(x)`, or `x - 1` when `x`
/// is a whole number (then interpolation from `i` lands exactly on knot `x`).
#[inline(always)]
pub fn floor_index(x: f64) -> usize {
    round_small(x - 0.5) as usize
}

/// A monotone function on `(0, 1)` tabulated at `2^bits` equal steps and linearly interpolated.
///
/// Where the function is unbounded (a log-normal's upper tail) the outermost steps are evaluated
/// exactly instead, so the tail keeps its true shape rather than being clipped at the last knot.
#[derive(Clone)]
pub struct QuantileTable {
    knots: Vec<f64>,
    scale: f64,
    bits: u32,
    exact_tails: Option<fn(f64, f64, f64) -> f64>,
    params: (f64, f64),
}

impl std::fmt::Debug for QuantileTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuantileTable")
            .field("knots", &self.knots.len())
            .finish()
    }
}

impl QuantileTable {
    /// Tabulates `f` at `i / 2^bits` for `i = 0 ..= 2^bits` (the end points are clamped into the
    /// open interval by the caller's `f`).
    pub fn new(bits: u32, f: impl Fn(f64) -> f64) -> Self {
        let steps = 1usize << bits;
        let knots = (0..=steps).map(|i| f(i as f64 / steps as f64)).collect();
        Self {
            knots,
            scale: steps as f64,
            bits,
            exact_tails: None,
            params: (0.0, 0.0),
        }
    }

    /// A log-normal quantile table `exp(mu + sigma * z)`, with exact outer steps.
    pub fn log_normal(bits: u32, mu: f64, sigma: f64) -> Self {
        fn exact(p: f64, mu: f64, sigma: f64) -> f64 {
            (mu + sigma * normal_quantile(p)).exp()
        }
        let steps = (1usize << bits) as f64;
        let clamp = |p: f64| p.clamp(0.25 / steps, 1.0 - 0.25 / steps);
        let mut table = Self::new(bits, |p| exact(clamp(p), mu, sigma));
        table.exact_tails = Some(exact);
        table.params = (mu, sigma);
        table
    }

    /// The interpolated value at `p` in `[0, 1)`.
    #[inline(always)]
    pub fn eval(&self, p: f64) -> f64 {
        let x = p * self.scale;
        let i = floor_index(x).min(self.knots.len() - 2);
        if let Some(exact) = self.exact_tails
            && (i == 0 || i == self.knots.len() - 2)
        {
            return exact(p, self.params.0, self.params.1);
        }
        let (a, b) = (self.knots[i], self.knots[i + 1]);
        let v = a + (b - a) * (x - i as f64);
        // Never past the next knot despite rounding, so `eval` is monotone. (A plain compare
        // rather than `f64::min`, whose NaN handling costs extra instructions.)
        if v > b { b } else { v }
    }

    /// The value at `p = (u + 0.5) / 2^32` for 32 random bits `u`: the same as
    /// `eval(open_unit_f64_u32(u))` up to rounding, but the step index comes straight from the
    /// top bits, with no float-to-integer conversion on the hot path.
    #[inline(always)]
    pub fn eval_u32(&self, u: u32) -> f64 {
        let i = (u >> (32 - self.bits)) as usize;
        if let Some(exact) = self.exact_tails
            && (i == 0 || i == self.knots.len() - 2)
        {
            return exact(
                crate::rng::open_unit_f64_u32(u),
                self.params.0,
                self.params.1,
            );
        }
        let low = u & (u32::MAX >> self.bits);
        let frac = (low as f64 + 0.5) * (1.0 / (1u64 << (32 - self.bits)) as f64);
        let (a, b) = (self.knots[i], self.knots[i + 1]);
        let v = a + (b - a) * frac;
        if v > b { b } else { v }
    }

    /// The tabulated knots (for tests and for integer-valued callers that need their bounds).
    pub fn knots(&self) -> &[f64] {
        &self.knots
    }
}

/// Draws an index from fixed weights with one table lookup of `bits` random bits.
///
/// Each category gets a share of the `2^bits` slots proportional to its weight (largest
/// remainder rounding, at least one slot for any positive weight), so frequencies are exact to
/// within `2^-bits`.
#[derive(Debug, Clone)]
pub struct Categorical {
    slots: Vec<u8>,
    mask: u64,
}

impl Categorical {
    pub fn new(weights: &[f64], bits: u32) -> Self {
        assert!(!weights.is_empty() && weights.len() <= 256);
        assert!(weights.iter().all(|w| *w >= 0.0) && weights.iter().any(|w| *w > 0.0));
        let n = 1usize << bits;
        assert!(weights.iter().filter(|w| **w > 0.0).count() <= n);
        let total: f64 = weights.iter().sum();
        let exact: Vec<f64> = weights.iter().map(|w| w / total * n as f64).collect();
        let mut counts: Vec<usize> = exact
            .iter()
            .map(|e| {
                if *e > 0.0 {
                    (e.floor() as usize).max(1)
                } else {
                    0
                }
            })
            .collect();
        // Hand out (or take back) the remaining slots by largest (smallest) remainder.
        let mut order: Vec<usize> = (0..weights.len()).collect();
        order.sort_by(|&a, &b| {
            let ra = exact[a] - counts[a] as f64;
            let rb = exact[b] - counts[b] as f64;
            rb.total_cmp(&ra).then(a.cmp(&b))
        });
        let mut assigned: usize = counts.iter().sum();
        let mut k = 0;
        while assigned < n {
            let c = order[k % order.len()];
            if weights[c] > 0.0 {
                counts[c] += 1;
                assigned += 1;
            }
            k += 1;
        }
        let mut k = order.len();
        while assigned > n {
            k -= 1;
            let c = order[k % order.len()];
            if counts[c] > 1 {
                counts[c] -= 1;
                assigned -= 1;
            }
            if k == 0 {
                k = order.len();
            }
        }
        let mut slots = Vec::with_capacity(n);
        for (i, c) in counts.iter().enumerate() {
            slots.extend(std::iter::repeat_n(i as u8, *c));
        }
        debug_assert_eq!(slots.len(), n);
        Self {
            slots,
            mask: (n - 1) as u64,
        }
    }

    /// The category for the low `bits` bits of `r`.
    #[inline(always)]
    pub fn sample(&self, r: u64) -> usize {
        self.slots[(r & self.mask) as usize] as usize
    }

    /// The probability the table actually realises for category `i`.
    pub fn probability(&self, i: usize) -> f64 {
        self.slots.iter().filter(|s| **s as usize == i).count() as f64 / self.slots.len() as f64
    }
}

/// Zipf-like ranks in `1 ..= n`: the continuous power law `x^-s` on `[1, n + 1)`, floored.
///
/// `P(rank = r)` is proportional to the integral of `x^-s` over `[r, r + 1)`, which tracks the
/// discrete Zipf law closely while having a closed-form inverse CDF.
#[derive(Debug, Clone)]
pub struct ZipfRanks {
    n: u64,
    table: QuantileTable,
}

impl ZipfRanks {
    pub fn new(n: u64, s: f64) -> Self {
        assert!(n >= 1 && s > 0.0);
        let top = (n + 1) as f64;
        let inverse = move |u: f64| {
            if (s - 1.0).abs() < 1e-12 {
                top.powf(u)
            } else {
                let e = 1.0 - s;
                (1.0 + u * (top.powf(e) - 1.0)).powf(1.0 / e)
            }
        };
        // 4,096 knots keep the table in L1; the relative interpolation error of the convex
        // inverse is below (ln(n) / 4096)^2 / 8, about 2e-6 for n = 10M.
        Self {
            n,
            table: QuantileTable::new(10, inverse),
        }
    }

    /// The rank for 32 random bits.
    #[inline(always)]
    pub fn sample(&self, u: u32) -> u64 {
        (floor_index(self.table.eval_u32(u)) as u64).clamp(1, self.n)
    }

    /// Exact probability of rank `r` under the continuous law.
    pub fn probability(&self, r: u64, s: f64) -> f64 {
        let top = (self.n + 1) as f64;
        let cdf = |x: f64| {
            if (s - 1.0).abs() < 1e-12 {
                x.ln() / top.ln()
            } else {
                let e = 1.0 - s;
                (x.powf(e) - 1.0) / (top.powf(e) - 1.0)
            }
        };
        cdf((r + 1) as f64) - cdf(r as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::RowRng;

    #[test]
    fn normal_quantile_matches_known_values() {
        assert!(normal_quantile(0.5).abs() < 1e-9);
        assert!((normal_quantile(0.975) - 1.959_963_985).abs() < 1e-6);
        assert!((normal_quantile(0.001) + 3.090_232_306).abs() < 1e-6);
        assert!((normal_quantile(1e-9) + 5.997_807_015).abs() < 1e-5);
    }

    #[test]
    fn magic_rounding_matches_the_slow_path() {
        for x in [
            0.0,
            0.4,
            0.5,
            0.6,
            1.0,
            2.5,
            12_345.678,
            2_592_000_000_000.3,
            1e15,
        ] {
            let r = round_small(x);
            assert!((r as f64 - x).abs() <= 0.5, "{x} -> {r}");
            let i = floor_index(x);
            assert!(i as f64 <= x && x <= i as f64 + 1.0, "{x} -> {i}");
        }
    }

    #[test]
    fn categorical_frequencies_follow_weights() {
        let weights = [70.0, 20.0, 9.0, 1.0, 0.0];
        let cat = Categorical::new(&weights, 12);
        assert_eq!(cat.probability(4), 0.0);
        for (i, w) in weights.iter().enumerate() {
            assert!((cat.probability(i) - w / 100.0).abs() <= 1.0 / 4096.0);
        }
        let rng = RowRng::new(7);
        let mut counts = [0u32; 5];
        let n = 200_000;
        for row in 0..n {
            counts[cat.sample(rng.bits(row, 0))] += 1;
        }
        assert_eq!(counts[4], 0);
        for (i, w) in weights.iter().enumerate() {
            let f = counts[i] as f64 / n as f64;
            assert!((f - w / 100.0).abs() < 0.005, "category {i}: {f}");
        }
    }

    #[test]
    fn categorical_keeps_rare_categories() {
        let mut weights = vec![1e6; 10];
        weights.push(1.0);
        let cat = Categorical::new(&weights, 8);
        assert!(cat.probability(10) > 0.0);
        let total: f64 = (0..11).map(|i| cat.probability(i)).sum();
        assert!((total - 1.0).abs() < 1e-12);
    }

    #[test]
    fn zipf_is_bounded_and_heavy_headed() {
        let n = 10_000_000;
        let zipf = ZipfRanks::new(n, 1.0);
        let rng = RowRng::new(3);
        let draws = 400_000u64;
        let mut top1 = 0u64;
        let mut top1000 = 0u64;
        for row in 0..draws {
            let r = zipf.sample(rng.bits(row, 0) as u32);
            assert!((1..=n).contains(&r));
            top1 += (r == 1) as u64;
            top1000 += (r <= 1000) as u64;
        }
        let p1 = zipf.probability(1, 1.0);
        let f1 = top1 as f64 / draws as f64;
        assert!((f1 - p1).abs() < 0.003, "rank 1: {f1} vs {p1}");
        // Under s = 1 the top 1,000 of 10M users make ln(1001)/ln(1e7+1) ≈ 43 % of requests.
        let f1000 = top1000 as f64 / draws as f64;
        assert!((f1000 - 0.4286).abs() < 0.01, "top 1000: {f1000}");
    }

    #[test]
    fn log_normal_table_has_the_right_median_and_a_long_tail() {
        let t = QuantileTable::log_normal(12, (20.0f64).ln(), 0.8);
        assert!((t.eval(0.5) - 20.0).abs() < 0.01);
        let p999 = t.eval(0.999);
        let exact = (20.0f64.ln() + 0.8 * normal_quantile(0.999)).exp();
        assert!((p999 / exact - 1.0).abs() < 1e-3);
        // The outermost step is exact: far beyond the last knot.
        assert!(t.eval(1.0 - 1e-9) > t.knots()[t.knots().len() - 2] * 1.5);
        assert!(t.eval(1e-9) > 0.0);
        // The bit-driven path agrees with the float path.
        for u in [
            0u32,
            1,
            1 << 20,
            123_456_789,
            1 << 31,
            u32::MAX - 5,
            u32::MAX,
        ] {
            let (a, b) = (t.eval_u32(u), t.eval(crate::rng::open_unit_f64_u32(u)));
            assert!((a / b - 1.0).abs() < 1e-9, "{u}: {a} vs {b}");
        }
        // Monotone over a fine sweep.
        let mut last = 0.0;
        for i in 1..100_000 {
            let v = t.eval(i as f64 / 100_000.0);
            assert!(v >= last);
            last = v;
        }
    }
}
