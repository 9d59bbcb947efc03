//! The documentation is checked, not just written: every relative link in README.md,
//! ARCHITECTURE.md, docs/, results/ and scripts/ leads to a file (and, with `#anchor`, to a heading of
//! it), and every `bench-runner` or `data-gen` command line in a code block or code span names
//! subcommands and flags the built binaries have (read from their own `--help`).

mod common;

use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Markdown files a reader is sent to.
fn documents() -> Vec<PathBuf> {
    let repo = common::repo();
    let mut files = vec![repo.join("README.md"), repo.join("ARCHITECTURE.md")];
    let mut dirs = vec![
        repo.join("docs"),
        repo.join("results"),
        repo.join("scripts"),
    ];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "md") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// The text outside fenced code blocks, and the fenced blocks' lines.
fn split_fences(text: &str) -> (String, Vec<String>) {
    let (mut prose, mut code, mut fenced) = (String::new(), Vec::new(), false);
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if fenced {
            code.push(line.to_string());
        } else {
            prose.push_str(line);
            prose.push('\n');
        }
    }
    (prose, code)
}

/// GitHub's anchor for a heading: lower case, spaces to hyphens, punctuation but `-` and `_`
/// dropped; a repeated heading gets `-1`, `-2`, ….
fn anchors(text: &str) -> BTreeSet<String> {
    let (prose, _) = split_fences(text);
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    for line in prose.lines() {
        let Some(title) = line.strip_prefix('#').map(|t| t.trim_start_matches('#')) else {
            continue;
        };
        let slug: String = title
            .trim()
            .to_lowercase()
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                _ => None,
            })
            .collect();
        let n = seen.entry(slug.clone()).or_insert(0);
        out.insert(if *n == 0 {
            slug.clone()
        } else {
            format!("{slug}-{n}")
        });
        *n += 1;
    }
    out
}

/// Every broken relative link: `file: target (why)`.
fn broken_links(file: &Path, text: &str) -> Vec<String> {
    let link = Regex::new(r"\]\(([^)\s]+)\)").unwrap();
    let (prose, _) = split_fences(text);
    let mut broken = Vec::new();
    for c in link.captures_iter(&prose) {
        let target = &c[1];
        if target.contains("://") || target.starts_with("mailto:") {
            continue;
        }
        let (path, anchor) = match target.split_once('#') {
            Some((p, a)) => (p, Some(a)),
            None => (target, None),
        };
        let resolved = if path.is_empty() {
            file.to_path_buf()
        } else {
            file.parent().unwrap().join(path)
        };
        if !resolved.exists() {
            broken.push(format!("{}: {target} (no such file)", file.display()));
            continue;
        }
        if let Some(anchor) = anchor {
            let heads = anchors(&std::fs::read_to_string(&resolved).unwrap_or_default());
            if !heads.contains(anchor) {
                broken.push(format!("{}: {target} (no such heading)", file.display()));
            }
        }
    }
    broken
}

