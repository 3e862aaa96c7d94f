//! Recovery: a row (or a group of bars) per failure and rescale of supervised `bench` runs,
//! with how long each phase of getting results flowing again took.

use crate::experiment::tables::{BarSeries, Rows};
use crate::harness::BenchResult;
use crate::supervisor::ClusterEvent;

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
    let recovery = |event: &ClusterEvent| {
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
            _ => return None,
        };
        Some(Recovery {
            pipeline: pipeline.to_string(),
            rate,
            change,
            phases,
        })
    };
    events.iter().filter_map(recovery).collect()
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
#[cfg(test)]
mod tests {
    use super::*;

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
}
