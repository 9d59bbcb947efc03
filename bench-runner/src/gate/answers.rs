//! What a gate shows for a query whose answer changed between BASE and NEW: each side's answer
//! saved once (`run --save-answers`), the first rows where they differ, and the oracle's verdict
//! on each side (DuckDB on the same files, as `run --engine datafusion,duckdb` cross-checks),
//! so a change that makes DataFusion agree with DuckDB reads as a fix.

use std::path::{Path, PathBuf};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

use super::{Plan, Side, run_command};
use crate::error::{Error, Result};
use crate::results::{RunResult, Status};

/// How one side's DataFusion answer compares with DuckDB's on the same files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Oracle {
    /// The same answer, every column (digests to 7 significant digits).
    Same,
    /// Only within the query's stated tolerance (`-- tolerance:`, a known divergence).
    WithinTolerance,
    Differs,
}

/// One changed query, as both sides answered it.
#[derive(Debug, Clone)]
pub struct AnswerChange {
    pub query: String,
    /// Each side's DataFusion answer against DuckDB's; None where DuckDB did not answer (its
    /// Python tools missing, or it failed).
    pub base_agrees_with_duckdb: Option<Oracle>,
    pub new_agrees_with_duckdb: Option<Oracle>,
    pub base_rows: usize,
    pub new_rows: usize,
    /// Up to five positions where the rows differ: (row number from 1, BASE's, NEW's).
    pub first_differences: Vec<(usize, String, String)>,
}

impl AnswerChange {
    /// As the gate prints it and writes it to `answers.md`.
    pub fn to_markdown(&self) -> String {
        let oracle = |v: Option<Oracle>| match v {
            Some(Oracle::Same) => "the same as DuckDB's",
            Some(Oracle::WithinTolerance) => {
                "agrees with DuckDB only within the query's stated tolerance"
            }
            Some(Oracle::Differs) => "differs from DuckDB",
            None => "DuckDB did not answer",
        };
        let mut s = format!(
            "### {}\n\nBASE {} rows, {}; NEW {} rows, {}.\n\n",
            self.query,
            self.base_rows,
            oracle(self.base_agrees_with_duckdb),
            self.new_rows,
            oracle(self.new_agrees_with_duckdb)
        );
        if self.first_differences.is_empty() {
            s += "The saved answers have the same rows (the digests differ in order or in float rounding).\n";
        } else {
            s += "| row | BASE | NEW |\n|---:|---|---|\n";
            for (i, b, n) in &self.first_differences {
                s += &format!("| {i} | `{b}` | `{n}` |\n");
            }
        }
        s
    }
}

/// The rows of `batches` as text, one string a row (columns joined by `, `).
pub fn rows_as_text(batches: &[RecordBatch]) -> Result<Vec<String>> {
    let opts = FormatOptions::default().with_null("NULL");
    let mut out = Vec::new();
    for b in batches {
        let formatters = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::Results(format!("formatting an answer: {e}")))?;
        for i in 0..b.num_rows() {
            out.push(
                formatters
                    .iter()
                    .map(|f| f.value(i).to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            );
        }
    }
    Ok(out)
}

/// Up to `max` positions where `base` and `new` differ (a missing row shows as `–`).
pub fn first_differences(
    base: &[String],
    new: &[String],
    max: usize,
) -> Vec<(usize, String, String)> {
    let dash = "–".to_string();
    (0..base.len().max(new.len()))
        .filter_map(|i| {
            let (b, n) = (base.get(i), new.get(i));
            (b != n).then(|| {
                (
                    i + 1,
                    b.unwrap_or(&dash).clone(),
                    n.unwrap_or(&dash).clone(),
                )
            })
        })
        .take(max)
        .collect()
}

fn read_parquet(path: &Path) -> Result<Vec<RecordBatch>> {
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let file = std::fs::File::open(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| Error::Results(format!("{}: {e}", path.display())))?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Results(format!("{}: {e}", path.display())))
}