#[test]
fn every_relative_link_leads_to_a_file_and_heading() {
    let mut broken = Vec::new();
    for f in documents() {
        broken.extend(broken_links(&f, &std::fs::read_to_string(&f).unwrap()));
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_link_check_finds_a_broken_file_and_a_broken_heading() {
    let tmp = tempfile::tempdir().unwrap();
    let doc = tmp.path().join("a.md");
    std::fs::write(tmp.path().join("b.md"), "# Two words: `code`\n").unwrap();
    let text = "[ok](b.md#two-words-code) [gone](c.md) [bad](b.md#three) [web](https://x.invalid/y)\n\
                ```\n[in code](nowhere.md)\n```\n";
    let broken = broken_links(&doc, text);
    assert_eq!(broken.len(), 2, "{broken:?}");
    assert!(broken[0].contains("c.md (no such file)"), "{broken:?}");
    assert!(
        broken[1].contains("b.md#three (no such heading)"),
        "{broken:?}"
    );
}

/// A program's `--help` at a subcommand path, cached.
struct Helps {
    cache: BTreeMap<Vec<String>, Option<String>>,
}

impl Helps {
    fn help(&mut self, path: &[String]) -> Option<String> {
        self.cache
            .entry(path.to_vec())
            .or_insert_with(|| {
                let program = common::bin_dir().join(&path[0]);
                assert!(
                    program.exists(),
                    "{} is not built: run `cargo test --release --workspace`",
                    program.display()
                );
                let o = Command::new(program)
                    .args(&path[1..])
                    .arg("--help")
                    .output()
                    .unwrap();
                o.status
                    .success()
                    .then(|| String::from_utf8_lossy(&o.stdout).into_owned())
            })
            .clone()
    }
}

/// The subcommands a clap help lists under "Commands:".
fn subcommands(help: &str) -> BTreeSet<String> {
    help.split("Commands:")
        .nth(1)
        .map(|s| s.split("\n\n").next().unwrap_or(""))
        .unwrap_or("")
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

/// What is wrong with one command line (`bench-runner …` or `data-gen …`), if anything.
fn check_command(helps: &mut Helps, line: &str) -> Option<String> {
    let flag = Regex::new(r"(?:^|[\s\[|(])(--[a-z0-9][a-z0-9-]*)").unwrap();
    let tokens: Vec<&str> = line.split_whitespace().collect();
    // The subcommand path: alternatives (`up|status|down`) are each a path of their own.
    let mut paths: Vec<Vec<String>> = vec![vec![tokens[0].to_string()]];
    for token in &tokens[1..] {
        let help = helps.help(&paths[0]).expect("the program answers --help");
        let known = subcommands(&help);
        if known.is_empty() || token.starts_with('-') || token.starts_with('[') {
            break;
        }
        let alternatives: Vec<&str> = token.split('|').collect();
        if let Some(bad) = alternatives.iter().find(|a| !known.contains(**a)) {
            return Some(format!(
                "`{}` has no subcommand `{bad}`",
                paths[0].join(" ")
            ));
        }
        paths = paths
            .iter()
            .flat_map(|p| {
                alternatives.iter().map(move |a| {
                    let mut q = p.clone();
                    q.push(a.to_string());
                    q
                })
            })
            .collect();
    }
    let helps_here: Vec<String> = paths.iter().filter_map(|p| helps.help(p)).collect();
    for c in flag.captures_iter(line) {
        let f = &c[1];
        let has = |h: &String| {
            h.match_indices(f).any(|(i, _)| {
                !h[i + f.len()..]
                    .chars()
                    .next()
                    .is_some_and(|n| n.is_ascii_alphanumeric() || n == '-')
            })
        };
        if f != "--help" && !helps_here.iter().any(has) {
            return Some(format!("`{}` has no flag `{f}`", paths[0].join(" ")));
        }
    }
    None
}

/// The command lines of a document: fenced lines starting with a program's name (with the
/// indented lines that continue a synopsis), and code spans starting with one.
fn command_lines(text: &str) -> Vec<String> {
    let start = Regex::new(r"^\s*(?:\$\s+)?((?:bench-runner|data-gen)\s.*)$").unwrap();
    let span = Regex::new(r"`((?:bench-runner|data-gen) [^`]+)`").unwrap();
    let (prose, code) = split_fences(text);
    let mut out: Vec<String> = Vec::new();
    let mut open = false;
    for line in &code {
        let continues =
            open && (line.starts_with(' ') || out.last().is_some_and(|l| l.ends_with('\\')));
        if let Some(c) = start.captures(line) {
            out.push(c[1].to_string());
            open = true;
        } else if continues && !line.trim().is_empty() {
            let last = out.last_mut().unwrap();
            last.push(' ');
            last.push_str(line.trim());
        } else {
            open = false;
        }
    }
    for c in span.captures_iter(&prose) {
        out.push(c[1].replace("\\|", "|"));
    }
    // What follows a comment or a second command is not this command's.
    out.iter()
        .map(|l| {
            let l = l.split(" #").next().unwrap();
            let l = l.split("&&").next().unwrap();
            l.replace('\\', " ")
        })
        .collect()
}

#[test]
fn every_documented_command_line_parses() {
    let mut helps = Helps {
        cache: BTreeMap::new(),
    };
    let mut wrong = Vec::new();
    let mut checked = 0;
    for f in documents() {
        for line in command_lines(&std::fs::read_to_string(&f).unwrap()) {
            checked += 1;
            if let Some(why) = check_command(&mut helps, &line) {
                wrong.push(format!("{}: {why}: {line}", f.display()));
            }
        }
    }
    assert!(checked >= 30, "only {checked} command lines found");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_command_check_finds_a_wrong_subcommand_and_a_wrong_flag() {
    let mut helps = Helps {
        cache: BTreeMap::new(),
    };
    let text = "```\nbench-runner run --data DIR\n             [--iterations N] [--no-such-flag]\n```\n\
                `bench-runner fly --data DIR` and `data-gen --out DIR --rowz 5` and \
                `bench-runner cluster up\\|nope` and `bench-runner cluster up --executors 2`\n";
    let lines = command_lines(text);
    assert_eq!(lines.len(), 5, "{lines:?}");
    let verdicts: Vec<Option<String>> =
        lines.iter().map(|l| check_command(&mut helps, l)).collect();
    assert!(
        verdicts[0].as_deref().unwrap().contains("--no-such-flag"),
        "{verdicts:?}"
    );
    assert!(
        verdicts[1].as_deref().unwrap().contains("subcommand `fly`"),
        "{verdicts:?}"
    );
    assert!(
        verdicts[2].as_deref().unwrap().contains("--rowz"),
        "{verdicts:?}"
    );
    assert!(
        verdicts[3]
            .as_deref()
            .unwrap()
            .contains("subcommand `nope`"),
        "{verdicts:?}"
    );
    assert_eq!(verdicts[4], None);
}
