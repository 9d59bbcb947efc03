//! The workload: one SQL file per query, with an optional header.
//!
//! ```sql
//! -- name: agg_status_codes
//! -- category: aggregate
//! -- intent: low-cardinality GROUP BY
//! SELECT …
//! ```
//! A file without a header runs too, named after its file (without `.sql`), category `custom`.
//!
//! `-- instr-threshold: 2 %` gives a query its own instruction threshold in `compare` and the
//! gate, for a query whose instruction count moves between processes more than the default
//! threshold allows (measured by the A/A gates; see docs/gate-calibration.md).
//! `-- instr-runs: 9` counts it at least 9 times where an instruction count takes the median of
//! its runs: for a query whose runs spread within a process, more runs bring the median of one
//! process closer to another's at the cost of counting time.
//!
//! The default workload, the repository's `queries/*.sql`, is built into the binary
//! ([`builtin`]), so `bench-runner run` needs no checkout; `--queries DIR` replaces it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Query {
    pub name: String,
    pub category: String,
    pub intent: String,
    pub sql: String,
    /// `-- instr-threshold:` in hundredths of a percent (200 = 2 %).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instr_threshold_bp: Option<u32>,
    /// `-- instr-runs:`: counted runs at least (the count's median is taken over them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instr_runs: Option<u32>,
    /// `-- tolerance: COLUMN RELATIVE WHY`: a known divergence between engines in one column
    /// of the answer (an upstream bug), within which answers still agree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<Tolerance>,
    #[serde(skip)]
    pub path: PathBuf,
}

/// A query's known divergence between engines ([`Query::tolerance`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tolerance {
    pub column: String,
    /// Values agree when |a - b| <= relative * max(1, |a|, |b|).
    pub relative: f64,
    /// Why: the upstream issue that explains it.
    pub why: String,
}

impl Tolerance {
    /// "p99_latency_ms 1e-5 why…".
    fn parse(value: &str) -> Option<Self> {
        let mut parts = value.splitn(3, char::is_whitespace);
        let column = parts.next()?.to_string();
        let relative: f64 = parts.next()?.parse().ok()?;
        let why = parts.next().unwrap_or("").trim().to_string();
        (!column.is_empty() && relative > 0.0 && relative < 1.0 && !why.is_empty()).then_some(
            Tolerance {
                column,
                relative,
                why,
            },
        )
    }
}

/// "2 %", "2%", "0.75 %" as hundredths of a percent; None for anything else or not in (0, 100).
fn parse_percent_bp(v: &str) -> Option<u32> {
    let n: f64 = v.trim().strip_suffix('%')?.trim().parse().ok()?;
    (n > 0.0 && n < 100.0).then(|| (n * 100.0).round() as u32)
}

/// Instruction thresholds the built-in workload's headers set, by query name (0.02 = 2 %).
pub fn builtin_instr_thresholds() -> std::collections::BTreeMap<String, f64> {
    builtin()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|q| Some((q.name, q.instr_threshold_bp? as f64 / 10_000.0)))
        .collect()
}

impl Query {
    /// Counted runs for an instruction count asked for `runs` a query: `runs`, or more where
    /// the query's `-- instr-runs:` header asks for more.
    pub fn counted_runs(&self, runs: u32) -> u32 {
        runs.max(self.instr_runs.unwrap_or(0))
    }

    /// Parses one query file's text; `stem` names it when the header does not.
    pub fn parse(stem: &str, text: &str, path: &Path) -> Result<Self> {
        let mut q = Query {
            name: stem.to_string(),
            category: "custom".into(),
            intent: String::new(),
            sql: String::new(),
            instr_threshold_bp: None,
            instr_runs: None,
            tolerance: None,
            path: path.to_path_buf(),
        };
        let mut body = Vec::new();
        let mut in_header = true;
        for line in text.lines() {
            let trimmed = line.trim();
            if in_header {
                if let Some(rest) = trimmed.strip_prefix("--") {
                    if let Some((key, value)) = rest.split_once(':') {
                        let value = value.trim().to_string();
                        match key.trim().to_ascii_lowercase().as_str() {
                            "name" => q.name = value,
                            "category" => q.category = value,
                            "intent" => q.intent = value,
                            "instr-threshold" => {
                                q.instr_threshold_bp = Some(parse_percent_bp(&value).ok_or_else(
                                    || {
                                        Error::Workload(format!(
                                            "{}: instr-threshold {value:?} is not a percentage like \"2 %\"",
                                            path.display()
                                        ))
                                    },
                                )?)
                            }
                            "instr-runs" => {
                                q.instr_runs =
                                    Some(value.parse().ok().filter(|n| (1..=100).contains(n)).ok_or_else(
                                        || {
                                            Error::Workload(format!(
                                                "{}: instr-runs {value:?} is not a number of runs from 1 to 100",
                                                path.display()
                                            ))
                                        },
                                    )?)
                            }
                            "tolerance" => {
                                q.tolerance = Some(Tolerance::parse(&value).ok_or_else(|| {
                                    Error::Workload(format!(
                                        "{}: tolerance {value:?} is not \"COLUMN RELATIVE WHY\" (a relative bound in (0, 1) and the reason)",
                                        path.display()
                                    ))
                                })?)
                            }
                            _ => body.push(line),
                        }
                        continue;
                    }
                    body.push(line);
                    continue;
                }
                if trimmed.is_empty() {
                    continue;
                }
                in_header = false;
            }
            body.push(line);
        }
        let sql = body.join("\n");
        let sql = sql.trim().trim_end_matches(';').trim().to_string();
        if sql.is_empty() {
            return Err(Error::Workload(format!("{} holds no SQL", path.display())));
        }
        if q.name.is_empty() || q.name.contains(char::is_whitespace) {
            return Err(Error::Workload(format!(
                "{}: query name '{}' must be non-empty and without spaces",
                path.display(),
                q.name
            )));
        }
        q.sql = sql;
        Ok(q)
    }

