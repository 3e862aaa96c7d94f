//! Snapshot cost against state size: a row per pipeline, key count and shape of `run`
//! groups with snapshots, with the state each snapshot held and the time it took to capture
//! (the pause on the record path), encode and write it; and the lines of its figure.

use std::collections::BTreeMap;

use crate::experiment::tables::{events_per_s, median, Rows, RunResults};

/// One pipeline, key count and shape, over its repetitions (each field their median).
#[derive(Clone, Debug, PartialEq)]
pub struct SnapshotCostRow {
    /// The pipeline.
    pub pipeline: String,
    /// Its `--keys`, when the group listed key counts.
    pub keys: Option<String>,
    /// Processes.
    pub processes: usize,
    /// Worker threads per process.
    pub workers: usize,
    /// Snapshots written (the most of any process).
    pub epochs: f64,
    /// Bytes of state per snapshot, all processes together.
    pub state_bytes: f64,
    /// The mean capture pause of the slowest worker.
    pub mean_capture_ms: f64,
    /// The longest capture pause of any worker.
    pub max_capture_ms: f64,
    /// The mean encode time (the slowest process's).
    pub mean_encode_ms: f64,
    /// The mean write-and-sync time (the slowest process's).
    pub mean_write_ms: f64,
    /// Records in, all processes, over the slowest process's time.
    pub events_per_s: f64,
    /// The same pipeline, keys and shape without snapshots, when the groups ran it so: what
    /// the snapshots cost in throughput.
    pub without_snapshots_per_s: Option<f64>,
    /// Repetitions that took snapshots.
    pub repetitions: usize,
}

