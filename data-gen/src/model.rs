//! What an access-log row looks like: vocabularies, weights and how columns depend on each other.
//!
//! Dependencies that make the workload realistic:
//! - `user_id` is Zipf-like (s = 1): the top 1,000 of 10M users make about 43 % of requests;
//!   ranks are scattered over the id space so hot users are not simply the smallest ids;
//! - `endpoint` is skewed (Zipf s = 1.1 over 200 route templates); its kind (collection or item)
//!   decides which methods occur;
//! - `status_code` depends on the method (POST creates, DELETE answers 204 …);
//! - `latency_ms` is log-normal around the endpoint's own median, slower for 5xx (504s are
//!   timeouts), faster for 304s and rejected 4xx;
//! - `bytes_sent` is log-normal around the endpoint's payload size for 2xx, header-sized for
//!   204/301/304 and small error bodies for 4xx/5xx; always at least 1.

use crate::distributions::{Categorical, QuantileTable, ZipfRanks};
use crate::rng::mix64;
use crate::schema::USERS;

pub const METHODS: [&str; 5] = ["GET", "POST", "PUT", "DELETE", "PATCH"];

pub const STATUS_CODES: [i16; 16] = [
    200, 201, 204, 301, 304, 400, 401, 403, 404, 429, 500, 502, 503, 504, 409, 422,
];

pub const REGIONS: [(&str, f64); 10] = [
    ("us-east-1", 26.0),
    ("us-west-2", 14.0),
    ("eu-west-1", 15.0),
    ("eu-central-1", 10.0),
    ("ap-southeast-1", 8.0),
    ("ap-northeast-1", 9.0),
    ("ap-south-1", 6.0),
    ("sa-east-1", 4.0),
    ("ca-central-1", 5.0),
    ("af-south-1", 3.0),
];

const RESOURCES: [&str; 25] = [
    "users",
    "orders",
    "products",
    "carts",
    "payments",
    "invoices",
    "sessions",
    "search",
    "recommendations",
    "reviews",
    "inventory",
    "shipments",
    "notifications",
    "messages",
    "files",
    "reports",
    "accounts",
    "subscriptions",
    "coupons",
    "categories",
    "auth",
    "webhooks",
    "events",
    "teams",
    "settings",
];

/// Route templates: (pattern, is an item route, relative latency, relative payload).
const ROUTES: [(&str, bool, f64, f64); 8] = [
    ("/api/v1/{r}", false, 1.0, 4.0),
    ("/api/v1/{r}/{id}", true, 0.6, 1.0),
    ("/api/v2/{r}", false, 0.8, 4.0),
    ("/api/v2/{r}/{id}", true, 0.5, 1.0),
    ("/api/v1/{r}/{id}/history", true, 1.8, 6.0),
    ("/api/v1/{r}/search", false, 2.5, 3.0),
    ("/api/v1/{r}/export", false, 8.0, 40.0),
    ("/api/v1/{r}/batch", false, 3.0, 2.0),
];

/// One API route and the traits its rows inherit.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub path: String,
    pub is_item: bool,
    pub median_latency_ms: f64,
    pub median_bytes: f64,
}

/// Number of distinct endpoints: 25 resources × 8 route templates.
pub const ENDPOINT_COUNT: usize = RESOURCES.len() * ROUTES.len();

fn endpoints() -> Vec<Endpoint> {
    let mut out = Vec::with_capacity(ENDPOINT_COUNT);
    for (ri, r) in RESOURCES.iter().enumerate() {
        for (ti, (pattern, is_item, lat, bytes)) in ROUTES.iter().enumerate() {
            // A fixed per-endpoint factor in [0.5, 2) so routes of one template differ too.
            let h = mix64((ri * 64 + ti) as u64 ^ 0x656e_6470_6f69_6e74);
            let spread = 0.5 + 1.5 * ((h >> 11) as f64 / (1u64 << 53) as f64);
            out.push(Endpoint {
                path: pattern.replace("{r}", r),
                is_item: *is_item,
                median_latency_ms: 12.0 * lat * spread,
                median_bytes: 900.0 * bytes * spread,
            });
        }
    }
    out
}

/// Status weights (per mille) for each method, in `STATUS_CODES` order.
fn status_weights(method: &str) -> [f64; 16] {
    //        200  201  204 301 304 400 401 403 404 429 500 502 503 504 409 422
    match method {
        "GET" => [
            860., 0., 0., 5., 50., 8., 10., 5., 30., 10., 6., 3., 4., 3., 0., 0.,
        ],
        "POST" => [
            250., 600., 0., 0., 0., 50., 20., 10., 0., 20., 20., 5., 10., 5., 10., 20.,
        ],
        "PUT" | "PATCH" => [
            840., 0., 50., 0., 0., 40., 10., 10., 20., 5., 10., 0., 5., 0., 5., 5.,
        ],
        "DELETE" => [
            50., 0., 800., 0., 0., 0., 20., 30., 80., 0., 10., 0., 10., 0., 0., 0.,
        ],
        _ => unreachable!("unknown method {method}"),
    }
}

/// Latency multiplier for a status: 5xx slow (504 is a gateway timeout), 304 and rejections fast.
fn status_latency_factor(code: i16) -> f64 {
    match code {
        304 => 0.35,
        429 => 0.15,
        400..=499 => 0.5,
        500 => 3.0,
        502 => 2.0,
        503 => 1.5,
        504 => 12.0,
        _ => 1.0,
    }
}

