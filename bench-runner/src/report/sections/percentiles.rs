//! "Latency percentiles": each query's HdrHistogram percentile spectrum, x axis in nines.

use crate::error::Result;
use crate::report::charts;
use crate::report::doc::{Doc, slug};
use crate::report::model::{Series, find, spectrum_points};

pub(crate) fn section(doc: &mut Doc, same_data: &[&Series], names: &[String]) -> Result<()> {
    doc.heading(2, "Latency percentiles");
    doc.para("Each query's latency by percentile, as HdrHistogram plots it: the x axis is in \"nines\" (p90, p99 and p99.9 evenly spaced); with few iterations the upper percentiles are the slowest runs.");
    for n in names {
        let mut lines = Vec::new();
        for s in same_data {
            if let Some(points) = find(s, n).map(spectrum_points).transpose()?.flatten() {
                lines.push((s.label.clone(), points));
            }
        }
        if lines.is_empty() {
            continue;
        }
        let name = format!("percentiles-{}.svg", slug(n));
        let svg = charts::spectrum(&format!("{n}: latency by percentile"), &lines)?;
        doc.chart(&name, &format!("{n}: latency by percentile"), svg);
    }

    Ok(())
}
