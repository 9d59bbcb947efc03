//! The report's charts, drawn with plotters into SVG strings.
//!
//! Plotters' SVG backend without a font engine estimates text widths from the character count
//! (no system fonts are read), so the same input gives the same bytes on any machine. Series
//! differ in lightness as well as hue (dark navy, red, orange, pale yellow, each outlined), and
//! lines also by marker shape, so the charts read in greyscale.

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::{Error, Result};

/// Lightness steps of about 20, 45, 70 and 88 (CIE L*), in hues that stay apart for
/// colour-blind readers too.
pub const PALETTE: [RGBColor; 4] = [
    RGBColor(0x1d, 0x2f, 0x6f),
    RGBColor(0xc0, 0x39, 0x2b),
    RGBColor(0xf3, 0x9c, 0x12),
    RGBColor(0xf7, 0xe0, 0x8a),
];

const FONT: &str = "sans-serif";
const TITLE_PT: u32 = 20;
const LABEL_PT: u32 = 14;
const TICK_PT: u32 = 13;

fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

fn draw_err<E: std::fmt::Debug>(e: E) -> Error {
    Error::Results(format!("drawing a chart: {e:?}"))
}

/// Pixels the naive font layout gives `text` at `pt` (what plotters itself assumes).
/// Pixels `text` at `pt` takes, estimated generously: plotters' own estimate (0.7 em a
/// character) is narrower than browsers' sans-serif fonts, so layout adds a third.
fn text_width(text: &str, pt: u32) -> u32 {
    let em = pt as f64 / 1.24 / 1.24;
    (em * 0.7 * 1.35 * text.chars().count() as f64).round() as u32
}

/// A label at a backend position, vertically centred, anchored at its left or right end.
fn label(
    area: &DrawingArea<SVGBackend, Shift>,
    text: String,
    at: (i32, i32),
    anchor: HPos,
) -> Result<()> {
    area.draw(&Text::new(
        text,
        at,
        TextStyle::from((FONT, TICK_PT).into_font()).pos(Pos::new(anchor, VPos::Center)),
    ))
    .map_err(draw_err)
}

/// A filled rectangle with a black outline (so the palette's pale colour still shows).
fn outlined<C: Clone>(rect: [C; 2], c: RGBColor) -> [Rectangle<C>; 2] {
    [
        Rectangle::new(rect.clone(), c.filled()),
        Rectangle::new(rect, BLACK.stroke_width(1)),
    ]
}

/// Room for the widest of `texts` at `pt`, plus `pad` pixels (60 when there are none).
fn widest<S: AsRef<str>>(texts: &[S], pt: u32, pad: u32) -> u32 {
    texts
        .iter()
        .map(|t| text_width(t.as_ref(), pt))
        .max()
        .unwrap_or(60)
        + pad
}

fn finish(svg: String) -> String {
    // One trailing newline, nothing else added: the bytes depend on the data only.
    let mut s = svg.trim_end().to_string();
    s.push('\n');
    s
}

fn fmt_ms(v: f64) -> String {
    if v >= 1000.0 {
        format!("{}", (v / 1000.0 * 100.0).round() / 100.0) + " s"
    } else if v >= 1.0 {
        format!("{}", (v * 100.0).round() / 100.0)
    } else {
        format!("{}", (v * 1000.0).round() / 1000.0)
    }
}

fn log_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::MAX, 0f64);
    for v in values.filter(|v| *v > 0.0 && v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if hi == 0.0 {
        return (0.1, 10.0);
    }
    let lo = 10f64.powf((lo * 0.8).log10().floor());
    let hi = 10f64.powf((hi * 1.25).log10().ceil());
    // At least two decades: within one, plotters labels every step and repeats labels.
    (lo, hi.max(lo * 100.0))
}

