//! `bench-runner gate`: BASE and NEW measured on the same machine in the same run, interleaved
//! query by query, then judged by [`crate::compare`].
//!
//! Each side is a `bench-runner` binary (NEW: this one; BASE: a git revision built in a
//! worktree that shares this build's cargo target directory, so only the project's own crates
//! are compiled). The gate drives both through the `run` command that every revision has, one
//! query at a time: round 1 runs query 1 on BASE then NEW, query 2 on BASE then NEW, …; the next
//! round starts each pair with NEW, and so on (A B, B A, …). Drift in the machine's speed hits
//! both sides alike. Each side's rounds are then merged into one result file (histograms add),
//! and those two files are what `compare` reads.
//!
//! Instructions per execution are counted too ([`count_instructions`]): each side's
//! `run --instructions`, both at once, before the rounds; the counts are attached to the merged
//! files, and `compare` judges them against its instruction threshold.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::results::RunResult;

pub mod answers;
mod build;
mod merge;

pub use build::{
    Patch, build_revision, cache_key, check_resolution, clean_head, copy_executable, prepare_base,
    prepare_patched_new, remember, resolve, target_dir_of, toplevel,
};
pub use merge::merge_dir;
use merge::merge_side;

/// One side of the comparison.
#[derive(Debug, Clone)]
pub struct Side {
    /// `base` or `new`: names the result file and the run.
    pub name: &'static str,
    pub bin: PathBuf,
    /// `--set key=value` passed to this side's runs.
    pub settings: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub data: PathBuf,
    /// The dataset instructions are counted on (smaller: callgrind runs the query about 50
    /// times slower than natively).
    pub instr_data: PathBuf,
    pub queries_dir: PathBuf,
    /// Query names, in the order each round runs them.
    pub queries: Vec<String>,
    pub rounds: u32,
    /// Fewest rounds to finish even when the budget runs out.
    pub min_rounds: u32,
    pub iterations: u32,
    pub warmup: u32,
    /// Stop starting rounds when the next one would end past this.
    pub budget: Duration,
    /// Where the per-round result files go.
    pub work_dir: PathBuf,
}

/// What [`measure`] returns: each side merged into one result, and how many rounds ran.
pub struct Measured {
    pub base: RunResult,
    pub new: RunResult,
    pub rounds: u32,
}

/// `side`'s `run` of `queries` on `data` with the plan's workload and the side's settings,
/// writing its result to `out`; `extra` arguments go before the settings.
fn run_command(
    side: &Side,
    plan: &Plan,
    data: &Path,
    queries: &[String],
    extra: &[String],
    out: &Path,
) -> Command {
    let mut cmd = Command::new(&side.bin);
    cmd.arg("run")
        .arg("--data")
        .arg(data)
        .arg("--queries")
        .arg(&plan.queries_dir);
    for q in queries {
        cmd.args(["--query", q]);
    }
    cmd.args(extra).arg("--out").arg(out).arg("--quiet");
    for s in &side.settings {
        cmd.args(["--set", s]);
    }
    cmd.stdin(Stdio::null());
    cmd
}

fn run_once(side: &Side, plan: &Plan, query: &str, out: &Path) -> Result<()> {
    let extra = [
        "--iterations".to_string(),
        plan.iterations.to_string(),
        "--warmup".to_string(),
        plan.warmup.to_string(),
    ];
    let output = run_command(side, plan, &plan.data, &[query.to_string()], &extra, out)
        .output()
        .map_err(|e| Error::io(format!("starting {}", side.bin.display()), e))?;
    // Exit 1 is a failed query, recorded in the file; anything else is a usage error.
    match output.status.code() {
        Some(0 | 1) if out.is_file() => Ok(()),
        _ => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let last = stderr.lines().last().unwrap_or("").trim().to_string();
            Err(Error::Config(format!(
                "{} ({}) failed on {query} with {}: {last}",
                side.name,
                side.bin.display(),
                output.status
            )))
        }
    }
}

