//! Figures from result files, rendered by weir itself with `plotters` (no external plotting
//! stack): the latency CCDF of several runs, each run's latency timeline with its snapshots
//! marked, latency versus offered rate from sweeps, throughput against workers, and
//! engines side by side per query. Each figure is written as PNG and SVG.
//!
//! ```no_run
//! use std::path::Path;
//! use weir::plot::{plot_files, Results};
//!
//! let results = Results::load(&[Path::new("q5-sweep.json").to_path_buf()])?;
//! let written = plot_files(&results, Path::new("figures"))?;
//! println!("{} files", written.len());
//! # anyhow::Ok(())
//! ```

mod bars;
mod ccdf;
mod rates;
mod snapshot_cost;
mod throughput;
mod timeline;

use std::path::{Path, PathBuf};
use std::sync::Once;

use anyhow::{bail, Context};
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::harness::{BenchResult, LatencySummary, SweepResult, SCHEMA, SWEEP_SCHEMA};

/// Figure size in pixels.
const SIZE: (u32, u32) = (1024, 640);
/// The font family every label uses (DejaVu Sans, embedded).
const FONT: &str = "sans-serif";

/// The runs and sweeps read from result files.
#[derive(Clone, Debug, Default)]
pub struct Results {
    /// Single runs, and every run of every sweep.
    pub runs: Vec<BenchResult>,
    /// Sweeps, for latency versus offered rate.
    pub sweeps: Vec<SweepResult>,
}

impl Results {
    /// Reads `weir bench --json` files (single runs and sweeps).
    pub fn load(paths: &[PathBuf]) -> anyhow::Result<Self> {
        let mut results = Results::default();
        for path in paths {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let value: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", path.display()))?;
            let what = || format!("{} is not a weir result file", path.display());
            match value.get("schema").and_then(|s| s.as_str()) {
                Some(SCHEMA) => results
                    .runs
                    .push(serde_json::from_value(value).with_context(what)?),
                Some(SWEEP_SCHEMA) => {
                    let sweep: SweepResult = serde_json::from_value(value).with_context(what)?;
                    results.runs.extend(sweep.runs.iter().cloned());
                    results.sweeps.push(sweep);
                }
                Some(other) => bail!(
                    "{}: result schema {other:?} is not one this weir reads ({SCHEMA}, {SWEEP_SCHEMA})",
                    path.display()
                ),
                None => bail!("{}", what()),
            }
        }
        Ok(results)
    }
}

