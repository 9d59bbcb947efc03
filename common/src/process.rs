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

/// User plus system CPU time of process `pid` so far, all threads (`/proc/PID/stat`, in clock
/// ticks: 10 ms steps), or `None` when it is gone or not readable.
pub fn cpu_time_of(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it. The
    // state is field 3; utime and stime are fields 14 and 15.
    let fields: Vec<&str> = stat
        .get(stat.rfind(')')? + 1..)?
        .split_whitespace()
        .collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok()??;
    Some(Duration::from_micros(ticks * 1_000_000 / hz.max(1) as u64))
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

    #[test]
    fn another_process_cpu_time_is_read_from_proc_and_agrees_with_getrusage() {
        // This process through /proc, against getrusage: the same clock, in 10 ms ticks.
        let before = cpu_time();
        let mut x = 0u64;
        while cpu_time() < before + Duration::from_millis(200) {
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
        }
        let proc = cpu_time_of(std::process::id()).expect("Linux /proc");
        let own = cpu_time();
        assert!(proc >= Duration::from_millis(150), "{proc:?}");
        assert!(
            proc <= own + Duration::from_millis(20),
            "{proc:?} > {own:?}"
        );
        assert!(
            own.saturating_sub(proc) <= Duration::from_millis(100),
            "{proc:?} against {own:?}"
        );
        // A process that does not exist.
        assert_eq!(cpu_time_of(u32::MAX), None);
    }
}
