//! Throughput against workers: a line per pipeline and number of processes.

use crate::plot::{color, Chart, DrawResult, FigureArea, Line};

/// One line's points: (workers in all, events/s).
pub(super) fn draw(area: &mut dyn FigureArea, series: &[(String, Vec<(f64, f64)>)]) -> DrawResult {
    let lines = series
        .iter()
        .enumerate()
        .map(|(i, (label, points))| Line {
            label: label.clone(),
            points: points.clone(),
            color: color(i),
            width: 2,
        })
        .collect();
    area.chart(&Chart {
        caption: "Throughput against workers".to_string(),
        x_desc: "workers (processes x threads)".to_string(),
        y_desc: "events/s".to_string(),
        x_log: false,
        y_log: false,
        lines,
        markers: Vec::new(),
    })
}
