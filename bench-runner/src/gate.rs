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
use crate::histogram::{self, LatencySummary};
use crate::results::{QueryResult, RunResult, Status};

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
    log(&format!(
        "instructions: {} queries, {runs} counted runs each, both sides in {:.0} s",
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

fn read_round(path: &Path) -> Result<RunResult> {
    let r = RunResult::read(path)?;
    if r.engines.len() != 1 || r.engines[0].queries.len() != 1 {
        return Err(Error::Results(format!(
            "{}: expected one engine and one query",
            path.display()
        )));
    }
    Ok(r)
}

/// One side's rounds (`rounds[r][q]`: a file with query q of round r) as one result.
fn merge_side(name: &str, rounds: &[Vec<PathBuf>]) -> Result<RunResult> {
    let per_round: Vec<Vec<RunResult>> = rounds
        .iter()
        .map(|r| r.iter().map(|p| read_round(p)).collect())
        .collect::<Result<_>>()?;
    let first = per_round
        .first()
        .and_then(|r| r.first())
        .ok_or_else(|| Error::Config("no rounds were measured".into()))?;
    let mut merged = first.clone();
    merged.run_id = format!("{}-{name}", first.run_id);
    merged.finished_at = per_round
        .last()
        .and_then(|r| r.last())
        .map_or(first.finished_at.clone(), |r| r.finished_at.clone());
    let queries = per_round[0].len();
    let mut results = Vec::with_capacity(queries);
    for q in 0..queries {
        let runs: Vec<&QueryResult> = per_round
            .iter()
            .map(|r| &r[q].engines[0].queries[0])
            .collect();
        results.push(merge_query(&runs)?);
    }
    merged.arguments.iterations = first
        .arguments
        .iterations
        .map(|n| n * per_round.len() as u32);
    merged.arguments.selected_queries = results.iter().map(|q| q.name.clone()).collect();
    merged.arguments.argv = vec![
        "bench-runner gate".into(),
        format!("{name}: {} rounds", per_round.len()),
    ];
    merged.engines[0].queries = results;
    merged.answer_mismatches.clear();
    merged.validate()?;
    Ok(merged)
}

/// One query's rounds as one result: histograms added, answers required to agree.
fn merge_query(runs: &[&QueryResult]) -> Result<QueryResult> {
    let mut out = runs[0].clone();
    if let Some(failed) = runs.iter().find(|r| r.status == Status::Failed) {
        out.status = Status::Failed;
        out.error = failed.error.clone();
        out.latency = None;
        return Ok(out);
    }
    if let Some(other) = runs
        .iter()
        .find(|r| !crate::digest::answers_agree(r.answer.as_ref(), runs[0].answer.as_ref()))
    {
        out.status = Status::Failed;
        out.latency = None;
        out.error = Some(format!(
            "answers differ between rounds: {:?} and {:?}",
            runs[0].answer, other.answer
        ));
        return Ok(out);
    }
    let hs = runs
        .iter()
        .map(|r| {
            r.latency
                .as_ref()
                .ok_or_else(|| Error::Results(format!("{}: ok without latency", r.name)))?
                .histogram()
        })
        .collect::<Result<Vec<_>>>()?;
    out.latency = Some(LatencySummary::from_histogram(&histogram::merge(&hs)?)?);
    out.rounds_us = runs
        .iter()
        .map(|r| crate::compare::samples(r.latency.as_ref().expect("checked above")))
        .collect::<Result<_>>()?;
    out.samples_us = runs.iter().flat_map(|r| r.samples_us.clone()).collect();
    if out.samples_us.len() as u64 != out.latency.as_ref().map_or(0, |l| l.count) {
        // Rounds from a build that did not record its samples.
        out.samples_us.clear();
    }
    out.sampling = crate::sampling::Outcome::new(crate::sampling::Stop::Fixed, &out.samples_us);
    Ok(out)
}

/// BASE and NEW merged again from a gate directory's `rounds/` files
/// (`<side>-rNN-<query>.json`) and its instruction counts (`instructions/<side>.json`, where
/// counted), so results of any gate can be re-analysed.
pub fn merge_dir(dir: &Path) -> Result<(RunResult, RunResult)> {
    let rounds = dir.join("rounds");
    let mut names: Vec<String> = std::fs::read_dir(&rounds)
        .map_err(|e| Error::io(format!("listing {}", rounds.display()), e))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    let mut sides = Vec::new();
    for side in ["base", "new"] {
        // rounds[r] = that round's files, queries in name order.
        let mut by_round: std::collections::BTreeMap<String, Vec<PathBuf>> = Default::default();
        for n in names.iter().filter(|n| n.starts_with(&format!("{side}-r"))) {
            let round = n[side.len() + 1..]
                .split('-')
                .next()
                .unwrap_or("")
                .to_string();
            by_round.entry(round).or_default().push(rounds.join(n));
        }
        let files: Vec<Vec<PathBuf>> = by_round.into_values().collect();
        if files.windows(2).any(|w| w[0].len() != w[1].len()) {
            return Err(Error::Results(format!(
                "{}: the {side} rounds hold different numbers of queries (an interrupted gate?)",
                rounds.display()
            )));
        }
        let mut merged = merge_side(side, &files)?;
        let counted = dir.join("instructions").join(format!("{side}.json"));
        if counted.is_file() {
            attach_instructions(&mut merged, &RunResult::read(&counted)?);
        }
        sides.push(merged);
    }
    let new = sides.pop().expect("two sides");
    let base = sides.pop().expect("two sides");
    Ok((base, new))
}

/// The cargo target directory a `bench-runner` binary was built into (`<dir>/release/…`).
pub fn target_dir_of(exe: &Path) -> Option<PathBuf> {
    let profile_dir = exe.parent()?;
    (profile_dir.file_name()? == "release").then(|| profile_dir.parent().map(Path::to_path_buf))?
}

fn git(repo: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::io("running git", e))?;
    if !out.status.success() {
        return Err(Error::Config(format!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The full commit id `rev` names in `repo`.
pub fn resolve(repo: &Path, rev: &str) -> Result<String> {
    git(repo, &["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")]).map_err(|_| {
        Error::Config(format!(
            "base revision {rev} is not a commit in {} (a shallow clone has no history: fetch more, or pass --base-bin)",
            repo.display()
        ))
    })
}

/// Removes the worktree when dropped, even when the build failed.
struct Worktree<'a> {
    repo: &'a Path,
    path: PathBuf,
}

impl Drop for Worktree<'_> {
    fn drop(&mut self) {
        let _ = git(
            self.repo,
            &[
                "worktree",
                "remove",
                "--force",
                &self.path.display().to_string(),
            ],
        );
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// BASE's binary for `rev`, built in a worktree into `target_dir` (default: the cargo target
/// directory `this`, the running binary, was built in) or found in the per-commit cache there;
/// and a copy of `new_bin` at `copy_to`, since the build replaces the binary cargo leaves in the
/// target directory. When NEW is this very binary and the checkout is clean, it is kept under
/// its own commit too, so the next commit's gate finds its BASE built.
pub fn prepare_base(
    rev: &str,
    this: &Path,
    new_bin: &Path,
    target_dir: Option<PathBuf>,
    copy_to: &Path,
    log: &mut dyn FnMut(&str),
) -> Result<PathBuf> {
    let repo = toplevel()?;
    let commit = resolve(&repo, rev)?;
    let target = target_dir.or_else(|| target_dir_of(this)).ok_or_else(|| {
        Error::Config(format!(
            "{} is not in a cargo target directory's release/ folder: pass --target-dir",
            this.display()
        ))
    })?;
    let cache = target.join("logbench-gate");
    if new_bin == this
        && let Some(head) = clean_head(&repo)
    {
        remember(this, &head, &cache, 3)?;
    }
    copy_executable(new_bin, copy_to)?;
    log(&format!("BASE is {rev} = {commit}"));
    build_revision(&repo, &commit, &target, &cache, log)
}

/// Builds `bench-runner` at `commit` in a temporary git worktree into `target_dir` (shared
/// with the checkout, so only the project's crates compile) and keeps the binary as
/// `cache_dir/<commit>/bench-runner`; a kept one is reused. The build replaces the binary
/// cargo leaves at `<target_dir>/release/bench-runner`, so that file is put back afterwards.
pub fn build_revision(
    repo: &Path,
    commit: &str,
    target_dir: &Path,
    cache_dir: &Path,
    log: &mut dyn FnMut(&str),
) -> Result<PathBuf> {
    let kept = cache_dir.join(commit).join("bench-runner");
    if kept.is_file() {
        log(&format!("BASE {commit}: reusing {}", kept.display()));
        // Touch it, so pruning keeps what is in use.
        let _ = std::fs::File::open(kept.parent().expect("has a parent"))
            .and_then(|d| d.set_modified(std::time::SystemTime::now()));
        return Ok(kept);
    }
    let path = std::env::temp_dir().join(format!(
        "logbench-gate-{}-{}",
        &commit[..12.min(commit.len())],
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&path);
    git(
        repo,
        &[
            "worktree",
            "add",
            "--detach",
            &path.display().to_string(),
            commit,
        ],
    )?;
    let worktree = Worktree { repo, path };
    let uplifted = target_dir.join("release").join("bench-runner");
    let saved = uplifted.with_extension("gate-saved");
    let saved = (uplifted.is_file() && copy_executable(&uplifted, &saved).is_ok()).then_some(saved);
    log(&format!(
        "BASE {commit}: building bench-runner in {} (target {})",
        worktree.path.display(),
        target_dir.display()
    ));
    let out = Command::new("cargo")
        .current_dir(&worktree.path)
        // build.rs reruns (and records this commit) when the directory differs.
        .env("PWD", &worktree.path)
        // The whole workspace's feature set, so the shared dependencies are the ones every
        // other build here compiled: `-p bench-runner` alone would resolve arrow, tokio and a
        // dozen more with fewer features (the server crates are not its dependencies) and
        // rebuild DataFusion. Only the bench-runner binary is built.
        .args(["build", "--release", "--workspace", "--bin", "bench-runner"])
        .arg("--target-dir")
        .arg(target_dir)
        .args(["--message-format", "json-render-diagnostics"])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| Error::io("running cargo", e))?;
    let built = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["reason"] == "compiler-artifact" && v["target"]["name"] == "bench-runner")
        .find_map(|v| v["executable"].as_str().map(PathBuf::from));
    let result = match (out.status.success(), built) {
        (true, Some(exe)) => copy_executable(&exe, &kept).map(|()| kept),
        _ => Err(Error::Config(format!(
            "building BASE {commit} failed ({}); see cargo's messages above",
            out.status
        ))),
    };
    if let Some(saved) = saved {
        std::fs::rename(&saved, &uplifted)
            .map_err(|e| Error::io(format!("restoring {}", uplifted.display()), e))?;
    }
    result
}

/// Keeps `exe` as the binary of `commit` in `cache_dir` (where [`build_revision`] looks), so a
/// later gate whose BASE is this commit needs no build; only the `keep` newest entries stay.
pub fn remember(exe: &Path, commit: &str, cache_dir: &Path, keep: usize) -> Result<PathBuf> {
    let kept = cache_dir.join(commit).join("bench-runner");
    if !kept.is_file() {
        copy_executable(exe, &kept)?;
    }
    let mut entries: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(cache_dir)
        .map_err(|e| Error::io(format!("listing {}", cache_dir.display()), e))?
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    entries.sort_by_key(|e| std::cmp::Reverse(e.0));
    for (_, old) in entries.into_iter().skip(keep) {
        let _ = std::fs::remove_dir_all(old);
    }
    Ok(kept)
}

/// The commit checked out in `repo` when its tracked files are unmodified, else None.
pub fn clean_head(repo: &Path) -> Option<String> {
    let dirty = git(repo, &["status", "--porcelain", "--untracked-files=no"]).ok()?;
    if !dirty.is_empty() {
        return None;
    }
    git(repo, &["rev-parse", "HEAD"]).ok()
}

/// Copies an executable (permissions included) under a temporary name beside `to`, then
/// renames it into place, creating `to`'s directory. The binaries are about 800 MB: they are
/// copied file to file, never held in memory.
pub fn copy_executable(from: &Path, to: &Path) -> Result<()> {
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    }
    let tmp = to.with_extension("tmp");
    std::fs::copy(from, &tmp).map_err(|e| {
        Error::io(
            format!("copying {} to {}", from.display(), tmp.display()),
            e,
        )
    })?;
    std::fs::rename(&tmp, to).map_err(|e| Error::io(format!("renaming to {}", to.display()), e))
}

/// The top directory of the git checkout the current directory is in.
pub fn toplevel() -> Result<PathBuf> {
    git(Path::new("."), &["rev-parse", "--show-toplevel"])
        .map(PathBuf::from)
        .map_err(|_| {
            Error::Config(
                "not inside a git checkout: run the gate from the repository, or pass --base-bin"
                    .into(),
            )
        })
}

/// A dataset of `rows` rows in `files` files at `dir`: reused when it matches its manifest and
/// has that many rows, generated (in process, with data-gen's library) otherwise.
pub fn ensure_dataset(dir: &Path, rows: u64, files: u64, log: &mut dyn FnMut(&str)) -> Result<()> {
    if let Ok((m, _)) = crate::dataset::verify(dir, false)
        && m.rows == rows
        && m.file_count as u64 == files
    {
        log(&format!("dataset {}: {rows} rows, reused", dir.display()));
        return Ok(());
    }
    log(&format!(
        "dataset {}: generating {rows} rows in {files} files",
        dir.display()
    ));
    let mut req = data_gen::Request::new(dir, rows, files);
    req.force = true;
    data_gen::generate(&req, &mut |_| {}).map_err(|e| Error::Dataset(e.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_dir_is_found_from_a_release_binary_only() {
        assert_eq!(
            target_dir_of(Path::new("/x/target/release/bench-runner")),
            Some(PathBuf::from("/x/target"))
        );
        assert_eq!(
            target_dir_of(Path::new("/x/target/debug/bench-runner")),
            None
        );
    }
}
