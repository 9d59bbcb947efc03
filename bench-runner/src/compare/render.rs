//! How a [`Comparison`] is shown: the terminal table, Markdown (with the suspects of a slower
//! query), the one-line summary and Bencher's BMF JSON. One exporter per format; the verdicts
//! themselves are made in the parent module.

use super::{Comparison, Correction, InstructionComparison, QueryComparison};

fn ms(us: Option<u64>) -> String {
    us.map_or("-".into(), |u| format!("{:.1}", u as f64 / 1e3))
}

fn interval(q: &QueryComparison) -> String {
    match (q.ratio, q.ci_low, q.ci_high) {
        (Some(r), Some(l), Some(h)) => format!("{r:.3} [{l:.3}, {h:.3}]"),
        _ => "-".into(),
    }
}

fn flags(q: &QueryComparison) -> String {
    let mut f = Vec::new();
    if q.answer_changed {
        f.push(if q.answer_change_accepted {
            "answer differs (accepted)".to_string()
        } else {
            "ANSWER DIFFERS".to_string()
        });
    }
    if q.plan_changed {
        f.push("plan changed".to_string());
    }
    if let Some(n) = &q.note {
        f.push(n.clone());
    }
    f.join("; ")
}

/// Millions of instructions, to two decimals.
fn minstr(n: u64) -> String {
    format!("{:.2}", n as f64 / 1e6)
}

impl InstructionComparison {
    /// The cells a table shows for it: BASE and NEW (millions), the ratio, the verdict.
    fn cells(&self) -> [String; 4] {
        [
            minstr(self.base),
            minstr(self.new),
            format!("{:.4}", self.ratio),
            self.verdict.label().to_string(),
        ]
    }
}

impl Comparison {
    /// Rows of (engine, query, instruction cells when any query has them, wall-time cells,
    /// notes): where instructions were counted, their verdict comes first, as it decides.
    fn rows(&self, marked: bool) -> Vec<Vec<String>> {
        let instr = self.has_instructions();
        self.queries
            .iter()
            .map(|q| {
                let verdict = if marked {
                    q.marked_text()
                } else {
                    q.verdict_text()
                };
                let mut row = vec![q.engine.clone(), q.query.clone()];
                if instr {
                    let cells = q.instructions.as_ref().map_or_else(
                        || std::array::from_fn(|_| "-".to_string()),
                        InstructionComparison::cells,
                    );
                    let [b, n, r, mut v] = cells;
                    if marked && let Some(i) = &q.instructions {
                        v = i.marked_text();
                    }
                    row.extend([b, n, r, v]);
                }
                row.extend([
                    ms(q.base_median_us),
                    ms(q.new_median_us),
                    interval(q),
                    verdict,
                ]);
                row.push(flags(q));
                row
            })
            .collect()
    }

