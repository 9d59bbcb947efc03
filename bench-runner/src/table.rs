//! Terminal tables (comfy-table): columns sized to their contents, numbers right-aligned, no
//! borders, so the output reads like `ps` or `cargo tree` and survives copy and paste.
//! Markdown tables are documents, not terminal output: the report and compare write those.

use comfy_table::{Cell, CellAlignment, ContentArrangement, Table, presets};

/// A table with `header`; the columns in `right` (by index) are right-aligned.
pub fn new(header: &[&str], right: &[usize]) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.iter().map(Cell::new));
    for &i in right {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    t
}

/// The table's text with one trailing newline and no trailing spaces on its lines.
pub fn render(t: &Table) -> String {
    let mut s: String = t
        .to_string()
        .lines()
        .map(|l| l.trim_end().to_string() + "\n")
        .collect();
    if s.is_empty() {
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn columns_fit_their_widest_cell_and_numbers_align_right() {
        let mut t = super::new(&["query", "ms"], &[1]);
        t.add_row(vec!["a_long_query_name", "1.5"]);
        t.add_row(vec!["q", "1234.5"]);
        let text = super::render(&t);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].contains("query") && lines[0].contains("ms"));
        // Right-aligned: the numbers end in the same column.
        assert_eq!(lines[1].len(), lines[2].len(), "{text}");
        assert!(lines[2].ends_with("1234.5"));
    }
}
