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