    fn headers(&self, markdown: bool) -> Vec<&'static str> {
        let mut h = vec!["engine", "query"];
        if self.has_instructions() {
            h.extend([
                "base instr (M)",
                "new instr (M)",
                "instr ratio",
                "instr verdict",
            ]);
        }
        if markdown {
            h.extend(["base p50 ms", "new p50 ms", "ratio [95 % CI]", "verdict"]);
        } else {
            h.extend(["base ms", "new ms", "ratio [95% CI]", "verdict"]);
        }
        h.push("notes");
        h
    }

    pub fn to_terminal(&self) -> String {
        let right: &[usize] = if self.has_instructions() {
            &[2, 3, 4, 6, 7]
        } else {
            &[2, 3]
        };
        let mut t = crate::table::new(&self.headers(false), right);
        for row in self.rows(false) {
            t.add_row(row);
        }
        let mut s = self.patches_line().map_or(String::new(), |l| l + "\n");
        s += &crate::table::render(&t);
        s += &self.summary_line();
        s.push('\n');
        s += &self.suspects_text(false);
        s
    }

    /// Which engine crates each side was built with from a local copy, when either was.
    pub fn patches_line(&self) -> Option<String> {
        if self.base_patches.is_empty() && self.new_patches.is_empty() {
            return None;
        }
        let side = |p: &[String]| {
            if p.is_empty() {
                "none (the registry's crates)".to_string()
            } else {
                p.join("; ")
            }
        };
        Some(format!(
            "engine patches: BASE {}; NEW {}",
            side(&self.base_patches),
            side(&self.new_patches)
        ))
    }

    /// For each slower query with profiles on both sides, the frames whose self share grew
    /// most: one line per query (Markdown: a list).
    pub fn suspects_text(&self, markdown: bool) -> String {
        let mut s = String::new();
        for q in self.queries.iter().filter(|q| !q.suspects.is_empty()) {
            let frames: Vec<String> = q
                .suspects
                .iter()
                .map(|f| {
                    let name = if markdown {
                        format!("`{}`", f.frame)
                    } else {
                        f.frame.clone()
                    };
                    format!(
                        "{name} {:.1} % → {:.1} % of self time",
                        f.base_pct, f.new_pct
                    )
                })
                .collect();
            s += &format!(
                "{}{} ({}) slower; the profiles' suspects: {}\n",
                if markdown { "- " } else { "" },
                q.query,
                q.engine,
                frames.join("; ")
            );
        }
        s
    }

    /// One line: the instruction verdicts first where counted (they decide), then wall time
    /// with its band, the answers, and what decided the exit code.
    pub fn summary_line(&self) -> String {
        let plain = self
            .queries
            .iter()
            .any(|q| q.band.is_some_and(|b| b > 1.0 + self.noise + 1e-12));
        let mut wall = format!("{} regressions", self.regressions());
        if plain {
            wall += &format!(", {} within drift", self.within_drift());
        }
        wall += &format!(
            ", {} inconclusive (noise ±{:.1} %, {:.0} % family confidence, {}",
            self.inconclusive(),
            self.noise * 100.0,
            self.confidence * 100.0,
            match self.correction {
                Correction::Holm => "Holm",
                Correction::BenjaminiHochberg => "Benjamini–Hochberg",
            }
        );
        if plain {
            wall += &format!(
                "; plain runs: widened by {:.0} % drift and a {:.1} ms floor",
                self.drift * 100.0,
                self.floor_us / 1e3
            );
        }
        wall.push(')');
        let mut s = String::new();
        if self.has_instructions() {
            let own: Vec<String> = self
                .queries
                .iter()
                .filter_map(|q| q.instructions.as_ref().map(|i| (q, i)))
                .filter(|(_, i)| i.threshold > self.instr_threshold + 1e-12)
                .map(|(q, i)| format!("{} {:.1} %", q.query, i.threshold * 100.0))
                .collect();
            s += &format!(
                "instructions: {} regressions (threshold {:.2} %{}); ",
                self.instruction_regressions(),
                self.instr_threshold * 100.0,
                if own.is_empty() {
                    String::new()
                } else {
                    format!(", {}", own.join(", "))
                }
            );
        }
        let accepted = self.accepted_answer_changes();
        s += &format!(
            "wall time: {wall}; {} answer differences{} over {} queries; {}",
            self.correctness_differences(),
            if accepted > 0 {
                format!(" (and {accepted} accepted)")
            } else {
                String::new()
            },
            self.queries.len(),
            self.decided_by()
        );
        s
    }

    /// A GitHub-flavoured Markdown table for a pull request.
    pub fn to_markdown(&self) -> String {
        let headers = self.headers(true);
        let align: Vec<&str> = headers
            .iter()
            .map(|h| {
                if h.contains("ms") || h.contains("(M)") || *h == "instr ratio" {
                    "---:"
                } else {
                    "---"
                }
            })
            .collect();
        let mut s = format!(
            "**{}** against **{}**: {}\n\n{}| {} |\n|{}|\n",
            self.new_run,
            self.base_run,
            self.summary_line(),
            self.patches_line().map_or(String::new(), |l| l + "\n\n"),
            headers.join(" | "),
            align.join("|")
        );
        for row in self.rows(true) {
            s += &format!("| {} |\n", row.join(" | "));
        }
        let suspects = self.suspects_text(true);
        if !suspects.is_empty() {
            s += "\n";
            s += &suspects;
        }
        s
    }

    /// Bencher Metric Format: `{"<engine>/<query>": {"latency": {value, lower_value,
    /// upper_value}}}` in nanoseconds, for NEW (median, and the interval scaled from the ratio's).
    pub fn to_bmf(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        for q in &self.queries {
            let (Some(new), Some(base)) = (q.new_median_us, q.base_median_us) else {
                continue;
            };
            let ns = |us: f64| (us * 1e3).round();
            let mut latency = serde_json::Map::new();
            latency.insert("value".into(), ns(new as f64).into());
            if let (Some(l), Some(h)) = (q.ci_low, q.ci_high) {
                latency.insert("lower_value".into(), ns(base as f64 * l).into());
                latency.insert("upper_value".into(), ns(base as f64 * h).into());
            }
            let mut measures = serde_json::Map::new();
            measures.insert("latency".into(), latency.into());
            if let Some(i) = &q.instructions {
                let mut m = serde_json::Map::new();
                m.insert("value".into(), i.new.into());
                measures.insert("instructions".into(), m.into());
            }
            m.insert(format!("{}/{}", q.engine, q.query), measures.into());
        }
        m.into()
    }
}
