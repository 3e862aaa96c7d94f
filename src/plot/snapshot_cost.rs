//! Snapshot cost against state size (log-log): for each pipeline and shape, the capture
//! pause on the record path (mean and longest) and the encode and write times off it.

use crate::plot::{Chart, DrawResult, FigureArea, Line};

/// Lines per pipeline, shape and phase, of points (state MiB per snapshot, ms).
pub(super) fn draw(area: &mut dyn FigureArea, lines: Vec<Line>) -> DrawResult {
    area.chart(&Chart {
        caption: "Snapshot cost against state size".to_string(),
        x_desc: "state per snapshot (MiB, log scale)".to_string(),
        y_desc: "ms per snapshot (log scale)".to_string(),
        x_log: true,
        y_log: true,
        lines,
        markers: Vec::new(),
    })
}
