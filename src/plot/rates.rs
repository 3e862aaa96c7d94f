//! Latency versus offered rate, from sweeps: where latency turns up is where the pipeline
//! stops keeping up.

use crate::harness::SweepResult;
use crate::plot::{color, human_rate, Chart, DrawResult, FigureArea, Line, PERCENTILES};

pub(super) fn draw(area: &mut dyn FigureArea, sweeps: &[SweepResult]) -> DrawResult {
    let mut lines = Vec::new();
    for sweep in sweeps {
        let Some(first) = sweep.runs.first() else {
            continue;
        };
        let name = format!(
            "{}, {} worker(s)",
            first.config.pipeline, first.config.workers
        );
        let mut runs: Vec<_> = sweep.runs.iter().collect();
        runs.sort_by(|a, b| a.config.rate.total_cmp(&b.config.rate));
        for (percentile, pick) in PERCENTILES {
            lines.push(Line {
                label: format!("{name} {percentile}"),
                points: runs
                    .iter()
                    .map(|run| (run.config.rate, pick(&run.summary.latency) as f64 / 1e6))
                    .collect(),
                color: color(lines.len()),
                width: 2,
                dots: true,
            });
        }
        if let Some(rate) = sweep.sustainable_rate {
            lines.push(Line {
                label: format!("{name}: sustainable up to {}", human_rate(rate)),
                points: Vec::new(),
                color: color(lines.len()),
                width: 1,
                dots: true,
            });
        }
    }
    area.chart(&Chart {
        caption: "Latency versus offered rate".to_string(),
        x_desc: "offered rate (records/s)".to_string(),
        y_desc: "latency (ms)".to_string(),
        x_log: true,
        y_log: true,
        lines,
        markers: Vec::new(),
    })
}
