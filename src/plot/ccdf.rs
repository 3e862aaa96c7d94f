//! The latency CCDF: for each run, the fraction of timestamps whose latency is at least x,
//! on log-log axes, so the tail is as visible as the median.

use crate::harness::{BenchResult, LatencyHistogram};
use crate::plot::{color, run_label, Chart, DrawResult, FigureArea, Line};

pub(super) fn draw(area: &mut dyn FigureArea, runs: &[BenchResult]) -> DrawResult {
    let lines = runs
        .iter()
        .enumerate()
        .map(|(i, run)| Line {
            label: run_label(run),
            points: LatencyHistogram::from_buckets(&run.histogram)
                .ccdf()
                .into_iter()
                .map(|(ns, fraction)| (ns as f64 / 1e6, fraction))
                .collect(),
            color: color(i),
            width: 2,
            dots: false,
        })
        .collect();
    area.chart(&Chart {
        caption: "Latency CCDF".to_string(),
        x_desc: "latency (ms)".to_string(),
        y_desc: "fraction of timestamps with latency >= x".to_string(),
        x_log: true,
        y_log: true,
        lines,
        markers: Vec::new(),
    })
}