/// One bar of [`latency_bars`]: a series' median with its p10–p90 whisker, in ms.
#[derive(Debug, Clone)]
pub struct Bar {
    pub p50: f64,
    pub p10: f64,
    pub p90: f64,
}

fn legend_box(
    area: &DrawingArea<SVGBackend, Shift>,
    entries: &[(String, usize)],
    x: i32,
    y: i32,
) -> Result<()> {
    for (k, (name, c)) in entries.iter().enumerate() {
        let yy = y + k as i32 * 20;
        area.draw(&Rectangle::new(
            [(x, yy - 6), (x + 14, yy + 6)],
            colour(*c).filled(),
        ))
        .map_err(draw_err)?;
        area.draw(&Rectangle::new(
            [(x, yy - 6), (x + 14, yy + 6)],
            BLACK.stroke_width(1),
        ))
        .map_err(draw_err)?;
        area.draw(&Text::new(
            name.clone(),
            (x + 20, yy),
            TextStyle::from((FONT, LABEL_PT).into_font()).pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(draw_err)?;
    }
    Ok(())
}

/// Horizontal bars: per query, each series' median latency with a p10–p90 whisker, log time
/// axis (queries span milliseconds to seconds).
pub fn latency_bars(
    title: &str,
    queries: &[String],
    series: &[String],
    bars: &[Vec<Option<Bar>>],
) -> Result<String> {
    let per_query = series.len().max(1) as u32;
    let band = per_query * 14 + 12;
    let label_w = widest(queries, TICK_PT, 16);
    let legend_w = widest(series, LABEL_PT, 40);
    let width = 1100u32.max(label_w + legend_w + 500);
    let height = 110 + band * queries.len() as u32;
    let (lo, hi) = log_range(
        bars.iter()
            .flatten()
            .flatten()
            .flat_map(|b| [b.p10, b.p50, b.p90]),
    );
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let (plot, side) = root.split_horizontally(width - legend_w);
        let n = queries.len() as f64;
        let mut chart = ChartBuilder::on(&plot)
            .caption(title, (FONT, TITLE_PT))
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(label_w)
            .build_cartesian_2d((lo..hi).log_scale(), 0f64..n)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_labels(12)
            .x_label_formatter(&|v| fmt_ms(*v))
            .x_label_style((FONT, TICK_PT))
            .x_desc("latency, ms (log scale): bar = median, whisker = p10 to p90")
            .axis_desc_style((FONT, LABEL_PT))
            .draw()
            .map_err(draw_err)?;
        let slot = 0.8 / per_query as f64;
        for (qi, row) in bars.iter().enumerate() {
            // Query 0 at the top.
            let top = n - qi as f64 - 0.1;
            for (si, bar) in row.iter().enumerate() {
                let Some(b) = bar else { continue };
                let (y1, y0) = (top - si as f64 * slot, top - (si + 1) as f64 * slot);
                let rect = [(lo, y0 + slot * 0.1), (b.p50.max(lo), y1 - slot * 0.1)];
                chart
                    .draw_series(outlined(rect, colour(si)))
                    .map_err(draw_err)?;
                let yc = (y0 + y1) / 2.0;
                let cap = slot * 0.25;
                chart
                    .draw_series([
                        PathElement::new(vec![(b.p10.max(lo), yc), (b.p90.max(lo), yc)], BLACK),
                        PathElement::new(
                            vec![(b.p10.max(lo), yc - cap), (b.p10.max(lo), yc + cap)],
                            BLACK,
                        ),
                        PathElement::new(
                            vec![(b.p90.max(lo), yc - cap), (b.p90.max(lo), yc + cap)],
                            BLACK,
                        ),
                    ])
                    .map_err(draw_err)?;
            }
            let (px, py) = chart.backend_coord(&(lo, n - qi as f64 - 0.5));
            label(&plot, queries[qi].clone(), (px - 8, py), HPos::Right)?;
        }
        let entries: Vec<(String, usize)> = series
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), i))
            .collect();
        legend_box(&side, &entries, 8, 60)?;
        root.present().map_err(draw_err)?;
    }
    Ok(finish(svg))
}

