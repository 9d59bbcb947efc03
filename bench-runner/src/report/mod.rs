//! `bench-runner report`: result files as `report.md` (GitHub-flavoured Markdown),
//! `report.html` (one self-contained file: inline CSS and SVG, no network) and `charts/*.svg`.
//!
//! Everything is derived from the result files alone, in their order, with sorted maps and
//! fixed number formats: the same input gives the same bytes.
//!
//! Computing what to show ([`model`]) is apart from drawing it: [`doc`] writes Markdown and
//! HTML side by side (the page shell and stylesheet are `page.html` and `style.css`), each
//! section of the report is a file under `sections/`, and [`charts`] draws the SVGs.

pub mod charts;
mod doc;
mod model;
mod sections;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::compare;
use crate::error::{Error, Result};
use crate::results::RunResult;

pub use model::{GEOMEAN_SHIFT_MS, shifted_geomean};

/// One `bench-runner load` result.
pub struct LoadInput {
    /// How the report names it (the file's stem).
    pub label: String,
    pub load: crate::load::LoadResult,
}

impl LoadInput {
    /// Reads `files` as load results, labelled by file stem.
    pub fn read_all(files: &[PathBuf]) -> Result<Vec<LoadInput>> {
        files
            .iter()
            .map(|f| {
                Ok(LoadInput {
                    label: f
                        .file_stem()
                        .map_or("load".into(), |s| s.to_string_lossy().into_owned()),
                    load: crate::load::LoadResult::read(f)?,
                })
            })
            .collect()
    }
}

/// Whether `file` is a `bench-runner load` result (it carries `load_schema_version`) rather
/// than a run's.
pub fn is_load_result(file: &Path) -> Result<bool> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Error::io(format!("reading {}", file.display()), e))?;
    let doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::Results(format!("{} is not JSON: {e}", file.display())))?;
    Ok(doc.get("load_schema_version").is_some())
}

/// One input file.
pub struct Input {
    /// How the report names the run (the file's stem).
    pub label: String,
    pub run: RunResult,
    /// The result file's folder as the report's folder reaches it (`../local/`), for links to
    /// files beside the result (profiles); empty when they are in the same folder.
    pub link_base: String,
}

impl Input {
    /// Reads and validates `files`, labelled by file stem (with the parent folder where two
    /// stems are the same).
    pub fn read_all(files: &[PathBuf]) -> Result<Vec<Input>> {
        let stem = |p: &PathBuf| {
            p.file_stem()
                .map_or("run".into(), |s| s.to_string_lossy().into_owned())
        };
        let mut inputs = Vec::new();
        for f in files {
            let run = RunResult::read(f)?;
            run.validate()
                .map_err(|e| Error::Results(format!("{}: {e}", f.display())))?;
            let mut label = stem(f);
            if files.iter().filter(|g| stem(g) == label).count() > 1 {
                let parent = f
                    .parent()
                    .and_then(|p| p.file_name())
                    .map_or(String::new(), |p| p.to_string_lossy().into_owned());
                label = format!("{parent}/{label}");
            }
            inputs.push(Input {
                label,
                run,
                link_base: String::new(),
            });
        }
        Ok(inputs)
    }

    /// Sets every input's [`Input::link_base`] for a report written to `out` (created here),
    /// `files` being the inputs' paths in order.
    pub fn link_from(inputs: &mut [Input], files: &[PathBuf], out: &Path) -> Result<()> {
        std::fs::create_dir_all(out)
            .map_err(|e| Error::io(format!("creating {}", out.display()), e))?;
        let out = out
            .canonicalize()
            .map_err(|e| Error::io(format!("resolving {}", out.display()), e))?;
        for (input, file) in inputs.iter_mut().zip(files) {
            let dir = match file.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            let dir = dir
                .canonicalize()
                .map_err(|e| Error::io(format!("resolving {}", dir.display()), e))?;
            input.link_base = relative(&out, &dir);
        }
        Ok(())
    }
}