    /// Whether the query fixes the order of its answer: its outermost clause is `ORDER BY`
    /// (with or without `LIMIT`). Such answers also get an in-order digest. SQL the parser
    /// cannot read counts as unordered (the engine reports the error when it runs).
    pub fn fixes_order(&self) -> bool {
        use datafusion::sql::sqlparser::{ast::Statement, dialect::GenericDialect, parser::Parser};
        match Parser::parse_sql(&GenericDialect {}, &self.sql).as_deref() {
            Ok([Statement::Query(q)]) => q.order_by.is_some(),
            _ => false,
        }
    }
}

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/builtin_workload.rs"));
}

/// How a result file names the built-in workload (in place of a directory).
pub const BUILTIN: &str = "built-in";

/// The workload built into this binary: the repository's `queries/*.sql` when it was built.
pub fn builtin() -> Result<Vec<Query>> {
    let mut queries = Vec::with_capacity(embedded::FILES.len());
    for (file, text) in embedded::FILES {
        let path = PathBuf::from(format!("{BUILTIN}:queries/{file}"));
        queries.push(Query::parse(file.trim_end_matches(".sql"), text, &path)?);
    }
    checked(queries, &format!("the {BUILTIN} workload"))
}

/// The workload `--queries` names (a directory), or the built-in one; and how a result file
/// records which ran ([`BUILTIN`] or the directory).
pub fn load(dir: Option<&Path>) -> Result<(Vec<Query>, String)> {
    match dir {
        Some(d) => Ok((load_dir(d)?, d.display().to_string())),
        None => Ok((builtin()?, BUILTIN.to_string())),
    }
}

/// Writes the built-in workload's files into `dir` (for programs that take a directory, such
/// as the gate's BASE binary).
pub fn write_builtin(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::Workload(format!("creating {}: {e}", dir.display())))?;
    for (file, text) in embedded::FILES {
        let p = dir.join(file);
        logbench_common::atomic::write_atomically(&p, text.as_bytes())
            .map_err(|e| Error::Workload(e.to_string()))?;
    }
    Ok(())
}

/// Loads every `*.sql` file in `dir`, sorted by name.
pub fn load_dir(dir: &Path) -> Result<Vec<Query>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Error::Workload(format!(
            "cannot read queries directory {}: {e}",
            dir.display()
        ))
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    paths.sort();
    let mut queries = Vec::with_capacity(paths.len());
    for path in paths {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::Workload(format!("cannot read {}: {e}", path.display())))?;
        let stem = path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        queries.push(Query::parse(&stem, &text, &path)?);
    }
    checked(queries, &dir.display().to_string())
}

/// A workload as parsed from `origin`, refused when it is empty or names two queries alike.
fn checked(queries: Vec<Query>, origin: &str) -> Result<Vec<Query>> {
    if queries.is_empty() {
        return Err(Error::Workload(format!("no *.sql files in {origin}")));
    }
    let mut names: Vec<&str> = queries.iter().map(|q| q.name.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(Error::Workload(format!("two queries are named '{}'", w[0])));
    }
    Ok(queries)
}

