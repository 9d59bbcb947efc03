//! `data-gen-bench`: end-to-end generation against the writer floor, side by side in one run.
//!
//! Three measurements over the same dataset layout, repeated and interleaved so drift hits all
//! alike:
//! - `generate`: producing the Arrow batches only (no encoding, no IO);
//! - `floor`: writing identical batches built before the clock starts (encoding + IO only);
//! - `end-to-end`: what `data-gen` does (generation + encoding + IO).
//!
//! The figure of merit is `end-to-end / floor - 1`: what generation adds on top of writing,
//! taken per repeat from a floor and an end-to-end run made back to back (their order
//! alternating), then the median over repeats, so machine drift cancels out of the ratio.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use clap::Parser;
use data_gen::layout::Unit;
use data_gen::pipeline::{BatchSource, write_files};
use data_gen::{BatchGenerator, Codec, Request};
use rayon::prelude::*;

#[derive(Debug, Parser)]
#[command(name = "data-gen-bench")]
struct Args {
    #[arg(long, default_value_t = 20_000_000)]
    rows: u64,
    #[arg(long, default_value_t = 40)]
    files: u64,
    #[arg(long)]
    threads: Option<usize>,
    #[arg(long, value_enum, default_value_t = Codec::Zstd)]
    compression: Codec,
    #[arg(long, default_value_t = data_gen::encoding::DEFAULT_ROW_GROUP_ROWS)]
    row_group_rows: u64,
    #[arg(long, default_value_t = data_gen::encoding::DEFAULT_BATCH_ROWS)]
    batch_rows: usize,
    #[arg(long, default_value_t = 5)]
    repeats: usize,
    /// Scratch directory (emptied after each run).
    #[arg(long, default_value = "target/bench-scratch")]
    dir: PathBuf,
}

/// Replays batches built before timing started.
struct Prebuilt {
    schema: SchemaRef,
    by_start: HashMap<u64, Vec<RecordBatch>>,
}

impl BatchSource for Prebuilt {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn batches(
        &self,
        unit: &Unit,
        sink: &mut dyn FnMut(RecordBatch) -> data_gen::Result<()>,
    ) -> data_gen::Result<()> {
        for b in &self.by_start[&unit.start] {
            sink(b.clone())?;
        }
        Ok(())
    }
}

/// User + system CPU seconds this process has used so far (all threads).
fn cpu_seconds() -> f64 {
    logbench_common::process::cpu_time().as_secs_f64()
}

