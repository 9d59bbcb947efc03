//! How rows are split into files and row groups.
//!
//! Rows are split as evenly as possible: the first `rows % files` files get one extra row. Each
//! file is cut into row groups of `row_group_rows` rows (the last one shorter), and a row group
//! is the unit of parallel work, so throughput scales with cores even for a single file.

use crate::error::{Error, Result};

/// Largest file count the `part-NNNNN` naming supports.
pub const MAX_FILES: u64 = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    rows: u64,
    files: u64,
    row_group_rows: u64,
}

/// One row group of one file: the unit a worker generates and encodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unit {
    pub file: usize,
    pub row_group: usize,
    /// First global row of the unit.
    pub start: u64,
    pub rows: u64,
    /// Whether this is the file's last row group.
    pub last_in_file: bool,
}

impl Layout {
    pub fn new(rows: u64, files: u64, row_group_rows: u64) -> Result<Self> {
        if rows == 0 {
            return Err(Error::InvalidArgument("--rows must be at least 1".into()));
        }
        if files == 0 {
            return Err(Error::InvalidArgument("--files must be at least 1".into()));
        }
        if files > rows {
            return Err(Error::InvalidArgument(format!(
                "--files ({files}) must not exceed --rows ({rows}): every file needs a row"
            )));
        }
        if files > MAX_FILES {
            return Err(Error::InvalidArgument(format!(
                "--files ({files}) must be at most {MAX_FILES}"
            )));
        }
        if row_group_rows == 0 {
            return Err(Error::InvalidArgument(
                "--row-group-rows must be at least 1".into(),
            ));
        }
        Ok(Self {
            rows,
            files,
            row_group_rows,
        })
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    pub fn files(&self) -> usize {
        self.files as usize
    }

    pub fn row_group_rows(&self) -> u64 {
        self.row_group_rows
    }

    pub fn file_rows(&self, file: usize) -> u64 {
        let (base, extra) = (self.rows / self.files, self.rows % self.files);
        base + u64::from((file as u64) < extra)
    }

    /// First global row of `file`.
    pub fn file_start(&self, file: usize) -> u64 {
        let (base, extra) = (self.rows / self.files, self.rows % self.files);
        let f = file as u64;
        f * base + f.min(extra)
    }

    /// File name of part `file`.
    pub fn file_name(file: usize) -> String {
        format!("part-{file:05}.parquet")
    }

    /// All units in file order, then row-group order: the order they are written in.
    pub fn units(&self) -> Vec<Unit> {
        (0..self.files()).flat_map(|f| self.file_units(f)).collect()
    }

    /// The row groups of one file, in order.
    pub fn file_units(&self, file: usize) -> Vec<Unit> {
        let (start, rows) = (self.file_start(file), self.file_rows(file));
        let groups = rows.div_ceil(self.row_group_rows);
        (0..groups)
            .map(|g| {
                let first = g * self.row_group_rows;
                Unit {
                    file,
                    row_group: g as usize,
                    start: start + first,
                    rows: (rows - first).min(self.row_group_rows),
                    last_in_file: g + 1 == groups,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_split_as_evenly_as_possible_and_cover_everything() {
        for (rows, files, rg) in [
            (10, 3, 2),
            (200, 40, 7),
            (1, 1, 1),
            (1000, 1000, 5),
            (17, 4, 100),
        ] {
            let l = Layout::new(rows, files, rg).unwrap();
            let sizes: Vec<u64> = (0..l.files()).map(|f| l.file_rows(f)).collect();
            assert_eq!(sizes.iter().sum::<u64>(), rows);
            assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
            let units = l.units();
            let mut next = 0;
            for u in &units {
                assert_eq!(u.start, next, "units are contiguous");
                assert!(u.rows >= 1 && u.rows <= rg);
                next += u.rows;
            }
            assert_eq!(next, rows);
            for f in 0..l.files() {
                let in_file: Vec<_> = units.iter().filter(|u| u.file == f).collect();
                assert_eq!(in_file.iter().map(|u| u.rows).sum::<u64>(), l.file_rows(f));
                assert_eq!(in_file.iter().filter(|u| u.last_in_file).count(), 1);
                assert!(in_file.last().unwrap().last_in_file);
                assert_eq!(in_file[0].start, l.file_start(f));
            }
        }
    }

    #[test]
    fn bad_splits_are_refused_with_a_named_argument() {
        let msg = |r, f, g| Layout::new(r, f, g).unwrap_err().to_string();
        assert!(msg(0, 1, 1).contains("--rows"));
        assert!(msg(10, 0, 1).contains("--files"));
        assert!(msg(10, 11, 1).contains("must not exceed --rows"));
        assert!(msg(10, 1, 0).contains("--row-group-rows"));
        assert!(msg(1_000_000, 100_001, 1).contains("at most"));
    }

    #[test]
    fn file_names_sort_in_file_order() {
        assert_eq!(Layout::file_name(0), "part-00000.parquet");
        assert_eq!(Layout::file_name(39), "part-00039.parquet");
    }
}
