//! Criterion benches: the column generators one by one, whole batches, and batch-to-Parquet
//! encoding (one row group through the real column writers, no file IO).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use data_gen::distributions::{QuantileTable, ZipfRanks};
use data_gen::layout::Unit;
use data_gen::model::AccessLogModel;
use data_gen::pipeline::BatchSource;
use data_gen::rng::RowRng;
use data_gen::traffic::TrafficCurve;
use data_gen::{BatchGenerator, Codec, ParquetSettings};
use parquet::arrow::ArrowWriter;

const N: u64 = 8192;

fn columns(c: &mut Criterion) {
    let mut g = c.benchmark_group("column");
    g.throughput(Throughput::Elements(N));
    let rng = RowRng::new(1);
    g.bench_function("rng_bits", |b| {
        b.iter(|| (0..N).fold(0u64, |acc, r| acc ^ rng.bits(black_box(r), 0)))
    });
    let zipf = ZipfRanks::new(10_000_000, 1.0);
    g.bench_function("user_id_zipf", |b| {
        b.iter(|| {
            (0..N).fold(0i64, |acc, r| {
                let rank = zipf.sample(rng.bits(r, 0) as u32);
                acc ^ AccessLogModel::user_id(rank)
            })
        })
    });
    let ln = QuantileTable::log_normal(12, 0.0, 0.8);
    g.bench_function("log_normal", |b| {
        b.iter(|| (0..N).fold(0.0, |acc, r| acc + ln.eval_u32(rng.bits(r, 2) as u32)))
    });
    let curve = TrafficCurve::new();
    g.bench_function("ts_curve", |b| {
        b.iter(|| (0..N).fold(0i64, |acc, r| acc ^ curve.offset_us((r as f64 + 0.5) / 1e8)))
    });
    let model = AccessLogModel::new();
    g.bench_function("endpoint_call_region", |b| {
        b.iter(|| {
            (0..N).fold(0usize, |acc, r| {
                let b1 = rng.bits(r, 1);
                let e = model.endpoint_choice.sample(b1);
                let call = model.calls[model.endpoint_kind[e] as usize].sample(b1 >> 16);
                acc ^ e ^ call ^ model.regions.sample(b1 >> 32)
            })
        })
    });
    g.finish();
}

fn batches(c: &mut Criterion) {
    let gen_ = BatchGenerator::new(1, 200_000_000);
    let mut g = c.benchmark_group("batch");
    g.throughput(Throughput::Elements(N));
    g.bench_function("generate_8192_rows", |b| {
        b.iter(|| gen_.batch(black_box(100_000_000), N as usize))
    });
    g.finish();
}

fn encoding(c: &mut Criterion) {
    let gen_ = BatchGenerator::new(1, 200_000_000);
    let rows = 262_144u64;
    let unit = Unit {
        file: 0,
        row_group: 0,
        start: 50_000_000,
        rows,
        last_in_file: true,
    };
    let mut batches = Vec::new();
    gen_.batches(&unit, &mut |b| {
        batches.push(b);
        Ok(())
    })
    .unwrap();
    let mut g = c.benchmark_group("encode");
    g.throughput(Throughput::Elements(rows));
    g.sample_size(10);
    for codec in [Codec::Zstd, Codec::Snappy, Codec::None] {
        let props = ParquetSettings::new(codec, 1 << 20, 8192).writer_properties();
        g.bench_function(format!("row_group_{codec:?}"), |b| {
            b.iter(|| {
                let mut w = ArrowWriter::try_new(
                    Vec::with_capacity(8 << 20),
                    gen_.schema(),
                    Some((*props).clone()),
                )
                .unwrap();
                for batch in &batches {
                    w.write(batch).unwrap();
                }
                w.into_inner().unwrap().len()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, columns, batches, encoding);
criterion_main!(benches);
