//! BASE as a binary: a git revision built in a temporary worktree into the same cargo target
//! directory (only the project's own crates compile), and a clean checkout's binary kept
//! under `<target>/logbench-gate/<commit>/` for the next commit's gate.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// The cargo target directory a `bench-runner` binary was built into (`<dir>/release/…`).
pub fn target_dir_of(exe: &Path) -> Option<PathBuf> {
    let profile_dir = exe.parent()?;
    (profile_dir.file_name()? == "release").then(|| profile_dir.parent().map(Path::to_path_buf))?
}

fn git(repo: &Path, args: &[&str]) -> Result<String> {
    // Without optional locks: a plain `git status` refreshes and rewrites the index, which
    // bench-runner's build script watches, so the next cargo build of the checkout would
    // recompile bench-runner (about 4.5 minutes in CI's deploy step, 2026-12-04).
    let out = Command::new("git")
        .env("GIT_OPTIONAL_LOCKS", "0")
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
    // Nothing the binary is built from differs between BASE and the checkout NEW was built
    // from (the commit changed documentation, tests, scripts or deployment files only): BASE's
    // build would be this binary again, so it is kept as BASE's rather than built (about 10
    // minutes of CI on 2 cores). Both sides then run the same code, an A/A comparison.
    if new_bin == this
        && !cache.join(&commit).join("bench-runner").is_file()
        && same_binary_inputs(&repo, &commit)
    {
        log(&format!(
            "BASE {commit}: no file the binary is built from differs from the checkout's, so this binary is BASE's too"
        ));
        remember(this, &commit, &cache, 3)?;
    }
    build_revision(&repo, &commit, &target, &cache, log)
}

/// Whether the checkout's tracked files that the bench-runner binary is built from (every file
/// but documentation, tests, benches, results, charts, scripts, deployment files and CI)
/// equal `commit`'s. Anything not excluded counts, so a new kind of input errs on building.
pub fn same_binary_inputs(repo: &Path, commit: &str) -> bool {
    // `git diff --quiet` exits 0 when nothing differs, 1 when something does.
    let mut args = vec!["diff", "--quiet", commit, "--", "."];
    args.extend(NOT_BINARY_INPUTS);
    git(repo, &args).is_ok()
}

/// Pathspecs of what the bench-runner binary is not built from.
const NOT_BINARY_INPUTS: [&str; 13] = [
    ":(exclude,glob)**/*.md",
    ":(exclude)docs",
    ":(exclude)results",
    ":(exclude)charts",
    ":(exclude)scripts",
    ":(exclude)deploy",
    ":(exclude)deploy.sh",
    ":(exclude).ci",
    ":(exclude).dockerignore",
    ":(exclude).gitignore",
    ":(exclude,glob)*/tests/**",
    ":(exclude,glob)*/benches/**",
    ":(exclude)cluster/src",
];

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

#[cfg(test)]
mod tests {
    use super::*;

    /// `git ARGS` in `repo` with a committer named for the commits the tests make.
    fn git_as_tester(repo: &Path, args: &[&str]) -> String {
        git(
            repo,
            &[&["-c", "user.name=t", "-c", "user.email=t@t"][..], args].concat(),
        )
        .unwrap()
    }

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

    /// A commit that changed only documentation, tests or scripts has the same binary inputs
    /// as the checkout; one that changed code, a manifest or the workload does not.
    #[test]
    fn only_non_inputs_changed_means_the_same_binary() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path();
        let write = |rel: &str, text: &str| {
            let p = repo.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        let g = |args: &[&str]| git_as_tester(repo, args);
        g(&["init", "-q"]);
        for f in [
            "Cargo.toml",
            "bench-runner/src/main.rs",
            "bench-runner/tests/a.rs",
            "queries/q.sql",
            "docs/x.md",
            "README.md",
            "scripts/ci/x.sh",
        ] {
            write(f, "1");
        }
        g(&["add", "-A"]);
        g(&["commit", "-qm", "base"]);
        let base = g(&["rev-parse", "HEAD"]);
        assert!(same_binary_inputs(repo, &base));
        for f in [
            "bench-runner/tests/a.rs",
            "docs/x.md",
            "README.md",
            "scripts/ci/x.sh",
        ] {
            write(f, "2");
        }
        assert!(same_binary_inputs(repo, &base));
        for f in ["bench-runner/src/main.rs", "Cargo.toml", "queries/q.sql"] {
            write(f, "2");
            assert!(!same_binary_inputs(repo, &base), "{f} changed");
            write(f, "1");
        }
        assert!(same_binary_inputs(repo, &base));
    }

    /// Asking whether the checkout is clean must not rewrite its index: bench-runner's build
    /// script watches the index, so a rewrite recompiles bench-runner on the next build. A
    /// tracked file touched without a change makes a plain `git status` write fresh stat data.
    #[test]
    fn asking_for_a_clean_head_leaves_the_index_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path();
        let g = |args: &[&str]| git_as_tester(repo, args);
        g(&["init", "-q"]);
        std::fs::write(repo.join("a.txt"), "1").unwrap();
        g(&["add", "-A"]);
        g(&["commit", "-qm", "base"]);
        let index = repo.join(".git/index");
        let before = std::fs::read(&index).unwrap();
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(repo.join("a.txt"))
            .unwrap()
            .set_modified(later)
            .unwrap();
        assert_eq!(clean_head(repo), Some(g(&["rev-parse", "HEAD"])));
        assert_eq!(
            std::fs::read(&index).unwrap(),
            before,
            "the index was rewritten"
        );
    }
}