/// What a response of this status carries: `None` for the endpoint's payload, else a fixed median.
fn status_body_bytes(code: i16) -> Option<f64> {
    match code {
        204 | 301 | 304 => Some(180.0),
        400..=599 => Some(420.0),
        _ => None,
    }
}

/// Everything needed to produce rows: built once per dataset, shared by all threads.
#[derive(Debug, Clone)]
pub struct AccessLogModel {
    pub users: ZipfRanks,
    pub endpoints: Vec<Endpoint>,
    pub endpoint_choice: Categorical,
    /// `endpoint_kind[e]`: 0 for a collection route, 1 for an item route.
    pub endpoint_kind: Vec<u8>,
    /// Per endpoint kind, the joint law of (method, status) as one table over
    /// `method * 16 + status index`: one lookup where a method then a status would be two
    /// dependent ones.
    pub calls: [Categorical; 2],
    pub regions: Categorical,
    /// Standard log-normal multipliers (median 1).
    pub latency_noise: QuantileTable,
    pub bytes_noise: QuantileTable,
    /// `latency_factor[status index]`: multiplies the endpoint's median latency.
    pub latency_factor: [f64; 16],
    /// `body_bytes[status index]`: median response size, or 0 for the endpoint's own payload.
    pub body_bytes: [f64; 16],
}

/// Multiplier that scatters Zipf ranks over the id space; coprime to `USERS` (neither 2 nor 5 divides it).
const USER_SCATTER: u64 = 7_368_787;

impl Default for AccessLogModel {
    fn default() -> Self {
        Self::new()
    }
}

impl AccessLogModel {
    pub fn new() -> Self {
        let endpoints = endpoints();
        // Skew endpoints by a fixed shuffle of Zipf weights so popularity is not in path order.
        let mut order: Vec<usize> = (0..endpoints.len()).collect();
        order.sort_by_key(|i| mix64(*i as u64 ^ 0x706f_7075_6c61_7269));
        let mut weights = vec![0.0; endpoints.len()];
        for (rank, idx) in order.iter().enumerate() {
            weights[*idx] = 1.0 / ((rank + 1) as f64).powf(1.1);
        }
        //                     GET  POST PUT DELETE PATCH
        let method_weights = [[75.0, 25.0, 0.0, 0.0, 0.0], [72.0, 0.0, 10.0, 8.0, 10.0]];
        let calls = method_weights.map(|mw| {
            let joint: Vec<f64> = METHODS
                .iter()
                .zip(mw)
                .flat_map(|(m, w)| {
                    let sw = status_weights(m);
                    let total: f64 = sw.iter().sum();
                    sw.map(|x| w * x / total)
                })
                .collect();
            Categorical::new(&joint, 13)
        });
        let endpoint_kind = endpoints.iter().map(|e| u8::from(e.is_item)).collect();
        Self {
            users: ZipfRanks::new(USERS, 1.0),
            endpoint_choice: Categorical::new(&weights, 12),
            endpoints,
            endpoint_kind,
            calls,
            regions: Categorical::new(&REGIONS.map(|r| r.1), 12),
            latency_noise: QuantileTable::log_normal(10, 0.0, 0.8),
            bytes_noise: QuantileTable::log_normal(10, 0.0, 1.0),
            latency_factor: STATUS_CODES.map(status_latency_factor),
            body_bytes: STATUS_CODES.map(|c| status_body_bytes(c).unwrap_or(0.0)),
        }
    }

    /// Maps a popularity rank in `1 ..= USERS` to a user id in the same range (a bijection).
    #[inline(always)]
    pub fn user_id(rank: u64) -> i64 {
        (((rank - 1) * USER_SCATTER + 104_729) % USERS + 1) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_hundred_distinct_endpoints() {
        let m = AccessLogModel::new();
        let mut paths: Vec<&str> = m.endpoints.iter().map(|e| e.path.as_str()).collect();
        paths.sort();
        paths.dedup();
        assert_eq!(paths.len(), 200);
        assert!(paths.iter().all(|p| p.starts_with("/api/v")));
        for e in &m.endpoints {
            assert!(e.median_latency_ms > 0.0 && e.median_bytes > 0.0);
        }
    }

    #[test]
    fn user_scatter_is_a_bijection_on_the_id_range() {
        // gcd(USER_SCATTER, USERS) = 1 makes the affine map a permutation of 0 .. USERS.
        fn gcd(a: u64, b: u64) -> u64 {
            if b == 0 { a } else { gcd(b, a % b) }
        }
        assert_eq!(gcd(USER_SCATTER, USERS), 1);
        assert_eq!(
            AccessLogModel::user_id(1).clamp(1, USERS as i64),
            AccessLogModel::user_id(1)
        );
        assert_eq!(
            AccessLogModel::user_id(USERS).clamp(1, USERS as i64),
            AccessLogModel::user_id(USERS)
        );
        let mut seen = std::collections::HashSet::new();
        for r in 1..=100_000 {
            assert!(seen.insert(AccessLogModel::user_id(r)));
        }
    }

    #[test]
    fn every_method_can_answer_with_success() {
        for m in METHODS {
            let w = status_weights(m);
            assert!(w[0] + w[1] + w[2] > 500.0, "{m}");
            assert_eq!(w.len(), STATUS_CODES.len());
        }
    }
}