/// Keeps the queries named in `names` (all when empty), in workload order; an unknown name is
/// an error that lists the known ones.
pub fn select(queries: Vec<Query>, names: &[String]) -> Result<Vec<Query>> {
    if names.is_empty() {
        return Ok(queries);
    }
    for n in names {
        if !queries.iter().any(|q| &q.name == n) {
            let known: Vec<&str> = queries.iter().map(|q| q.name.as_str()).collect();
            return Err(Error::Workload(format!(
                "no query named '{n}' (known: {})",
                known.join(", ")
            )));
        }
    }
    Ok(queries
        .into_iter()
        .filter(|q| names.contains(&q.name))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outermost_order_by_fixes_the_order_and_nothing_else_does() {
        let q = |sql: &str| Query::parse("q", sql, Path::new("q.sql")).unwrap();
        assert!(q("SELECT a FROM t ORDER BY a").fixes_order());
        assert!(q("-- name: x\nSELECT a FROM t ORDER BY a DESC LIMIT 3;").fixes_order());
        // An ORDER BY inside a subquery or a window does not order the answer.
        assert!(!q("SELECT a FROM (SELECT a FROM t ORDER BY a) s").fixes_order());
        assert!(!q("SELECT RANK() OVER (ORDER BY a) FROM t").fixes_order());
        assert!(!q("SELECT COUNT(*) FROM t").fixes_order());
        assert!(!q("SELEKT nonsense ORDER BY").fixes_order());
        // The built-in workload: every query but the two single-row filters orders its answer.
        let unordered: Vec<String> = builtin()
            .unwrap()
            .into_iter()
            .filter(|q| !q.fixes_order())
            .map(|q| q.name)
            .collect();
        assert_eq!(unordered, ["filter_non_selective", "filter_one_day"]);
    }

    #[test]
    fn an_instr_runs_header_asks_for_runs_from_1_to_100() {
        let q = |text: &str| Query::parse("q", text, Path::new("q.sql"));
        let nine = q("-- instr-runs: 9\nSELECT 1").unwrap();
        assert_eq!(nine.instr_runs, Some(9));
        // The header raises the runs asked for and never lowers them.
        assert_eq!((nine.counted_runs(3), nine.counted_runs(12)), (9, 12));
        let plain = q("SELECT 1").unwrap();
        assert_eq!((plain.instr_runs, plain.counted_runs(3)), (None, 3));
        for bad in ["0", "101", "3.5", "many", ""] {
            let e = q(&format!("-- instr-runs: {bad}\nSELECT 1")).unwrap_err();
            assert!(
                e.to_string().contains("not a number of runs from 1 to 100"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn a_tolerance_header_names_its_column_bound_and_reason() {
        let q = |text: &str| Query::parse("q", text, Path::new("q.sql"));
        let t = q("-- tolerance: p 1e-5 upstream#1, explained\nSELECT 1 AS p")
            .unwrap()
            .tolerance
            .unwrap();
        assert_eq!(
            (t.column.as_str(), t.relative, t.why.as_str()),
            ("p", 1e-5, "upstream#1, explained")
        );
        for bad in ["p", "p 1e-5", "p 2 why", "p x why", "p 0 why"] {
            let e = q(&format!("-- tolerance: {bad}\nSELECT 1")).unwrap_err();
            assert!(e.to_string().contains("COLUMN RELATIVE WHY"), "{bad}: {e}");
        }
        // The shipped workload has exactly one: the percentile DataFusion truncates.
        let known: Vec<String> = builtin()
            .unwrap()
            .into_iter()
            .filter(|q| q.tolerance.is_some())
            .map(|q| q.name)
            .collect();
        assert_eq!(known, ["agg_latency_p99"]);
    }

    #[test]
    fn the_built_in_workload_is_the_repository_queries_directory() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../queries");
        let from_dir = load_dir(&dir).unwrap();
        let built_in = builtin().unwrap();
        assert!(!built_in.is_empty());
        let key = |q: &Query| (q.name.clone(), q.category.clone(), q.sql.clone());
        assert_eq!(
            built_in.iter().map(key).collect::<Vec<_>>(),
            from_dir.iter().map(key).collect::<Vec<_>>()
        );
        let out = tempfile::tempdir().unwrap();
        write_builtin(out.path()).unwrap();
        assert_eq!(
            load_dir(out.path())
                .unwrap()
                .iter()
                .map(key)
                .collect::<Vec<_>>(),
            from_dir.iter().map(key).collect::<Vec<_>>()
        );
    }

    #[test]
    fn header_fields_and_body_are_split() {
        let q = Query::parse(
            "file",
            "-- name: q1\n-- category: filter\n-- intent: one line\n\nSELECT 1 -- trailing\nFROM t;\n",
            Path::new("x.sql"),
        )
        .unwrap();
        assert_eq!(
            (q.name.as_str(), q.category.as_str(), q.intent.as_str()),
            ("q1", "filter", "one line")
        );
        assert_eq!(q.sql, "SELECT 1 -- trailing\nFROM t");
    }

    #[test]
    fn a_plain_file_is_named_after_itself() {
        let q = Query::parse(
            "my_query",
            "select count(*) from logs",
            Path::new("my_query.sql"),
        )
        .unwrap();
        assert_eq!(
            (q.name.as_str(), q.category.as_str()),
            ("my_query", "custom")
        );
        assert!(Query::parse("e", "-- name: e\n", Path::new("e.sql")).is_err());
    }

    #[test]
    fn the_shipped_workload_covers_every_category() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../queries");
        let qs = load_dir(&dir).unwrap();
        assert!(qs.len() >= 10);
        for cat in ["aggregate", "filter", "sort", "headline", "window"] {
            assert!(qs.iter().any(|q| q.category == cat), "no {cat} query");
        }
        assert!(qs.iter().all(
            |q| !q.intent.is_empty() && q.name == q.path.file_stem().unwrap().to_str().unwrap()
        ));
        let picked = select(qs.clone(), &["sort_large".into(), "agg_top_users".into()]).unwrap();
        assert_eq!(
            picked.iter().map(|q| q.name.as_str()).collect::<Vec<_>>(),
            ["agg_top_users", "sort_large"]
        );
        assert!(
            select(qs, &["nope".into()])
                .unwrap_err()
                .to_string()
                .contains("known:")
        );
    }
}
