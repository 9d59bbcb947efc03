//! Where a result came from: machine, operating system and build.

pub use crate::results::engine::Environment;

fn first_field(text: &str, key: &str) -> Option<String> {
    text.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_once(':').or_else(|| l.split_once('=')))
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
}

fn uname() -> (String, String) {
    let Ok(u) = nix::sys::utsname::uname() else {
        return ("unknown".into(), "unknown".into());
    };
    let s = |f: &std::ffi::OsStr| f.to_string_lossy().into_owned();
    (
        s(u.nodename()),
        format!("{} {}", s(u.sysname()), s(u.release())),
    )
}

impl Environment {
    pub fn capture() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
        let (hostname, kernel) = uname();
        let memory_kb: u64 = first_field(&meminfo, "MemTotal")
            .and_then(|v| v.split_whitespace().next().and_then(|n| n.parse().ok()))
            .unwrap_or(0);
        Self {
            hostname,
            cpu_model: first_field(&cpuinfo, "model name").unwrap_or_else(|| "unknown".into()),
            logical_cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            memory_bytes: memory_kb * 1024,
            os: first_field(&os_release, "PRETTY_NAME")
                .unwrap_or_else(|| std::env::consts::OS.into()),
            kernel,
            rustc: env!("LOGBENCH_RUSTC").into(),
            build_profile: format!(
                "{} (opt-level {})",
                env!("LOGBENCH_PROFILE"),
                env!("LOGBENCH_OPT_LEVEL")
            ),
            git_commit: env!("LOGBENCH_GIT_COMMIT").into(),
            git_dirty: env!("LOGBENCH_GIT_DIRTY").into(),
            crate_versions: [
                ("datafusion", env!("LOGBENCH_V_DATAFUSION")),
                ("arrow", env!("LOGBENCH_V_ARROW")),
                ("parquet", env!("LOGBENCH_V_PARQUET")),
                ("ballista", env!("LOGBENCH_V_BALLISTA")),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            image: std::env::var("LOGBENCH_IMAGE")
                .ok()
                .filter(|s| !s.is_empty()),
            allocator: Some(logbench_common::alloc::in_use().name().to_string()),
            engine_patches: env!("LOGBENCH_ENGINE_PATCHES")
                .split("; ")
                .filter(|p| !p.is_empty())
                .map(String::from)
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_this_machine_and_build() {
        let e = Environment::capture();
        assert!(e.logical_cores >= 1);
        assert!(e.memory_bytes > 0);
        assert!(e.rustc.starts_with("rustc "));
        assert!(e.kernel.starts_with("Linux"));
        assert!(e.crate_versions["datafusion"].starts_with("55."));
        assert!(e.crate_versions["arrow"].starts_with("59."));
    }
}