fn nines_label(x: f64) -> String {
    let q = 100.0 * (1.0 - 10f64.powf(-x));
    if q < 99.0 {
        format!("p{}", q.round())
    } else if q < 99.9 {
        format!("p{}", (q * 10.0).round() / 10.0)
    } else {
        format!("p{}", (q * 100.0).round() / 100.0)
    }
}

/// Latency by percentile, HdrHistogram style: x is the percentile in "nines" (p0, p90, p99,
/// p99.9 evenly spaced), y the latency (log scale); one line per series.
pub fn spectrum(title: &str, series: &[(String, Vec<(f64, f64)>)]) -> Result<String> {
    let legend_w = series
        .iter()
        .map(|s| text_width(&s.0, LABEL_PT))
        .max()
        .unwrap_or(60)
        + 40;
    let (width, height) = (860u32.max(600 + legend_w), 420u32);
    let (lo, hi) = log_range(series.iter().flat_map(|s| s.1.iter().map(|p| p.1)));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let (plot, side) = root.split_horizontally(width - legend_w);
        let mut chart = ChartBuilder::on(&plot)
            .caption(title, (FONT, TITLE_PT))
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..3f64, (lo..hi).log_scale())
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_labels(4)
            .x_label_formatter(&|x| nines_label(*x))
            .y_label_formatter(&|v| fmt_ms(*v))
            .label_style((FONT, TICK_PT))
            .x_desc("percentile (log scale of 1 - p: p90, p99, p99.9 evenly spaced)")
            .y_desc("latency, ms (log scale)")
            .axis_desc_style((FONT, LABEL_PT))
            .draw()
            .map_err(draw_err)?;
        for (i, (_, points)) in series.iter().enumerate() {
            chart
                .draw_series(LineSeries::new(points.clone(), colour(i).stroke_width(3)))
                .map_err(draw_err)?;
            let px: Vec<(i32, i32)> = points
                .iter()
                .step_by(10)
                .map(|p| chart.backend_coord(p))
                .collect();
            markers(&root, i, px.into_iter())?;
        }
        legend_lines(&side, series.iter().map(|s| s.0.clone()), 8, 60)?;
        root.present().map_err(draw_err)?;
    }
    Ok(finish(svg))
}

/// Point markers at backend (pixel) positions, their shape following the series index:
/// circle, triangle, square, cross.
fn markers(
    area: &DrawingArea<SVGBackend, Shift>,
    i: usize,
    pixels: impl Iterator<Item = (i32, i32)>,
) -> Result<()> {
    for c in pixels {
        marker(area, i, c)?;
    }
    Ok(())
}

fn marker(area: &DrawingArea<SVGBackend, Shift>, i: usize, c: (i32, i32)) -> Result<()> {
    let style = ShapeStyle::from(colour(i)).filled();
    let outline = BLACK.stroke_width(1);
    match i % 4 {
        0 => area
            .draw(&Circle::new(c, 5, style))
            .and_then(|_| area.draw(&Circle::new(c, 5, outline))),
        1 => area
            .draw(&TriangleMarker::new(c, 7, style))
            .and_then(|_| area.draw(&TriangleMarker::new(c, 7, outline))),
        2 => {
            let r = [(c.0 - 5, c.1 - 5), (c.0 + 5, c.1 + 5)];
            area.draw(&Rectangle::new(r, style))
                .and_then(|_| area.draw(&Rectangle::new(r, outline)))
        }
        _ => area.draw(&Cross::new(c, 6, BLACK.stroke_width(3))),
    }
    .map_err(draw_err)
}

