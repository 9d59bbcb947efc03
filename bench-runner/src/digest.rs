//! Answer digests, comparable across iterations and engines.
//!
//! Each row is hashed from normalised values, and the row hashes are combined with a wrapping
//! sum and an XOR, so the digest ignores row order but not row multiplicity. For a query whose
//! outermost clause is `ORDER BY` the same row hashes are also chained in order (`ordered`), so
//! that rows in another order give another ordered digest. Normalisation makes
//! equal answers hash equally whatever their physical types:
//! - integers of any width hash by value (an `Int32` 5 equals an `Int64` 5, and a `Decimal128`
//!   of scale 0 is an integer);
//! - strings hash their bytes (`Utf8`, `LargeUtf8`, `Utf8View` and dictionaries agree);
//! - timestamps hash the instant in nanoseconds (units may differ, the time zone is ignored);
//! - floats are first snapped to their nearest 12-significant-digit decimal, then rounded half
//!   away from zero to 7 significant digits, in exact decimal arithmetic. Sums and means computed
//!   in a different order (another engine, another partitioning) differ in the last bits of a
//!   double; the snap removes that for the short decimals this data's means are (107.9951875
//!   against 107.99518749999999, which a single rounding step splits), and the 7-digit rounding
//!   leaves room for the error of long sums. A mismatch is still possible when a computation
//!   error straddles a 7-digit boundary: about (relative error) / 1e-7 per value, so check a
//!   float-column mismatch against the answers saved with `--save-answers` before calling it a
//!   bug;
//! - nulls hash to a fixed constant; column names are ignored, column order is not.

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::datatypes::*;

use crate::error::{Error, Result};
pub use crate::results::measure::{AnswerDigest, TolerantAnswer};
use crate::workload::Tolerance;

impl std::fmt::Display for AnswerDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} rows {}", self.rows, self.digest)?;
        if let Some(o) = &self.ordered {
            write!(f, " in order {o}")?;
        }
        Ok(())
    }
}

impl AnswerDigest {
    /// The same rows (order ignored), and the same order where both know it; or, for a query
    /// with a known divergence in one column, the same in every other column and that column
    /// within its bound, row by row.
    pub fn agrees(&self, other: &AnswerDigest) -> bool {
        self.same(other) || self.agrees_within_tolerance(other)
    }

    /// The same rows (order ignored) and the same order where both know it, every column
    /// included: no tolerance. What two builds or settings of one engine must give; a known
    /// divergence's bound is for answers of different engines.
    pub fn same(&self, other: &AnswerDigest) -> bool {
        self.rows == other.rows
            && self.digest == other.digest
            && match (&self.ordered, &other.ordered) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    }

    /// Both answers carry the same column of known divergence ([`TolerantAnswer`]): the
    /// other columns hash alike row by row (in answer order where both know the order, else
    /// matched after sorting), and the column's values are within the smaller bound.
    pub fn agrees_within_tolerance(&self, other: &AnswerDigest) -> bool {
        let (Some(a), Some(b)) = (&self.tolerant, &other.tolerant) else {
            return false;
        };
        if a.column != b.column
            || a.rest != b.rest
            || self.rows != other.rows
            || a.values.len() != b.values.len()
        {
            return false;
        }
        let relative = a.relative.min(b.relative);
        let (mut x, mut y) = (a.values.clone(), b.values.clone());
        if self.ordered.is_none() || other.ordered.is_none() {
            let by = |p: &(String, Option<f64>), q: &(String, Option<f64>)| {
                p.0.cmp(&q.0).then(
                    p.1.unwrap_or(f64::NEG_INFINITY)
                        .total_cmp(&q.1.unwrap_or(f64::NEG_INFINITY)),
                )
            };
            x.sort_by(by);
            y.sort_by(by);
        }
        x.iter().zip(&y).all(|((h, v), (k, w))| {
            h == k
                && match (v, w) {
                    (None, None) => true,
                    (Some(v), Some(w)) => {
                        v == w || (v - w).abs() <= relative * 1f64.max(v.abs()).max(w.abs())
                    }
                    _ => false,
                }
        })
    }

