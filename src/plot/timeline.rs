//! One run's latency over time: percentiles per interval of scheduled time, with the
//! snapshots' start and commit instants marked, and under a supervisor every kill, failure,
//! rescale and the instant results flowed again.

use plotters::style::RGBColor;

use crate::harness::{BenchResult, MarkKind, MigrationMark, SnapshotMark};
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
            dots: false,
        })
        .collect();
    let marks = |pick: fn(&SnapshotMark) -> Option<f64>, color: RGBColor| {
        run.snapshots
            .iter()
            .filter_map(pick)
            .map(|ms| Marker { x: ms / 1e3, color })
            .collect::<Vec<_>>()
    };
    let mut markers = vec![
        (
            "snapshot started".to_string(),
            marks(|s| s.started_ms, RGBColor(148, 103, 189)),
        ),
        (
            "snapshot committed".to_string(),
            marks(|s| s.completed_ms, RGBColor(0, 0, 0)),
        ),
    ];
    for (label, pick, color) in [
        (
            "migration began",
            (|m: &MigrationMark| m.began_ms) as fn(&MigrationMark) -> f64,
            RGBColor(23, 190, 207),
        ),
        ("migration ended", |m| m.ended_ms, RGBColor(31, 119, 180)),
    ] {
        let at: Vec<Marker> = run
            .migrations
            .iter()
            .map(|m| Marker {
                x: pick(m) / 1e3,
                color,
            })
            .collect();
        if !at.is_empty() {
            markers.push((label.to_string(), at));
        }
    }
    if let Some(supervision) = &run.supervision {
        let faults = supervision.marks();
        for (kind, color) in [
            (MarkKind::Killed, RGBColor(214, 39, 40)),
            (MarkKind::Failed, RGBColor(140, 86, 75)),
            (MarkKind::RescaleAsked, RGBColor(255, 127, 14)),
            (MarkKind::Flowing, RGBColor(44, 160, 44)),
        ] {
            let at: Vec<Marker> = faults
                .iter()
                .filter(|mark| mark.kind == kind)
                .map(|mark| Marker {
                    x: mark.at_ms / 1e3,
                    color,
                })
                .collect();
            markers.push((kind.label().to_string(), at));
        }
    }
    area.chart(&Chart {
        caption: format!(
            "Latency over time: {}{}",
            run_label(run),
            run.supervision
                .as_ref()
                .map_or(String::new(), |s| format!("; {}", s.summary()))
        ),
        x_desc: format!(
            "scheduled time (s); measured {:.1}-{:.1} s",
            run.config.warmup_s,
            run.config.warmup_s + run.config.duration_s
        ),
        y_desc: format!("latency per {} ms interval (ms)", run.config.interval_ms),
        x_log: false,
        y_log: true,
        lines,
        markers: markers.into_iter().filter(|(_, m)| !m.is_empty()).collect(),
    })
}