fn legend_lines(
    area: &DrawingArea<SVGBackend, Shift>,
    names: impl Iterator<Item = String>,
    x: i32,
    y: i32,
) -> Result<()> {
    for (k, name) in names.enumerate() {
        let yy = y + k as i32 * 22;
        area.draw(&PathElement::new(
            vec![(x, yy), (x + 24, yy)],
            colour(k).stroke_width(3),
        ))
        .map_err(draw_err)?;
        marker(area, k, (x + 12, yy))?;
        area.draw(&Text::new(
            name,
            (x + 32, yy),
            TextStyle::from((FONT, LABEL_PT).into_font()).pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(draw_err)?;
    }
    Ok(())
}

/// Stacked horizontal bars: per query, how many tasks each executor ran.
pub fn tasks_per_executor(
    title: &str,
    queries: &[String],
    executors: &[String],
    counts: &[Vec<u64>],
) -> Result<String> {
    let label_w = widest(queries, TICK_PT, 16);
    let legend_w = widest(executors, LABEL_PT, 40);
    let width = 1000u32.max(label_w + legend_w + 500);
    let height = 110 + 30 * queries.len() as u32;
    let max = counts
        .iter()
        .map(|r| r.iter().sum::<u64>())
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let (plot, side) = root.split_horizontally(width - legend_w);
        let n = queries.len() as f64;
        let mut chart = bar_rows(
            &plot,
            title,
            label_w,
            max * 1.05,
            n,
            "tasks run (all stages of the query's last job)",
        )?;
        for (qi, row) in counts.iter().enumerate() {
            let (y0, y1) = (n - qi as f64 - 0.85, n - qi as f64 - 0.15);
            let mut x = 0.0;
            for (ei, c) in row.iter().enumerate() {
                let rect = [(x, y0), (x + *c as f64, y1)];
                chart
                    .draw_series(outlined(rect, colour(ei)))
                    .map_err(draw_err)?;
                x += *c as f64;
            }
            let (px, py) = chart.backend_coord(&(0.0, n - qi as f64 - 0.5));
            label(&plot, queries[qi].clone(), (px - 8, py), HPos::Right)?;
        }
        let entries: Vec<(String, usize)> = executors
            .iter()
            .enumerate()
            .map(|(i, e)| (e.clone(), i))
            .collect();
        legend_box(&side, &entries, 8, 60)?;
        root.present().map_err(draw_err)?;
    }
    Ok(finish(svg))
}

/// The frame of a chart with one bar row per item (`rows` of them, labelled by the caller at
/// the left) over a linear x axis from 0 to `x_max`, with `x_desc` under it.
fn bar_rows<'a, 'b>(
    area: &'a DrawingArea<SVGBackend<'b>, Shift>,
    title: &str,
    label_w: u32,
    x_max: f64,
    rows: f64,
    x_desc: &str,
) -> Result<ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>> {
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, TITLE_PT))
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(label_w)
        .build_cartesian_2d(0f64..x_max, 0f64..rows)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .x_label_style((FONT, TICK_PT))
        .x_desc(x_desc)
        .axis_desc_style((FONT, LABEL_PT))
        .draw()
        .map_err(draw_err)?;
    Ok(chart)
}

/// One stage of a job's timeline: ms from the job's first task.
#[derive(Debug, Clone)]
pub struct StageBar {
    pub stage: u32,
    pub start_ms: f64,
    pub end_ms: f64,
    pub tasks: u64,
}

