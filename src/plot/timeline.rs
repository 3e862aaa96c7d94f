//! One run's latency over time: percentiles per interval of scheduled time, with the
//! snapshots' start and commit instants marked.

use plotters::style::RGBColor;

use crate::harness::{BenchResult, SnapshotMark};
use crate::plot::{color, run_label, Chart, DrawResult, FigureArea, Line, Marker, PERCENTILES};

pub(super) fn draw(area: &mut dyn FigureArea, run: &BenchResult) -> DrawResult {
    let lines = PERCENTILES
        .iter()
        .enumerate()
        .map(|(i, (name, pick))| Line {
            label: (*name).to_string(),
            points: run
                .timeline
                .iter()
                .filter(|point| point.latency.count > 0)
                .map(|point| {
                    let middle = (point.start_ms + point.end_ms) as f64 / 2e3;
                    (middle, pick(&point.latency) as f64 / 1e6)
                })
                .collect(),
            color: color(i),
            width: 2,
        })
        .collect();
    let marks = |pick: fn(&SnapshotMark) -> Option<f64>, color: RGBColor| {
        run.snapshots
            .iter()
            .filter_map(pick)
            .map(|ms| Marker { x: ms / 1e3, color })
            .collect::<Vec<_>>()
    };
    let markers = vec![
        (
            "snapshot started".to_string(),
            marks(|s| s.started_ms, RGBColor(148, 103, 189)),
        ),
        (
            "snapshot committed".to_string(),
            marks(|s| s.completed_ms, RGBColor(0, 0, 0)),
        ),
    ];
    area.chart(&Chart {
        caption: format!("Latency over time: {}", run_label(run)),
        x_desc: format!(
            "scheduled time (s); measured {:.1}-{:.1} s",
            run.config.warmup_s,
            run.config.warmup_s + run.config.duration_s
        ),
        y_desc: format!("latency per {} ms interval (ms)", run.config.interval_ms),
        x_log: false,
        lines,
        markers: markers.into_iter().filter(|(_, m)| !m.is_empty()).collect(),
    })
}
