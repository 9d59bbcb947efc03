//! Bakes build facts into the binary for result files: rustc version, profile, git commit and
//! dirty flag, and the versions of datafusion / arrow / parquet / ballista from Cargo.lock.
//! Also embeds the default workload, `queries/*.sql`, so the binary runs it from any directory.

use std::process::Command;

/// Runs a program; git without optional locks: a `git status` would otherwise refresh and
/// rewrite the index this script names in `rerun-if-changed`, newer than the script's own
/// start, so the next cargo command (the test build after the release build, in CI) ran it
/// again and recompiled bench-runner's library and program (about 200 s of a CI test build,
/// measured 2026-12-02).
fn run(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd)
        .args(args)
        .env("GIT_OPTIONAL_LOCKS", "0")
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn lock_version(lock: &str, name: &str) -> String {
    let needle = format!("name = \"{name}\"\nversion = \"");
    lock.find(&needle)
        .and_then(|i| lock[i + needle.len()..].split('"').next())
        .unwrap_or("not in build")
        .to_string()
}

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let set = |k: &str, v: &str| println!("cargo:rustc-env={k}={v}");
    set(
        "LOGBENCH_RUSTC",
        &run(&rustc, &["-V"]).unwrap_or_else(|| "unknown".into()),
    );
    set(
        "LOGBENCH_PROFILE",
        &std::env::var("PROFILE").unwrap_or_default(),
    );
    set(
        "LOGBENCH_OPT_LEVEL",
        &std::env::var("OPT_LEVEL").unwrap_or_default(),
    );

    // Read at run time: a build script binary is reused across checkouts (a CI cache), so a
    // path baked in when it was compiled can name a checkout that no longer exists.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let root = &format!("{manifest_dir}/..");
    // A build without the repository's .git (deploy/Dockerfile.source: .git stays out of the
    // Docker build context) is told its commit: LOGBENCH_GIT_COMMIT, `<sha>` or `<sha>-dirty`.
    println!("cargo:rerun-if-env-changed=LOGBENCH_GIT_COMMIT");
    let given = std::env::var("LOGBENCH_GIT_COMMIT")
        .ok()
        .filter(|s| !s.is_empty() && s != "unknown");
    let (commit, dirty) = match given {
        Some(g) => match g.strip_suffix("-dirty") {
            Some(sha) => (sha.to_string(), "true".to_string()),
            None => (g, "false".to_string()),
        },
        None => (
            run("git", &["-C", root, "rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into()),
            run(
                "git",
                &["-C", root, "status", "--porcelain", "--untracked-files=no"],
            )
            .map(|s| (!s.is_empty()).to_string())
            .unwrap_or_else(|| "unknown".into()),
        ),
    };
    set("LOGBENCH_GIT_COMMIT", &commit);
    set("LOGBENCH_GIT_DIRTY", &dirty);

    let lock = std::fs::read_to_string(format!("{root}/Cargo.lock")).unwrap_or_default();
    for (key, name) in [
        ("LOGBENCH_V_DATAFUSION", "datafusion"),
        ("LOGBENCH_V_ARROW", "arrow"),
        ("LOGBENCH_V_PARQUET", "parquet"),
        ("LOGBENCH_V_BALLISTA", "ballista"),
    ] {
        set(key, &lock_version(&lock, name));
    }
    // Cargo shares this script's output between checkouts that build into one target
    // directory (a CI cache, the gate's worktrees), and reruns it only when a file it names
    // changes: so name this checkout's own HEAD, branch ref, packed refs and index (absolute,
    // and only those that exist: a missing one would rerun it on every build), and rerun when
    // the build comes from another directory. Without this a result file once named the commit
    // of the gate's BASE worktree for a binary built from the checkout.
    println!("cargo:rerun-if-changed={root}/Cargo.lock");
    let git_path = |p: &str| {
        run(
            "git",
            &[
                "-C",
                root,
                "rev-parse",
                "--path-format=absolute",
                "--git-path",
                p,
            ],
        )
    };
    let branch = run("git", &["-C", root, "symbolic-ref", "-q", "HEAD"]);
    for p in ["HEAD", "index", "packed-refs"]
        .into_iter()
        .chain(branch.as_deref())
        .filter_map(git_path)
        .filter(|p| std::path::Path::new(p).exists())
    {
        println!("cargo:rerun-if-changed={p}");
    }
    // Engine crates built from a local copy: as the gate describes them (with a hash of the
    // copy's sources), or else as the manifest's [patch.crates-io] names them.
    println!("cargo:rerun-if-env-changed=LOGBENCH_ENGINE_PATCHES");
    println!("cargo:rerun-if-changed={root}/Cargo.toml");
    let patches = std::env::var("LOGBENCH_ENGINE_PATCHES")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| {
            manifest_patches(
                &std::fs::read_to_string(format!("{root}/Cargo.toml")).unwrap_or_default(),
            )
        });
    set("LOGBENCH_ENGINE_PATCHES", &patches);
    embed_workload(root);
    println!("cargo:rerun-if-env-changed=PWD");
    println!("cargo:rerun-if-changed=build.rs");
}

/// The `[patch.crates-io]` entries of a manifest as `crate=path`, joined by `; `.
fn manifest_patches(manifest: &str) -> String {
    let mut out = Vec::new();
    let mut inside = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == "[patch.crates-io]";
            continue;
        }
        if !inside {
            continue;
        }
        let Some((name, rest)) = line.split_once('=') else {
            continue;
        };
        let path = rest
            .split_once("path")
            .and_then(|(_, p)| p.split('"').nth(1))
            .unwrap_or("?");
        out.push(format!("{}={path}", name.trim().trim_matches('"')));
    }
    out.join("; ")
}

/// Writes `$OUT_DIR/builtin_workload.rs`: every `queries/*.sql` as `(file name, text)`, sorted by
/// name. Cargo reruns this when anything under `queries/` changes.
fn embed_workload(root: &str) {
    let dir = std::path::Path::new(root).join("queries");
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|x| x == "sql"));
    files.sort();
    let mut code = String::from("pub const FILES: &[(&str, &str)] = &[\n");
    for p in &files {
        let abs = std::fs::canonicalize(p).expect("a query file's path");
        let name = p.file_name().expect("a file name").to_string_lossy();
        code += &format!(
            "    ({name:?}, include_str!({:?})),\n",
            abs.display().to_string()
        );
    }
    code += "];\n";
    let out = std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR"))
        .join("builtin_workload.rs");
    std::fs::write(out, code).expect("writing builtin_workload.rs");
    println!("cargo:rerun-if-changed={}", dir.display());
}