/// Wall and CPU seconds of `f`.
fn timed<T>(f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<(f64, f64, T)> {
    let (t, c) = (Instant::now(), cpu_seconds());
    let out = f()?;
    Ok((t.elapsed().as_secs_f64(), cpu_seconds() - c, out))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut req = Request::new(&args.dir, args.rows, args.files);
    if let Some(t) = args.threads {
        req.threads = t;
    }
    req.compression = args.compression;
    req.row_group_rows = args.row_group_rows;
    req.batch_rows = args.batch_rows;
    let layout = req.layout()?;
    let units = layout.units();
    let generator = BatchGenerator::new(req.seed, req.rows).with_batch_rows(req.batch_rows);
    let props = req.settings().writer_properties();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(req.threads)
        .build()?;

    eprintln!(
        "building {} rows of batches for the writer floor …",
        args.rows
    );
    let prebuilt = Prebuilt {
        schema: BatchSource::schema(&generator),
        by_start: pool.install(|| {
            units
                .par_iter()
                .map(|u| {
                    let mut v = Vec::new();
                    generator.batches(u, &mut |b| {
                        v.push(b);
                        Ok(())
                    })?;
                    Ok((u.start, v))
                })
                .collect::<data_gen::Result<HashMap<_, _>>>()
        })?,
    };

    let run_dir = |name: &str| -> anyhow::Result<PathBuf> {
        let d = args.dir.join(name);
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d)?;
        Ok(d)
    };
    // Per stage: wall seconds and CPU seconds of each repeat.
    let (mut gen_, mut floor, mut e2e) = (Stage::default(), Stage::default(), Stage::default());
    let mut bytes = 0u64;
    for r in 0..args.repeats {
        let (w, c, ()) = timed(|| {
            pool.install(|| {
                units.par_iter().for_each(|u| {
                    let _ = generator.batches(u, &mut |b| {
                        std::hint::black_box(b);
                        Ok(())
                    });
                })
            });
            Ok(())
        })?;
        gen_.push(w, c);
        let run_floor = || {
            let d = run_dir("floor")?;
            timed(|| {
                Ok(write_files(
                    &d,
                    &units,
                    &prebuilt,
                    props.clone(),
                    req.threads,
                    &mut |_| {},
                )?)
            })
        };
        let run_e2e = || {
            let d = run_dir("end-to-end")?;
            timed(|| {
                Ok(write_files(
                    &d,
                    &units,
                    &generator,
                    props.clone(),
                    req.threads,
                    &mut |_| {},
                )?)
            })
        };
        // Alternate the order so neither stage always runs on a warmer (or busier) machine.
        let (f, e) = if r % 2 == 0 {
            let f = run_floor()?;
            (f, run_e2e()?)
        } else {
            let e = run_e2e()?;
            (run_floor()?, e)
        };
        floor.push(f.0, f.1);
        e2e.push(e.0, e.1);
        bytes = e.2.iter().map(|w| w.bytes).sum();
        eprintln!(
            "run {}: generate {:.3} s ({:.3} s CPU), floor {:.3} s ({:.3} s CPU), end-to-end {:.3} s ({:.3} s CPU)",
            r + 1,
            w,
            c,
            f.0,
            f.1,
            e.0,
            e.1
        );
    }
    let _ = std::fs::remove_dir_all(&args.dir);

    let rows = args.rows as f64;
    let threads = req.threads as f64;
    println!(
        "rows {} files {} threads {} compression {:?} row_group_rows {} batch_rows {} output {:.1} MiB ({:.2} bytes/row), median of {}",
        args.rows,
        args.files,
        req.threads,
        args.compression,
        args.row_group_rows,
        args.batch_rows,
        bytes as f64 / (1 << 20) as f64,
        bytes as f64 / rows,
        args.repeats
    );
    println!(
        "{:<12} {:>9} {:>10} {:>17} {:>13} {:>21}",
        "stage", "wall s", "M rows/s", "M rows/s per core", "CPU s", "M rows per CPU second"
    );
    for (name, st) in [("generate", &gen_), ("floor", &floor), ("end-to-end", &e2e)] {
        let (w, c) = (median(st.wall.clone()), median(st.cpu.clone()));
        println!(
            "{name:<12} {w:>9.3} {:>10.2} {:>17.2} {c:>13.3} {:>21.2}",
            rows / w / 1e6,
            rows / w / 1e6 / threads,
            rows / c / 1e6
        );
    }
    for (what, e, f) in [
        ("wall", &e2e.wall, &floor.wall),
        ("CPU", &e2e.cpu, &floor.cpu),
    ] {
        let ratios: Vec<f64> = e.iter().zip(f).map(|(e, f)| e / f - 1.0).collect();
        let (lo, hi) = ratios
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), r| (lo.min(*r), hi.max(*r)));
        println!(
            "generation overhead over the writer floor ({what} time): {:+.1} % (median of per-repeat ratios; range {:+.1} % to {:+.1} %)",
            median(ratios.clone()) * 100.0,
            lo * 100.0,
            hi * 100.0
        );
    }
    Ok(())
}

#[derive(Default)]
struct Stage {
    wall: Vec<f64>,
    cpu: Vec<f64>,
}

impl Stage {
    fn push(&mut self, wall: f64, cpu: f64) {
        self.wall.push(wall);
        self.cpu.push(cpu);
    }
}
