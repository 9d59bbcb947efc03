//! Command-line conventions shared by logbench's programs.

use std::process::ExitCode;

/// Parses the command line. `--help` and `--version` print and exit 0; a bad argument prints
/// one line, `<tool>: error: …`, and exits 2 (clap's own message spans several lines).
pub fn parse_args<P: clap::Parser>(tool: &str) -> Result<P, ExitCode> {
    // A LOGBENCH_ALLOCATOR that names no allocator, in a program that uses the switchable one
    // (crate::alloc), is bad input like a bad flag.
    if let Err(e) = crate::alloc::check() {
        eprintln!("{tool}: error: {e}");
        return Err(ExitCode::from(2));
    }
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

/// A count as the command lines take it (`--rows`, `--files`): digits with optional `_`
/// separators and an optional k/M/G suffix (`1_000_000`, `20M`, `5k`). The one parser of such
/// counts: data-gen's and the gate's flags use it.
pub fn parse_count(s: &str) -> Result<u64, String> {
    let t = s.trim().replace('_', "");
    let (digits, mult) = match t.chars().last() {
        Some('k' | 'K') => (&t[..t.len() - 1], 1_000),
        Some('m' | 'M') => (&t[..t.len() - 1], 1_000_000),
        Some('g' | 'G') => (&t[..t.len() - 1], 1_000_000_000),
        _ => (t.as_str(), 1),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("'{s}' is not a whole number (e.g. 1000000, 20M)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_take_separators_and_suffixes_and_refuse_the_rest() {
        assert_eq!(parse_count("1_000_000"), Ok(1_000_000));
        assert_eq!(parse_count("20M"), Ok(20_000_000));
        assert_eq!(parse_count("5k"), Ok(5_000));
        assert_eq!(parse_count("2G"), Ok(2_000_000_000));
        for bad in ["", "M", "1.5M", "-3", "20X", "99999999999G"] {
            assert!(parse_count(bad).is_err(), "{bad}");
        }
    }
}