/// A job's stages on a time line (Gantt style), the first stage at the top.
pub fn stage_timeline(title: &str, stages: &[StageBar]) -> Result<String> {
    let (width, height) = (900u32, 120 + 36 * stages.len() as u32);
    let end = stages.iter().map(|s| s.end_ms).fold(1.0, f64::max) * 1.08;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let n = stages.len() as f64;
        let mut chart = bar_rows(
            &root,
            title,
            90,
            end,
            n,
            "ms since the job's first task started",
        )?;
        for (k, s) in stages.iter().enumerate() {
            let (y0, y1) = (n - k as f64 - 0.8, n - k as f64 - 0.2);
            let rect = [
                (s.start_ms, y0),
                (s.end_ms.max(s.start_ms + end * 0.003), y1),
            ];
            chart
                .draw_series(outlined(rect, colour(k % 2)))
                .map_err(draw_err)?;
            let (px, py) = chart.backend_coord(&(0.0, n - k as f64 - 0.5));
            label(
                &root,
                format!("stage {}", s.stage),
                (px - 8, py),
                HPos::Right,
            )?;
            let (ex, _) = chart.backend_coord(&(s.end_ms, 0.0));
            label(
                &root,
                format!("{} tasks, {:.0} ms", s.tasks, s.end_ms - s.start_ms),
                (ex + 6, py),
                HPos::Left,
            )?;
        }
        root.present().map_err(draw_err)?;
    }
    Ok(finish(svg))
}

/// Time against scale (rows or executors), one line per query, log–log when the x values
/// span more than a factor of 4.
pub fn scaling(
    title: &str,
    x_desc: &str,
    xs: &[f64],
    lines: &[(String, Vec<Option<f64>>)],
) -> Result<String> {
    let legend_w = lines
        .iter()
        .map(|l| text_width(&l.0, LABEL_PT))
        .max()
        .unwrap_or(60)
        + 48;
    let height = 440u32.max(90 + 22 * lines.len() as u32);
    let width = 760 + legend_w;
    let (lo, hi) = log_range(lines.iter().flat_map(|l| l.1.iter().flatten().copied()));
    let (xmin, xmax) = xs
        .iter()
        .fold((f64::MAX, 0f64), |(a, b), x| (a.min(*x), b.max(*x)));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let (plot, side) = root.split_horizontally(width - legend_w);
        let x_ticks = xs.to_vec();
        let mut chart = ChartBuilder::on(&plot)
            .caption(title, (FONT, TITLE_PT))
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(70)
            .build_cartesian_2d((xmin * 0.8..xmax * 1.25).log_scale(), (lo..hi).log_scale())
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_labels(x_ticks.len().max(2))
            .x_label_formatter(&|v| {
                if *v >= 1e6 {
                    format!("{}M", (*v / 1e5).round() / 10.0)
                } else {
                    format!("{}", v.round())
                }
            })
            .y_label_formatter(&|v| fmt_ms(*v))
            .label_style((FONT, TICK_PT))
            .x_desc(x_desc)
            .y_desc("median latency, ms (log scale)")
            .axis_desc_style((FONT, LABEL_PT))
            .draw()
            .map_err(draw_err)?;
        for (i, (_, ys)) in lines.iter().enumerate() {
            let pts: Vec<(f64, f64)> = xs
                .iter()
                .zip(ys)
                .filter_map(|(x, y)| y.map(|y| (*x, y)))
                .collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), colour(i).stroke_width(2)))
                .map_err(draw_err)?;
            let px: Vec<(i32, i32)> = pts.iter().map(|p| chart.backend_coord(p)).collect();
            markers(&root, i, px.into_iter())?;
        }
        legend_lines(&side, lines.iter().map(|l| l.0.clone()), 8, 50)?;
        root.present().map_err(draw_err)?;
    }
    Ok(finish(svg))
}

/// One row of [`ratios`]: NEW/BASE with its interval and whether the gate called it.
#[derive(Debug, Clone)]
pub struct RatioRow {
    pub query: String,
    pub ratio: f64,
    pub low: f64,
    pub high: f64,
    pub verdict: String,
}

