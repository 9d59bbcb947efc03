//! The two documents the report writes side by side, Markdown and HTML: tables, headings,
//! paragraphs, inline charts and collapsed details, with the escaping each needs, and the HTML
//! page shell (`page.html`, `style.css`).

use std::fmt::Write as _;

pub(crate) fn fmt_ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

pub(crate) fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// A cell of Markdown links (`[text](href)`, anything between them as text) as HTML.
fn links(cell: &str) -> String {
    static LINK: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = LINK.get_or_init(|| regex::Regex::new(r"\[([^\]]*)\]\(([^)]*)\)").expect("regex"));
    let mut out = String::new();
    let mut at = 0;
    for m in re.captures_iter(cell) {
        let whole = m.get(0).expect("match");
        out += &esc(&cell[at..whole.start()]);
        let _ = write!(out, "<a href=\"{}\">{}</a>", esc(&m[2]), esc(&m[1]));
        at = whole.end();
    }
    out + &esc(&cell[at..])
}

pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Markdown table cells must not hold a pipe or a line break.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// A table both writers render: header, alignment (true = right) and rows.
pub(crate) struct Table {
    header: Vec<String>,
    right: Vec<bool>,
    pub(crate) rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new(cols: &[(&str, bool)]) -> Self {
        Self {
            header: cols.iter().map(|c| c.0.to_string()).collect(),
            right: cols.iter().map(|c| c.1).collect(),
            rows: Vec::new(),
        }
    }

    pub(crate) fn markdown(&self) -> String {
        let mut s = format!(
            "| {} |\n|",
            self.header
                .iter()
                .map(|h| cell(h))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        for r in &self.right {
            s += if *r { "---:|" } else { "---|" };
        }
        s.push('\n');
        for row in &self.rows {
            s += &format!(
                "| {} |\n",
                row.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | ")
            );
        }
        s
    }

    pub(crate) fn html(&self) -> String {
        let mut s = String::from("<table><thead><tr>");
        for (h, r) in self.header.iter().zip(&self.right) {
            let _ = write!(
                s,
                "<th{}>{}</th>",
                if *r { " class=\"num\"" } else { "" },
                esc(h)
            );
        }
        s += "</tr></thead><tbody>";
        for row in &self.rows {
            s += "<tr>";
            for (c, r) in row.iter().zip(&self.right) {
                // `code` in a Markdown cell is <code> here, and [text](href) links are links.
                let body = match c.strip_prefix('`').and_then(|x| x.strip_suffix('`')) {
                    Some(code) => format!("<code>{}</code>", esc(code)),
                    None if c.starts_with('[') => links(c),
                    None => esc(c),
                };
                let _ = write!(
                    s,
                    "<td{}>{body}</td>",
                    if *r { " class=\"num\"" } else { "" }
                );
            }
            s += "</tr>";
        }
        s += "</tbody></table>\n";
        s
    }
}

/// Both documents, written side by side.
pub(crate) struct Doc {
    pub(crate) md: String,
    pub(crate) html: String,
    /// (file name under `charts/`, SVG), in the order drawn.
    pub(crate) charts: Vec<(String, String)>,
}

impl Doc {
    pub(crate) fn new() -> Self {
        Self {
            md: String::new(),
            html: String::new(),
            charts: Vec::new(),
        }
    }

    pub(crate) fn heading(&mut self, level: usize, text: &str) {
        let _ = write!(self.md, "{} {text}\n\n", "#".repeat(level));
        let _ = writeln!(
            self.html,
            "<h{level} id=\"{}\">{}</h{level}>",
            slug(text),
            esc(text)
        );
    }

    pub(crate) fn para(&mut self, text: &str) {
        let _ = write!(self.md, "{text}\n\n");
        let _ = writeln!(self.html, "<p>{}</p>", esc(&text.replace('*', "")));
    }

    pub(crate) fn table(&mut self, t: &Table) {
        self.md += &t.markdown();
        self.md.push('\n');
        self.html += &t.html();
    }

    /// A chart: linked from the Markdown, inline in the HTML, and kept for `charts/`.
    pub(crate) fn chart(&mut self, name: &str, alt: &str, svg: String) {
        let _ = write!(self.md, "![{alt}](charts/{name})\n\n");
        // Inline: the HTML needs no other file.
        let body = svg.trim_start_matches(|c| c != '<');
        let _ = writeln!(
            self.html,
            "<figure>{body}<figcaption>{}</figcaption></figure>",
            esc(alt)
        );
        self.charts.push((name.to_string(), svg));
    }

    pub(crate) fn details(&mut self, summary: &str, pre: &str) {
        let _ = writeln!(
            self.html,
            "<details><summary>{}</summary><pre>{}</pre></details>",
            esc(summary),
            esc(pre)
        );
    }
}

/// The HTML page around `body`: the shell in `page.html` with the stylesheet `style.css`.
pub(crate) fn page(title: &str, body: &str) -> String {
    const SHELL: &str = include_str!("page.html");
    const STYLE: &str = include_str!("style.css");
    let mut out = String::with_capacity(SHELL.len() + STYLE.len() + body.len());
    // Split at the placeholders once, so nothing in the title or body is ever substituted.
    let (head, rest) = SHELL
        .split_once("{{title}}")
        .expect("page.html has {{title}}");
    let (mid, rest) = rest
        .split_once("{{style}}")
        .expect("page.html has {{style}}");
    let (pre_body, tail) = rest.split_once("{{body}}").expect("page.html has {{body}}");
    out += head;
    out += &esc(title);
    out += mid;
    out += STYLE;
    out += pre_body;
    out += body;
    out += tail;
    out
}
