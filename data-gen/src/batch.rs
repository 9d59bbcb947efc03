//! Turns the model's values into Arrow record batches for any row range of a dataset.
//!
//! A batch is a pure function of `(seed, total rows, first row, length)`: no state carries from
//! one batch to the next, so threads can produce batches in any order and the bytes come out the
//! same.
//!
//! In memory the three low-cardinality string columns are Arrow dictionaries (`UInt8` keys into
//! a shared vocabulary), which costs one byte per value instead of a string copy. The Parquet
//! writer interns values either way and the files declare plain `Utf8` (see [`schema`]), so what
//! readers see is unchanged.

use std::sync::Arc;

use arrow_array::types::UInt8Type;
use arrow_array::{
    ArrayRef, DictionaryArray, Float64Array, Int16Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray, UInt8Array,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use crate::distributions::round_small;
use crate::model::{AccessLogModel, METHODS, REGIONS, STATUS_CODES};
use crate::rng::{RowRng, STREAM_1, STREAM_2, expand, open_unit_f64_u32};
use crate::schema::{WINDOW_START_US, schema};
use crate::traffic::TrafficCurve;

/// Produces batches of one dataset (one seed and row count).
#[derive(Debug, Clone)]
pub struct BatchGenerator {
    rng: RowRng,
    total_rows: u64,
    model: Arc<AccessLogModel>,
    curve: Arc<TrafficCurve>,
    /// The files' schema (plain `Utf8` strings).
    schema: SchemaRef,
    /// The batches' schema (dictionary-encoded strings).
    batch_schema: SchemaRef,
    methods: ArrayRef,
    endpoints: ArrayRef,
    regions: ArrayRef,
    inv_total_rows: f64,
    batch_rows: usize,
}

impl BatchGenerator {
    pub fn new(seed: u64, total_rows: u64) -> Self {
        let model = AccessLogModel::new();
        let vocab = |v: Vec<&str>| Arc::new(StringArray::from(v)) as ArrayRef;
        let endpoints = vocab(model.endpoints.iter().map(|e| e.path.as_str()).collect());
        let file_schema = schema();
        let batch_schema = Arc::new(Schema::new(
            file_schema
                .fields()
                .iter()
                .map(|f| match f.data_type() {
                    DataType::Utf8 => Field::new(
                        f.name(),
                        DataType::Dictionary(Box::new(DataType::UInt8), Box::new(DataType::Utf8)),
                        f.is_nullable(),
                    ),
                    _ => f.as_ref().clone(),
                })
                .collect::<Vec<_>>(),
        ));
        Self {
            rng: RowRng::new(seed),
            total_rows,
            model: Arc::new(model),
            curve: Arc::new(TrafficCurve::new()),
            schema: file_schema,
            batch_schema,
            methods: vocab(METHODS.to_vec()),
            endpoints,
            regions: vocab(REGIONS.iter().map(|r| r.0).collect()),
            inv_total_rows: 1.0 / total_rows as f64,
            batch_rows: crate::encoding::DEFAULT_BATCH_ROWS,
        }
    }

    /// Rows per batch when producing a row group (speed only: content is the same for any size).
    pub fn with_batch_rows(mut self, rows: usize) -> Self {
        self.batch_rows = rows.max(1);
        self
    }

    pub fn batch_rows(&self) -> usize {
        self.batch_rows
    }

    /// The schema of the batches this generator produces (strings as dictionaries).
    pub fn batch_schema(&self) -> SchemaRef {
        Arc::clone(&self.batch_schema)
    }

    pub fn total_rows(&self) -> u64 {
        self.total_rows
    }

    /// The schema of the files (the dataset contract).
    pub fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    /// The timestamp of global row `row` (a pure function of the row).
    pub fn ts_of(&self, row: u64) -> i64 {
        self.ts_from(row, self.rng.bits(row, 0))
    }

    /// Row `row` sits at cumulative traffic share `(row + jitter) / total`, jitter in (0, 1):
    /// strictly increasing in `row`, so `ts` never decreases.
    #[inline(always)]
    fn ts_from(&self, row: u64, bits0: u64) -> i64 {
        let jitter = open_unit_f64_u32(bits0 as u32);
        let p = (row as f64 + jitter) * self.inv_total_rows;
        WINDOW_START_US + self.curve.offset_us(p)
    }

    /// Rows `start .. start + len` of the dataset.
    pub fn batch(&self, start: u64, len: usize) -> RecordBatch {
        assert!(
            start + len as u64 <= self.total_rows,
            "row range past the dataset"
        );
        #[cfg(target_arch = "x86_64")]
        if has_x86_64_v3() {
            // SAFETY: the CPU supports every feature `batch_x86_64_v3` is compiled for.
            return unsafe { self.batch_x86_64_v3(start, len) };
        }
        self.batch_portable(start, len)
    }

    /// The same kernel compiled for x86-64-v3 (AVX2, BMI1/2, LZCNT, MOVBE): about 20 % faster
    /// (criterion `batch` bench). Bit-identical to the portable build: no fused multiply-add is
    /// enabled, and Rust never contracts floating-point expressions on its own.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx,avx2,bmi1,bmi2,lzcnt,movbe,popcnt,sse3,ssse3,sse4.1,sse4.2")]
    fn batch_x86_64_v3(&self, start: u64, len: usize) -> RecordBatch {
        self.build(start, len)
    }

    /// The kernel compiled for the baseline target.
    pub fn batch_portable(&self, start: u64, len: usize) -> RecordBatch {
        assert!(
            start + len as u64 <= self.total_rows,
            "row range past the dataset"
        );
        self.build(start, len)
    }

    /// Built column by column: each column is one tight loop over the row range, reading the
    /// random bits and the columns it depends on (endpoint → method → status → latency, bytes).
    #[inline(always)]
    fn build(&self, start: u64, len: usize) -> RecordBatch {
        let m = &*self.model;
        let rows = start..start + len as u64;
        let rng = self.rng;
        // One fused loop per random stream. The loops do table lookups, so LLVM keeps them
        // scalar; separate loops that only hashed row numbers were auto-vectorised with SSE2,
        // which emulates the 64-bit multiplies and ran about 3x slower than scalar `imul`.
        //
        // Stream 0: ts jitter (low 32 bits) and user rank (high 32 bits). Streams 1 and 2 are
        // expanded from it with one wide multiply each.
        let mut h = vec![0u64; len];
        let mut ts = vec![0i64; len];
        let mut user_id = vec![0i64; len];
        for (((r, t), u), h) in rows.clone().zip(&mut ts).zip(&mut user_id).zip(&mut h) {
            let b = rng.bits(r, 0);
            *h = b;
            *t = self.ts_from(r, b);
            *u = AccessLogModel::user_id(m.users.sample((b >> 32) as u32));
        }
        // Stream 1: endpoint (16 bits), then the (method, status) pair for the endpoint's kind
        // and the region (13 and 12 bits).
        let mut endpoint = vec![0u8; len];
        let mut method = vec![0u8; len];
        let mut status = vec![0u8; len];
        let mut region = vec![0u8; len];
        for i in 0..len {
            let b = expand(h[i], STREAM_1);
            let e = m.endpoint_choice.sample(b);
            let call = m.calls[m.endpoint_kind[e] as usize].sample(b >> 16);
            endpoint[i] = e as u8;
            method[i] = (call / STATUS_CODES.len()) as u8;
            status[i] = (call % STATUS_CODES.len()) as u8;
            region[i] = m.regions.sample(b >> 32) as u8;
        }
        // Stream 2: latency noise (low 32 bits) and size noise (high 32 bits).
        let mut latency = vec![0f64; len];
        let mut bytes = vec![0i64; len];
        for i in 0..len {
            let b = expand(h[i], STREAM_2);
            let (e, s) = (&m.endpoints[endpoint[i] as usize], status[i] as usize);
            let noise = m.latency_noise.eval_u32(b as u32);
            latency[i] = e.median_latency_ms * m.latency_factor[s] * noise;
            let noise = m.bytes_noise.eval_u32((b >> 32) as u32);
            let body = if m.body_bytes[s] > 0.0 {
                m.body_bytes[s]
            } else {
                e.median_bytes
            };
            bytes[i] = round_small(body * noise).max(1) as i64;
        }
        // Milliseconds with microsecond resolution, as a real access log records them, never
        // zero. A pass of its own so it vectorises: adding and removing 1.5 * 2^52 rounds a
        // positive double below 2^51 to an integer without a conversion, and `k / 1000.0` (not
        // `k * 0.001`) gives the double nearest the decimal, so values print as `12.345`.
        const ROUND: f64 = 6_755_399_441_055_744.0;
        for x in &mut latency {
            let us = (*x * 1000.0 + ROUND) - ROUND;
            *x = if us < 1.0 { 1.0 } else { us } / 1000.0;
        }
        let status_code: Vec<i16> = status.iter().map(|s| STATUS_CODES[*s as usize]).collect();

        let dict = |keys: Vec<u8>, values: &ArrayRef| {
            Arc::new(
                DictionaryArray::<UInt8Type>::try_new(UInt8Array::from(keys), Arc::clone(values))
                    .expect("keys index the vocabulary"),
            ) as ArrayRef
        };
        let columns: Vec<ArrayRef> = vec![
            Arc::new(TimestampMicrosecondArray::from(ts).with_timezone("UTC")),
            Arc::new(Int64Array::from(user_id)),
            dict(method, &self.methods),
            dict(endpoint, &self.endpoints),
            Arc::new(Int16Array::from(status_code)),
            Arc::new(Float64Array::from(latency)),
            Arc::new(Int64Array::from(bytes)),
            dict(region, &self.regions),
        ];
        RecordBatch::try_new(self.batch_schema(), columns).expect("columns match the schema")
    }
}

/// Whether this CPU runs the x86-64-v3 kernel (checked once; the answer is cached by std).
#[cfg(target_arch = "x86_64")]
fn has_x86_64_v3() -> bool {
    use std::arch::is_x86_feature_detected as has;
    has!("avx2")
        && has!("bmi1")
        && has!("bmi2")
        && has!("lzcnt")
        && has!("movbe")
        && has!("popcnt")
        && has!("sse4.2")
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int16Type, Int64Type, TimestampMicrosecondType};
    use std::collections::HashMap;

    use crate::schema::{USERS, WINDOW_END_US};

    fn sample(seed: u64) -> RecordBatch {
        BatchGenerator::new(seed, 1_000_000).batch(0, 200_000)
    }

    /// The values of a dictionary-encoded string column.
    fn strs(a: &ArrayRef) -> Vec<&str> {
        let d = a.as_dictionary::<UInt8Type>();
        let values = d.values().as_string::<i32>();
        d.keys()
            .values()
            .iter()
            .map(|k| values.value(*k as usize))
            .collect()
    }

    fn median(v: &mut [f64]) -> f64 {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }

    #[test]
    fn batches_are_pure_functions_of_their_row_range() {
        let g = BatchGenerator::new(9, 10_000);
        let whole = g.batch(1_000, 3_000);
        let a = g.batch(1_000, 1_234);
        let b = g.batch(2_234, 1_766);
        assert_eq!(whole.slice(0, 1_234), a);
        assert_eq!(whole.slice(1_234, 1_766), b);
        assert_eq!(g.batch(5, 7), BatchGenerator::new(9, 10_000).batch(5, 7));
        assert_ne!(
            g.batch(0, 100),
            BatchGenerator::new(10, 10_000).batch(0, 100)
        );
    }

    #[test]
    fn the_fast_kernel_is_bit_identical_to_the_portable_one() {
        let g = BatchGenerator::new(77, 5_000_000);
        for (start, len) in [(0, 8192), (1_234_567, 5000), (4_999_000, 1000)] {
            assert_eq!(g.batch(start, len), g.batch_portable(start, len));
        }
        #[cfg(target_arch = "x86_64")]
        if !has_x86_64_v3() {
            eprintln!("note: this CPU lacks x86-64-v3; only the portable kernel was exercised");
        }
    }

    #[test]
    fn latency_has_microsecond_resolution_and_prints_as_a_short_decimal() {
        let b = sample(6);
        for x in b
            .column(5)
            .as_primitive::<Float64Type>()
            .values()
            .iter()
            .take(20_000)
        {
            let us = *x * 1000.0;
            assert!((us - us.round()).abs() < 1e-6, "{x}");
            let text = x.to_string();
            let decimals = text.split('.').nth(1).map_or(0, str::len);
            assert!(decimals <= 3, "{x} prints as {text}");
        }
    }

    #[test]
    fn every_column_stays_in_bounds() {
        let b = sample(1);
        let ts = b
            .column(0)
            .as_primitive::<TimestampMicrosecondType>()
            .values();
        assert!(ts.windows(2).all(|w| w[0] <= w[1]), "ts is non-decreasing");
        assert!(ts[0] >= WINDOW_START_US && *ts.last().unwrap() < WINDOW_END_US);
        let users = b.column(1).as_primitive::<Int64Type>().values();
        assert!(users.iter().all(|u| (1..=USERS as i64).contains(u)));
        let status = b.column(4).as_primitive::<Int16Type>().values();
        assert!(status.iter().all(|s| STATUS_CODES.contains(s)));
        let latency = b.column(5).as_primitive::<Float64Type>().values();
        assert!(latency.iter().all(|l| *l > 0.0 && l.is_finite()));
        let bytes = b.column(6).as_primitive::<Int64Type>().values();
        assert!(bytes.iter().all(|x| *x >= 1));
        for c in 0..8 {
            assert_eq!(b.column(c).null_count(), 0);
        }
        let regions: std::collections::HashSet<&str> = strs(b.column(7)).into_iter().collect();
        assert_eq!(regions.len(), 10);
        let endpoints: std::collections::HashSet<&str> = strs(b.column(3)).into_iter().collect();
        assert!(endpoints.len() > 180, "{} endpoints seen", endpoints.len());
    }

    #[test]
    fn categorical_mixes_are_realistic() {
        let b = sample(2);
        let n = b.num_rows() as f64;
        let mut methods: HashMap<&str, f64> = HashMap::new();
        for m in strs(b.column(2)) {
            *methods.entry(m).or_default() += 1.0 / n;
        }
        assert_eq!(methods.len(), 5);
        let get = methods["GET"];
        assert!(
            get > 0.6 && methods.values().all(|f| *f <= get),
            "{methods:?}"
        );
        let status = b.column(4).as_primitive::<Int16Type>().values();
        let share =
            |pred: &dyn Fn(i16) -> bool| status.iter().filter(|s| pred(**s)).count() as f64 / n;
        let ok = share(&|s| s == 200);
        assert!(ok > 0.6, "200s: {ok}");
        let client = share(&|s| (400..500).contains(&s));
        let server = share(&|s| s >= 500);
        assert!(client > 0.03 && client < 0.15, "4xx: {client}");
        assert!(server > 0.003 && server < 0.05, "5xx: {server}");
        // Endpoints are skewed: the most popular route carries far more than 1/200 of traffic.
        let mut per_endpoint: HashMap<&str, usize> = HashMap::new();
        for e in strs(b.column(3)) {
            *per_endpoint.entry(e).or_default() += 1;
        }
        let top = *per_endpoint.values().max().unwrap() as f64 / n;
        assert!(top > 0.08, "top endpoint share {top}");
    }

    #[test]
    fn latency_is_long_tailed_and_slower_for_server_errors() {
        let b = sample(3);
        let status = b.column(4).as_primitive::<Int16Type>().values();
        let latency = b.column(5).as_primitive::<Float64Type>().values();
        let mut all: Vec<f64> = latency.to_vec();
        let p50 = median(&mut all);
        let p99 = all[all.len() * 99 / 100];
        assert!(p99 / p50 > 5.0, "p50 {p50}, p99 {p99}");
        let pick = |pred: &dyn Fn(i16) -> bool| -> Vec<f64> {
            status
                .iter()
                .zip(latency)
                .filter(|(s, _)| pred(**s))
                .map(|(_, l)| *l)
                .collect()
        };
        let ok = median(&mut pick(&|s| s == 200));
        let err = median(&mut pick(&|s| s >= 500));
        assert!(err > 2.0 * ok, "5xx median {err} vs 200 median {ok}");
        let bytes = b.column(6).as_primitive::<Int64Type>().values();
        let mut b2: Vec<f64> = bytes.iter().map(|x| *x as f64).collect();
        let bp50 = median(&mut b2);
        assert!(b2[b2.len() * 999 / 1000] / bp50 > 10.0, "bytes tail");
    }

    #[test]
    fn a_few_users_make_many_requests() {
        let b = sample(4);
        let mut per_user: HashMap<i64, usize> = HashMap::new();
        for u in b.column(1).as_primitive::<Int64Type>().values() {
            *per_user.entry(*u).or_default() += 1;
        }
        let mut counts: Vec<usize> = per_user.values().copied().collect();
        counts.sort_unstable_by(|a, b| b.cmp(a));
        let n = b.num_rows() as f64;
        let top100: usize = counts.iter().take(100).sum();
        assert!(
            top100 as f64 / n > 0.25,
            "top 100 users: {}",
            top100 as f64 / n
        );
        assert!(counts[0] as f64 / n > 0.03);
        assert!(per_user.len() > 50_000, "{} distinct users", per_user.len());
    }
}
