//! "Latency under load": `bench-runner load` results. Per result a table of its rates; charts of
//! response and service p99 against offered load and of achieved against offered throughput
//! (one line per result), and for each rate its latency over time: the per-second p99 of the
//! requests due in that second, and the requests in flight.

use crate::error::Result;
use crate::load::{RateRun, Request};
use crate::report::LoadInput;
use crate::report::charts::{self, Axis, Panel};
use crate::report::doc::{Doc, Table, fmt_ms, slug};

/// (x, y) points of one line.
pub type Points = Vec<(f64, f64)>;

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn rates_axis() -> Axis {
    Axis {
        desc: "offered requests per second (log scale)".into(),
        log: true,
        fmt: charts::fmt_number,
    }
}

pub(crate) fn section(doc: &mut Doc, loads: &[LoadInput]) -> Result<()> {
    if loads.is_empty() {
        return Ok(());
    }
    doc.heading(2, "Latency under load");
    doc.para(
        "Requests offered open loop at each rate (`bench-runner load`). Response time is the end less the intended start (queueing included), service time the end less the actual start; both over the requests answered with the serial answer. The saturation throughput is the highest achieved rate of a sweep.",
    );
    for l in loads {
        let r = &l.load;
        let mix: Vec<String> = r
            .serial
            .iter()
            .map(|s| format!("{} ×{}", s.query, s.weight))
            .collect();
        doc.heading(3, &l.label);
        let bound = r.cpu_bound.as_ref().map_or(String::new(), |b| {
            format!(
                "; CPU bound {:.3} requests/s ({} cores ÷ {:.3} CPU s a request, {})",
                b.rate, b.cores, b.cpu_s_per_request, b.counted
            )
        });
        doc.para(&format!(
            "{} on {} rows; mix {}; {}{bound}{}.",
            r.engine.name,
            r.dataset.rows,
            mix.join(", "),
            r.saturation_rate().map_or("no rate ran".to_string(), |s| {
                format!("saturation {s:.3} answers/s")
            }),
            if r.complete {
                ""
            } else {
                " (incomplete: interrupted)"
            }
        ));
        let mut t = Table::new(&[
            ("offered /s", true),
            ("achieved /s", true),
            ("ok", true),
            ("dropped", true),
            ("failed", true),
            ("response p50 ms", true),
            ("response p99 ms", true),
            ("service p50 ms", true),
            ("service p99 ms", true),
            ("queue wait p99 ms", true),
        ]);
        for run in &r.rates {
            let lat = |f: &dyn Fn(&crate::load::Latencies) -> u64| {
                run.overall
                    .as_ref()
                    .map_or("–".to_string(), |l| fmt_ms(ms(f(l))))
            };
            t.rows.push(vec![
                charts::fmt_number(run.offered_rate),
                format!("{:.3}", run.achieved_rate),
                run.ok.to_string(),
                run.dropped.to_string(),
                (run.errors + run.timed_out + run.wrong_answers + run.interrupted).to_string(),
                lat(&|l| l.response.p50),
                lat(&|l| l.response.p99),
                lat(&|l| l.service.p50),
                lat(&|l| l.service.p99),
                run.queue_wait
                    .as_ref()
                    .map_or("–".to_string(), |w| fmt_ms(ms(w.p99))),
            ]);
        }
        doc.table(&t);
    }
    latency_chart(doc, loads)?;
    throughput_chart(doc, loads)?;
    for l in loads {
        for (k, run) in l.load.rates.iter().enumerate() {
            over_time_chart(doc, &l.label, k, run)?;
        }
    }
    Ok(())
}

fn latency_chart(doc: &mut Doc, loads: &[LoadInput]) -> Result<()> {
    let mut lines = Vec::new();
    for l in loads {
        type Pick = fn(&crate::load::Latencies) -> u64;
        // p99 only: two lines a result, each its own colour for up to two results (the p50s
        // are in the tables).
        let picks: [(&str, Pick); 2] = [
            ("response p99", |x| x.response.p99),
            ("service p99", |x| x.service.p99),
        ];
        for (what, pick) in picks {
            let pts: Vec<(f64, f64)> = l
                .load
                .rates
                .iter()
                .filter_map(|r| Some((r.offered_rate, ms(pick(r.overall.as_ref()?)))))
                .collect();
            lines.push((format!("{} {what}", l.label), pts));
        }
    }
    let svg = charts::lines(
        "Response and service p99 against offered load",
        &rates_axis(),
        &[Panel {
            y: Axis {
                desc: "ms (log scale)".into(),
                log: true,
                fmt: charts::fmt_millis,
            },
            lines,
        }],
    )?;
    doc.chart(
        "load-latency.svg",
        "Response and service p99 against the offered rate",
        svg,
    );
    Ok(())
}

