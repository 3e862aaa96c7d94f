//! Throughput against workers: a line per pipeline and number of processes.

use crate::plot::{Chart, DrawResult, FigureArea, Line};

/// Lines of points (workers in all, events/s).
pub(super) fn draw(area: &mut dyn FigureArea, lines: Vec<Line>) -> DrawResult {
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