/// `side` runs `query` once with DataFusion and DuckDB (or DataFusion alone where DuckDB
/// cannot run), saving its answers under `dir/<side>/`; returns DataFusion's answer as text and
/// how it compared with DuckDB's.
fn answer_of(
    side: &Side,
    plan: &Plan,
    query: &str,
    ordered: bool,
    dir: &Path,
) -> Result<(Vec<String>, Option<Oracle>)> {
    let saved = dir.join(side.name);
    let out = dir.join(format!("{}-{query}.json", side.name));
    let attempt = |engines: &str| -> Result<Option<RunResult>> {
        let extra: Vec<String> = [
            "--engine",
            engines,
            "--iterations",
            "1",
            "--warmup",
            "0",
            "--save-answers",
        ]
        .map(String::from)
        .into_iter()
        .chain([saved.display().to_string()])
        .collect();
        let o = run_command(side, plan, &plan.data, &[query.to_string()], &extra, &out)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .map_err(|e| Error::io(format!("starting {}", side.bin.display()), e))?;
        (matches!(o.code(), Some(0 | 1)) && out.is_file())
            .then(|| RunResult::read(&out))
            .transpose()
    };
    let (run, with_duckdb) = match attempt("datafusion,duckdb")? {
        Some(r) => (r, true),
        None => (
            attempt("datafusion")?.ok_or_else(|| {
                Error::Config(format!("{} could not run {query} once", side.name))
            })?,
            false,
        ),
    };
    let digest_of = |engine: &str| {
        run.engines
            .iter()
            .filter(|e| e.engine.name == engine)
            .flat_map(|e| &e.queries)
            .find(|q| q.name == query && q.status == Status::Ok)
            .and_then(|q| q.answer.clone())
    };
    let agrees = match (with_duckdb, digest_of("datafusion"), digest_of("duckdb")) {
        (true, Some(df), Some(duck)) => Some(if df.same(&duck) {
            Oracle::Same
        } else if df.agrees(&duck) {
            Oracle::WithinTolerance
        } else {
            Oracle::Differs
        }),
        _ => None,
    };
    // With one engine the answers are saved in the directory itself.
    let file = format!("{query}.parquet");
    let path = if with_duckdb {
        saved.join("datafusion").join(file)
    } else {
        saved.join(file)
    };
    let mut rows = rows_as_text(&read_parquet(&path)?)?;
    if !ordered {
        rows.sort();
    }
    Ok((rows, agrees))
}

/// Each query of `changed` answered once more by both sides, compared row by row and against
/// DuckDB; the files go under `dir`.
pub fn explain_changes(
    plan: &Plan,
    sides: [&Side; 2],
    changed: &[(String, bool)],
    dir: &Path,
) -> Result<Vec<AnswerChange>> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let mut out = Vec::new();
    for (query, ordered) in changed {
        let (base, base_ok) = answer_of(sides[0], plan, query, *ordered, dir)?;
        let (new, new_ok) = answer_of(sides[1], plan, query, *ordered, dir)?;
        out.push(AnswerChange {
            query: query.clone(),
            base_agrees_with_duckdb: base_ok,
            new_agrees_with_duckdb: new_ok,
            base_rows: base.len(),
            new_rows: new.len(),
            first_differences: first_differences(&base, &new, 5),
        });
    }
    Ok(out)
}

/// Where [`explain_changes`] puts its files in a gate's output directory.
pub fn answers_dir(out: &Path) -> PathBuf {
    out.join("answers")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_differences_name_rows_from_one_and_missing_rows() {
        let b: Vec<String> = ["a, 1", "b, 2", "c, 3"].map(String::from).into();
        let n: Vec<String> = ["a, 1", "b, 2.5", "c, 3", "d, 4"].map(String::from).into();
        assert_eq!(
            first_differences(&b, &n, 5),
            vec![
                (2, "b, 2".to_string(), "b, 2.5".to_string()),
                (4, "–".to_string(), "d, 4".to_string())
            ]
        );
        assert_eq!(first_differences(&b, &n, 1).len(), 1);
        assert!(first_differences(&b, &b, 5).is_empty());
    }
}
