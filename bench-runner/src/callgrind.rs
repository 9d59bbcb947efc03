//! Instruction counts under valgrind's callgrind, for the query's execution only.
//!
//! The runner starts a second copy of itself under `valgrind --tool=callgrind --instr-atstart=no`
//! ([`command`]); that copy ([`crate::commands::count`]) registers the dataset without
//! instrumentation, then around each execution of a query switches instrumentation on, zeroes
//! the counters, runs the query to its last batch, and dumps the counters under a name that says
//! which query and run it was ([`Region`]). Planning for the plans section, digesting and
//! writing results happen in the parent, not here. [`read_dumps`] reads the dump files back.
//!
//! The client requests are the few instructions valgrind recognises in the program it runs
//! (a magic sequence of rotates, then `xchg rbx, rbx`); outside valgrind they do nothing and
//! return the default. Only x86_64 has them here; elsewhere the count refuses.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};
pub use crate::results::measure::{CountSetup, QueryInstructions};

/// Callgrind's client requests: the tool base ('C', 'T') plus an index.
const CT_BASE: u64 = ((b'C' as u64) << 24) | ((b'T' as u64) << 16);
const DUMP_STATS_AT: u64 = CT_BASE + 3;
const ZERO_STATS: u64 = CT_BASE + 1;
const START_INSTRUMENTATION: u64 = CT_BASE + 4;
const STOP_INSTRUMENTATION: u64 = CT_BASE + 5;
/// Valgrind core request: how many valgrinds the program runs under (0 natively).
const RUNNING_ON_VALGRIND: u64 = 0x1001;

#[cfg(target_arch = "x86_64")]
fn request(default: u64, args: [u64; 6]) -> u64 {
    let mut result = default;
    // SAFETY: the sequence rotates %rdi by 3+13+61+51 = 128 bits (a no-op) and exchanges %rbx
    // with itself; natively it changes nothing but %rdx, which is the result. Under valgrind
    // it is the client-request trap, reading the six words at %rax.
    unsafe {
        std::arch::asm!(
            "rol rdi, 3",
            "rol rdi, 13",
            "rol rdi, 61",
            "rol rdi, 51",
            "xchg rbx, rbx",
            in("rax") args.as_ptr(),
            inout("rdx") result,
            out("rdi") _,
            options(nostack),
        );
    }
    result
}

#[cfg(not(target_arch = "x86_64"))]
fn request(default: u64, _args: [u64; 6]) -> u64 {
    default
}

/// Whether this process runs under valgrind (and the client requests reach it).
pub fn running_on_valgrind() -> bool {
    request(0, [RUNNING_ON_VALGRIND, 0, 0, 0, 0, 0]) > 0
}

/// One counted region: instrumentation on and counters zeroed when it starts; the counters
/// dumped under its name and instrumentation off when it ends.
pub struct Region {
    name: std::ffi::CString,
}

impl Region {
    pub fn start(name: &str) -> Self {
        let name = std::ffi::CString::new(name.replace('\0', "")).expect("no NUL left");
        request(0, [START_INSTRUMENTATION, 0, 0, 0, 0, 0]);
        request(0, [ZERO_STATS, 0, 0, 0, 0, 0]);
        Region { name }
    }

    pub fn end(self) {
        request(0, [DUMP_STATS_AT, self.name.as_ptr() as u64, 0, 0, 0, 0]);
        request(0, [STOP_INSTRUMENTATION, 0, 0, 0, 0, 0]);
    }
}

/// The tokio runtime a count executes the query on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CountRuntime {
    /// The multi-threaded runtime that `run` measures wall time on: the hand-offs between
    /// partitions' tasks, wake-ups and channel traffic are counted.
    Multi,
    /// One thread runs the same plan and partitions (the count before 2026-12-03).
    Current,
}

impl CountRuntime {
    /// How results name it (`CountSetup::runtime`). The worker count is this process's: the
    /// counting copy is the same program with the same environment (`TOKIO_WORKER_THREADS`).
    pub fn name(self) -> String {
        match self {
            CountRuntime::Multi => format!(
                "multi-thread ({} workers)",
                tokio::runtime::Handle::try_current().map_or_else(
                    |_| std::thread::available_parallelism().map_or(1, |n| n.get()),
                    |h| h.metrics().num_workers()
                )
            ),
            CountRuntime::Current => "current-thread".to_string(),
        }
    }