/// Writes every figure `results` allow into `out` (created if missing); returns the files.
pub fn plot_files(results: &Results, out: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if results.runs.is_empty() {
        bail!("no runs to plot");
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut written = Vec::new();
    written.extend(render(out, "latency-ccdf", |area| {
        ccdf::draw(area, &results.runs)
    })?);
    for (i, run) in results.runs.iter().enumerate() {
        // Numbered: two runs may share pipeline, rate and workers.
        let name = format!("timeline-{:02}-{}", i + 1, file_label(run));
        written.extend(render(out, &name, |area| timeline::draw(area, run))?);
    }
    if !results.sweeps.is_empty() {
        written.extend(render(out, "latency-vs-rate", |area| {
            rates::draw(area, &results.sweeps)
        })?);
    }
    Ok(written)
}

/// Writes the figure of events/s against workers as `NAME.png` and `NAME.svg` in `out`:
/// `series` is a line per pipeline, each point (workers in all, events/s).
pub fn plot_throughput(
    out: &Path,
    name: &str,
    series: &[(String, Vec<(f64, f64)>)],
) -> anyhow::Result<Vec<PathBuf>> {
    plot_lines(out, name, series, throughput::draw)
}

/// Writes the figure of snapshot cost against state size as `NAME.png` and `NAME.svg` in
/// `out`: `series` is a line per pipeline, shape and phase, each point (state MiB, ms).
pub fn plot_snapshot_cost(
    out: &Path,
    name: &str,
    series: &[(String, Vec<(f64, f64)>)],
) -> anyhow::Result<Vec<PathBuf>> {
    plot_lines(out, name, series, snapshot_cost::draw)
}

/// A figure of measured lines, each drawn with its points; an error when none has any.
fn plot_lines(
    out: &Path,
    name: &str,
    series: &[(String, Vec<(f64, f64)>)],
    draw: fn(&mut dyn FigureArea, Vec<Line>) -> DrawResult,
) -> anyhow::Result<Vec<PathBuf>> {
    if series.iter().all(|(_, points)| points.is_empty()) {
        bail!("nothing to draw in {name}");
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let lines = || -> Vec<Line> {
        series
            .iter()
            .enumerate()
            .filter(|(_, (_, points))| !points.is_empty())
            .map(|(i, (label, points))| Line {
                label: label.clone(),
                points: points.clone(),
                color: color(i),
                width: 2,
                dots: true,
            })
            .collect()
    };
    render(out, name, |area| draw(area, lines()))
}

/// Writes the figure of events/s per pipeline (`categories`) with a bar per series (an
/// engine and shape, a value per pipeline) as `NAME.png` and `NAME.svg` in `out`.
pub fn plot_side_by_side(
    out: &Path,
    name: &str,
    categories: &[String],
    series: &[(String, Vec<Option<f64>>)],
) -> anyhow::Result<Vec<PathBuf>> {
    let labels = bars::Labels {
        caption: "Events/s per query, side by side on the same events",
        x_desc: "pipeline",
        y_desc: "events/s (log scale)",
        smallest: 0.0,
    };
    plot_bars(out, name, labels, categories, series)
}

/// Writes the figure of each recovery's phases (`categories`: the failures and rescales;
/// `series`: a phase each, in ms) as `NAME.png` and `NAME.svg` in `out`.
pub fn plot_recovery(
    out: &Path,
    name: &str,
    categories: &[String],
    series: &[(String, Vec<Option<f64>>)],
) -> anyhow::Result<Vec<PathBuf>> {
    let labels = bars::Labels {
        caption: "Recovery from each failure and rescale, phase by phase",
        x_desc: "failure or rescale, in order (phases under 0.1 ms not drawn)",
        y_desc: "ms (log scale)",
        smallest: 0.1,
    };
    plot_bars(out, name, labels, categories, series)
}

fn plot_bars(
    out: &Path,
    name: &str,
    labels: bars::Labels<'_>,
    categories: &[String],
    series: &[(String, Vec<Option<f64>>)],
) -> anyhow::Result<Vec<PathBuf>> {
    let empty = series
        .iter()
        .all(|(_, values)| values.iter().all(Option::is_none));
    if categories.is_empty() || empty {
        bail!("nothing to draw in {name}");
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    render(out, name, |area| {
        bars::draw(area, &labels, categories, series)
    })
}

/// A drawing failure, whatever the backend.
type DrawResult = Result<(), String>;

/// Draws one figure as `NAME.png` and `NAME.svg` in `out`.
fn render(
    out: &Path,
    name: &str,
    draw: impl Fn(&mut dyn FigureArea) -> DrawResult,
) -> anyhow::Result<Vec<PathBuf>> {
    register_font()?;
    let png = out.join(format!("{name}.png"));
    let svg = out.join(format!("{name}.svg"));
    {
        let area = BitMapBackend::new(&png, SIZE).into_drawing_area();
        draw(&mut Area(area)).map_err(|e| anyhow::anyhow!("cannot draw {}: {e}", png.display()))?;
    }
    {
        let area = SVGBackend::new(&svg, SIZE).into_drawing_area();
        draw(&mut Area(area)).map_err(|e| anyhow::anyhow!("cannot draw {}: {e}", svg.display()))?;
    }
    Ok(vec![png, svg])
}

/// The few drawing operations figures need, over either backend: a log-log or
/// linear-log chart of labelled lines with optional vertical markers.
pub(crate) trait FigureArea {
    /// Draws a chart with `x` and `y` ranges, each on a log scale if asked.
    fn chart(&mut self, chart: &Chart) -> DrawResult;
    /// Draws grouped bars on a log scale.
    fn bars(&mut self, chart: &bars::BarChart) -> DrawResult;
}

struct Area<DB: DrawingBackend>(DrawingArea<DB, plotters::coord::Shift>);

/// One line of a chart.
pub(crate) struct Line {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    pub color: RGBColor,
    pub width: u32,
    /// Marks each point: where they are measurements, not a dense curve.
    pub dots: bool,
}

/// A vertical marker at `x`.
pub(crate) struct Marker {
    pub x: f64,
    pub color: RGBColor,
}

/// Everything one figure shows.
pub(crate) struct Chart {
    pub caption: String,
    pub x_desc: String,
    pub y_desc: String,
    pub x_log: bool,
    pub y_log: bool,
    pub lines: Vec<Line>,
    pub markers: Vec<(String, Vec<Marker>)>,
}

impl Chart {
    fn bounds(&self, pick: impl Fn(&(f64, f64)) -> f64, log: bool) -> (f64, f64) {
        let values = self.lines.iter().flat_map(|l| l.points.iter().map(&pick));
        let values: Vec<f64> = values
            .filter(|v| v.is_finite() && (!log || *v > 0.0))
            .collect();
        let low = values.iter().copied().fold(f64::INFINITY, f64::min);
        let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        match (low.is_finite(), log) {
            (false, _) => (1.0, 10.0),
            (true, true) => (low / 1.5, high * 1.5),
            (true, false) => {
                let pad = ((high - low) * 0.05).max(1e-9);
                (low - pad, high + pad)
            }
        }
    }
}

impl<DB: DrawingBackend> FigureArea for Area<DB> {
    fn bars(&mut self, chart: &bars::BarChart) -> DrawResult {
        self.draw_bars(chart)
    }

    fn chart(&mut self, chart: &Chart) -> DrawResult {
        let root = &self.0;
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let (x0, x1) = chart.bounds(|p| p.0, chart.x_log);
        let (y0, y1) = chart.bounds(|p| p.1, chart.y_log);
        // A linear axis of rates starts at zero, so that heights compare.
        let y0 = if chart.y_log { y0 } else { y0.min(0.0) };
        let entries = chart.lines.len() + chart.markers.len();
        let y1 = above_legend(y0, y1, entries, chart.y_log);
        let mut builder = ChartBuilder::on(root);
        builder
            .caption(&chart.caption, (FONT, 22))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(72);
        macro_rules! finish {
            ($ctx:expr) => {{
                let mut ctx = $ctx.map_err(|e| e.to_string())?;
                ctx.configure_mesh()
                    .x_desc(&chart.x_desc)
                    .y_desc(&chart.y_desc)
                    .label_style((FONT, 14))
                    .x_label_formatter(&|v| axis_number(*v))
                    .y_label_formatter(&|v| axis_number(*v))
                    .axis_desc_style((FONT, 16))
                    .draw()
                    .map_err(|e| e.to_string())?;
                for (label, markers) in &chart.markers {
                    let mut first = true;
                    for marker in markers {
                        let style = marker.color.stroke_width(1);
                        let series = ctx
                            .draw_series(std::iter::once(PathElement::new(
                                vec![(marker.x, y0), (marker.x, y1)],
                                style,
                            )))
                            .map_err(|e| e.to_string())?;
                        if std::mem::take(&mut first) {
                            let color = marker.color;
                            series.label(label.as_str()).legend(move |(x, y)| {
                                PathElement::new(vec![(x, y - 6), (x, y + 6)], color)
                            });
                        }
                    }
                }
                for line in &chart.lines {
                    let color = line.color;
                    let style = color.stroke_width(line.width);
                    ctx.draw_series(LineSeries::new(
                        line.points.iter().copied().filter(|p| p.1 > 0.0),
                        style,
                    ))
                    .map_err(|e| e.to_string())?
                    .label(line.label.as_str())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                    });
                    if line.dots {
                        let dots = line.points.iter().filter(|p| p.1 > 0.0);
                        ctx.draw_series(dots.map(|&p| Circle::new(p, 3, color.filled())))
                            .map_err(|e| e.to_string())?;
                    }
                }
                draw_legend(&mut ctx)?;
            }};
        }
        match (chart.x_log, chart.y_log) {
            (true, true) => {
                finish!(builder.build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale()))
            }
            (false, true) => finish!(builder.build_cartesian_2d(x0..x1, (y0..y1).log_scale())),
            (true, false) => finish!(builder.build_cartesian_2d((x0..x1).log_scale(), y0..y1)),
            (false, false) => finish!(builder.build_cartesian_2d(x0..x1, y0..y1)),
        }
        root.present().map_err(|e| e.to_string())
    }
}

