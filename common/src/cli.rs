//! Command-line conventions shared by logbench's programs.

use std::process::ExitCode;

/// Parses the command line. `--help` and `--version` print and exit 0; a bad argument prints
/// one line, `<tool>: error: …`, and exits 2 (clap's own message spans several lines).
pub fn parse_args<P: clap::Parser>(tool: &str) -> Result<P, ExitCode> {
    match P::try_parse() {
        Ok(p) => Ok(p),
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            Err(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{tool}: error: {}", one_line(&e.to_string()));
            Err(ExitCode::from(2))
        }
    }
}

/// `text` on one line, runs of whitespace (line breaks included) as one space: for errors
/// from libraries whose messages span lines (DataFusion's "caused by" chains, XML from object
/// stores).
pub fn single_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first line of a (possibly multi-line) error message, without a leading `error: `.
pub fn one_line(text: &str) -> &str {
    let line = text.lines().next().unwrap_or("invalid arguments");
    line.trim_start_matches("error: ")
}