    fn flag(self) -> &'static str {
        match self {
            CountRuntime::Multi => "multi",
            CountRuntime::Current => "current",
        }
    }
}

/// The dump name of run `run` of `query`.
pub fn region_name(query: &str, run: u32) -> String {
    format!("logbench:{query}:{run}")
}

/// The valgrind options the count runs with. `--fair-sched=yes` keeps the idle runtime threads'
/// turns in a fixed order; with the query on one thread it changed the counts by under 0.1 %
/// (docs/methodology.md), and costs nothing.
pub const OPTIONS: [&str; 5] = [
    "--tool=callgrind",
    "--instr-atstart=no",
    "--fair-sched=yes",
    "--compress-strings=no",
    "--compress-pos=no",
];

/// `valgrind --version`, or a one-line refusal naming what is missing.
pub fn valgrind_version() -> Result<String> {
    let out = Command::new("valgrind")
        .arg("--version")
        .output()
        .map_err(|e| {
            Error::Config(format!(
                "--instructions needs valgrind on PATH (apt install valgrind): {e}"
            ))
        })?;
    let v = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || v.is_empty() {
        return Err(Error::Config(
            "--instructions needs valgrind on PATH: `valgrind --version` failed".into(),
        ));
    }
    Ok(v)
}

/// The command that runs `program args` under callgrind, its dumps going to `dir`.
pub fn command(program: &Path, args: &[String], dir: &Path) -> Command {
    let mut cmd = Command::new("valgrind");
    cmd.args(OPTIONS)
        .arg(format!(
            "--callgrind-out-file={}",
            dir.join("callgrind.out.%p").display()
        ))
        .arg(program)
        .args(args);
    cmd
}

/// Reads every dump in `dir` made by a [`Region`]: (query, run) -> instructions executed.
pub fn read_dumps(dir: &Path) -> Result<BTreeMap<(String, u32), u64>> {
    let mut out = BTreeMap::new();
    let entries =
        std::fs::read_dir(dir).map_err(|e| Error::io(format!("reading {}", dir.display()), e))?;
    for e in entries {
        let path: PathBuf = e
            .map_err(|e| Error::io(format!("reading {}", dir.display()), e))?
            .path();
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        if let Some((query, run, ir)) = parse_dump(&text) {
            out.insert((query, run), ir);
        }
    }
    Ok(out)
}

/// One dump's region name and instruction total, when it is one of ours.
pub fn parse_dump(text: &str) -> Option<(String, u32, u64)> {
    let mut trigger = None;
    let mut events: Vec<&str> = Vec::new();
    let mut totals = None;
    for line in text.lines() {
        if let Some(t) = line.strip_prefix("desc: Trigger: Client Request: ") {
            trigger = Some(t.trim());
        } else if let Some(e) = line.strip_prefix("events:") {
            events = e.split_whitespace().collect();
        } else if let Some(t) = line
            .strip_prefix("totals:")
            .or_else(|| line.strip_prefix("summary:"))
        {
            totals = Some(t.split_whitespace().map(str::to_string).collect::<Vec<_>>());
        }
    }
    let rest = trigger?.strip_prefix("logbench:")?;
    let (query, run) = rest.rsplit_once(':')?;
    let at = events.iter().position(|e| *e == "Ir").unwrap_or(0);
    let ir = totals?.get(at)?.parse().ok()?;
    Some((query.to_string(), run.parse().ok()?, ir))
}

/// A directory of its own for one count's dumps, removed when dropped.
struct DumpDir(PathBuf);

impl DumpDir {
    fn new() -> Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir =
            std::env::temp_dir().join(format!("logbench-callgrind-{}-{nanos}", std::process::id()));
        std::fs::create_dir(&dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        Ok(DumpDir(dir))
    }
}

