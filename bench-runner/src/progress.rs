//! Live progress on stderr: query, phase, last latency; one line per query when not a terminal.

use std::io::{IsTerminal, Write};

use crate::results::{QueryResult, Status};

pub struct Progress {
    live: bool,
    quiet: bool,
    prefix: String,
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        Self {
            live: !quiet && std::io::stderr().is_terminal(),
            quiet,
            prefix: String::new(),
        }
    }

    pub fn start_query(&mut self, index: usize, total: usize, name: &str) {
        self.prefix = format!("[{index}/{total}] {name}");
    }

    pub fn step(&mut self, _name: &str, phase: &str, latency_us: Option<u64>) {
        if !self.live {
            return;
        }
        let last = latency_us.map_or(String::new(), |us| format!(": {:.1} ms", us as f64 / 1e3));
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{}  {phase}{last}", self.prefix);
        let _ = err.flush();
    }

    pub fn finish_query(&mut self, r: &QueryResult) {
        if self.quiet {
            return;
        }
        let line = match (&r.status, &r.latency) {
            (Status::Ok, Some(l)) => format!(
                "{}  ok  p50 {:.1} ms  p99 {:.1} ms  n {}  median {}  rows {}",
                self.prefix,
                l.p50 as f64 / 1e3,
                l.p99 as f64 / 1e3,
                l.count,
                crate::sampling::describe(r.sampling.as_ref()),
                r.answer.as_ref().map_or(0, |a| a.rows)
            ),
            _ => format!(
                "{}  {}  {}",
                self.prefix,
                r.status.label().to_uppercase(),
                r.error.as_deref().unwrap_or("")
            ),
        };
        if self.live {
            eprint!("\r\x1b[2K");
        }
        eprintln!("{line}");
    }

    pub fn note(&self, msg: &str) {
        if !self.quiet {
            eprintln!("{msg}");
        }
    }
}
