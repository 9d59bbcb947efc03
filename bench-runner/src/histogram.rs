//! Latency histograms: every iteration recorded (microseconds), summarised, serialised V2 +
//! DEFLATE + base64 so a result can be merged and re-analysed later. Merging adds histograms;
//! it never averages percentiles.

use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};

use crate::error::{Error, Result};
pub use crate::results::measure::LatencySummary;

/// Three significant digits: 0.1 % resolution at any latency.
const SIGFIG: u8 = 3;

pub fn new_histogram() -> Histogram<u64> {
    Histogram::new(SIGFIG).expect("3 significant figures is valid")
}

impl LatencySummary {
    pub fn from_histogram(h: &Histogram<u64>) -> Result<Self> {
        Ok(Self {
            unit: "us".into(),
            count: h.len(),
            min: h.min(),
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
            mean: h.mean(),
            stddev: h.stdev(),
            histogram: encode(h)?,
        })
    }

    pub fn histogram(&self) -> Result<Histogram<u64>> {
        decode(&self.histogram)
    }
}

pub fn encode(h: &Histogram<u64>) -> Result<String> {
    let mut buf = Vec::new();
    V2DeflateSerializer::new()
        .serialize(h, &mut buf)
        .map_err(|e| Error::Results(format!("serialising a histogram: {e:?}")))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(buf))
}

pub fn decode(text: &str) -> Result<Histogram<u64>> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| Error::Results(format!("histogram is not base64: {e}")))?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| Error::Results(format!("histogram does not decode: {e:?}")))
}

/// Adds histograms: the merged distribution is exactly that of all iterations together.
pub fn merge(histograms: &[Histogram<u64>]) -> Result<Histogram<u64>> {
    let mut out = new_histogram();
    for h in histograms {
        out.add(h)
            .map_err(|e| Error::Results(format!("merging histograms: {e:?}")))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_every_count() {
        let mut h = new_histogram();
        for v in [120, 130, 130, 5_000, 1_000_000, 3_600_000_000] {
            h.record(v).unwrap();
        }
        let s = LatencySummary::from_histogram(&h).unwrap();
        let back = s.histogram().unwrap();
        assert_eq!(back, h);
        assert_eq!((s.count, s.min), (6, 120));
        assert!(s.max >= 3_600_000_000 && s.p50 >= 130);
    }

    #[test]
    fn merging_is_exact_addition() {
        let (mut a, mut b, mut all) = (new_histogram(), new_histogram(), new_histogram());
        for i in 0..1000u64 {
            let v = 100 + i * 37 % 9_000;
            if i % 3 == 0 {
                a.record(v).unwrap()
            } else {
                b.record(v).unwrap()
            }
            all.record(v).unwrap();
        }
        let merged = merge(&[decode(&encode(&a).unwrap()).unwrap(), b]).unwrap();
        assert_eq!(merged, all);
        assert_eq!(merged.len(), 1000);
        for q in [0.5, 0.9, 0.99, 0.999] {
            assert_eq!(merged.value_at_quantile(q), all.value_at_quantile(q));
        }
    }
}