impl Drop for DumpDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl QueryInstructions {
    pub fn from_runs(runs: Vec<u64>) -> Option<Self> {
        let mut sorted = runs.clone();
        sorted.sort_unstable();
        let median = *sorted.get(sorted.len() / 2)?;
        let spread = sorted.last()? - sorted.first()?;
        Some(QueryInstructions {
            per_execution: median,
            spread_ppm: (spread as u128 * 1_000_000 / median.max(1) as u128) as u64,
            runs,
        })
    }
}

/// Counts every query's instructions: runs `program count-instructions worker_args --runs
/// runs` under callgrind, its dumps in a temporary directory; returns the setup and, per query
/// name, its counts. A query the worker could not run has no entry.
pub fn count(
    program: &Path,
    worker_args: &[String],
    runs: u32,
    runtime: CountRuntime,
) -> Result<(CountSetup, BTreeMap<String, QueryInstructions>)> {
    let valgrind = valgrind_version()?;
    let dir = DumpDir::new()?;
    let mut args = vec!["count-instructions".to_string()];
    args.extend(worker_args.iter().cloned());
    args.extend(["--runs".to_string(), runs.to_string()]);
    args.extend(["--runtime".to_string(), runtime.flag().to_string()]);
    let out = command(program, &args, &dir.0)
        .env("RUST_LOG", "off")
        .output()
        .map_err(|e| Error::io("starting valgrind", e))?;
    let dumps = read_dumps(&dir.0)?;
    if dumps.is_empty() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(Error::Engine(format!(
            "valgrind counted nothing (exit {:?}): {last}",
            out.status.code()
        )));
    }
    let mut per_query: BTreeMap<String, Vec<(u32, u64)>> = BTreeMap::new();
    for ((q, run), ir) in dumps {
        per_query.entry(q).or_default().push((run, ir));
    }
    let counts = per_query
        .into_iter()
        .filter_map(|(q, mut runs)| {
            runs.sort_unstable();
            QueryInstructions::from_runs(runs.into_iter().map(|(_, ir)| ir).collect())
                .map(|c| (q, c))
        })
        .collect();
    let setup = CountSetup {
        valgrind,
        options: OPTIONS.iter().map(|s| s.to_string()).collect(),
        runs,
        runtime: Some(runtime.name()),
        processes: None,
        conditions: vec![
            "counted: the query's execution to its last batch (SessionContext::sql then collect), after one uncounted run; not start-up, registration, plans, digests or result writing".into(),
            "engine: DataFusion in the valgrind process, the run's settings (--set)".into(),
            match runtime {
                CountRuntime::Multi => "threads: the query runs on the multi-threaded tokio runtime `run` measures on; the region counts every thread (it starts and stops instrumentation and zeroes and dumps the counters process-wide)".into(),
                CountRuntime::Current => "threads: the query runs on a current-thread tokio runtime (the same plan and partitions, one thread)".into(),
            },
            "per_execution is the median of the counted runs: the first counted run is about 1 % above the others".into(),
            "runs: a query whose `-- instr-runs:` header asks for more is counted that many times".into(),
        ],
    };
    Ok((setup, counts))
}

/// What the counting worker runs: the run's dataset, workload and settings.
pub struct Worker<'a> {
    pub data: String,
    pub queries: Option<&'a Path>,
    pub set: &'a [String],
    pub memory_limit: Option<u64>,
    pub runtime: CountRuntime,
}

impl Worker<'_> {
    /// The worker's arguments for these queries.
    fn args(&self, queries: &[String]) -> Vec<String> {
        let mut out = vec!["--data".to_string(), self.data.clone()];
        if let Some(q) = self.queries {
            out.extend(["--queries".to_string(), q.display().to_string()]);
        }
        for q in queries {
            out.extend(["--query".to_string(), q.clone()]);
        }
        for s in self.set {
            out.extend(["--set".to_string(), s.clone()]);
        }
        if let Some(m) = self.memory_limit {
            out.extend(["--memory-limit".to_string(), m.to_string()]);
        }
        out
    }
}