/// The legend of every figure: the series' labels, upper right, over a light background.
/// The top of a y axis whose data end at `high`, raised so that a legend of `entries` lines
/// in the upper right corner covers no data: it takes about that share of the height.
fn above_legend(y0: f64, high: f64, entries: usize, log: bool) -> f64 {
    let share = (0.05 + 0.045 * entries as f64).min(0.6);
    let grow = share / (1.0 - share);
    if log {
        high * 10f64.powf((high / y0).log10().max(1.0) * grow)
    } else {
        high + (high - y0) * grow
    }
}

fn draw_legend<'a, DB: DrawingBackend + 'a, CT: plotters::coord::CoordTranslate>(
    ctx: &mut ChartContext<'a, DB, CT>,
) -> DrawResult {
    ctx.configure_series_labels()
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(|e| e.to_string())
}

/// An axis label: millions and thousands as `M` and `k`, small numbers without trailing
/// zeros (`5.0M`, `250k`, `0.5`).
fn axis_number(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 1e6 {
        format!("{:.1}M", value / 1e6)
    } else if magnitude >= 1e4 {
        format!("{:.0}k", value / 1e3)
    } else {
        let text = format!("{value:.3}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Reads one percentile from a latency summary.
pub(crate) type Percentile = fn(&LatencySummary) -> u64;

/// The percentiles latency figures draw, by name.
pub(crate) const PERCENTILES: [(&str, Percentile); 4] = [
    ("p50", |l| l.p50_ns),
    ("p99", |l| l.p99_ns),
    ("p99.9", |l| l.p999_ns),
    ("max", |l| l.max_ns),
];

/// Line colours, distinct on white.
pub(crate) fn color(i: usize) -> RGBColor {
    const COLORS: [RGBColor; 8] = [
        RGBColor(31, 119, 180),
        RGBColor(214, 39, 40),
        RGBColor(44, 160, 44),
        RGBColor(255, 127, 14),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(23, 190, 207),
    ];
    COLORS[i % COLORS.len()]
}

/// How a run is named in legends: pipeline, offered rate, workers.
pub(crate) fn run_label(run: &BenchResult) -> String {
    format!(
        "{} @ {} records/s, {} worker(s)",
        run.config.pipeline,
        human_rate(run.config.rate),
        run.config.workers
    )
}

fn file_label(run: &BenchResult) -> String {
    format!(
        "{}-{}-w{}",
        run.config.pipeline,
        human_rate(run.config.rate),
        run.config.workers
    )
}

/// `250000` as `250k`, `1500000` as `1.5M`.
pub(crate) fn human_rate(rate: f64) -> String {
    let (value, unit) = if rate >= 1e6 {
        (rate / 1e6, "M")
    } else if rate >= 1e3 {
        (rate / 1e3, "k")
    } else {
        (rate, "")
    };
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}{unit}")
}

fn register_font() -> anyhow::Result<()> {
    static REGISTER: Once = Once::new();
    let mut result = Ok(());
    REGISTER.call_once(|| {
        result = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
            .map_err(|_| anyhow::anyhow!("the embedded DejaVu Sans font cannot be read"));
    });
    result
}
