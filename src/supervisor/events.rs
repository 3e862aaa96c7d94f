//! What a supervisor saw: one event per start, failure, recovery, savepoint, rescale and end,
//! printed as one line each and written as JSON lines with `--events-log FILE`.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::snapshot::epoch_label;
use crate::time::Time;

/// Milliseconds between two instants in microseconds since the Unix epoch.
pub fn millis_between(from_us: u64, to_us: u64) -> f64 {
    to_us.saturating_sub(from_us) as f64 / 1e3
}

/// How long a recovery took, phase by phase, in milliseconds. Phases the supervisor could
/// not see (a process it does not run reports to another supervisor) are absent.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RecoveryTimes {
    /// What failed.
    pub cause: String,
    /// When the supervisor saw the failure (µs since the Unix epoch).
    pub failed_at_us: u64,
    /// From a planned kill until the supervisor saw its process gone (absent for failures
    /// it did not cause, whose instant it cannot know).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detect_ms: Option<f64>,
    /// From the failure until every other process of the job was gone.
    pub stop_ms: f64,
    /// The wait before the restart (exponential backoff).
    pub backoff_ms: f64,
    /// From the restart until process 0 had chosen the snapshot to resume from.
    pub restart_ms: Option<f64>,
    /// From then until the output frontier passed the restored epoch: connecting, loading
    /// state, and processing the first millisecond after it.
    pub restore_ms: Option<f64>,
    /// From the failure (the kill, when it was planned) until results flowed again.
    pub total_ms: Option<f64>,
    /// The epoch resumed from.
    pub restored: Option<Time>,
}

/// How long a rescale took, in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RescaleTimes {
    /// The shape before.
    pub from: String,
    /// The shape after.
    pub to: String,
    /// When the stop was requested (µs since the Unix epoch).
    pub requested_at_us: u64,
    /// The savepoint it resumed from.
    pub savepoint: Option<Time>,
    /// From the request until the savepoint committed (the job runs meanwhile).
    pub savepoint_ms: Option<f64>,
    /// From the savepoint until every old process had ended.
    pub drain_ms: Option<f64>,
    /// From the restart until process 0 had chosen the savepoint.
    pub restart_ms: Option<f64>,
    /// From then until the output frontier passed the savepoint.
    pub restore_ms: Option<f64>,
    /// From the savepoint until results flowed again: the time without output.
    pub downtime_ms: Option<f64>,
}

/// One thing a supervisor saw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ClusterEvent {
    /// The job's processes started.
    Start {
        /// Starts so far, from 0.
        attempt: usize,
        /// `PxW`.
        shape: String,
        /// The process ids of the processes this supervisor runs, in process order.
        pids: Vec<u32>,
        /// `--restore` given, if any.
        restore: Option<String>,
        /// When (µs since the Unix epoch).
        at_us: u64,
    },
    /// The supervisor killed a process as planned (`--kill-at`).
    Killed {
        /// The start it belonged to.
        attempt: usize,
        /// Its index in the job.
        process: usize,
        /// When.
        at_us: u64,
    },
    /// A process ended with a failure.
    Failure {
        /// The start it belonged to.
        attempt: usize,
        /// Its index in the job.
        process: usize,
        /// How it ended.
        status: String,
        /// When the supervisor saw it.
        at_us: u64,
    },
    /// Results flow again after a failure.
    Recovered(RecoveryTimes),
    /// A savepoint committed on request.
    Savepoint {
        /// Its epoch.
        epoch: Time,
        /// When.
        at_us: u64,
    },
    /// The job runs on its new shape.
    Rescaled(RescaleTimes),
    /// The job stopped after a savepoint and was not restarted.
    Stopped {
        /// The savepoint.
        epoch: Time,
        /// When.
        at_us: u64,
    },
    /// The job ran to its end.
    Finished {
        /// Restarts after failures.
        restarts: usize,
        /// When.
        at_us: u64,
    },
    /// Too many restarts in a row made no progress.
    GaveUp {
        /// Restarts made.
        restarts: usize,
        /// Why.
        reason: String,
        /// When.
        at_us: u64,
    },
}

impl std::fmt::Display for ClusterEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |v: Option<f64>| v.map_or("?".to_string(), |v| format!("{v:.0}"));
        let epoch = |e: Option<Time>| e.map_or("none".to_string(), epoch_label);
        match self {
            ClusterEvent::Start {
                attempt,
                shape,
                pids,
                restore,
                ..
            } => {
                let pids: Vec<String> = pids.iter().map(u32::to_string).collect();
                let restore = restore
                    .as_ref()
                    .map_or(String::new(), |r| format!(", --restore {r}"));
                write!(f, "start {attempt}: {shape}, pids {}{restore}", pids.join(" "))
            }
            ClusterEvent::Killed {
                attempt, process, ..
            } => write!(f, "killed process {process} of start {attempt}, as planned"),
            ClusterEvent::Failure {
                attempt,
                process,
                status,
                ..
            } => write!(f, "failure in start {attempt}: process {process} {status}"),
            ClusterEvent::Recovered(r) => write!(
                f,
                "recovered from {} in {} ms ({}stop {:.0}, backoff {:.0}, restart {}, restore {} ms) from epoch {}",
                r.cause,
                ms(r.total_ms),
                r.detect_ms
                    .map_or(String::new(), |d| format!("detect {d:.0}, ")),
                r.stop_ms,
                r.backoff_ms,
                ms(r.restart_ms),
                ms(r.restore_ms),
                epoch(r.restored)
            ),
            ClusterEvent::Savepoint { epoch, .. } => {
                write!(f, "savepoint {}", epoch_label(*epoch))
            }
            ClusterEvent::Rescaled(r) => write!(
                f,
                "rescaled {} -> {} from savepoint {}: {} ms without output (savepoint {} ms after the request; drain {}, restart {}, restore {} ms)",
                r.from,
                r.to,
                epoch(r.savepoint),
                ms(r.downtime_ms),
                ms(r.savepoint_ms),
                ms(r.drain_ms),
                ms(r.restart_ms),
                ms(r.restore_ms)
            ),
            ClusterEvent::Stopped { epoch, .. } => write!(
                f,
                "stopped after savepoint {}; resume with --restore {}",
                epoch_label(*epoch),
                epoch_label(*epoch)
            ),
            ClusterEvent::Finished { restarts, .. } => {
                write!(f, "the job finished, after {restarts} restart(s)")
            }
            ClusterEvent::GaveUp { reason, .. } => write!(f, "gave up: {reason}"),
        }
    }
}

/// Prints events and writes them to the events log.
pub(crate) struct EventsLog {
    file: Option<File>,
    pub(crate) events: Vec<ClusterEvent>,
}

impl EventsLog {
    pub(crate) fn create(path: Option<&Path>) -> anyhow::Result<Self> {
        let file = match path {
            Some(path) => Some(
                File::create(path)
                    .with_context(|| format!("cannot create events log {}", path.display()))?,
            ),
            None => None,
        };
        Ok(EventsLog {
            file,
            events: Vec::new(),
        })
    }

    pub(crate) fn record(&mut self, event: ClusterEvent) {
        eprintln!("weir cluster: {event}");
        if let Some(file) = &mut self.file
            && let Ok(mut line) = serde_json::to_vec(&event)
        {
            line.push(b'\n');
            if let Err(error) = file.write_all(&line) {
                eprintln!("weir cluster: cannot write the events log: {error}");
                self.file = None;
            }
        }
        self.events.push(event);
    }
}