/// `run --instructions`: counts every query of the run's DataFusion engine (`runs` counted
/// runs each, by `program count-instructions` under callgrind) into its result, with the
/// setup. A run without a DataFusion engine is left as it is.
///
/// `processes` valgrind processes count at once, each its share of the queries: the workload's
/// queries dealt out in turn, in workload order, so that two runs of one workload with the same
/// number split it alike (a query's count depends a little on what ran before it in its
/// process: its allocator's state). valgrind runs a process's threads one at a time, so one
/// process keeps one core busy; the counts themselves do not depend on how many run at once.
pub fn count_run(
    result: &mut crate::results::RunResult,
    program: &Path,
    worker: &Worker,
    runs: u32,
    processes: u32,
) -> Result<()> {
    let Some(engine) = result
        .engines
        .iter_mut()
        .find(|e| e.engine.name == "datafusion")
    else {
        return Ok(());
    };
    let names: Vec<String> = engine.queries.iter().map(|q| q.name.clone()).collect();
    let groups = deal(&names, processes);
    // Named here, on the runtime's own thread: the counting threads below have no runtime to
    // ask for its worker count.
    let runtime = worker.runtime.name();
    let counted: Vec<Result<(CountSetup, BTreeMap<String, QueryInstructions>)>> =
        std::thread::scope(|s| {
            let handles: Vec<_> = groups
                .iter()
                .map(|g| s.spawn(|| count(program, &worker.args(g), runs, worker.runtime)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(Error::Engine("a counting thread panicked".into())))
                })
                .collect()
        });
    let mut setup = None;
    let mut counts = BTreeMap::new();
    for c in counted {
        let (s, c) = c?;
        setup.get_or_insert(s);
        counts.extend(c);
    }
    for q in &mut engine.queries {
        q.instructions = counts.get(&q.name).cloned();
    }
    if let Some(s) = &mut setup {
        s.runtime = Some(runtime);
        if groups.len() > 1 {
            s.processes = Some(groups.len() as u32);
            s.conditions.push(format!(
                "processes: {} valgrind processes at once, the queries dealt out in turn in workload order",
                groups.len()
            ));
        }
    }
    result.instructions_setup = setup;
    Ok(())
}

/// `names` dealt out in turn into at most `processes` non-empty groups.
fn deal(names: &[String], processes: u32) -> Vec<Vec<String>> {
    let n = (processes.max(1) as usize).min(names.len().max(1));
    let mut groups = vec![Vec::new(); n];
    for (i, name) in names.iter().enumerate() {
        groups[i % n].push(name.clone());
    }
    groups.retain(|g| !g.is_empty());
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dump_names_its_region_and_total() {
        let text = "version: 1\ncreator: callgrind-3.19.0\npid: 7\ncmd: x\npart: 3\n\n\
                    desc: I1 cache: \ndesc: Timerange: Basic block 1 - 2\n\
                    desc: Trigger: Client Request: logbench:agg_top_users:4\n\n\
                    positions: line\nevents: Ir\nsummary: 123456789\n\nfl=a\nfn=b\n1 5\n\
                    totals: 123456789\n";
        assert_eq!(
            parse_dump(text),
            Some(("agg_top_users".to_string(), 4, 123_456_789))
        );
        // A dump valgrind made at exit, or of another program: not ours.
        let exit = text.replace(
            "Client Request: logbench:agg_top_users:4",
            "Program termination",
        );
        assert_eq!(parse_dump(&exit), None);
        assert_eq!(parse_dump("garbage"), None);
    }

    #[test]
    fn queries_are_dealt_out_in_turn() {
        let names: Vec<String> = ["a", "b", "c", "d", "e"].map(String::from).to_vec();
        let g = deal(&names, 2);
        assert_eq!(g, vec![vec!["a", "c", "e"], vec!["b", "d"]]);
        assert_eq!(deal(&names, 1), vec![names.clone()]);
        // Never an empty process.
        assert_eq!(deal(&names[..1], 4), vec![vec!["a".to_string()]]);
        assert_eq!(deal(&names, 0).len(), 1);
    }

    #[test]
    fn natively_the_requests_do_nothing() {
        assert!(!running_on_valgrind());
        let r = Region::start("logbench:q:0");
        r.end();
    }
}
