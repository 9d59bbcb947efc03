//! Command-line conventions shared by logbench's binaries.

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
            let text = e.to_string();
            let line = text.lines().next().unwrap_or("invalid arguments");
            eprintln!("{tool}: error: {}", line.trim_start_matches("error: "));
            Err(ExitCode::from(2))
        }
    }
}
