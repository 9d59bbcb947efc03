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

/// An engine crate replaced by a local copy on one side of a gate: the side is built with
/// `[patch.crates-io] CRATE = { path = PATH }` added to its worktree's manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patch {
    pub krate: String,
    /// Absolute.
    pub path: PathBuf,
    /// SHA-256 of the copy's sources (every file but `target/` and `.git/`, by relative path).
    pub hash: String,
}

impl Patch {
    /// `CRATE=PATH`, where PATH holds a copy of the crate CRATE (its Cargo.toml names it).
    pub fn parse(spec: &str) -> Result<Patch> {
        let (krate, path) = spec
            .split_once('=')
            .filter(|(k, p)| !k.is_empty() && !p.is_empty())
            .ok_or_else(|| Error::Config(format!("patch '{spec}': expected CRATE=PATH")))?;
        let path = Path::new(path)
            .canonicalize()
            .map_err(|e| Error::Config(format!("patch {krate}={path}: {e}")))?;
        let manifest = std::fs::read_to_string(path.join("Cargo.toml")).map_err(|e| {
            Error::Config(format!(
                "patch {krate}={}: no Cargo.toml there ({e})",
                path.display()
            ))
        })?;
        let named = manifest
            .lines()
            .skip_while(|l| l.trim() != "[package]")
            .find_map(|l| {
                let (k, v) = l.split_once('=')?;
                (k.trim() == "name").then(|| v.trim().trim_matches('"').to_string())
            });
        if named.as_deref() != Some(krate) {
            return Err(Error::Config(format!(
                "patch {krate}={}: that directory holds the crate {}",
                path.display(),
                named.as_deref().unwrap_or("of no name")
            )));
        }
        let hash = source_hash(&path)?;
        Ok(Patch {
            krate: krate.to_string(),
            path,
            hash,
        })
    }

    /// How results record it: `crate=path (sources sha256:…)`.
    pub fn describe(&self) -> String {
        format!(
            "{}={} (sources sha256:{})",
            self.krate,
            self.path.display(),
            &self.hash[..16]
        )
    }
}