/// Runs the interleaved rounds. `log` hears one line per round.
pub fn measure(
    plan: &Plan,
    base: &Side,
    new: &Side,
    log: &mut dyn FnMut(&str),
) -> Result<Measured> {
    std::fs::create_dir_all(&plan.work_dir)
        .map_err(|e| Error::io(format!("creating {}", plan.work_dir.display()), e))?;
    let started = Instant::now();
    let mut files: [Vec<Vec<PathBuf>>; 2] = [Vec::new(), Vec::new()];
    let mut done = 0;
    for round in 0..plan.rounds {
        let elapsed = started.elapsed();
        if round >= plan.min_rounds.max(1) {
            let per_round = elapsed / round;
            if elapsed + per_round > plan.budget {
                log(&format!(
                    "time budget: stopping after {round} rounds ({:.0} s, budget {:.0} s)",
                    elapsed.as_secs_f64(),
                    plan.budget.as_secs_f64()
                ));
                break;
            }
        }
        let order: [(usize, &Side); 2] = if round % 2 == 0 {
            [(0, base), (1, new)]
        } else {
            [(1, new), (0, base)]
        };
        for f in &mut files {
            f.push(Vec::new());
        }
        for q in &plan.queries {
            for (i, side) in order {
                let out = plan
                    .work_dir
                    .join(format!("{}-r{:02}-{q}.json", side.name, round + 1));
                run_once(side, plan, q, &out)?;
                files[i][round as usize].push(out);
            }
        }
        done = round + 1;
        log(&format!(
            "round {done}/{}: {} queries on both sides ({:.0} s so far)",
            plan.rounds,
            plan.queries.len(),
            started.elapsed().as_secs_f64()
        ));
    }
    let [fb, fn_] = files;
    Ok(Measured {
        base: merge_side(base.name, &fb)?,
        new: merge_side(new.name, &fn_)?,
        rounds: done,
    })
}

/// The command that counts one side's instructions: `run --instructions runs` over every
/// query, timed once without warm-up (the timing is not used).
fn count_command(side: &Side, plan: &Plan, runs: u32, out: &Path) -> Command {
    let extra = ["--iterations", "1", "--warmup", "0", "--instructions"]
        .map(String::from)
        .into_iter()
        .chain([runs.to_string()])
        .collect::<Vec<_>>();
    let mut cmd = run_command(side, plan, &plan.instr_data, &plan.queries, &extra, out);
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    cmd
}

/// Counts both sides' instructions per execution (`runs` counted runs per query), writing
/// `dir/base.json` and `dir/new.json`. The two valgrind processes run at the same time, one per
/// core: a count does not depend on timing (the A/A gates measured it, see
/// docs/gate-calibration.md). A side whose binary has no `run --instructions` (older than the
/// metric) gets None, and so does every side when valgrind is missing: the gate then judges wall
/// time alone, and `log` says why in one line.
pub fn count_instructions(
    plan: &Plan,
    runs: u32,
    sides: [&Side; 2],
    dir: &Path,
    log: &mut dyn FnMut(&str),
) -> Result<[Option<RunResult>; 2]> {
    if let Err(e) = crate::callgrind::valgrind_version() {
        log(&format!("instructions not counted: {e}"));
        return Ok([None, None]);
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let started = Instant::now();
    let outs = sides.map(|s| dir.join(format!("{}.json", s.name)));
    let children: Vec<_> = sides
        .iter()
        .zip(&outs)
        .map(|(side, out)| {
            count_command(side, plan, runs, out)
                .spawn()
                .map_err(|e| Error::io(format!("starting {}", side.bin.display()), e))
        })
        .collect::<Result<_>>()?;
    let mut counted = [None, None];
    for (i, child) in children.into_iter().enumerate() {
        let (side, out) = (sides[i], &outs[i]);
        let output = child
            .wait_with_output()
            .map_err(|e| Error::io(format!("waiting for {}", side.bin.display()), e))?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().last().unwrap_or("").trim().to_string();
        match output.status.code() {
            Some(0 | 1) if out.is_file() => {
                let r = RunResult::read(out)?;
                if r.instructions_setup.is_none() {
                    return Err(Error::Results(format!(
                        "{}: {} counted no instructions",
                        out.display(),
                        side.name
                    )));
                }
                counted[i] = Some(r);
            }
            Some(2) if stderr.contains("--instructions") && stderr.contains("unexpected") => {
                log(&format!(
                    "instructions: {} ({}) predates `run --instructions`; judged on wall time only",
                    side.name,
                    side.bin.display()
                ));
            }
            _ => {
                return Err(Error::Config(format!(
                    "{} ({}) failed counting instructions with {}: {last}",
                    side.name,
                    side.bin.display(),
                    output.status
                )));
            }
        }
    }
    // The runs as they were counted: a query's `-- instr-runs:` header raises its own.
    let raised: Vec<String> = counted
        .iter()
        .flatten()
        .take(1)
        .flat_map(|r| r.engines.iter().flat_map(|e| &e.queries))
        .filter_map(|q| Some((&q.name, q.instructions.as_ref()?.runs.len())))
        .filter(|&(_, n)| n > runs as usize)
        .map(|(name, n)| format!("{name} {n}"))
        .collect();
    let more = if raised.is_empty() {
        String::new()
    } else {
        format!(" (more where a header asks: {})", raised.join(", "))
    };
    log(&format!(
        "instructions: {} queries, {runs} counted runs each{more}, both sides in {:.0} s",
        plan.queries.len(),
        started.elapsed().as_secs_f64()
    ));
    Ok(counted)
}

/// Copies each query's instruction counts (and how they were made) from `counted` into
/// `merged`, a side's merged rounds.
pub fn attach_instructions(merged: &mut RunResult, counted: &RunResult) {
    let from = counted
        .engines
        .iter()
        .find(|e| e.engine.name == "datafusion");
    for e in merged
        .engines
        .iter_mut()
        .filter(|e| e.engine.name == "datafusion")
    {
        for q in &mut e.queries {
            q.instructions = from
                .and_then(|f| f.queries.iter().find(|c| c.name == q.name))
                .and_then(|c| c.instructions.clone());
        }
    }
    merged.instructions_setup = counted.instructions_setup.clone();
}

/// What one gate is asked to do: the `gate` command's flags, defaults resolved.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where base.json, new.json, the rounds, the counts and the workload go.
    pub out: PathBuf,
    /// BASE as a git revision, built unless `base_bin` is given.
    pub base: String,
    pub base_bin: Option<PathBuf>,
    pub new_bin: PathBuf,
    /// The running binary: its target directory builds BASE.
    pub this: PathBuf,
    pub target_dir: Option<PathBuf>,
    /// A dataset to use; otherwise `data/gate-<rows>` is made or reused.
    pub data: Option<PathBuf>,
    pub rows: u64,
    pub files: u64,
    pub instr_data: Option<PathBuf>,
    pub instr_rows: u64,
    /// Counted runs per query and side; 0: wall time only.
    pub instr_runs: u32,
    /// A workload directory; otherwise this build's built-in workload, written to OUT.
    pub queries: Option<PathBuf>,
    pub query: Vec<String>,
    pub rounds: u32,
    pub iterations: u32,
    pub warmup: u32,
    pub max_minutes: f64,
    pub base_set: Vec<String>,
    pub new_set: Vec<String>,
    /// Engine crates each side is built with from a local copy (`--base-patch`,
    /// `--new-patch`); NEW with patches is built from HEAD, not taken from `new_bin`.
    pub base_patches: Vec<Patch>,
    pub new_patches: Vec<Patch>,
    /// Queries whose answer change is expected (`--accept-answer-change`).
    pub accept_answer_changes: Vec<String>,
}