    /// The same rows, order ignored.
    pub fn same_rows(&self, other: &AnswerDigest) -> bool {
        self.rows == other.rows && self.digest == other.digest
    }
}

/// Two recorded answers agree: both absent, or both present and [`AnswerDigest::agrees`] (a
/// file written before the ordered digest existed agrees with one that has it).
pub fn answers_agree(a: Option<&AnswerDigest>, b: Option<&AnswerDigest>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.agrees(b),
        (None, None) => true,
        _ => false,
    }
}

/// Two recorded answers of one engine are the same: both absent, or [`AnswerDigest::same`].
pub fn answers_same(a: Option<&AnswerDigest>, b: Option<&AnswerDigest>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.same(b),
        (None, None) => true,
        _ => false,
    }
}

#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

const NULL: u64 = 0x6e75_6c6c_6e75_6c6c;

fn int(v: i128) -> u64 {
    mix(v as u64 ^ mix((v >> 64) as u64 ^ 0x1234))
}

fn bytes(b: &[u8]) -> u64 {
    // FNV-1a, then a final mix: stable across platforms and versions.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for x in b {
        h = (h ^ *x as u64).wrapping_mul(0x0100_0000_01b3);
    }
    mix(h ^ b.len() as u64)
}

/// Significant digits a float is snapped to before rounding, and kept after.
const SNAP_DIGITS: usize = 12;
const KEEP_DIGITS: usize = 7;

/// Snaps to 12 significant digits, rounds to 7 and hashes (sign, mantissa, exponent).
pub fn float(x: f64) -> u64 {
    if x.is_nan() {
        return mix(0x006e_616e);
    }
    if x == 0.0 {
        return mix(0);
    }
    if x.is_infinite() {
        return mix(if x > 0.0 { 1 } else { 2 });
    }
    // Rust prints the correctly rounded decimal: "1.07995187500e2".
    let text = format!("{:.*e}", SNAP_DIGITS - 1, x.abs());
    let (mantissa, exponent) = text.split_once('e').expect("exponent notation");
    let digits: u64 = mantissa.replace('.', "").parse().expect("decimal digits");
    let mut exponent: i64 = exponent.parse().expect("decimal exponent");
    let q = 10u64.pow((SNAP_DIGITS - KEEP_DIGITS) as u32);
    let mut m = (digits + q / 2) / q;
    // Rounding can carry into an eighth digit (9.9999995e2 -> 1.000000e3): renormalise.
    if m >= 10u64.pow(KEEP_DIGITS as u32) {
        m /= 10;
        exponent += 1;
    }
    let sign = u64::from(x < 0.0) << 63;
    mix(m ^ ((exponent as u64) << 40) ^ sign ^ 0xf1)
}

