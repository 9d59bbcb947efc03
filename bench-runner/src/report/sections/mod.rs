//! The report's sections, one file each, in the order the report shows them: each writes its
//! headings, text, tables and charts into the [`Doc`](super::doc::Doc).

pub(crate) mod comparison;
pub(crate) mod distributed;
pub(crate) mod environment;
pub(crate) mod failures;
pub(crate) mod latency;
pub(crate) mod load;
pub(crate) mod overview;
pub(crate) mod percentiles;
pub(crate) mod plans;
pub(crate) mod profiles;
pub(crate) mod scaling;
pub(crate) mod side_by_side;