fn throughput_chart(doc: &mut Doc, loads: &[LoadInput]) -> Result<()> {
    let mut lines: Vec<(String, Vec<(f64, f64)>)> = loads
        .iter()
        .map(|l| {
            (
                l.label.clone(),
                l.load
                    .rates
                    .iter()
                    .map(|r| (r.offered_rate, r.achieved_rate))
                    .collect(),
            )
        })
        .collect();
    let mut offered: Vec<f64> = loads
        .iter()
        .flat_map(|l| l.load.rates.iter().map(|r| r.offered_rate))
        .collect();
    offered.sort_by(f64::total_cmp);
    offered.dedup();
    lines.push((
        "achieved = offered".into(),
        offered.iter().map(|o| (*o, *o)).collect(),
    ));
    let svg = charts::lines(
        "Achieved against offered throughput",
        &rates_axis(),
        &[Panel {
            y: Axis {
                desc: "answers per second (log scale)".into(),
                log: true,
                fmt: charts::fmt_number,
            },
            lines,
        }],
    )?;
    doc.chart(
        "load-throughput.svg",
        "Achieved against offered throughput; the diagonal is every request answered on time",
        svg,
    );
    Ok(())
}

/// Per second of the run: the p99 response time of the requests due in it (nearest rank), and
/// the requests in flight at its start.
pub fn per_second(requests: &[Request]) -> (Points, Points) {
    let last = requests
        .iter()
        .filter_map(|r| r.ended_us.or(Some(r.intended_us)))
        .max()
        .unwrap_or(0);
    let seconds = (last / 1_000_000 + 1) as usize;
    let mut due: Vec<Vec<u64>> = vec![Vec::new(); seconds];
    for r in requests.iter().filter(|r| r.outcome == "ok") {
        if let Some(us) = r.response_us() {
            due[(r.intended_us / 1_000_000) as usize].push(us);
        }
    }
    let p99 = due
        .iter_mut()
        .enumerate()
        .filter(|(_, v)| !v.is_empty())
        .map(|(s, v)| {
            v.sort_unstable();
            let rank = ((v.len() as f64 * 0.99).ceil() as usize).clamp(1, v.len());
            (s as f64, ms(v[rank - 1]))
        })
        .collect();
    let in_flight = (0..seconds)
        .map(|s| {
            let t = s as u64 * 1_000_000;
            let n = requests
                .iter()
                .filter(|r| {
                    r.started_us.is_some_and(|a| a <= t) && r.ended_us.is_none_or(|e| e > t)
                })
                .count();
            (s as f64, n as f64)
        })
        .collect();
    (p99, in_flight)
}

fn over_time_chart(doc: &mut Doc, label: &str, k: usize, run: &RateRun) -> Result<()> {
    let (p99, in_flight) = per_second(&run.requests);
    let seconds = Axis {
        desc: "seconds since the first request was due".into(),
        log: false,
        fmt: charts::fmt_number,
    };
    let svg = charts::lines(
        &format!(
            "{label}: {} requests/s offered, over time",
            charts::fmt_number(run.offered_rate)
        ),
        &seconds,
        &[
            Panel {
                y: Axis {
                    desc: "response p99, ms (log)".into(),
                    log: true,
                    fmt: charts::fmt_millis,
                },
                lines: vec![("response p99 of the requests due".into(), p99)],
            },
            Panel {
                y: Axis {
                    desc: "requests in flight".into(),
                    log: false,
                    fmt: charts::fmt_number,
                },
                lines: vec![("requests in flight".into(), in_flight)],
            },
        ],
    )?;
    doc.chart(
        &format!(
            "load-{}-rate{}.svg",
            slug(label.trim_start_matches("load-")),
            k + 1
        ),
        &format!(
            "{label} at {} requests/s: per-second response p99 and requests in flight",
            charts::fmt_number(run.offered_rate)
        ),
        svg,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(intended: u64, started: u64, ended: u64) -> Request {
        Request::answered(intended, started, ended)
    }

    #[test]
    fn per_second_takes_the_p99_of_the_requests_due_and_counts_those_running() {
        // Second 0: two requests due, answered after 0.1 s and 1.5 s; second 1: one, after 3 s.
        let r = [
            req(0, 0, 100_000),
            req(500_000, 500_000, 2_000_000),
            req(1_200_000, 2_000_000, 4_200_000),
        ];
        let (p99, in_flight) = per_second(&r);
        assert_eq!(p99, vec![(0.0, 1500.0), (1.0, 3000.0)]);
        // At 1 s the second request runs; at 2 s and 3 s the third; at 4 s still the third.
        assert_eq!(
            in_flight,
            vec![(0.0, 1.0), (1.0, 1.0), (2.0, 1.0), (3.0, 1.0), (4.0, 1.0)]
        );
    }
}