/// Per-row hashes of one column.
fn column_hashes(col: &ArrayRef) -> Result<Vec<u64>> {
    let n = col.len();
    let mut out = vec![NULL; n];
    macro_rules! each {
        ($arr:expr, $f:expr) => {{
            let a = $arr;
            for (i, o) in out.iter_mut().enumerate() {
                if a.is_valid(i) {
                    *o = $f(a.value(i));
                }
            }
        }};
    }
    match col.data_type() {
        DataType::Null => {}
        DataType::Boolean => each!(col.as_boolean(), |v: bool| int(v as i128 + 7)),
        DataType::Int8 => each!(col.as_primitive::<Int8Type>(), |v| int(v as i128)),
        DataType::Int16 => each!(col.as_primitive::<Int16Type>(), |v| int(v as i128)),
        DataType::Int32 => each!(col.as_primitive::<Int32Type>(), |v| int(v as i128)),
        DataType::Int64 => each!(col.as_primitive::<Int64Type>(), |v| int(v as i128)),
        DataType::UInt8 => each!(col.as_primitive::<UInt8Type>(), |v| int(v as i128)),
        DataType::UInt16 => each!(col.as_primitive::<UInt16Type>(), |v| int(v as i128)),
        DataType::UInt32 => each!(col.as_primitive::<UInt32Type>(), |v| int(v as i128)),
        DataType::UInt64 => each!(col.as_primitive::<UInt64Type>(), |v| int(v as i128)),
        DataType::Float32 => each!(col.as_primitive::<Float32Type>(), |v: f32| float(v as f64)),
        DataType::Float64 => each!(col.as_primitive::<Float64Type>(), float),
        // A decimal of scale 0 is an integer (DuckDB's SUM of BIGINT is a HUGEINT, which
        // reaches Arrow as Decimal128(38, 0)): it hashes by value, as the integers do.
        DataType::Decimal128(_, 0) => each!(col.as_primitive::<Decimal128Type>(), int),
        DataType::Decimal128(_, scale) => {
            let scale = *scale;
            each!(col.as_primitive::<Decimal128Type>(), |v: i128| float(
                v as f64 / 10f64.powi(scale as i32)
            ))
        }
        DataType::Date32 => each!(col.as_primitive::<Date32Type>(), |v| int(
            v as i128 * 86_400_000_000_000
        )),
        DataType::Date64 => each!(col.as_primitive::<Date64Type>(), |v| int(
            v as i128 * 1_000_000
        )),
        DataType::Timestamp(unit, _) => {
            let scale: i128 = match unit {
                TimeUnit::Second => 1_000_000_000,
                TimeUnit::Millisecond => 1_000_000,
                TimeUnit::Microsecond => 1_000,
                TimeUnit::Nanosecond => 1,
            };
            let f = |v: i64| int(v as i128 * scale);
            match unit {
                TimeUnit::Second => each!(col.as_primitive::<TimestampSecondType>(), f),
                TimeUnit::Millisecond => each!(col.as_primitive::<TimestampMillisecondType>(), f),
                TimeUnit::Microsecond => each!(col.as_primitive::<TimestampMicrosecondType>(), f),
                TimeUnit::Nanosecond => each!(col.as_primitive::<TimestampNanosecondType>(), f),
            }
        }
        DataType::Utf8 => each!(col.as_string::<i32>(), |v: &str| bytes(v.as_bytes())),
        DataType::LargeUtf8 => each!(col.as_string::<i64>(), |v: &str| bytes(v.as_bytes())),
        DataType::Utf8View => each!(col.as_string_view(), |v: &str| bytes(v.as_bytes())),
        DataType::Binary => each!(col.as_binary::<i32>(), bytes),
        DataType::BinaryView => each!(col.as_binary_view(), bytes),
        DataType::Dictionary(_, _) => {
            let plain =
                datafusion::arrow::compute::cast(col, &dictionary_value_type(col.data_type()))
                    .map_err(|e| Error::Engine(format!("digest: {e}")))?;
            return column_hashes(&plain);
        }
        other => {
            // Anything else (lists, structs, intervals …): hash its display form.
            let formatter = datafusion::arrow::util::display::ArrayFormatter::try_new(
                col.as_ref(),
                &Default::default(),
            )
            .map_err(|e| Error::Engine(format!("digest of {other}: {e}")))?;
            for (i, o) in out.iter_mut().enumerate() {
                if col.is_valid(i) {
                    *o = bytes(formatter.value(i).to_string().as_bytes());
                }
            }
        }
    }
    Ok(out)
}

fn dictionary_value_type(t: &DataType) -> DataType {
    match t {
        DataType::Dictionary(_, v) => v.as_ref().clone(),
        other => other.clone(),
    }
}

/// Accumulates the digest of an answer arriving in batches.
#[derive(Debug, Default, Clone)]
pub struct Digester {
    rows: u64,
    sum: u64,
    xor: u64,
    /// The in-order chain, when the order counts.
    chain: Option<u64>,
}

