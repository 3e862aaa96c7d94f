//! The throughput table: a row per pipeline and shape of `run` groups, the median events/s
//! of its repetitions, its share of a baseline pipeline's and its peak memory.

use std::collections::BTreeMap;

use crate::experiment::tables::{events_per_s, median, Rows, RunResults};

/// One pipeline on one shape, over its repetitions.
#[derive(Clone, Debug, PartialEq)]
pub struct Throughput {
    /// The pipeline.
    pub pipeline: String,
    /// Its `--keys`, when the group listed key counts.
    pub keys: Option<String>,
    /// Processes.
    pub processes: usize,
    /// Worker threads per process.
    pub workers: usize,
    /// The median over repetitions of (records in, all processes) / (the slowest
    /// process's time).
    pub events_per_s: f64,
    /// Every repetition's rate, in run order.
    pub repetitions: Vec<f64>,
    /// The largest peak memory of any process in any repetition, bytes.
    pub max_rss_bytes: Option<u64>,
}

/// The throughput of each pipeline and shape in `runs`, in the order first run.
pub fn throughput(runs: &[RunResults<'_>]) -> Vec<Throughput> {
    let mut order = Vec::new();
    type Key = (String, Option<String>, usize, usize);
    let mut by_shape: BTreeMap<Key, Throughput> = BTreeMap::new();
    for (planned, results) in runs {
        if results.is_empty() {
            continue;
        }
        let rss = results.iter().filter_map(|r| r.summary.max_rss_bytes).max();
        let key = (
            planned.pipeline.clone(),
            planned.keys.clone(),
            planned.processes,
            planned.workers,
        );
        let entry = by_shape.entry(key.clone()).or_insert_with(|| {
            order.push(key);
            Throughput {
                pipeline: planned.pipeline.clone(),
                keys: planned.keys.clone(),
                processes: planned.processes,
                workers: planned.workers,
                events_per_s: 0.0,
                repetitions: Vec::new(),
                max_rss_bytes: None,
            }
        });
        entry.repetitions.push(events_per_s(results));
        entry.max_rss_bytes = entry.max_rss_bytes.max(rss);
    }
    order
        .into_iter()
        .filter_map(|key| by_shape.remove(&key))
        .map(|mut row| {
            row.events_per_s = median(&row.repetitions);
            row
        })
        .collect()
}

/// The throughput table: with `baseline`, each row's share of that pipeline's rate on the
/// same shape; a `keys` column when any row has a key count.
pub fn throughput_rows(rows: &[Throughput], baseline: Option<&str>) -> Rows {
    let with_keys = rows.iter().any(|row| row.keys.is_some());
    let mut header = vec!["pipeline".to_string()];
    if with_keys {
        header.push("keys".into());
    }
    header.extend(["processes", "workers", "events/s"].map(String::from));
    if let Some(baseline) = baseline {
        header.push(format!("share of {baseline}"));
    }
    header.extend(["max RSS MiB", "runs"].map(String::from));
    let base_of = |processes, workers| {
        rows.iter()
            .find(|row| {
                Some(row.pipeline.as_str()) == baseline
                    && row.processes == processes
                    && row.workers == workers
            })
            .map(|row| row.events_per_s)
    };
    let rows = rows
        .iter()
        .map(|row| {
            let mut cells = vec![row.pipeline.clone()];
            if with_keys {
                cells.push(row.keys.clone().unwrap_or_else(|| "-".into()));
            }
            cells.extend([
                row.processes.to_string(),
                row.workers.to_string(),
                format!("{:.0}", row.events_per_s),
            ]);
            if baseline.is_some() {
                cells.push(match base_of(row.processes, row.workers) {
                    Some(base) if base > 0.0 => format!("{:.0}%", 100.0 * row.events_per_s / base),
                    _ => "-".into(),
                });
            }
            cells.push(row.max_rss_bytes.map_or("-".into(), |bytes| {
                format!("{:.0}", bytes as f64 / (1 << 20) as f64)
            }));
            cells.push(row.repetitions.len().to_string());
            cells
        })
        .collect();
    Rows { header, rows }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::tables::fixtures::{planned, result};

    #[test]
    fn rates_sum_processes_over_the_slowest_and_take_the_median_repetition() {
        let (generator, q1, q1_two) = (
            planned("gen", 1, 1),
            planned("q1", 1, 1),
            planned("q1", 2, 1),
        );
        let runs = vec![
            (&generator, vec![result(1000, 1.0, 1 << 20)]),
            (&q1, vec![result(1000, 2.0, 5 << 20)]),
            (&q1, vec![result(1000, 4.0, 3 << 20)]),
            (&q1, vec![result(1000, 1.0, 2 << 20)]),
            // Two processes: 1000 records in 2 s, the slower one's time.
            (
                &q1_two,
                vec![result(600, 1.0, 1 << 20), result(400, 2.0, 1 << 20)],
            ),
        ];
        let rows = throughput(&runs);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1].repetitions, [500.0, 250.0, 1000.0]);
        assert_eq!(rows[1].events_per_s, 500.0);
        assert_eq!(rows[1].max_rss_bytes, Some(5 << 20));
        assert_eq!(rows[2].events_per_s, 500.0);
        let table = throughput_rows(&rows, Some("gen"));
        assert_eq!(table.rows[1], ["q1", "1", "1", "500", "50%", "5", "3"]);
        // No baseline on two processes.
        assert_eq!(table.rows[2][4], "-");
        assert!(table
            .csv()
            .starts_with("pipeline,processes,workers,events/s,share of gen,"));
        assert!(table
            .markdown()
            .contains("| q1 | 1 | 1 | 500 | 50% | 5 | 3 |"));
        assert!(table
            .markdown()
            .contains("|---|---:|---:|---:|---:|---:|---:|"));
    }
}