/// The path from folder `from` to folder `to` (both absolute), ending in `/` unless empty.
fn relative(from: &Path, to: &Path) -> String {
    let a: Vec<_> = from.components().collect();
    let b: Vec<_> = to.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = String::new();
    for _ in common..a.len() {
        out += "../";
    }
    for c in &b[common..] {
        out += &c.as_os_str().to_string_lossy();
        out.push('/');
    }
    out
}

pub struct Report {
    pub markdown: String,
    pub html: String,
    /// (file name under `charts/`, SVG).
    pub charts: Vec<(String, String)>,
}

/// Builds the report from result files (the first is the baseline of any comparison) and
/// load results (their section follows the runs' comparison).
pub fn build(inputs: &[Input], loads: &[LoadInput], opts: &compare::Options) -> Result<Report> {
    let mut doc = doc::Doc::new();
    if inputs.is_empty() {
        let Some(first) = loads.first() else {
            return Err(Error::Config("no result files to report on".into()));
        };
        let title = if loads.len() > 1 {
            format!("Load report: {} results", loads.len())
        } else {
            format!("Load report: {}", first.load.run_id)
        };
        doc.heading(1, &title);
        sections::load::section(&mut doc, loads)?;
        return Ok(Report {
            markdown: doc.md.trim_end().to_string() + "\n",
            html: doc::page(&title, &doc.html),
            charts: doc.charts,
        });
    }
    let series = model::series(inputs);
    let names = model::query_names(&series);
    let same_data = model::same_data(&series);
    let title = sections::overview::section(&mut doc, inputs, &series, &names);
    sections::environment::section(&mut doc, inputs);
    sections::side_by_side::section(&mut doc, &same_data, &names);
    sections::latency::section(&mut doc, &series, &same_data, &names)?;
    sections::percentiles::section(&mut doc, &same_data, &names)?;
    sections::distributed::section(&mut doc, &series)?;
    if inputs.len() > 1 {
        sections::scaling::section(&mut doc, inputs, &names)?;
        sections::comparison::section(&mut doc, inputs, opts)?;
    }
    sections::load::section(&mut doc, loads)?;
    sections::failures::section(&mut doc, &series);
    sections::profiles::section(&mut doc, &series);
    sections::plans::section(&mut doc, &series);
    Ok(Report {
        markdown: doc.md.trim_end().to_string() + "\n",
        html: doc::page(&title, &doc.html),
        charts: doc.charts,
    })
}

impl Report {
    /// Writes report.md, report.html and charts/ into `dir`, each file under a temporary
    /// name first; charts from an earlier report that this one does not draw are removed.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let charts = dir.join("charts");
        std::fs::create_dir_all(&charts)
            .map_err(|e| Error::io(format!("creating {}", charts.display()), e))?;
        let put = |p: &Path, text: &str| {
            logbench_common::atomic::write_atomically(p, text.as_bytes())
                .map_err(|e| Error::Results(e.to_string()))
        };
        let keep: BTreeMap<&str, &str> = self
            .charts
            .iter()
            .map(|(n, s)| (n.as_str(), s.as_str()))
            .collect();
        for (name, svg) in &keep {
            put(&charts.join(name), svg)?;
        }
        if let Ok(entries) = std::fs::read_dir(&charts) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.ends_with(".svg") && !keep.contains_key(name.as_str()) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        put(&dir.join("report.md"), &self.markdown)?;
        put(&dir.join("report.html"), &self.html)
    }
}

#[cfg(test)]
mod tests {
    use super::relative;
    use std::path::Path;

    #[test]
    fn relative_paths_between_folders() {
        assert_eq!(
            relative(Path::new("/r/report"), Path::new("/r/local")),
            "../local/"
        );
        assert_eq!(relative(Path::new("/r"), Path::new("/r")), "");
        assert_eq!(relative(Path::new("/r"), Path::new("/r/a/b")), "a/b/");
    }
}
