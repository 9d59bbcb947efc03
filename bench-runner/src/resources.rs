//! Process resources around a measured region: CPU time and peak resident memory.

use serde::{Deserialize, Serialize};

/// User and system CPU seconds of this process so far.
pub fn cpu_times() -> (f64, f64) {
    use nix::sys::resource::{UsageWho, getrusage};
    use nix::sys::time::TimeValLike;
    let Ok(ru) = getrusage(UsageWho::RUSAGE_SELF) else {
        return (0.0, 0.0);
    };
    let t = |tv: nix::sys::time::TimeVal| tv.num_microseconds() as f64 / 1e6;
    (t(ru.user_time()), t(ru.system_time()))
}

/// Resets the kernel's peak-RSS mark (Linux: `5` to `/proc/self/clear_refs`), so the next
/// [`peak_rss_bytes`] reports the peak since now. Returns whether the reset worked.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Peak resident set size (VmHWM) of this process, since start or the last reset.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Resources one query used over its measured iterations.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Resources {
    /// Wall time of the measured iterations together.
    pub wall_ms: f64,
    pub user_cpu_ms: f64,
    pub system_cpu_ms: f64,
    /// Peak RSS of the whole process while the query ran (cold run, warm-ups and iterations).
    pub peak_rss_bytes: Option<u64>,
    /// Bytes spilled to disk, from the `EXPLAIN ANALYZE` run's operator metrics.
    pub spilled_bytes: Option<u64>,
    /// Peak memory-pool reservation during the measured iterations.
    pub peak_memory_pool_bytes: Option<u64>,
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
