//! CPU profiles of this process, and the folded-stack text every flamegraph tool reads.
//!
//! Sampling is pprof's: `setitimer(ITIMER_PROF)` delivers SIGPROF per `1/frequency` seconds of
//! CPU time the process uses (all threads together), and the handler records the interrupted
//! thread's stack. It needs no kernel support beyond signals (no `perf_event_open`, which the
//! development machine and most containers refuse), so it works wherever the program runs.
//!
//! A [`Profile`] is a map from folded stacks (`thread;root;…;leaf`) to sample counts: written as
//! `stack count` lines it is the format `inferno-flamegraph`, `flamegraph.pl` and speedscope
//! read, and [`Profile::parse_folded`] reads it back, so profiles can be re-rendered and diffed.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// Default sampling frequency: 499 Hz per CPU-second (a prime, so the timer does not beat with
/// periodic work; about 1000 samples per second on two busy cores).
pub const DEFAULT_FREQUENCY_HZ: u32 = 499;

/// A running profile of this process; at most one at a time.
pub struct Sampler {
    guard: pprof::ProfilerGuard<'static>,
    frequency_hz: u32,
    started: Instant,
    cpu_started: Duration,
}

/// The header in which `/profile/stop` (the executors' profiling window) reports the CPU time,
/// in microseconds, that the executor used while the window was open.
pub const CPU_HEADER: &str = "x-profile-cpu-us";

/// CPU time this process has used so far, user and system, all threads (`getrusage`).
pub fn process_cpu() -> Duration {
    crate::process::cpu_time()
}

/// Starts sampling this process at `frequency_hz`.
pub fn start(frequency_hz: u32) -> Result<Sampler, String> {
    if !(1..=10_000).contains(&frequency_hz) {
        return Err(format!(
            "profiling frequency {frequency_hz} Hz is outside 1..=10000"
        ));
    }
    let guard = pprof::ProfilerGuardBuilder::default()
        .frequency(frequency_hz as i32)
        // Unwinding through these from a signal handler can deadlock or crash.
        .blocklist(&["libc", "libgcc", "pthread", "vdso"])
        .build()
        .map_err(|e| format!("starting the profiler: {e}"))?;
    Ok(Sampler {
        guard,
        frequency_hz,
        started: Instant::now(),
        cpu_started: process_cpu(),
    })
}

impl Sampler {
    /// Stops sampling and resolves the stacks into a [`Profile`].
    pub fn finish(self) -> Result<Profile, String> {
        let wall = self.started.elapsed();
        let cpu = process_cpu().saturating_sub(self.cpu_started);
        let report = self
            .guard
            .report()
            .build()
            .map_err(|e| format!("reading the profile: {e}"))?;
        drop(self.guard);
        let mut stacks: HashMap<String, u64> = HashMap::new();
        for (frames, count) in &report.data {
            let mut line = thread_group(&frames.thread_name_or_id());
            for frame in frames.frames.iter().rev() {
                for symbol in frame.iter().rev() {
                    line.push(';');
                    line.push_str(&frame_name(&symbol.name()));
                }
            }
            *stacks.entry(line).or_default() += (*count).max(0) as u64;
        }
        Ok(Profile {
            frequency_hz: self.frequency_hz,
            wall,
            cpu,
            stacks: stacks.into_iter().collect(),
        })
    }
}

/// A thread's name without its number (`tokio-runtime-w`, `rayon-7` → `rayon`): threads of one
/// pool fold into one tower.
fn thread_group(name: &str) -> String {
    let trimmed = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-' || c == '#');
    let name = if trimmed.is_empty() {
        "thread"
    } else {
        trimmed
    };
    name.replace([';', ' '], "_")
}

/// A symbol as a flamegraph frame: the Rust hash suffix dropped (`::h0123…` differs between
/// builds, so two profiles of the same code would not line up), and no `;` inside: the folded
/// format's separator (a space is fine: the count is after the last one).
pub fn frame_name(name: &str) -> String {
    let name = match name.rfind("::h") {
        Some(i) if name.len() - i == 19 && name[i + 3..].chars().all(|c| c.is_ascii_hexdigit()) => {
            &name[..i]
        }
        _ => name,
    };
    name.replace(';', ":")
}

/// Sampled stacks and their counts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profile {
    pub frequency_hz: u32,
    /// How long sampling ran.
    pub wall: Duration,
    /// CPU time the process used while sampling ran, all threads: `samples / cpu` is the rate
    /// reached, which the kernel's tick can hold below `frequency_hz` (docs/methodology.md, "CPU profiles").
    pub cpu: Duration,
    /// Folded stack (`thread;root;…;leaf`) → samples.
    pub stacks: BTreeMap<String, u64>,
}

/// A frame's share of a profile's samples.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameShare {
    pub frame: String,
    /// Samples with this frame as the leaf (it was running itself).
    pub self_samples: u64,
    /// Samples with this frame anywhere on the stack (it or what it called was running).
    pub total_samples: u64,
}

impl Profile {
    pub fn samples(&self) -> u64 {
        self.stacks.values().sum()
    }

    /// Adds `other`'s samples (another run, or another process of the same job).
    pub fn merge(&mut self, other: &Profile) {
        for (stack, n) in &other.stacks {
            *self.stacks.entry(stack.clone()).or_default() += n;
        }
        self.wall += other.wall;
        self.cpu += other.cpu;
        if self.frequency_hz == 0 {
            self.frequency_hz = other.frequency_hz;
        }
    }

    /// The folded-stack text: one `stack count` line per distinct stack, sorted.
    pub fn folded(&self) -> String {
        let mut out = String::new();
        for (stack, n) in &self.stacks {
            out.push_str(stack);
            out.push(' ');
            out.push_str(&n.to_string());
            out.push('\n');
        }
        out
    }

