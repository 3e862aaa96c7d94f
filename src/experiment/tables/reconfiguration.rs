//! Reconfiguration: a row per live migration (`--migrate-at`) and per rescale by restart
//! (`rescale_at`) of `bench` runs, so that moving key groups while the job runs and
//! stopping it to restore onto another shape compare side by side: how long each change
//! took, and the latency of the timestamps scheduled while it lasted.

use crate::experiment::tables::Rows;
use crate::harness::{BenchResult, MarkKind, TimelinePoint};

/// One change of a run's layout.
#[derive(Clone, Debug, PartialEq)]
pub struct Reconfiguration {
    /// The run's pipeline.
    pub pipeline: String,
    /// The run's offered rate, records/s.
    pub rate: f64,
    /// `migration fluid 6s:g0-g63>w1` or `rescale by restart`.
    pub change: String,
    /// From its planned (or asked-for) instant until every group was with its new owner, or
    /// results flowed again, ms.
    pub duration_ms: Option<f64>,
    /// The highest p99 of the timeline intervals the change overlaps, ns.
    pub worst_interval_p99_ns: u64,
    /// The highest latency in them, ns.
    pub max_ns: u64,
    /// The run's p99 over its whole measured window, ns.
    pub run_p99_ns: u64,
    /// The run's achieved rate over its measured window, records/s.
    pub achieved_rate: f64,
}

/// Every migration's and rescale's reconfiguration among `runs`, run by run.
pub fn reconfigurations(runs: &[&BenchResult]) -> Vec<Reconfiguration> {
    let mut all = Vec::new();
    for run in runs {
        let row = |change: String, from_ms: f64, to_ms: Option<f64>| {
            let (p99, max) = worst_between(&run.timeline, from_ms, to_ms.unwrap_or(from_ms));
            Reconfiguration {
                pipeline: run.config.pipeline.clone(),
                rate: run.config.rate,
                change,
                duration_ms: to_ms.map(|to| to - from_ms),
                worst_interval_p99_ns: p99,
                max_ns: max,
                run_p99_ns: run.summary.latency.p99_ns,
                achieved_rate: run.summary.achieved_rate,
            }
        };
        for mark in &run.migrations {
            let change = format!("migration {} {}", mark.strategy, mark.plan);
            all.push(row(change, mark.at_ms, Some(mark.ended_ms)));
        }
        if let Some(supervision) = &run.supervision {
            let marks = supervision.marks();
            for (i, asked) in marks.iter().enumerate() {
                if asked.kind != MarkKind::RescaleAsked {
                    continue;
                }
                let flowing = marks[i + 1..]
                    .iter()
                    .find(|m| m.kind == MarkKind::Flowing)
                    .map(|m| m.at_ms);
                all.push(row("rescale by restart".to_string(), asked.at_ms, flowing));
            }
        }
    }
    all
}

/// The highest p99 and latency of the intervals of `timeline` that overlap
/// `[from_ms, to_ms]`.
fn worst_between(timeline: &[TimelinePoint], from_ms: f64, to_ms: f64) -> (u64, u64) {
    timeline
        .iter()
        .filter(|p| (p.end_ms as f64) > from_ms && (p.start_ms as f64) <= to_ms)
        .fold((0, 0), |(p99, max), p| {
            (p99.max(p.latency.p99_ns), max.max(p.latency.max_ns))
        })
}

/// The reconfiguration table.
pub fn reconfiguration_rows(changes: &[Reconfiguration]) -> Rows {
    let header = [
        "pipeline",
        "offered/s",
        "change",
        "duration ms",
        "p99 ms (worst interval)",
        "max ms",
        "run p99 ms",
        "achieved/s",
    ]
    .map(String::from)
    .to_vec();
    let ms = |ns: u64| format!("{:.2}", ns as f64 / 1e6);
    let rows = changes
        .iter()
        .map(|c| {
            vec![
                c.pipeline.clone(),
                format!("{:.0}", c.rate),
                c.change.clone(),
                c.duration_ms.map_or("-".to_string(), |d| format!("{d:.1}")),
                ms(c.worst_interval_p99_ns),
                ms(c.max_ns),
                ms(c.run_p99_ns),
                format!("{:.0}", c.achieved_rate),
            ]
        })
        .collect();
    Rows { header, rows }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::LatencySummary;

    fn point(start_ms: u64, p99_ms: u64, max_ms: u64) -> TimelinePoint {
        TimelinePoint {
            start_ms,
            end_ms: start_ms + 100,
            latency: LatencySummary {
                p99_ns: p99_ms * 1_000_000,
                max_ns: max_ms * 1_000_000,
                ..LatencySummary::default()
            },
            unfinished: 0,
            sent: 0,
            sent_per_s: 0.0,
            completed: 0,
            achieved_per_s: 0.0,
            rss_bytes: None,
        }
    }

    #[test]
    fn a_change_reads_the_intervals_it_overlaps_only() {
        let timeline = [
            point(0, 1, 2),
            point(100, 9, 30),
            point(200, 5, 7),
            point(300, 40, 50),
        ];
        // 150 ms to 250 ms overlaps the second and third intervals.
        assert_eq!(
            worst_between(&timeline, 150.0, 250.0),
            (9_000_000, 30_000_000)
        );
        // An instant inside one interval reads that one.
        assert_eq!(worst_between(&timeline, 20.0, 20.0), (1_000_000, 2_000_000));
        assert_eq!(worst_between(&timeline, 1000.0, 1200.0), (0, 0));
    }
}