impl Digester {
    /// A digester; `ordered` also chains the rows in order.
    pub fn new(ordered: bool) -> Self {
        Digester {
            chain: ordered.then_some(0x6f72_6465_7265_6421),
            ..Default::default()
        }
    }

    pub fn add(&mut self, batch: &RecordBatch) -> Result<()> {
        let n = batch.num_rows();
        for r in row_hashes(batch, None)? {
            self.sum = self.sum.wrapping_add(r);
            self.xor ^= r;
            if let Some(c) = &mut self.chain {
                *c = mix(c.rotate_left(17) ^ r);
            }
        }
        self.rows += n as u64;
        Ok(())
    }

    pub fn finish(&self) -> AnswerDigest {
        AnswerDigest {
            rows: self.rows,
            digest: format!("{:016x}{:016x}", self.sum, self.xor),
            ordered: self.chain.map(|c| format!("{c:016x}")),
            tolerant: None,
        }
    }
}

/// Each row's hash over its columns (but `skip`), each column salted by its position.
fn row_hashes(batch: &RecordBatch, skip: Option<usize>) -> Result<Vec<u64>> {
    let mut rows = vec![0x6c6f_6762_656e_6368u64; batch.num_rows()];
    for (c, col) in batch.columns().iter().enumerate() {
        if Some(c) == skip {
            continue;
        }
        for (r, h) in rows.iter_mut().zip(column_hashes(col)?) {
            *r = mix(*r ^ h.wrapping_add(c as u64));
        }
    }
    Ok(rows)
}

/// For a query with a known divergence in one column: the other columns' digest, and per row
/// their hash and the column's value. `None` when the answer has no such column.
pub fn tolerant(batches: &[RecordBatch], tol: &Tolerance) -> Result<Option<TolerantAnswer>> {
    let (mut sum, mut xor) = (0u64, 0u64);
    let mut values = Vec::new();
    for b in batches {
        let Ok(at) = b.schema().index_of(&tol.column) else {
            return Ok(None);
        };
        let rows = row_hashes(b, Some(at))?;
        let numbers = datafusion::arrow::compute::cast(b.column(at), &DataType::Float64)
            .map_err(|e| Error::Results(format!("column {} as a number: {e}", tol.column)))?;
        let numbers = numbers.as_primitive::<Float64Type>();
        for (i, r) in rows.into_iter().enumerate() {
            sum = sum.wrapping_add(r);
            xor ^= r;
            values.push((
                format!("{r:016x}"),
                numbers.is_valid(i).then(|| numbers.value(i)),
            ));
        }
    }
    Ok(Some(TolerantAnswer {
        column: tol.column.clone(),
        relative: tol.relative,
        rest: format!("{sum:016x}{xor:016x}"),
        values,
    }))
}

