//! Tables from an experiment's results: rows computed from the result files (pure
//! functions over them), written as CSV for tools and Markdown for docs and the paper.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::experiment::plan::PlannedRun;
use crate::harness::{BenchResult, OutputCheck, RunResult};
use crate::supervisor::ClusterEvent;

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

/// One pipeline on one shape, over its repetitions.
#[derive(Clone, Debug, PartialEq)]
pub struct Throughput {
    /// The pipeline.
    pub pipeline: String,
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
    let mut by_shape: BTreeMap<(String, usize, usize), Throughput> = BTreeMap::new();
    for (planned, results) in runs {
        if results.is_empty() {
            continue;
        }
        let records: u64 = results.iter().map(|r| r.summary.records_in).sum();
        let slowest = results
            .iter()
            .map(|r| r.summary.elapsed_s)
            .fold(0.0, f64::max)
            .max(1e-9);
        let rss = results.iter().filter_map(|r| r.summary.max_rss_bytes).max();
        let key = (planned.pipeline.clone(), planned.processes, planned.workers);
        let entry = by_shape.entry(key.clone()).or_insert_with(|| {
            order.push(key);
            Throughput {
                pipeline: planned.pipeline.clone(),
                processes: planned.processes,
                workers: planned.workers,
                events_per_s: 0.0,
                repetitions: Vec::new(),
                max_rss_bytes: None,
            }
        });
        entry.repetitions.push(records as f64 / slowest);
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

/// The median (the lower middle one of an even count, as a run that happened).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted
        .get((sorted.len().max(1) - 1) / 2)
        .copied()
        .unwrap_or(0.0)
}

/// The throughput table: with `baseline`, each row's share of that pipeline's rate on the
/// same shape.
pub fn throughput_rows(rows: &[Throughput], baseline: Option<&str>) -> Rows {
    let mut header: Vec<String> = ["pipeline", "processes", "workers", "events/s"]
        .map(String::from)
        .to_vec();
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
            let mut cells = vec![
                row.pipeline.clone(),
                row.processes.to_string(),
                row.workers.to_string(),
                format!("{:.0}", row.events_per_s),
            ];
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

/// One group's runs in a side-by-side table: its name and its runs' results.
pub type Column<'a> = (String, Vec<RunResults<'a>>);

/// Groups side by side (weir's first, then peers): a row per pipeline and shape, each
/// group's median events/s, the first group's rate over each other's, and for each peer
/// whether its output (of its last repetition) equalled weir's.
pub fn side_by_side_rows(columns: &[Column<'_>]) -> Rows {
    let rates: Vec<Vec<Throughput>> = columns.iter().map(|(_, runs)| throughput(runs)).collect();
    let checks: Vec<BTreeMap<(String, usize, usize), Option<OutputCheck>>> = columns
        .iter()
        .map(|(_, runs)| {
            runs.iter()
                .filter_map(|(planned, results)| {
                    let peer = results.first()?.peer.as_ref()?;
                    let key = (planned.pipeline.clone(), planned.processes, planned.workers);
                    Some((key, peer.output_check.clone()))
                })
                .collect()
        })
        .collect();
    let mut shapes: Vec<(String, usize, usize)> = Vec::new();
    for row in rates.iter().flatten() {
        let shape = (row.pipeline.clone(), row.processes, row.workers);
        if !shapes.contains(&shape) {
            shapes.push(shape);
        }
    }
    let names: Vec<&str> = columns.iter().map(|(name, _)| name.as_str()).collect();
    let mut header: Vec<String> = ["pipeline", "processes", "workers"]
        .map(String::from)
        .to_vec();
    header.extend(names.iter().map(|name| format!("{name} events/s")));
    header.extend(
        names[1..]
            .iter()
            .map(|name| format!("{} / {name}", names[0])),
    );
    let peers: Vec<usize> = (0..columns.len())
        .filter(|&i| !checks[i].is_empty())
        .collect();
    header.extend(peers.iter().map(|&i| format!("{} output", names[i])));
    let rows = shapes
        .into_iter()
        .map(|(pipeline, processes, workers)| {
            let rate = |i: usize| {
                rates[i]
                    .iter()
                    .find(|row| {
                        row.pipeline == pipeline
                            && row.processes == processes
                            && row.workers == workers
                    })
                    .map(|row| row.events_per_s)
            };
            let mut cells = vec![pipeline.clone(), processes.to_string(), workers.to_string()];
            cells.extend(
                (0..columns.len()).map(|i| rate(i).map_or("-".into(), |r| format!("{r:.0}"))),
            );
            cells.extend((1..columns.len()).map(|i| match (rate(0), rate(i)) {
                (Some(ours), Some(theirs)) if theirs > 0.0 => format!("{:.1}x", ours / theirs),
                _ => "-".into(),
            }));
            cells.extend(peers.iter().map(|&i| {
                match checks[i].get(&(pipeline.clone(), processes, workers)) {
                    Some(Some(check)) if check.equal() => {
                        format!("equal ({} lines)", check.lines)
                    }
                    Some(Some(check)) => format!(
                        "differs: {} of {} missing, {} unexpected",
                        check.missing, check.expected_lines, check.unexpected
                    ),
                    Some(None) => "not checked".into(),
                    None => "-".into(),
                }
            }));
            cells
        })
        .collect();
    Rows { header, rows }
}

/// The bars of a side-by-side figure: the pipelines in the order first run, and a series
/// per group and shape (`weir -w 2`, or `weir 2x2` for two processes of two workers) with
/// its median events/s per pipeline, none where it did not run that pipeline.
pub fn side_by_side_series(columns: &[Column<'_>]) -> (Vec<String>, Vec<BarSeries>) {
    let mut pipelines: Vec<String> = Vec::new();
    let mut series: Vec<BarSeries> = Vec::new();
    let rates: Vec<(&str, Vec<Throughput>)> = columns
        .iter()
        .map(|(name, runs)| (name.as_str(), throughput(runs)))
        .collect();
    for row in rates.iter().flat_map(|(_, rows)| rows) {
        if !pipelines.contains(&row.pipeline) {
            pipelines.push(row.pipeline.clone());
        }
    }
    for (name, rows) in &rates {
        let mut shapes: Vec<(usize, usize)> =
            rows.iter().map(|r| (r.processes, r.workers)).collect();
        shapes.sort_unstable();
        shapes.dedup();
        for (processes, workers) in shapes {
            let label = match processes {
                1 => format!("{name} -w {workers}"),
                _ => format!("{name} {processes}x{workers}"),
            };
            let values = pipelines
                .iter()
                .map(|pipeline| {
                    rows.iter()
                        .find(|r| {
                            r.pipeline == *pipeline
                                && r.processes == processes
                                && r.workers == workers
                        })
                        .map(|r| r.events_per_s)
                })
                .collect();
            series.push((label, values));
        }
    }
    (pipelines, series)
}

/// One bar series: its label and a value per category (none: no bar).
pub type BarSeries = (String, Vec<Option<f64>>);

/// The phases of a recovery, in the order they happen (docs/failover.md): a failure's
/// detect, stop, backoff, restart and restore; a rescale's savepoint, drain, restart and
/// restore; and the downtime, from the failure (or the savepoint, which is taken while the job
/// still runs) until results flowed again.
pub const RECOVERY_PHASES: [&str; 8] = [
    "detect",
    "stop",
    "backoff",
    "savepoint",
    "drain",
    "restart",
    "restore",
    "downtime",
];

/// One failure or rescale of a supervised run, with its phases in milliseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Recovery {
    /// The run's pipeline.
    pub pipeline: String,
    /// The run's offered rate, records/s.
    pub rate: f64,
    /// `failure: CAUSE` or `rescale 1x1 to 2x1`.
    pub change: String,
    /// Each of [`RECOVERY_PHASES`], none where the phase does not apply or was not seen.
    pub phases: [Option<f64>; 8],
}

/// Every failure's and rescale's recovery among `runs`, in the order they happened.
pub fn recoveries(runs: &[&BenchResult]) -> Vec<Recovery> {
    runs.iter()
        .filter_map(|run| {
            let events = &run.supervision.as_ref()?.events;
            Some(recoveries_of(&run.config.pipeline, run.config.rate, events))
        })
        .flatten()
        .collect()
}

/// The recoveries a supervisor's `events` report, of a run of `pipeline` at `rate`.
pub fn recoveries_of(pipeline: &str, rate: f64, events: &[ClusterEvent]) -> Vec<Recovery> {
    let mut found = Vec::new();
    {
        for event in events {
            let (change, phases) = match event {
                ClusterEvent::Recovered(t) => (
                    format!("failure: {}", t.cause),
                    [
                        t.detect_ms,
                        Some(t.stop_ms),
                        Some(t.backoff_ms),
                        None,
                        None,
                        t.restart_ms,
                        t.restore_ms,
                        t.total_ms,
                    ],
                ),
                ClusterEvent::Rescaled(t) => (
                    format!("rescale {} to {}", t.from, t.to),
                    [
                        None,
                        None,
                        None,
                        t.savepoint_ms,
                        t.drain_ms,
                        t.restart_ms,
                        t.restore_ms,
                        t.downtime_ms,
                    ],
                ),
                _ => continue,
            };
            found.push(Recovery {
                pipeline: pipeline.to_string(),
                rate,
                change,
                phases,
            });
        }
    }
    found
}

/// A row per recovery: pipeline, offered rate, what changed, and each phase in ms.
pub fn recovery_rows(recoveries: &[Recovery]) -> Rows {
    let mut header: Vec<String> = ["pipeline", "offered/s", "change"]
        .map(String::from)
        .to_vec();
    header.extend(RECOVERY_PHASES.iter().map(|phase| format!("{phase} ms")));
    let rows = recoveries
        .iter()
        .map(|recovery| {
            let mut cells = vec![
                recovery.pipeline.clone(),
                format!("{:.0}", recovery.rate),
                recovery.change.clone(),
            ];
            cells.extend(
                recovery
                    .phases
                    .iter()
                    .map(|ms| ms.map_or("-".into(), |ms| format!("{ms:.1}"))),
            );
            cells
        })
        .collect();
    Rows { header, rows }
}

/// The bars of a recovery figure: a category per recovery (numbered, as two may read
/// alike), a series per phase that any of them has.
pub fn recovery_series(recoveries: &[Recovery]) -> (Vec<String>, Vec<BarSeries>) {
    let categories = recoveries
        .iter()
        .enumerate()
        .map(|(i, r)| match r.change.split_once(':') {
            Some((failure, _)) => format!("{} {failure}", i + 1),
            None => format!("{} {}", i + 1, r.change),
        })
        .collect();
    let series = RECOVERY_PHASES
        .iter()
        .enumerate()
        .map(|(p, phase)| {
            let values: Vec<Option<f64>> = recoveries.iter().map(|r| r.phases[p]).collect();
            (phase.to_string(), values)
        })
        .filter(|(_, values)| values.iter().any(Option::is_some))
        .collect();
    (categories, series)
}

/// A row per benchmark run: what was offered, what came out, and the latency.
pub fn latency_rows(runs: &[&BenchResult]) -> Rows {
    let header = [
        "pipeline",
        "processes",
        "workers",
        "offered/s",
        "achieved/s",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "max ms",
        "sustainable",
    ]
    .map(String::from)
    .to_vec();
    let ms = |ns: u64| format!("{:.2}", ns as f64 / 1e6);
    let rows = runs
        .iter()
        .map(|run| {
            let latency = &run.summary.latency;
            vec![
                run.config.pipeline.clone(),
                run.config.processes.to_string(),
                run.config.threads.to_string(),
                format!("{:.0}", run.summary.offered_rate),
                format!("{:.0}", run.summary.achieved_rate),
                ms(latency.p50_ns),
                ms(latency.p99_ns),
                ms(latency.p999_ns),
                ms(latency.max_ns),
                if run.verdict.sustainable { "yes" } else { "no" }.into(),
            ]
        })
        .collect();
    Rows { header, rows }
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
mod tests {
    use super::*;
    use crate::experiment::spec::GroupKind;
    use crate::harness::{RunConfig, RunSummary};

    fn planned(pipeline: &str, processes: usize, workers: usize) -> PlannedRun {
        PlannedRun {
            id: format!("{pipeline}-{processes}x{workers}"),
            program: None,
            group: "g".into(),
            kind: GroupKind::Run,
            pipeline: pipeline.into(),
            processes,
            workers,
            repetition: 1,
            args: Vec::new(),
            supervised: false,
            results: Vec::new(),
            scratch: None,
        }
    }

    fn result(records_in: u64, elapsed_s: f64, rss: u64) -> RunResult {
        RunResult::new(
            RunConfig {
                pipeline: "p".into(),
                workers: 1,
                processes: 1,
                process: 0,
                events: records_in,
                input: None,
                snapshot_every_ms: None,
            },
            RunSummary {
                records_in,
                records_out: 0,
                elapsed_s,
                records_per_s: records_in as f64 / elapsed_s,
                max_rss_bytes: Some(rss),
                snapshots_committed: 0,
            },
            String::new(),
        )
    }

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

    #[test]
    fn side_by_side_rows_divide_the_first_group_by_each_other_and_show_peer_checks() {
        use crate::harness::PeerRun;
        let (q1, q5) = (planned("q1", 1, 2), planned("q5", 1, 2));
        let peer = |records_in, elapsed_s, missing| {
            let mut result = result(records_in, elapsed_s, 1 << 20);
            result.peer = Some(PeerRun {
                engine: "flink".into(),
                version: "Apache Flink 2.3.0".into(),
                output_check: Some(OutputCheck {
                    expected_lines: 10,
                    lines: 10 - missing,
                    missing,
                    unexpected: 0,
                }),
            });
            result
        };
        let columns = vec![
            (
                "weir".to_string(),
                vec![
                    (&q1, vec![result(1000, 1.0, 1)]),
                    (&q5, vec![result(1000, 2.0, 1)]),
                ],
            ),
            // q5 did not run on the peer.
            ("flink".to_string(), vec![(&q1, vec![peer(1000, 8.0, 0)])]),
            ("other".to_string(), vec![(&q5, vec![peer(1000, 4.0, 3)])]),
        ];
        let table = side_by_side_rows(&columns);
        assert_eq!(
            table.header,
            [
                "pipeline",
                "processes",
                "workers",
                "weir events/s",
                "flink events/s",
                "other events/s",
                "weir / flink",
                "weir / other",
                "flink output",
                "other output"
            ]
        );
        assert_eq!(
            table.rows[0],
            [
                "q1",
                "1",
                "2",
                "1000",
                "125",
                "-",
                "8.0x",
                "-",
                "equal (10 lines)",
                "-"
            ]
        );
        assert_eq!(
            table.rows[1],
            [
                "q5",
                "1",
                "2",
                "500",
                "-",
                "250",
                "-",
                "2.0x",
                "-",
                "differs: 3 of 10 missing, 0 unexpected"
            ]
        );
        let (pipelines, series) = side_by_side_series(&columns);
        assert_eq!(pipelines, ["q1", "q5"]);
        assert_eq!(
            series,
            [
                ("weir -w 2".to_string(), vec![Some(1000.0), Some(500.0)]),
                ("flink -w 2".to_string(), vec![Some(125.0), None]),
                ("other -w 2".to_string(), vec![None, Some(250.0)]),
            ]
        );
    }

    #[test]
    fn each_failure_and_rescale_is_a_row_of_its_phases() {
        use crate::supervisor::{RecoveryTimes, RescaleTimes};
        let events = [
            ClusterEvent::Finished {
                restarts: 0,
                at_us: 1,
            },
            ClusterEvent::Recovered(RecoveryTimes {
                cause: "the planned kill of process 0".into(),
                detect_ms: Some(3.0),
                stop_ms: 0.5,
                restart_ms: Some(6.0),
                restore_ms: Some(30.0),
                total_ms: Some(40.0),
                ..RecoveryTimes::default()
            }),
            ClusterEvent::Rescaled(RescaleTimes {
                from: "1x1".into(),
                to: "2x1".into(),
                savepoint_ms: Some(1000.0),
                downtime_ms: Some(160.0),
                ..RescaleTimes::default()
            }),
        ];
        let found = recoveries_of("q5", 1000.0, &events);
        let table = recovery_rows(&found);
        let phases: Vec<String> = RECOVERY_PHASES.iter().map(|p| format!("{p} ms")).collect();
        assert_eq!(table.header[3..], phases[..]);
        assert_eq!(
            table.rows[0],
            [
                "q5",
                "1000",
                "failure: the planned kill of process 0",
                "3.0",
                "0.5",
                "0.0",
                "-",
                "-",
                "6.0",
                "30.0",
                "40.0"
            ]
        );
        assert_eq!(
            table.rows[1],
            [
                "q5",
                "1000",
                "rescale 1x1 to 2x1",
                "-",
                "-",
                "-",
                "1000.0",
                "-",
                "-",
                "-",
                "160.0"
            ]
        );
        let (changes, series) = recovery_series(&found);
        assert_eq!(changes, ["1 failure", "2 rescale 1x1 to 2x1"]);
        // Drain was seen for neither, so it has no series.
        let names: Vec<&str> = series.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            [
                "detect",
                "stop",
                "backoff",
                "savepoint",
                "restart",
                "restore",
                "downtime"
            ]
        );
        assert_eq!(series[0].1, [Some(3.0), None]);
        assert_eq!(series[3].1, [None, Some(1000.0)]);
    }

    #[test]
    fn cells_with_commas_are_quoted_in_csv() {
        let rows = Rows {
            header: vec!["a".into()],
            rows: vec![vec!["x,\"y\"".into()]],
        };
        assert_eq!(rows.csv(), "a\n\"x,\"\"y\"\"\"\n");
    }
}
