//! `data-gen`: writes the synthetic access log as Parquet files plus `manifest.json`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use data_gen::encoding::DEFAULT_ROW_GROUP_ROWS;
use data_gen::{Codec, DEFAULT_SEED, Request, generate, generate_single_file};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use logbench_common::bytes::human_bytes;

/// Generate a synthetic web/API access log as Parquet, deterministically and in parallel.
#[derive(Debug, Parser)]
#[command(name = "data-gen", version)]
struct Cli {
    /// Total rows (accepts 1_000_000, 20M, 5k).
    #[arg(long, default_value = "200000000", value_parser = logbench_common::cli::parse_count)]
    rows: u64,
    /// Number of Parquet files; rows are split as evenly as possible.
    #[arg(long, default_value_t = 40, value_parser = logbench_common::cli::parse_count)]
    files: u64,
    /// Output directory: DIR/part-00000.parquet … and DIR/manifest.json.
    #[arg(long)]
    out: PathBuf,
    /// Seed: the same rows, files and seed give byte-identical files.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
    /// Worker threads (default: all cores). Never changes the output.
    #[arg(long)]
    threads: Option<usize>,
    #[arg(long, value_enum, default_value_t = Codec::Zstd)]
    compression: Codec,
    /// Rows per Parquet row group.
    #[arg(long, default_value_t = DEFAULT_ROW_GROUP_ROWS, value_parser = logbench_common::cli::parse_count)]
    row_group_rows: u64,
    /// Replace a dataset already in --out.
    #[arg(long)]
    force: bool,
    /// Keep a dataset already in --out when its manifest records these settings (rows, files,
    /// seed, codec, row-group size, data version) and its files match the manifest's names and
    /// sizes; otherwise generate, replacing the dataset there (refused if the folder holds
    /// other files)
    #[arg(long, conflicts_with_all = ["force", "only_file"])]
    reuse: bool,
    /// Regenerate only part N (byte-identical to that file of a full run); writes no manifest.
    #[arg(long, value_name = "N")]
    only_file: Option<usize>,
    /// No progress bar and no summary line.
    #[arg(long)]
    quiet: bool,
}

fn main() -> ExitCode {
    let cli: Cli = match logbench_common::cli::parse_args("data-gen") {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let mut req = Request::new(&cli.out, cli.rows, cli.files);
    req.seed = cli.seed;
    if let Some(t) = cli.threads {
        req.threads = t;
    }
    req.compression = cli.compression;
    req.row_group_rows = cli.row_group_rows;
    req.force = cli.force;
    if cli.reuse {
        match data_gen::reusable(&req) {
            Ok(m) => {
                if !cli.quiet {
                    println!(
                        "data-gen: reusing {}: {} rows in {} files match their manifest",
                        cli.out.display(),
                        m.rows,
                        m.file_count
                    );
                }
                return ExitCode::SUCCESS;
            }
            Err(why) => {
                // --reuse replaces a dataset, never generates beside someone else's files.
                let foreign = data_gen::generate::foreign_entries(&cli.out);
                if !foreign.is_empty() {
                    return fail(&data_gen::Error::InvalidArgument(format!(
                        "--reuse: {} holds files that are not a data-gen dataset ({}); \
                         choose an empty or dataset folder",
                        cli.out.display(),
                        foreign.join(", ")
                    )));
                }
                if !cli.quiet {
                    eprintln!("data-gen: generating {}: {why}", cli.out.display());
                }
                req.force = true;
            }
        }
    }

    if let Some(file) = cli.only_file {
        return match generate_single_file(&req, file) {
            Ok(w) => {
                if !cli.quiet {
                    println!(
                        "data-gen: wrote {} ({} rows, {} bytes, sha256 {})",
                        req.out.join(data_gen::Layout::file_name(file)).display(),
                        w.rows,
                        w.bytes,
                        w.sha256
                    );
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        };
    }
    let bar = if cli.quiet || !std::io::stderr().is_terminal() {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::with_draw_target(Some(cli.rows), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:30.cyan/blue} {human_pos}/{human_len} rows  {rate}  ETA {eta}",
            )
            .expect("valid template")
            .with_key(
                "rate",
                |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.2} M rows/s", state.per_sec() / 1e6);
                },
            ),
        );
        bar
    };
    let result = generate(&req, &mut |rows| bar.set_position(rows));
    bar.finish_and_clear();
    match result {
        Ok(summary) => {
            if !cli.quiet {
                let m = &summary.manifest;
                let rate = summary.rows_per_second();
                println!(
                    "data-gen: wrote {} rows in {} files ({}) to {} in {:.2} s: {:.2} M rows/s, {:.2} M rows/s per thread ({} threads), peak RSS {}",
                    m.rows,
                    m.file_count,
                    human_bytes(m.total_bytes),
                    cli.out.display(),
                    summary.seconds,
                    rate / 1e6,
                    rate / 1e6 / req.threads as f64,
                    req.threads,
                    human_bytes(logbench_common::process::peak_rss_bytes().unwrap_or(0))
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

fn fail(e: &data_gen::Error) -> ExitCode {
    eprintln!("data-gen: error: {e}");
    ExitCode::from(if e.is_usage() { 2 } else { 1 })
}