/// Ratio of medians per query with its confidence interval, the noise band shaded.
pub fn ratios(title: &str, noise: f64, rows: &[RatioRow]) -> Result<String> {
    let label_w = rows
        .iter()
        .map(|r| text_width(&r.query, TICK_PT))
        .max()
        .unwrap_or(60)
        + 16;
    let width = 1000u32.max(label_w + 700);
    let height = 120 + 28 * rows.len() as u32;
    let lo = rows
        .iter()
        .map(|r| r.low)
        .fold(1.0 / (1.0 + noise), f64::min)
        .min(0.9)
        * 0.97;
    let hi = rows
        .iter()
        .map(|r| r.high)
        .fold(1.0 + noise, f64::max)
        .max(1.1)
        * 1.03;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let n = rows.len() as f64;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, TITLE_PT))
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(label_w)
            .right_y_label_area_size(130)
            .build_cartesian_2d(lo..hi, 0f64..n)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_label_formatter(&|v| format!("{v:.2}"))
            .x_label_style((FONT, TICK_PT))
            .x_desc("NEW / BASE ratio of medians, 95 % interval (shaded: the noise band)")
            .axis_desc_style((FONT, LABEL_PT))
            .draw()
            .map_err(draw_err)?;
        chart
            .draw_series([Rectangle::new(
                [(1.0 / (1.0 + noise), 0.0), (1.0 + noise, n)],
                RGBColor(0xdd, 0xdd, 0xdd).filled(),
            )])
            .map_err(draw_err)?;
        chart
            .draw_series([PathElement::new(
                vec![(1.0, 0.0), (1.0, n)],
                BLACK.stroke_width(1),
            )])
            .map_err(draw_err)?;
        for (k, r) in rows.iter().enumerate() {
            let y = n - k as f64 - 0.5;
            let called = r.verdict == "SLOWER" || r.verdict == "faster";
            chart
                .draw_series([
                    PathElement::new(vec![(r.low, y), (r.high, y)], BLACK.stroke_width(2)),
                    PathElement::new(
                        vec![(r.low, y - 0.2), (r.low, y + 0.2)],
                        BLACK.stroke_width(2),
                    ),
                    PathElement::new(
                        vec![(r.high, y - 0.2), (r.high, y + 0.2)],
                        BLACK.stroke_width(2),
                    ),
                ])
                .map_err(draw_err)?;
            let style = if called {
                ShapeStyle::from(colour(1)).filled()
            } else {
                ShapeStyle::from(WHITE).filled()
            };
            chart
                .draw_series([
                    Circle::new((r.ratio, y), 6, style),
                    Circle::new((r.ratio, y), 6, BLACK.stroke_width(2)),
                ])
                .map_err(draw_err)?;
            let (px, py) = chart.backend_coord(&(lo, y));
            label(&root, r.query.clone(), (px - 8, py), HPos::Right)?;
            let (ex, _) = chart.backend_coord(&(hi, y));
            label(&root, r.verdict.clone(), (ex + 10, py), HPos::Left)?;
        }
        root.present().map_err(draw_err)?;
    }
    Ok(finish(svg))
}

/// An axis of [`lines`]: what it shows, whether on a log scale, and how its values read.
#[derive(Clone)]
pub struct Axis {
    pub desc: String,
    pub log: bool,
    pub fmt: fn(f64) -> String,
}

/// A value as a chart's tick shows it: at most three significant digits.
pub fn fmt_number(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return "0".into();
    }
    let digits = 2 - v.abs().log10().floor() as i32;
    let scale = 10f64.powi(digits.max(0));
    format!("{}", (v * scale).round() / scale)
}

/// Milliseconds as a tick shows them (`1.5 s` from 1000 up).
pub fn fmt_millis(v: f64) -> String {
    fmt_ms(v)
}

/// One panel of [`lines`]: its y axis and its named lines of (x, y) points.
pub struct Panel {
    pub y: Axis,
    pub lines: Vec<(String, Vec<(f64, f64)>)>,
}

