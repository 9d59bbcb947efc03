//! The 64-bit mixer behind logbench's counter-based randomness: data-gen hashes
//! `(seed, row, stream)` through it, and the runner's bootstrap draws resamples from it.

/// SplitMix64's output function (Stafford's "mix13" constants): a bijection on `u64` with full
/// avalanche, a handful of cycles.
#[inline(always)]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
