//! Turns the model's values into Arrow record batches for any row range of a dataset.
//!
//! A batch is a pure function of `(seed, total rows, first row, length)`: no state carries from
//! one batch to the next, so threads can produce batches in any order and the bytes come out the
//! same.

use std::sync::Arc;

use arrow_array::{
    ArrayRef, Float64Array, Int16Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow_buffer::{Buffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::SchemaRef;

use crate::model::{AccessLogModel, METHODS, REGIONS, STATUS_CODES};
use crate::rng::{RowRng, open_unit_f64_u32};
use crate::schema::{WINDOW_START_US, schema};
use crate::traffic::TrafficCurve;

/// Produces batches of one dataset (one seed and row count).
#[derive(Debug, Clone)]
pub struct BatchGenerator {
    rng: RowRng,
    total_rows: u64,
    model: Arc<AccessLogModel>,
    curve: Arc<TrafficCurve>,
    schema: SchemaRef,
    endpoint_paths: Vec<String>,
}

/// Per-row column values before they become Arrow arrays.
struct Columns {
    ts: Vec<i64>,
    user_id: Vec<i64>,
    method: Vec<u8>,
    endpoint: Vec<u8>,
    status: Vec<i16>,
    latency: Vec<f64>,
    bytes: Vec<i64>,
    region: Vec<u8>,
}

impl BatchGenerator {
    pub fn new(seed: u64, total_rows: u64) -> Self {
        let model = AccessLogModel::new();
        let endpoint_paths = model.endpoints.iter().map(|e| e.path.clone()).collect();
        Self {
            rng: RowRng::new(seed),
            total_rows,
            model: Arc::new(model),
            curve: Arc::new(TrafficCurve::new()),
            schema: schema(),
            endpoint_paths,
        }
    }

    pub fn total_rows(&self) -> u64 {
        self.total_rows
    }

    pub fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    /// The timestamp of global row `row` (a pure function, used for manifests and tests too).
    #[inline(always)]
    pub fn ts_of(&self, row: u64) -> i64 {
        let jitter = open_unit_f64_u32(self.rng.bits(row, 0) as u32);
        let p = (row as f64 + jitter) / self.total_rows as f64;
        WINDOW_START_US + self.curve.offset_us(p)
    }

    /// Rows `start .. start + len` of the dataset.
    pub fn batch(&self, start: u64, len: usize) -> RecordBatch {
        assert!(
            start + len as u64 <= self.total_rows,
            "row range past the dataset"
        );
        let m = &*self.model;
        let mut c = Columns {
            ts: Vec::with_capacity(len),
            user_id: Vec::with_capacity(len),
            method: Vec::with_capacity(len),
            endpoint: Vec::with_capacity(len),
            status: Vec::with_capacity(len),
            latency: Vec::with_capacity(len),
            bytes: Vec::with_capacity(len),
            region: Vec::with_capacity(len),
        };
        for row in start..start + len as u64 {
            let b0 = self.rng.bits(row, 0);
            let b1 = self.rng.bits(row, 1);
            let b2 = self.rng.bits(row, 2);

            c.ts.push(self.ts_of(row));
            let rank = m.users.sample(open_unit_f64_u32((b0 >> 32) as u32));
            c.user_id.push(AccessLogModel::user_id(rank));

            let e = m.endpoint_choice.sample(b1);
            let endpoint = &m.endpoints[e];
            let methods = if endpoint.is_item {
                &m.item_methods
            } else {
                &m.collection_methods
            };
            let method = methods.sample(b1 >> 16);
            let status = m.statuses[method].sample(b1 >> 28);
            let region = m.regions.sample(b1 >> 40);

            let latency_noise = m.latency_noise.eval(open_unit_f64_u32(b2 as u32));
            let latency = endpoint.median_latency_ms * m.latency_factor[status] * latency_noise;
            // Microsecond resolution, as a real access log records it; never zero.
            let latency = ((latency * 1000.0).round() / 1000.0).max(0.001);

            let bytes_noise = m.bytes_noise.eval(open_unit_f64_u32((b2 >> 32) as u32));
            let body = m.body_bytes[status].unwrap_or(endpoint.median_bytes);
            let bytes = ((body * bytes_noise) as i64).max(1);

            c.method.push(method as u8);
            c.endpoint.push(e as u8);
            c.status.push(STATUS_CODES[status]);
            c.region.push(region as u8);
            c.latency.push(latency);
            c.bytes.push(bytes);
        }
        self.to_record_batch(c)
    }

    fn to_record_batch(&self, c: Columns) -> RecordBatch {
        let regions: Vec<&str> = REGIONS.iter().map(|r| r.0).collect();
        let endpoints: Vec<&str> = self.endpoint_paths.iter().map(String::as_str).collect();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(TimestampMicrosecondArray::from(c.ts).with_timezone("UTC")),
            Arc::new(Int64Array::from(c.user_id)),
            Arc::new(strings(&METHODS, &c.method)),
            Arc::new(strings(&endpoints, &c.endpoint)),
            Arc::new(Int16Array::from(c.status)),
            Arc::new(Float64Array::from(c.latency)),
            Arc::new(Int64Array::from(c.bytes)),
            Arc::new(strings(&regions, &c.region)),
        ];
        RecordBatch::try_new(self.schema(), columns).expect("columns match the schema")
    }
}

/// A `StringArray` holding `vocab[i]` for each index, built with two straight copies.
fn strings(vocab: &[&str], indices: &[u8]) -> StringArray {
    let mut offsets = Vec::with_capacity(indices.len() + 1);
    let mut values = Vec::with_capacity(indices.len() * 16);
    offsets.push(0i32);
    for i in indices {
        values.extend_from_slice(vocab[*i as usize].as_bytes());
        offsets.push(values.len() as i32);
    }
    let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
    StringArray::try_new(offsets, Buffer::from_vec(values), None)
        .expect("vocabulary strings are UTF-8")
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
        let regions: std::collections::HashSet<&str> =
            b.column(7).as_string::<i32>().iter().flatten().collect();
        assert_eq!(regions.len(), 10);
        let endpoints: std::collections::HashSet<&str> =
            b.column(3).as_string::<i32>().iter().flatten().collect();
        assert!(endpoints.len() > 180, "{} endpoints seen", endpoints.len());
    }

    #[test]
    fn categorical_mixes_are_realistic() {
        let b = sample(2);
        let n = b.num_rows() as f64;
        let mut methods: HashMap<&str, f64> = HashMap::new();
        for m in b.column(2).as_string::<i32>().iter().flatten() {
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
        for e in b.column(3).as_string::<i32>().iter().flatten() {
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
