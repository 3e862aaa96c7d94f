//! Tables from an experiment's results: rows computed from the result files (pure
//! functions over them), written as CSV for tools and Markdown for docs and the paper.
//! One file per kind of table; the figures of the same data take their series from here.

use std::fmt::Write as _;

use crate::experiment::plan::PlannedRun;
use crate::harness::RunResult;

mod latency;
mod reconfiguration;
mod recovery;
mod side_by_side;
mod snapshot_cost;
mod throughput;

pub use latency::latency_rows;
pub use reconfiguration::{reconfiguration_rows, reconfigurations, Reconfiguration};
pub use recovery::{
    recoveries, recoveries_of, recovery_rows, recovery_series, Recovery, RECOVERY_PHASES,
};
pub use side_by_side::{side_by_side_rows, side_by_side_series, Column};
pub use snapshot_cost::{
    snapshot_cost_rows, snapshot_cost_series, snapshot_costs, SnapshotCostRow,
};
pub use throughput::{throughput, throughput_rows, Throughput};

/// A table: a header and rows of cells, already formatted.
#[derive(Clone, Debug, PartialEq)]
pub struct Rows {
    /// Column names.
    pub header: Vec<String>,
    /// One line per row, as many cells as the header.
    pub rows: Vec<Vec<String>>,
}

/// The results of one `run` of the plan: one per process.
pub type RunResults<'a> = (&'a PlannedRun, Vec<RunResult>);

/// One bar series: its label and a value per category (none: no bar).
pub type BarSeries = (String, Vec<Option<f64>>);

/// The rate of one run: records in, all processes together, over the slowest process's
/// time (the run lasted until its last process ended).
pub fn events_per_s(results: &[RunResult]) -> f64 {
    let records: u64 = results.iter().map(|r| r.summary.records_in).sum();
    let slowest = results
        .iter()
        .map(|r| r.summary.elapsed_s)
        .fold(0.0, f64::max)
        .max(1e-9);
    records as f64 / slowest
}

/// The median (the lower middle one of an even count, as a run that happened).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted
        .get((sorted.len().max(1) - 1) / 2)
        .copied()
        .unwrap_or(0.0)
}

impl Rows {
    /// As CSV (cells quoted where they hold a comma or a quote).
    pub fn csv(&self) -> String {
        let line = |cells: &[String]| {
            let quoted: Vec<String> = cells
                .iter()
                .map(|cell| {
                    if cell.contains([',', '"', '\n']) {
                        format!("\"{}\"", cell.replace('"', "\"\""))
                    } else {
                        cell.clone()
                    }
                })
                .collect();
            quoted.join(",") + "\n"
        };
        std::iter::once(&self.header)
            .chain(&self.rows)
            .map(|cells| line(cells))
            .collect()
    }

    /// As a Markdown table, numbers right-aligned.
    pub fn markdown(&self) -> String {
        let mut text = String::new();
        let _ = writeln!(text, "| {} |", self.header.join(" | "));
        let align: Vec<&str> = self
            .header
            .iter()
            .enumerate()
            .map(|(i, _)| {
                let numeric = self.rows.iter().all(|row| {
                    row.get(i).is_some_and(|cell| {
                        cell.trim_end_matches('%').parse::<f64>().is_ok() || cell == "-"
                    })
                });
                if numeric && !self.rows.is_empty() {
                    "---:"
                } else {
                    "---"
                }
            })
            .collect();
        let _ = writeln!(text, "|{}|", align.join("|"));
        for row in &self.rows {
            let _ = writeln!(text, "| {} |", row.join(" | "));
        }
        text
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Plans and results for the tables' tests.
    use crate::experiment::plan::PlannedRun;
    use crate::experiment::spec::GroupKind;
    use crate::harness::{RunConfig, RunResult, RunSummary};

    pub fn planned(pipeline: &str, processes: usize, workers: usize) -> PlannedRun {
        PlannedRun {
            id: format!("{pipeline}-{processes}x{workers}"),
            program: None,
            group: "g".into(),
            kind: GroupKind::Run,
            pipeline: pipeline.into(),
            keys: None,
            processes,
            workers,
            repetition: 1,
            args: Vec::new(),
            supervised: false,
            results: Vec::new(),
            scratch: None,
        }
    }

    pub fn result(records_in: u64, elapsed_s: f64, rss: u64) -> RunResult {
        RunResult::new(
            RunConfig {
                pipeline: "p".into(),
                workers: 1,
                processes: 1,
                process: 0,
                events: records_in,
                input: None,
                snapshot_every_ms: None,
                keys: None,
            },
            RunSummary {
                records_in,
                records_out: 0,
                elapsed_s,
                records_per_s: records_in as f64 / elapsed_s,
                max_rss_bytes: Some(rss),
                snapshots_committed: 0,
                snapshot_cost: None,
            },
            String::new(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_with_commas_are_quoted_in_csv() {
        let rows = Rows {
            header: vec!["a".into()],
            rows: vec![vec!["x,\"y\"".into()]],
        };
        assert_eq!(rows.csv(), "a\n\"x,\"\"y\"\"\"\n");
    }
}
