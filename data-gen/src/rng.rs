//! Counter-based randomness: every value is a pure function of `(seed, row, stream)`.
//!
//! A sequential PRNG would tie a row's values to everything generated before it, so a file
//! could only be produced by replaying the rows ahead of it. Hashing the row index instead makes
//! any row range independently reproducible: a single file, a single row group, or a batch that a
//! different thread happens to produce all come out identical. The mixer is the SplitMix64
//! finaliser, a bijection on `u64` with full avalanche, which is plenty for synthetic data and
//! costs a handful of cycles.

/// SplitMix64's output function (Stafford's "mix13" constants).
#[inline(always)]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// The random source for one dataset: derives per-row keys from the user's seed.
#[derive(Debug, Clone, Copy)]
pub struct RowRng {
    key: u64,
}

impl RowRng {
    pub fn new(seed: u64) -> Self {
        // Two rounds so that nearby seeds (0, 1, 2 …) give unrelated keys.
        Self {
            key: mix64(mix64(seed ^ 0x6c6f_6762_656e_6368)),
        }
    }

    /// The 64 random bits of draw `stream` for global row `row`.
    #[inline(always)]
    pub fn bits(&self, row: u64, stream: u64) -> u64 {
        mix64(self.key ^ row.wrapping_mul(GOLDEN) ^ stream.wrapping_mul(0xd6e8_feb8_6659_fd93))
    }
}

/// A uniform `f64` in `[0, 1)` from the top 53 bits.
#[inline(always)]
pub fn unit_f64(bits: u64) -> f64 {
    (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A uniform `f64` in `(0, 1)` from 32 bits: never exactly 0 or 1, so inverse CDFs stay finite.
#[inline(always)]
pub fn open_unit_f64_u32(bits: u32) -> f64 {
    (bits as f64 + 0.5) * (1.0 / 4_294_967_296.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn different_seeds_rows_and_streams_differ() {
        let a = RowRng::new(1);
        let b = RowRng::new(2);
        assert_ne!(a.bits(0, 0), b.bits(0, 0));
        assert_ne!(a.bits(0, 0), a.bits(1, 0));
        assert_ne!(a.bits(0, 0), a.bits(0, 1));
        assert_eq!(a.bits(12345, 3), RowRng::new(1).bits(12345, 3));
    }

    #[test]
    fn bits_are_balanced() {
        let rng = RowRng::new(42);
        let n = 100_000u64;
        let mut ones = [0u32; 64];
        for row in 0..n {
            let x = rng.bits(row, 0);
            for (i, c) in ones.iter_mut().enumerate() {
                *c += ((x >> i) & 1) as u32;
            }
        }
        for (i, c) in ones.iter().enumerate() {
            let frac = *c as f64 / n as f64;
            assert!((frac - 0.5).abs() < 0.01, "bit {i} set in {frac} of draws");
        }
    }

    #[test]
    fn unit_conversions_stay_in_range() {
        assert_eq!(unit_f64(0), 0.0);
        assert!(unit_f64(u64::MAX) < 1.0);
        assert!(open_unit_f64_u32(0) > 0.0);
        assert!(open_unit_f64_u32(u32::MAX) < 1.0);
    }
}
