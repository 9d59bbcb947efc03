//! Counter-based randomness: every value is a pure function of `(seed, row, stream)`.
//!
//! A sequential PRNG would tie a row's values to everything generated before it, so a file
//! could only be produced by replaying the rows ahead of it. Hashing the row index instead makes
//! any row range independently reproducible: a single file, a single row group, or a batch that a
//! different thread happens to produce all come out identical. The mixer is the SplitMix64
//! finaliser, a bijection on `u64` with full avalanche, which is plenty for synthetic data and
//! costs a handful of cycles.

pub use logbench_common::mix::mix64;

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

/// Derives further 64-bit words from one well-mixed word `h`: the folded 128-bit product
/// `h * k` (wyhash's "mum"), one wide multiply instead of a second full mix.
#[inline(always)]
pub fn expand(h: u64, k: u64) -> u64 {
    let p = (h as u128) * (k as u128);
    (p as u64) ^ ((p >> 64) as u64)
}

/// Odd constants for [`expand`]: stream 1 and stream 2 of a row.
pub const STREAM_1: u64 = 0xa076_1d64_78bd_642f;
pub const STREAM_2: u64 = 0xe703_7ed1_a0b4_28db;

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
    fn expanded_streams_are_balanced_and_distinct() {
        let rng = RowRng::new(5);
        let n = 100_000u64;
        let (mut ones1, mut ones2, mut same) = ([0u32; 64], [0u32; 64], 0);
        for row in 0..n {
            let h = rng.bits(row, 0);
            let (a, b) = (expand(h, STREAM_1), expand(h, STREAM_2));
            same += (a == b) as u32;
            for i in 0..64 {
                ones1[i] += ((a >> i) & 1) as u32;
                ones2[i] += ((b >> i) & 1) as u32;
            }
        }
        assert_eq!(same, 0);
        for i in 0..64 {
            for ones in [&ones1, &ones2] {
                let frac = ones[i] as f64 / n as f64;
                assert!((frac - 0.5).abs() < 0.01, "bit {i}: {frac}");
            }
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
