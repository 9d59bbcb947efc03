//! Process resources around a measured region: CPU time and peak resident memory.

pub use crate::results::measure::Resources;
pub use logbench_common::process::{peak_rss_bytes, reset_peak_rss};

/// User and system CPU seconds of this process so far.
pub fn cpu_times() -> (f64, f64) {
    let (user, system) = logbench_common::process::cpu_times();
    (user.as_secs_f64(), system.as_secs_f64())
}

/// Measures CPU and wall time from construction to [`Meter::stop`].
pub struct Meter {
    wall: std::time::Instant,
    cpu: (f64, f64),
}

impl Meter {
    pub fn start() -> Self {
        Self {
            wall: std::time::Instant::now(),
            cpu: cpu_times(),
        }
    }

    /// (wall ms, user CPU ms, system CPU ms) since start.
    pub fn stop(&self) -> (f64, f64, f64) {
        let (u, s) = cpu_times();
        (
            self.wall.elapsed().as_secs_f64() * 1e3,
            (u - self.cpu.0) * 1e3,
            (s - self.cpu.1) * 1e3,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_rss_follows_an_allocation_and_resets() {
        let before = peak_rss_bytes().expect("Linux /proc");
        let big = vec![1u8; 64 << 20];
        std::hint::black_box(&big);
        let touched = peak_rss_bytes().unwrap();
        assert!(touched >= before + (60 << 20), "{before} -> {touched}");
        drop(big);
        if reset_peak_rss() {
            assert!(peak_rss_bytes().unwrap() < touched);
        }
    }

    #[test]
    fn meter_sees_cpu_work() {
        let m = Meter::start();
        let mut x = 0u64;
        for i in 0..50_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let (wall, user, _) = m.stop();
        assert!(wall > 0.0 && user > 0.0);
    }
}