    /// Reads folded-stack text (as [`Profile::folded`] writes it, or any tool that writes the
    /// format); a malformed line is an error naming its number.
    pub fn parse_folded(text: &str) -> Result<Profile, String> {
        let mut stacks: BTreeMap<String, u64> = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let (stack, count) = line
                .rsplit_once(' ')
                .ok_or_else(|| format!("line {}: not 'stack count'", i + 1))?;
            let count: u64 = count
                .trim()
                .parse()
                .map_err(|_| format!("line {}: '{count}' is not a sample count", i + 1))?;
            *stacks.entry(stack.to_string()).or_default() += count;
        }
        Ok(Profile {
            frequency_hz: 0,
            wall: Duration::ZERO,
            cpu: Duration::ZERO,
            stacks,
        })
    }

    /// Every frame's self and total samples, most self time first (ties by total, then name).
    /// A frame that recurses counts once per sample in its total.
    pub fn frame_shares(&self) -> Vec<FrameShare> {
        let mut by: HashMap<&str, (u64, u64)> = HashMap::new();
        for (stack, &n) in &self.stacks {
            // The first element is the thread: not a frame.
            let frames: Vec<&str> = stack.split(';').skip(1).collect();
            if let Some(leaf) = frames.last() {
                by.entry(leaf).or_default().0 += n;
            }
            let mut seen: Vec<&str> = Vec::with_capacity(frames.len());
            for f in frames {
                if !seen.contains(&f) {
                    seen.push(f);
                    by.entry(f).or_default().1 += n;
                }
            }
        }
        let mut out: Vec<FrameShare> = by
            .into_iter()
            .map(|(frame, (s, t))| FrameShare {
                frame: frame.to_string(),
                self_samples: s,
                total_samples: t,
            })
            .collect();
        out.sort_by(|a, b| {
            b.self_samples
                .cmp(&a.self_samples)
                .then(b.total_samples.cmp(&a.total_samples))
                .then(a.frame.cmp(&b.frame))
        });
        out
    }

    /// An interactive flamegraph (inferno's SVG: click to zoom, Ctrl-F to search), colours
    /// from the frame names so the same profile renders to the same bytes.
    pub fn flamegraph_svg(&self, title: &str) -> Result<Vec<u8>, String> {
        let mut options = pprof::flamegraph::Options::default();
        options.title = title.to_string();
        options.count_name = "samples".into();
        options.deterministic = true;
        let mut out = Vec::new();
        if self.stacks.is_empty() {
            return Err("no samples: nothing ran on the CPU while profiling".into());
        }
        let text = self.folded();
        pprof::flamegraph::from_lines(&mut options, text.lines(), &mut out)
            .map_err(|e| format!("rendering the flamegraph: {e}"))?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(lines: &str) -> Profile {
        Profile::parse_folded(lines).unwrap()
    }

    #[test]
    fn folded_text_round_trips_and_bad_lines_are_named() {
        let p = profile("w;main;a;b 3\nw;main;a 2\n\nw;main;a;b 1\n");
        assert_eq!(p.samples(), 6);
        assert_eq!(p.folded(), "w;main;a 2\nw;main;a;b 4\n");
        assert_eq!(Profile::parse_folded(&p.folded()).unwrap().stacks, p.stacks);
        let e = Profile::parse_folded("w;a 1\nw;b x\n").unwrap_err();
        assert!(e.starts_with("line 2:"), "{e}");
        assert!(Profile::parse_folded("nocount").is_err());
    }

    #[test]
    fn self_and_total_shares_count_recursion_once() {
        let p = profile("t;main;f;f;g 4\nt;main;f 2\nt;main;h 1\n");
        let s = p.frame_shares();
        let get = |n: &str| s.iter().find(|x| x.frame == n).unwrap().clone();
        assert_eq!(s[0].frame, "g");
        assert_eq!((get("g").self_samples, get("g").total_samples), (4, 4));
        assert_eq!((get("f").self_samples, get("f").total_samples), (2, 6));
        assert_eq!(
            (get("main").self_samples, get("main").total_samples),
            (0, 7)
        );
        assert!(
            s.iter().all(|x| x.frame != "t"),
            "the thread is not a frame"
        );
    }

    #[test]
    fn frame_names_lose_the_hash_and_the_separators() {
        assert_eq!(
            frame_name("core::ptr::drop_in_place::h0123456789abcdef"),
            "core::ptr::drop_in_place"
        );
        assert_eq!(frame_name("a::hash"), "a::hash");
        assert_eq!(frame_name("<A as B>::f;x"), "<A as B>::f:x");
        assert_eq!(thread_group("tokio-runtime-w"), "tokio-runtime-w");
        assert_eq!(thread_group("rayon-7"), "rayon");
        assert_eq!(thread_group("12345"), "thread");
    }

    #[test]
    fn a_busy_loop_is_sampled_and_rendered() {
        let sampler = start(997).unwrap();
        // Busy for at least 300 ms of CPU: about 300 samples at 997 Hz.
        let t = Instant::now();
        let mut x = 0u64;
        while t.elapsed() < Duration::from_millis(300) {
            for i in 0..10_000u64 {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i));
            }
        }
        let p = sampler.finish().unwrap();
        assert!(p.samples() >= 30, "{} samples in {:?}", p.samples(), p.wall);
        let svg = String::from_utf8(p.flamegraph_svg("busy").unwrap()).unwrap();
        assert!(
            svg.starts_with("<?xml") && svg.contains("busy"),
            "{}",
            &svg[..200]
        );
        assert_eq!(p.flamegraph_svg("busy").unwrap(), svg.into_bytes());
        assert!(start(0).is_err());
    }
}
