//! The statistics behind `compare`'s verdicts: iterations read back out of a histogram, the
//! bootstrap of the ratio of medians (single iterations, or whole paired rounds), one-sided
//! p-values against the noise band and the Holm / Benjamini–Hochberg corrections. Numbers in,
//! numbers out: nothing here knows a result file or a verdict.

use super::Correction;
use crate::error::Result;
use crate::histogram::LatencySummary;
use crate::sampling::median_sorted;

/// Every recorded iteration, back out of the histogram (at its 3-significant-digit resolution).
pub fn samples(l: &LatencySummary) -> Result<Vec<u64>> {
    let h = l.histogram()?;
    Ok(h.iter_recorded()
        .flat_map(|v| std::iter::repeat_n(v.value_iterated_to(), v.count_at_value() as usize))
        .collect())
}

/// A small counter-based generator (SplitMix64): reproducible for a seed.
pub(super) struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let z = logbench_common::mix::mix64(self.0);
        ((z as u128 * n as u128) >> 64) as usize
    }
}

pub(super) fn resample_median(v: &[u64], rng: &mut Rng, buf: &mut Vec<u64>) -> f64 {
    buf.clear();
    buf.extend((0..v.len()).map(|_| v[rng.below(v.len())]));
    buf.sort_unstable();
    median_sorted(buf)
}

/// Bootstrap ratios of medians NEW/BASE over paired rounds, sorted: each resample draws round
/// indices with replacement and takes BASE's and NEW's iterations of the same rounds, so
/// iterations of one round (seconds apart, sharing whatever the machine was doing) move
/// together, and drift between rounds cancels in the pairing.
pub fn bootstrap_round_ratios(
    base: &[Vec<u64>],
    new: &[Vec<u64>],
    resamples: usize,
    seed: u64,
) -> Vec<f64> {
    let mut rng = Rng(seed);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let k = base.len().min(new.len());
    let mut ratios: Vec<f64> = (0..resamples)
        .map(|_| {
            a.clear();
            b.clear();
            for _ in 0..k {
                let r = rng.below(k);
                a.extend_from_slice(&base[r]);
                b.extend_from_slice(&new[r]);
            }
            a.sort_unstable();
            b.sort_unstable();
            median_sorted(&b) / median_sorted(&a).max(1.0)
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios
}

/// Bootstrap ratios of medians NEW/BASE, sorted.
pub fn bootstrap_ratios(base: &[u64], new: &[u64], resamples: usize, seed: u64) -> Vec<f64> {
    let mut rng = Rng(seed);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut ratios: Vec<f64> = (0..resamples)
        .map(|_| {
            let m_base = resample_median(base, &mut rng, &mut a);
            let m_new = resample_median(new, &mut rng, &mut b);
            m_new / m_base.max(1.0)
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios
}

pub(super) fn quantile_sorted(v: &[f64], q: f64) -> f64 {
    let i = ((v.len() - 1) as f64 * q).round() as usize;
    v[i.min(v.len() - 1)]
}

/// Adjusted p-values, in the input order.
pub fn adjust(p: &[f64], method: Correction) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut out = vec![0.0; m];
    match method {
        Correction::Holm => {
            let mut running: f64 = 0.0;
            for (rank, &i) in order.iter().enumerate() {
                running = running.max(((m - rank) as f64 * p[i]).min(1.0));
                out[i] = running;
            }
        }
        Correction::BenjaminiHochberg => {
            let mut running: f64 = 1.0;
            for (rank, &i) in order.iter().enumerate().rev() {
                running = running.min((p[i] * m as f64 / (rank + 1) as f64).min(1.0));
                out[i] = running;
            }
        }
    }
    out
}

/// One-sided p-values against the noise band for bootstrap `ratios` (sorted) of a NEW whose
/// times are multiplied by `scale` (1 for the measured data; more to ask "would a slowdown of
/// this size be seen?", as the calibration does).
pub fn p_values(ratios: &[f64], noise: f64, scale: f64) -> (f64, f64) {
    let upper = 1.0 + noise;
    let lower = 1.0 / upper;
    let total = (ratios.len() + 1) as f64;
    let at_or_below_upper = ratios.partition_point(|r| r * scale <= upper);
    let below_lower = ratios.partition_point(|r| r * scale < lower);
    let p_slower = (at_or_below_upper + 1) as f64 / total;
    let p_faster = (ratios.len() - below_lower + 1) as f64 / total;
    (p_slower, p_faster)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::Correction;

    #[test]
    fn holm_and_bh_adjust_as_published() {
        let p = [0.01, 0.04, 0.03, 0.005];
        let holm = adjust(&p, Correction::Holm);
        // Sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> max so far 0.06.
        for (a, b) in holm.iter().zip([0.03, 0.06, 0.06, 0.02]) {
            assert!((a - b).abs() < 1e-12, "{holm:?}");
        }
        let bh = adjust(&p, Correction::BenjaminiHochberg);
        // Sorted p 0.005,0.01,0.03,0.04 -> 0.02, 0.02, 0.04, 0.04.
        for (a, b) in bh.iter().zip([0.02, 0.04, 0.04, 0.02]) {
            assert!((a - b).abs() < 1e-12, "{bh:?}");
        }
    }

    #[test]
    fn bootstrap_sees_a_clear_slowdown_and_not_a_null() {
        let base: Vec<u64> = (0..30).map(|i| 1000 + (i * 37 % 50)).collect();
        let slower: Vec<u64> = base.iter().map(|v| v * 12 / 10).collect();
        let r = bootstrap_ratios(&base, &slower, 2000, 1);
        assert!(
            quantile_sorted(&r, 0.025) > 1.1,
            "the whole interval is above 1.1"
        );
        let same = bootstrap_ratios(&base, &base, 2000, 2);
        assert!(quantile_sorted(&same, 0.025) < 1.0 && quantile_sorted(&same, 0.975) > 1.0);
        assert_eq!(
            bootstrap_ratios(&base, &slower, 100, 7),
            bootstrap_ratios(&base, &slower, 100, 7)
        );
    }
}
