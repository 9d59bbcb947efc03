//! What this process has used so far: CPU time and peak resident memory (Linux). The one
//! reader of each, for data-gen's summary, the runner's per-query resources and the profiles.

use std::time::Duration;

/// User and system CPU time of this process so far, all threads (`getrusage`); zero if the
/// kernel will not say.
pub fn cpu_times() -> (Duration, Duration) {
    use nix::sys::resource::{UsageWho, getrusage};
    let Ok(u) = getrusage(UsageWho::RUSAGE_SELF) else {
        return (Duration::ZERO, Duration::ZERO);
    };
    let d = |t: nix::sys::time::TimeVal| {
        Duration::from_micros(t.tv_sec() as u64 * 1_000_000 + t.tv_usec() as u64)
    };
    (d(u.user_time()), d(u.system_time()))
}

/// User plus system CPU time of this process so far.
pub fn cpu_time() -> Duration {
    let (user, system) = cpu_times();
    user + system
}

/// Resets the kernel's peak-RSS mark (`5` to `/proc/self/clear_refs`), so the next
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_loop_uses_cpu_and_touched_memory_raises_the_peak() {
        let before = cpu_time();
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < Duration::from_millis(50) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        assert!(cpu_time() >= before + Duration::from_millis(20));
        let peak = peak_rss_bytes().expect("Linux /proc");
        let block = vec![1u8; 64 << 20];
        std::hint::black_box(&block);
        assert!(peak_rss_bytes().unwrap() >= peak + (48 << 20));
    }
}