/// Named lines of (x, y) points, in one or more panels stacked over a shared x axis, with one
/// legend. A log axis is drawn as the log10 of its values (ticks read back in the values), so
/// the points of one line must be above zero there; the rest are left out.
pub fn lines(title: &str, x: &Axis, panels: &[Panel]) -> Result<String> {
    let names: Vec<&str> = panels
        .iter()
        .flat_map(|p| p.lines.iter().map(|l| l.0.as_str()))
        .collect();
    let legend_w = widest(&names, LABEL_PT, 48).max(120);
    let panel_h = 360u32;
    let height = (60 + panel_h * panels.len() as u32).max(90 + 22 * names.len() as u32);
    let width = 760 + legend_w;
    let t = |a: &Axis, v: f64| if a.log { v.log10() } else { v };
    let range = |a: &Axis, vs: Vec<f64>| -> (f64, f64) {
        let vs: Vec<f64> = vs
            .into_iter()
            .filter(|v| v.is_finite() && (!a.log || *v > 0.0))
            .collect();
        if vs.is_empty() {
            return (0.0, 1.0);
        }
        if a.log {
            let (lo, hi) = log_range(vs.into_iter());
            (lo.log10(), hi.log10())
        } else {
            let hi = vs.iter().copied().fold(f64::MIN, f64::max);
            let lo = vs.iter().copied().fold(f64::MAX, f64::min).min(0.0);
            (lo, if hi > lo { hi * 1.1 } else { lo + 1.0 })
        }
    };
    let (xlo, xhi) = range(
        x,
        panels
            .iter()
            .flat_map(|p| p.lines.iter().flat_map(|l| l.1.iter().map(|pt| pt.0)))
            .collect(),
    );
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let (plot, side) = root.split_horizontally(width - legend_w);
        let (head, body) = plot.split_vertically(40);
        head.draw(&Text::new(
            title.to_string(),
            (12, 22),
            TextStyle::from((FONT, TITLE_PT).into_font()).pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(draw_err)?;
        let areas = body.split_evenly((panels.len(), 1));
        let mut k = 0;
        for (area, panel) in areas.iter().zip(panels) {
            let (ylo, yhi) = range(
                &panel.y,
                panel
                    .lines
                    .iter()
                    .flat_map(|l| l.1.iter().map(|pt| pt.1))
                    .collect(),
            );
            let mut chart = ChartBuilder::on(area)
                .margin(12)
                .x_label_area_size(48)
                .y_label_area_size(80)
                .build_cartesian_2d(xlo..xhi, ylo..yhi)
                .map_err(draw_err)?;
            let read = |a: &Axis, v: f64| (a.fmt)(if a.log { 10f64.powf(v) } else { v });
            chart
                .configure_mesh()
                .x_labels(8)
                .y_labels(6)
                .x_label_formatter(&|v| read(x, *v))
                .y_label_formatter(&|v| read(&panel.y, *v))
                .label_style((FONT, TICK_PT))
                .x_desc(x.desc.as_str())
                .y_desc(panel.y.desc.as_str())
                .axis_desc_style((FONT, LABEL_PT))
                .draw()
                .map_err(draw_err)?;
            for (_, pts) in &panel.lines {
                let pts: Vec<(f64, f64)> = pts
                    .iter()
                    .filter(|(a, b)| (!x.log || *a > 0.0) && (!panel.y.log || *b > 0.0))
                    .map(|(a, b)| (t(x, *a), t(&panel.y, *b)))
                    .collect();
                chart
                    .draw_series(LineSeries::new(pts.clone(), colour(k).stroke_width(2)))
                    .map_err(draw_err)?;
                // Markers only where the points are few enough to tell apart.
                if pts.len() <= 40 {
                    let px: Vec<(i32, i32)> = pts.iter().map(|p| chart.backend_coord(p)).collect();
                    markers(&root, k, px.into_iter())?;
                }
                k += 1;
            }
        }
        legend_lines(&side, names.iter().map(|n| n.to_string()), 8, 50)?;
        root.present().map_err(draw_err)?;
    }
    Ok(finish(svg))
}