/// The cost of snapshots of each pipeline, key count and shape in `runs`, in the order
/// first run; runs configured without snapshots are no row of their own but the rate to
/// compare with.
pub fn snapshot_costs(runs: &[RunResults<'_>]) -> Vec<SnapshotCostRow> {
    type Key = (String, Option<String>, usize, usize);
    let key_of = |planned: &crate::experiment::plan::PlannedRun| -> Key {
        (
            planned.pipeline.clone(),
            planned.keys.clone(),
            planned.processes,
            planned.workers,
        )
    };
    let mut order: Vec<Key> = Vec::new();
    let mut samples: BTreeMap<Key, Vec<[f64; 7]>> = BTreeMap::new();
    let mut plain: BTreeMap<Key, Vec<f64>> = BTreeMap::new();
    for (planned, results) in runs {
        let configured = results.iter().any(|r| r.config.snapshot_every_ms.is_some());
        if !configured && !results.is_empty() {
            plain
                .entry(key_of(planned))
                .or_default()
                .push(events_per_s(results));
            continue;
        }
        let costs: Vec<_> = results
            .iter()
            .filter_map(|r| r.summary.snapshot_cost.as_ref())
            .collect();
        if costs.is_empty() {
            continue;
        }
        let most = |pick: fn(&crate::harness::SnapshotCost) -> f64| {
            costs.iter().map(|c| pick(c)).fold(0.0, f64::max)
        };
        let sample = [
            most(|c| c.epochs as f64),
            costs.iter().map(|c| c.mean_bytes as f64).sum(),
            most(|c| c.mean_capture_ms),
            most(|c| c.max_capture_ms),
            most(|c| c.mean_encode_ms),
            most(|c| c.mean_write_ms),
            events_per_s(results),
        ];
        let key = key_of(planned);
        if !samples.contains_key(&key) {
            order.push(key.clone());
        }
        samples.entry(key).or_default().push(sample);
    }
    order
        .into_iter()
        .filter_map(|key| {
            let runs = samples.remove(&key)?;
            let field = |i: usize| median(&runs.iter().map(|s| s[i]).collect::<Vec<_>>());
            let without_snapshots_per_s = plain.get(&key).map(|rates| median(rates));
            let (pipeline, keys, processes, workers) = key;
            Some(SnapshotCostRow {
                pipeline,
                keys,
                processes,
                workers,
                epochs: field(0),
                state_bytes: field(1),
                mean_capture_ms: field(2),
                max_capture_ms: field(3),
                mean_encode_ms: field(4),
                mean_write_ms: field(5),
                events_per_s: field(6),
                without_snapshots_per_s,
                repetitions: runs.len(),
            })
        })
        .collect()
}

/// The snapshot cost table.
pub fn snapshot_cost_rows(rows: &[SnapshotCostRow]) -> Rows {
    let header = [
        "pipeline",
        "keys",
        "processes",
        "workers",
        "snapshots",
        "state MiB",
        "capture ms",
        "capture max ms",
        "encode ms",
        "write+sync ms",
        "events/s",
        "without snapshots/s",
        "runs",
    ]
    .map(String::from)
    .to_vec();
    let ms = |v: f64| format!("{v:.2}");
    let rows = rows
        .iter()
        .map(|row| {
            vec![
                row.pipeline.clone(),
                row.keys.clone().unwrap_or_else(|| "-".into()),
                row.processes.to_string(),
                row.workers.to_string(),
                format!("{:.0}", row.epochs),
                significant(row.state_bytes / (1 << 20) as f64),
                ms(row.mean_capture_ms),
                ms(row.max_capture_ms),
                ms(row.mean_encode_ms),
                ms(row.mean_write_ms),
                format!("{:.0}", row.events_per_s),
                row.without_snapshots_per_s
                    .map_or("-".into(), |rate| format!("{rate:.0}")),
                row.repetitions.to_string(),
            ]
        })
        .collect();
    Rows { header, rows }
}

/// `value` with three significant digits, so that a state of a few KiB is not "0.00" MiB.
fn significant(value: f64) -> String {
    if value <= 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    let digits = (2 - value.log10().floor() as i32).max(0) as usize;
    format!("{value:.digits$}")
}

/// The lines of the snapshot cost figure: for each pipeline and shape, the mean and the
/// longest capture pause, the encode and the write time, each a point (state MiB, ms) per
/// key count in order of size. Points of no measurable time are left out (a log axis).
pub fn snapshot_cost_series(rows: &[SnapshotCostRow]) -> Vec<(String, Vec<(f64, f64)>)> {
    let mut shapes: Vec<(String, usize, usize)> = Vec::new();
    for row in rows {
        let shape = (row.pipeline.clone(), row.processes, row.workers);
        if !shapes.contains(&shape) {
            shapes.push(shape);
        }
    }
    type Phase = (&'static str, fn(&SnapshotCostRow) -> f64);
    let phases: [Phase; 4] = [
        ("capture pause (mean)", |r| r.mean_capture_ms),
        ("capture pause (max)", |r| r.max_capture_ms),
        ("encode", |r| r.mean_encode_ms),
        ("write + sync", |r| r.mean_write_ms),
    ];
    let mut series = Vec::new();
    for (pipeline, processes, workers) in shapes {
        let mut of_shape: Vec<&SnapshotCostRow> = rows
            .iter()
            .filter(|r| r.pipeline == pipeline && r.processes == processes && r.workers == workers)
            .collect();
        of_shape.sort_by(|a, b| a.state_bytes.total_cmp(&b.state_bytes));
        let shape = if processes > 1 {
            format!("{pipeline} {processes}x{workers}")
        } else {
            format!("{pipeline} -w {workers}")
        };
        for (phase, pick) in phases {
            let points = of_shape
                .iter()
                .map(|r| (r.state_bytes / (1 << 20) as f64, pick(r)))
                .filter(|&(x, y)| x > 0.0 && y > 0.0)
                .collect();
            series.push((format!("{shape}: {phase}"), points));
        }
    }
    series
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::tables::fixtures::{planned, result};
    use crate::harness::SnapshotCost;

    #[test]
    fn rows_sum_state_over_processes_take_the_slowest_time_and_the_median_repetition() {
        let cost = |mib: u64, capture: f64| SnapshotCost {
            epochs: 4,
            mean_bytes: mib << 20,
            max_bytes: mib << 20,
            mean_capture_ms: capture,
            max_capture_ms: 2.0 * capture,
            mean_encode_ms: 3.0,
            mean_write_ms: 0.0,
        };
        let with = |mib, capture| {
            let mut r = result(1000, 1.0, 1);
            r.config.snapshot_every_ms = Some(1000);
            r.summary.snapshot_cost = Some(cost(mib, capture));
            r
        };
        let mut small = planned("seed-state", 1, 1);
        small.keys = Some("10k".into());
        let mut large = planned("seed-state", 1, 1);
        large.keys = Some("1M".into());
        let mut two = planned("seed-state", 2, 1);
        two.keys = Some("1M".into());
        let runs = vec![
            (&large, vec![with(64, 8.0)]),
            (&large, vec![with(64, 4.0)]),
            (&large, vec![with(64, 6.0)]),
            (&small, vec![with(1, 0.5)]),
            // Without snapshots: no row, but the rate beside the row with them.
            (&small, vec![result(4000, 1.0, 1)]),
            (&two, vec![with(32, 3.0), with(32, 5.0)]),
        ];
        let rows = snapshot_costs(&runs);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].keys.as_deref(), Some("1M"));
        assert_eq!(rows[0].mean_capture_ms, 6.0);
        assert_eq!(rows[0].repetitions, 3);
        assert_eq!(rows[1].repetitions, 1);
        assert_eq!(rows[1].without_snapshots_per_s, Some(4000.0));
        assert_eq!(rows[0].without_snapshots_per_s, None);
        // Two processes: their state together, the slower one's pause.
        assert_eq!(rows[2].state_bytes, (64 << 20) as f64);
        assert_eq!(rows[2].max_capture_ms, 10.0);
        let table = snapshot_cost_rows(&rows);
        assert_eq!(
            table.rows[1],
            [
                "seed-state",
                "10k",
                "1",
                "1",
                "4",
                "1.00",
                "0.50",
                "1.00",
                "3.00",
                "0.00",
                "1000",
                "4000",
                "1"
            ]
        );
        assert_eq!(significant(0.0045), "0.00450");
        assert_eq!(significant(64.0), "64.0");
        assert_eq!(significant(1500.0), "1500");
        let series = snapshot_cost_series(&rows);
        assert_eq!(series.len(), 8);
        assert_eq!(series[0].0, "seed-state -w 1: capture pause (mean)");
        // In order of state size, whatever the order of the runs.
        assert_eq!(series[0].1, [(1.0, 0.5), (64.0, 6.0)]);
        assert_eq!(series[4].0, "seed-state 2x1: capture pause (mean)");
        // No bar for no time: the write of 0 ms is not a point on a log axis.
        assert!(series[3].1.is_empty());
    }
}