/// SHA-256 over a directory's files (relative path and contents, in path order), leaving out
/// `target/` and `.git/`.
fn source_hash(dir: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    fn walk(dir: &Path, root: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
        for e in entries.flatten() {
            let p = e.path();
            let name = e.file_name();
            if p.is_dir() {
                if name != "target" && name != ".git" {
                    walk(&p, root, out)?;
                }
            } else {
                out.push(p.strip_prefix(root).unwrap_or(&p).to_path_buf());
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(dir, dir, &mut files)?;
    files.sort();
    let mut h = Sha256::new();
    for f in &files {
        let bytes = std::fs::read(dir.join(f))
            .map_err(|e| Error::io(format!("reading {}", dir.join(f).display()), e))?;
        h.update(f.to_string_lossy().as_bytes());
        h.update([0]);
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    Ok(hex::encode(h.finalize()))
}

/// The name a side's binary is kept under: the commit, and with patches a hash of them.
pub fn cache_key(commit: &str, patches: &[Patch]) -> String {
    use sha2::{Digest, Sha256};
    if patches.is_empty() {
        return commit.to_string();
    }
    let mut h = Sha256::new();
    for p in patches {
        h.update(p.describe().as_bytes());
        h.update([0]);
    }
    format!("{commit}-patched-{}", &hex::encode(h.finalize())[..12])
}

/// Checks the resolved graph of a patched worktree (`cargo metadata`'s JSON): every patch is
/// in it from its copy, and no engine crate (arrow*, parquet, datafusion*, ballista*) comes in
/// two versions. Returns each patched crate's version.
pub fn check_resolution(metadata: &serde_json::Value, patches: &[Patch]) -> Result<Vec<String>> {
    let packages = metadata["packages"].as_array().cloned().unwrap_or_default();
    let mut versions: std::collections::BTreeMap<&str, std::collections::BTreeSet<&str>> =
        Default::default();
    for p in &packages {
        let (Some(name), Some(version)) = (p["name"].as_str(), p["version"].as_str()) else {
            continue;
        };
        if ["arrow", "parquet", "datafusion", "ballista"]
            .iter()
            .any(|e| name == *e || name.starts_with(&format!("{e}-")))
        {
            versions.entry(name).or_default().insert(version);
        }
    }
    if let Some((name, v)) = versions.iter().find(|(_, v)| v.len() > 1) {
        return Err(Error::Config(format!(
            "the patches resolve to a second copy of {name} ({}): the tree must keep one",
            v.iter().copied().collect::<Vec<_>>().join(" and ")
        )));
    }
    let mut out = Vec::new();
    for patch in patches {
        let from_copy = packages.iter().find(|p| {
            p["name"] == patch.krate.as_str()
                && p["manifest_path"]
                    .as_str()
                    .is_some_and(|m| Path::new(m).starts_with(&patch.path))
        });
        match from_copy {
            Some(p) => out.push(format!(
                "{} {}",
                patch.krate,
                p["version"].as_str().unwrap_or("?")
            )),
            None => {
                let wanted = versions
                    .get(patch.krate.as_str())
                    .map(|v| v.iter().copied().collect::<Vec<_>>().join(", "))
                    .unwrap_or_else(|| "no version of it".into());
                return Err(Error::Config(format!(
                    "patch {} is not used: the tree asks for {} {wanted}, and the copy at {} is another version",
                    patch.krate,
                    patch.krate,
                    patch.path.display()
                )));
            }
        }
    }
    Ok(out)
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
    patches: &[Patch],
    log: &mut dyn FnMut(&str),
) -> Result<PathBuf> {
    let repo = toplevel()?;
    let commit = resolve(&repo, rev)?;
    let target = build_target(this, target_dir)?;
    let cache = target.join("logbench-gate");
    if let Some(built) = built_clean() {
        // This binary is `built`'s build, whatever the checkout holds now: a gate whose NEW
        // is another binary (a patched engine, --new-bin) finds BASE = that commit built.
        remember(this, built, &cache, 3)?;
    } else if new_bin == this
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
        && patches.is_empty()
        && !cache.join(&commit).join("bench-runner").is_file()
        && same_binary_inputs(&repo, &commit)
    {
        log(&format!(
            "BASE {commit}: no file the binary is built from differs from the checkout's, so this binary is BASE's too"
        ));
        remember(this, &commit, &cache, 3)?;
    }
    build_revision(&repo, &commit, &target, &cache, patches, log)
}

/// The commit this very binary was built from, when its checkout was clean and no engine
/// crate was patched (what its build script recorded).
fn built_clean() -> Option<&'static str> {
    let commit = env!("LOGBENCH_GIT_COMMIT");
    (env!("LOGBENCH_GIT_DIRTY") == "false"
        && env!("LOGBENCH_ENGINE_PATCHES").is_empty()
        && commit.len() == 40
        && commit.bytes().all(|b| b.is_ascii_hexdigit()))
    .then_some(commit)
}

/// The cargo target directory to build a side into: `target_dir`, or the one `this` is in.
fn build_target(this: &Path, target_dir: Option<PathBuf>) -> Result<PathBuf> {
    target_dir.or_else(|| target_dir_of(this)).ok_or_else(|| {
        Error::Config(format!(
            "{} is not in a cargo target directory's release/ folder: pass --target-dir",
            this.display()
        ))
    })
}

/// NEW built from the checkout's HEAD with `patches` (`gate --new-patch`), or found in the
/// per-commit cache. Uncommitted changes are not in it: `log` says so.
pub fn prepare_patched_new(
    this: &Path,
    target_dir: Option<PathBuf>,
    patches: &[Patch],
    log: &mut dyn FnMut(&str),
) -> Result<PathBuf> {
    let repo = toplevel()?;
    let commit = resolve(&repo, "HEAD")?;
    if clean_head(&repo).is_none() {
        log(
            "NEW is built from HEAD with the patches: the checkout's uncommitted changes are not in it",
        );
    }
    let target = build_target(this, target_dir)?;
    build_revision(
        &repo,
        &commit,
        &target,
        &target.join("logbench-gate"),
        patches,
        log,
    )
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
    patches: &[Patch],
    log: &mut dyn FnMut(&str),
) -> Result<PathBuf> {
    let key = cache_key(commit, patches);
    let kept = cache_dir.join(&key).join("bench-runner");
    // Named as the log has always named it: BASE <commit>, or NEW <commit>-patched-<hash>.
    let side = if patches.is_empty() { "BASE" } else { "side" };
    if kept.is_file() {
        log(&format!("{side} {key}: reusing {}", kept.display()));
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
    let mut described = Vec::new();
    if !patches.is_empty() {
        let manifest = worktree.path.join("Cargo.toml");
        let mut text = std::fs::read_to_string(&manifest)
            .map_err(|e| Error::io(format!("reading {}", manifest.display()), e))?;
        text += "\n# Added by `bench-runner gate` for this build only.\n[patch.crates-io]\n";
        for p in patches {
            text += &format!(
                "{} = {{ path = {:?} }}\n",
                p.krate,
                p.path.display().to_string()
            );
            described.push(p.describe());
        }
        std::fs::write(&manifest, text)
            .map_err(|e| Error::io(format!("writing {}", manifest.display()), e))?;
        let meta = Command::new("cargo")
            .current_dir(&worktree.path)
            .args(["metadata", "--format-version", "1"])
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| Error::io("running cargo metadata", e))?;
        if !meta.status.success() {
            let err = String::from_utf8_lossy(&meta.stderr);
            return Err(Error::Config(format!(
                "the patched tree does not resolve: {}",
                logbench_common::cli::single_line(&err)
            )));
        }
        let json: serde_json::Value = serde_json::from_slice(&meta.stdout)
            .map_err(|e| Error::Config(format!("cargo metadata: {e}")))?;
        let versions = check_resolution(&json, patches)?;
        log(&format!("{key}: patched with {}", versions.join(", ")));
    }
    let uplifted = target_dir.join("release").join("bench-runner");
    let saved = uplifted.with_extension("gate-saved");
    let saved = (uplifted.is_file() && copy_executable(&uplifted, &saved).is_ok()).then_some(saved);
    log(&format!(
        "{key}: building bench-runner in {} (target {})",
        worktree.path.display(),
        target_dir.display()
    ));
    let building = std::time::Instant::now();
    let mut cargo = Command::new("cargo");
    if !described.is_empty() {
        // Recorded in the binary's results (environment.engine_patches).
        cargo.env("LOGBENCH_ENGINE_PATCHES", described.join("; "));
    }
    let out = cargo
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
        (true, Some(exe)) => {
            log(&format!(
                "{key}: built in {:.0} s",
                building.elapsed().as_secs_f64()
            ));
            copy_executable(&exe, &kept).map(|()| kept)
        }
        _ => Err(Error::Config(format!(
            "building {key} failed ({}); see cargo's messages above",
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

    fn copy_of(dir: &Path, name: &str, version: &str) -> PathBuf {
        let d = dir.join(format!("{name}-{version}"));
        std::fs::create_dir_all(d.join("src")).unwrap();
        std::fs::write(
            d.join("Cargo.toml"),
            format!("[package]\nname = \"{name}\"\nversion = \"{version}\"\n"),
        )
        .unwrap();
        std::fs::write(d.join("src/lib.rs"), "pub fn f() {}\n").unwrap();
        d
    }

    #[test]
    fn a_patch_names_a_copy_of_its_crate_and_hashes_its_sources() {
        let tmp = tempfile::tempdir().unwrap();
        let d = copy_of(tmp.path(), "datafusion-functions", "55.2.0");
        let spec = format!("datafusion-functions={}", d.display());
        let p = Patch::parse(&spec).unwrap();
        assert_eq!(p.krate, "datafusion-functions");
        assert_eq!(p.hash.len(), 64);
        // A build directory does not change the hash; a source file does.
        std::fs::create_dir_all(d.join("target")).unwrap();
        std::fs::write(d.join("target/x"), "built").unwrap();
        assert_eq!(Patch::parse(&spec).unwrap().hash, p.hash);
        std::fs::write(d.join("src/lib.rs"), "pub fn g() {}\n").unwrap();
        let changed = Patch::parse(&spec).unwrap();
        assert_ne!(changed.hash, p.hash);
        assert_ne!(
            cache_key("c0ffee", std::slice::from_ref(&p)),
            cache_key("c0ffee", &[changed])
        );
        assert_eq!(cache_key("c0ffee", &[]), "c0ffee");
        assert!(p.describe().contains("(sources sha256:"));
        for (bad, says) in [
            ("datafusion-functions".to_string(), "expected CRATE=PATH"),
            (
                format!("datafusion-common={}", d.display()),
                "holds the crate datafusion-functions",
            ),
            (
                "datafusion-functions=/no/such/dir".to_string(),
                "/no/such/dir",
            ),
        ] {
            let e = Patch::parse(&bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn a_patched_graph_is_refused_with_two_engines_or_an_unused_copy() {
        let tmp = tempfile::tempdir().unwrap();
        let d = copy_of(tmp.path(), "datafusion-functions", "55.2.0");
        let patch = Patch::parse(&format!("datafusion-functions={}", d.display())).unwrap();
        let pkg = |name: &str, version: &str, manifest: &str| serde_json::json!({"name": name, "version": version, "manifest_path": manifest});
        let registry = "/home/u/.cargo/registry/src/x/Cargo.toml";
        let from_copy = d.join("Cargo.toml").display().to_string();
        let used = serde_json::json!({"packages": [
            pkg("arrow", "59.3.2", registry),
            pkg("datafusion", "55.2.0", registry),
            pkg("datafusion-functions", "55.2.0", &from_copy),
        ]});
        assert_eq!(
            check_resolution(&used, std::slice::from_ref(&patch)).unwrap(),
            ["datafusion-functions 55.2.0"]
        );
        let unused = serde_json::json!({"packages": [
            pkg("datafusion-functions", "55.2.0", registry),
        ]});
        let e = check_resolution(&unused, std::slice::from_ref(&patch))
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not used") && e.contains("55.2.0"), "{e}");
        let two = serde_json::json!({"packages": [
            pkg("arrow", "59.3.2", registry),
            pkg("arrow", "60.0.0", registry),
            pkg("datafusion-functions", "55.2.0", &from_copy),
        ]});
        let e = check_resolution(&two, &[patch]).unwrap_err().to_string();
        assert!(
            e.contains("second copy of arrow (59.3.2 and 60.0.0)"),
            "{e}"
        );
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
