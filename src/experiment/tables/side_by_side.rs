//! Groups side by side: weir beside its peers on the same events, a row (or a bar) per
//! pipeline and shape with each group's median events/s and the peers' output checks.

use std::collections::BTreeMap;

use crate::experiment::tables::{throughput, BarSeries, Rows, RunResults, Throughput};
use crate::harness::OutputCheck;

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
                (Some(ours), Some(theirs)) if theirs > 0.0 => ratio(ours / theirs),
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
/// A ratio with one decimal, two below 1 (`0.12x`), where one would round most away.
fn ratio(value: f64) -> String {
    if value >= 1.0 {
        format!("{value:.1}x")
    } else {
        format!("{value:.2}x")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::tables::fixtures::{planned, result};

    #[test]
    fn a_ratio_below_one_keeps_two_decimals() {
        assert_eq!(ratio(0.123), "0.12x");
        assert_eq!(ratio(8.04), "8.0x");
        assert_eq!(ratio(37.26), "37.3x");
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
}