/// The digest of a whole answer; `ordered` adds the in-order digest.
pub fn digest(batches: &[RecordBatch], ordered: bool) -> Result<AnswerDigest> {
    let mut d = Digester::new(ordered);
    for b in batches {
        d.add(b)?;
    }
    Ok(d.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::*;
    use std::sync::Arc;

    fn batch(cols: Vec<(&str, ArrayRef)>) -> RecordBatch {
        RecordBatch::try_from_iter(cols).unwrap()
    }

    #[test]
    fn row_order_and_batching_do_not_matter_but_content_does() {
        let a = batch(vec![
            ("k", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
            ("v", Arc::new(StringArray::from(vec!["x", "y", "z"]))),
        ]);
        let b1 = batch(vec![
            ("k", Arc::new(Int64Array::from(vec![3])) as ArrayRef),
            ("v", Arc::new(StringArray::from(vec!["z"]))),
        ]);
        let b2 = batch(vec![
            ("k", Arc::new(Int64Array::from(vec![2, 1])) as ArrayRef),
            ("v", Arc::new(StringArray::from(vec!["y", "x"]))),
        ]);
        assert_eq!(
            digest(std::slice::from_ref(&a), false).unwrap(),
            digest(&[b1, b2], false).unwrap()
        );
        let swapped = batch(vec![
            ("k", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
            ("v", Arc::new(StringArray::from(vec!["y", "x", "z"]))),
        ]);
        assert_ne!(
            digest(std::slice::from_ref(&a), false).unwrap(),
            digest(&[swapped], false).unwrap()
        );
        let duplicated = digest(&[a.clone(), a.clone()], false).unwrap();
        assert_eq!(duplicated.rows, 6);
        assert_ne!(duplicated.digest, digest(&[a], false).unwrap().digest);
    }

    #[test]
    fn the_ordered_digest_sees_row_order_and_only_when_asked() {
        let rows = |k: Vec<i64>| batch(vec![("k", Arc::new(Int64Array::from(k)) as ArrayRef)]);
        let a = digest(&[rows(vec![1, 2, 3])], true).unwrap();
        // Split into batches differently: the same in-order chain.
        let split = digest(&[rows(vec![1]), rows(vec![2, 3])], true).unwrap();
        assert_eq!(a, split);
        // Another order: the same rows, another ordered digest.
        let b = digest(&[rows(vec![2, 1, 3])], true).unwrap();
        assert!(a.same_rows(&b));
        assert_ne!(a.ordered, b.ordered);
        assert!(!a.agrees(&b));
        // Without an order to check, the two agree, and none is recorded.
        let plain = digest(&[rows(vec![2, 1, 3])], false).unwrap();
        assert_eq!(plain.ordered, None);
        assert!(a.agrees(&plain) && plain.agrees(&b));
        // Different rows never agree, whatever the order.
        let c = digest(&[rows(vec![1, 2, 4])], true).unwrap();
        assert!(!a.agrees(&c) && !plain.agrees(&c));
    }

    #[test]
    fn physical_types_are_normalised() {
        let narrow = batch(vec![
            ("n", Arc::new(Int32Array::from(vec![5, -1])) as ArrayRef),
            ("s", Arc::new(StringArray::from(vec!["a", "b"]))),
            (
                "t",
                Arc::new(TimestampMicrosecondArray::from(vec![1_000, 2_000]).with_timezone("UTC")),
            ),
        ]);
        let wide = batch(vec![
            (
                "other",
                Arc::new(
                    Decimal128Array::from(vec![5, -1])
                        .with_precision_and_scale(38, 0)
                        .unwrap(),
                ) as ArrayRef,
            ),
            ("s", Arc::new(StringViewArray::from(vec!["a", "b"]))),
            (
                "t",
                Arc::new(TimestampNanosecondArray::from(vec![1_000_000, 2_000_000])),
            ),
        ]);
        assert_eq!(
            digest(std::slice::from_ref(&narrow), false).unwrap(),
            digest(&[wide], false).unwrap()
        );
        // A decimal with a fraction is a number like the floats, not an integer.
        let scaled = batch(vec![
            (
                "n",
                Arc::new(
                    Decimal128Array::from(vec![50, -10])
                        .with_precision_and_scale(38, 1)
                        .unwrap(),
                ) as ArrayRef,
            ),
            ("s", narrow.column(1).clone()),
            ("t", narrow.column(2).clone()),
        ]);
        assert_ne!(
            digest(&[narrow], false).unwrap(),
            digest(&[scaled], false).unwrap()
        );
    }

    #[test]
    fn a_known_divergence_agrees_within_its_bound_and_nowhere_else() {
        let tol = Tolerance {
            column: "p".into(),
            relative: 1e-5,
            why: "test".into(),
        };
        let answer = |keys: Vec<&str>, p: Vec<f64>, ordered: bool| {
            let b = batch(vec![
                ("k", Arc::new(StringArray::from(keys)) as ArrayRef),
                ("p", Arc::new(Float64Array::from(p))),
            ]);
            let mut d = digest(std::slice::from_ref(&b), ordered).unwrap();
            d.tolerant = tolerant(&[b], &tol).unwrap();
            d
        };
        // 1.0000005 rounds up at the seventh digit and 1.0000004 down: exact digests differ.
        let a = answer(vec!["x", "y"], vec![1.000_000_5, 250.0], true);
        let b = answer(vec!["x", "y"], vec![1.000_000_4, 250.0], true);
        assert_ne!(a.digest, b.digest);
        assert!(a.agrees(&b) && b.agrees(&a));
        // Agreeing within the bound is not being the same answer (one engine's two builds).
        assert!(!a.same(&b) && a.same(&a.clone()));
        assert!(!answers_same(Some(&a), Some(&b)) && answers_agree(Some(&a), Some(&b)));
        // Beyond the bound, in another column, or in another order: not the same answer.
        let far = answer(vec!["x", "y"], vec![1.001, 250.0], true);
        assert!(!a.agrees(&far));
        let other = answer(vec!["x", "z"], vec![1.000_000_4, 250.0], true);
        assert!(!a.agrees(&other));
        let swapped = answer(vec!["y", "x"], vec![250.0, 1.000_000_4], true);
        assert!(!a.agrees(&swapped));
        // Unordered answers are matched row by row after sorting.
        let (u, v) = (
            answer(vec!["x", "y"], vec![1.000_000_5, 250.0], false),
            answer(vec!["y", "x"], vec![250.0, 1.000_000_4], false),
        );
        assert!(u.agrees(&v));
        // Without the tolerant part (a query with no such header), exact as ever.
        let mut plain = b.clone();
        plain.tolerant = None;
        assert!(!a.agrees(&plain));
    }

    #[test]
    fn floats_agree_to_seven_significant_digits() {
        let mk = |v: Vec<f64>| batch(vec![("f", Arc::new(Float64Array::from(v)) as ArrayRef)]);
        let a = digest(
            &[mk(vec![0.1 + 0.2, 1e-300, 123_456.789_012_3, -0.0])],
            false,
        )
        .unwrap();
        let b = digest(&[mk(vec![0.3, 1e-300, 123_456.789_012_300_01, 0.0])], false).unwrap();
        assert_eq!(a, b);
        let c = digest(&[mk(vec![0.3, 1e-300, 123_457.789, 0.0])], false).unwrap();
        assert_ne!(a, c);
        assert_eq!(float(999.999_999_99), float(1000.0));
        assert_ne!(float(1.5), float(-1.5));
        assert_ne!(float(1.5), float(15.0));
    }

    #[test]
    fn means_summed_in_another_order_agree() {
        // Pairs seen from DataFusion and Ballista for the same AVG: a single rounding step at
        // the tenth digit splits the first two.
        for (a, b) in [
            (107.995_187_499_999_99, 107.995_187_5),
            (343.316_125_000_000_06, 343.316_124_999_999_94),
            (328.421_895_752_895_9, 328.421_895_752_895_8),
            (206.223_363_636_363_67, 206.223_363_636_363_62),
            (252.864, 252.864_000_000_000_03),
            (1_234.567_5, 1_234.567_499_999_999_8),
        ] {
            assert_eq!(float(a), float(b), "{a} vs {b}");
        }
    }

    #[test]
    fn nulls_are_distinct_from_values() {
        let with_null = batch(vec![(
            "x",
            Arc::new(Int64Array::from(vec![Some(0), None])) as ArrayRef,
        )]);
        let without = batch(vec![(
            "x",
            Arc::new(Int64Array::from(vec![Some(0), Some(0)])) as ArrayRef,
        )]);
        assert_ne!(
            digest(&[with_null], false).unwrap(),
            digest(&[without], false).unwrap()
        );
    }
}