/// What a finished gate measured and concluded.
pub struct Finished {
    pub comparison: crate::compare::Comparison,
    /// Each changed answer, both sides' rows and the oracle's verdict.
    pub answer_changes: Vec<answers::AnswerChange>,
    pub rounds: u32,
    /// Seconds spent counting instructions, and measuring the rounds.
    pub count_s: f64,
    pub measure_s: f64,
}

/// The whole gate: BASE built (or taken), datasets made or reused, both sides' instructions
/// counted, the rounds measured interleaved, each side merged and written (`base.json`,
/// `new.json`), and the two compared.
pub fn run(
    cfg: &Config,
    opts: &crate::compare::Options,
    log: &mut dyn FnMut(&str),
) -> Result<Finished> {
    let out = &cfg.out;
    std::fs::create_dir_all(out)
        .map_err(|e| Error::Config(format!("creating {}: {e}", out.display())))?;
    let new_bin = if cfg.new_patches.is_empty() {
        cfg.new_bin.clone()
    } else {
        prepare_patched_new(&cfg.this, cfg.target_dir.clone(), &cfg.new_patches, log)?
    };
    if !new_bin.is_file() {
        return Err(Error::Config(format!(
            "NEW binary {} not found",
            new_bin.display()
        )));
    }
    // Building BASE replaces the binary cargo leaves in the target directory: NEW then runs
    // from a copy, removed at the end.
    let (base_bin, new_copy) = match &cfg.base_bin {
        Some(b) if b.is_file() => (b.clone(), None),
        Some(b) => {
            return Err(Error::Config(format!(
                "BASE binary {} not found",
                b.display()
            )));
        }
        None => {
            let copy = out.join("new-bench-runner");
            let base = prepare_base(
                &cfg.base,
                &cfg.this,
                &new_bin,
                cfg.target_dir.clone(),
                &copy,
                &cfg.base_patches,
                log,
            )?;
            (base, Some(copy))
        }
    };
    let data = cfg
        .data
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("data/gate-{}", cfg.rows)));
    if cfg.data.is_none() {
        crate::dataset::ensure_dataset(&data, cfg.rows, cfg.files, log)?;
    }
    let instr_data = match (&cfg.instr_data, &cfg.data) {
        (Some(d), _) | (None, Some(d)) => d.clone(),
        (None, None) => PathBuf::from(format!("data/gate-{}", cfg.instr_rows)),
    };
    if cfg.instr_runs > 0 && cfg.instr_data.is_none() && cfg.data.is_none() {
        crate::dataset::ensure_dataset(&instr_data, cfg.instr_rows, 2, log)?;
    }
    let queries_dir = match &cfg.queries {
        Some(d) => d.clone(),
        None => {
            let d = out.join("workload");
            crate::workload::write_builtin(&d)?;
            d
        }
    };
    let queries = crate::workload::select(crate::workload::load_dir(&queries_dir)?, &cfg.query)?;
    let plan = Plan {
        data,
        instr_data,
        queries_dir,
        queries: queries.iter().map(|q| q.name.clone()).collect(),
        rounds: cfg.rounds.max(1),
        min_rounds: 2,
        iterations: cfg.iterations.max(1),
        warmup: cfg.warmup,
        budget: Duration::from_secs_f64(cfg.max_minutes.max(0.0) * 60.0),
        work_dir: out.join("rounds"),
    };
    let base = Side {
        name: "base",
        bin: base_bin,
        settings: cfg.base_set.clone(),
    };
    let new = Side {
        name: "new",
        bin: new_copy.clone().unwrap_or_else(|| new_bin.clone()),
        settings: cfg.new_set.clone(),
    };
    log(&format!(
        "measuring {} queries, up to {} rounds of {} iterations a side, interleaved",
        plan.queries.len(),
        plan.rounds,
        plan.iterations
    ));
    let counting = Instant::now();
    let counted = if cfg.instr_runs > 0 {
        count_instructions(
            &plan,
            cfg.instr_runs,
            [&base, &new],
            &out.join("instructions"),
            log,
        )
    } else {
        Ok([None, None])
    };
    let count_s = counting.elapsed().as_secs_f64();
    let measuring = Instant::now();
    let measured = counted.and_then(|c| Ok((c, measure(&plan, &base, &new, log)?)));
    let measure_s = measuring.elapsed().as_secs_f64();
    let ([base_counted, new_counted], mut m) = match measured {
        Ok(m) => m,
        Err(e) => {
            if let Some(c) = &new_copy {
                let _ = std::fs::remove_file(c);
            }
            return Err(e);
        }
    };
    // Instructions are judged only where both sides were counted, and counted alike: a side
    // on another allocator or runtime (BASE from before a change of either) counts another
    // program's work.
    if let (Some(b), Some(n)) = (&base_counted, &new_counted) {
        match crate::compare::instructions_incomparable(b, n) {
            Some(why) => log(&format!("{why}: judged on wall time only")),
            None => {
                attach_instructions(&mut m.base, b);
                attach_instructions(&mut m.new, n);
            }
        }
    }
    m.base.write(&out.join("base.json"))?;
    m.new.write(&out.join("new.json"))?;
    let mut comparison = crate::compare::compare(&m.base, &m.new, opts)?;
    for name in comparison.accept_answer_changes(&cfg.accept_answer_changes) {
        log(&format!(
            "--accept-answer-change {name}: its answer did not change"
        ));
    }
    // Each changed answer once more on both sides, row by row and against DuckDB.
    let changed: Vec<(String, bool)> = comparison
        .queries
        .iter()
        .filter(|q| q.answer_changed)
        .map(|q| {
            let ordered = queries
                .iter()
                .find(|w| w.name == q.query)
                .is_some_and(|w| w.fixes_order());
            (q.query.clone(), ordered)
        })
        .collect();
    let answer_changes = if changed.is_empty() {
        Vec::new()
    } else {
        log(&format!(
            "{} answers changed: each answered once more by both sides and by DuckDB",
            changed.len()
        ));
        let found =
            answers::explain_changes(&plan, [&base, &new], &changed, &answers::answers_dir(out));
        match found {
            Ok(found) => {
                let md: String = found.iter().map(|a| a.to_markdown() + "\n").collect();
                crate::results::write_file(&out.join("answers.md"), md.as_bytes())?;
                found
            }
            Err(e) => {
                log(&format!("the changed answers could not be shown: {e}"));
                Vec::new()
            }
        }
    };
    if let Some(c) = &new_copy {
        let _ = std::fs::remove_file(c);
    }
    Ok(Finished {
        comparison,
        answer_changes,
        rounds: m.rounds,
        count_s,
        measure_s,
    })
}
