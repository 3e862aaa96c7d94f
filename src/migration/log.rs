//! What the migrating operators of a process did while the job ran: how many key groups
//! they handed over, and when each change of the routing table began (its first hand-over)
//! and ended (its last take-in), so that a benchmark can mark its migrations on the latency
//! timeline and say how long each took.
//!
//! Instants are microseconds since the Unix epoch, so that the logs of several processes
//! on one machine (or on machines with synchronized clocks) merge by min and max.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::time::Time;

/// When one change of a routing table was handed over and taken in, over the workers that
/// logged it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepTimes {
    /// The first worker's hand-over (it may hand over nothing), µs since the Unix epoch.
    pub left_us: Option<u64>,
    /// The last worker's take-in, µs since the Unix epoch: the change is done.
    pub taken_in_us: Option<u64>,
}

impl StepTimes {
    /// The earlier start and the later end of `self` and `other`.
    pub fn merge(self, other: StepTimes) -> StepTimes {
        let pick = |a: Option<u64>, b: Option<u64>, f: fn(u64, u64) -> u64| match (a, b) {
            (Some(a), Some(b)) => Some(f(a, b)),
            (a, b) => a.or(b),
        };
        StepTimes {
            left_us: pick(self.left_us, other.left_us, u64::min),
            taken_in_us: pick(self.taken_in_us, other.taken_in_us, u64::max),
        }
    }
}

/// Merges logs of several processes step by step (see [`StepTimes::merge`]).
pub fn merge_steps<'a>(logs: impl IntoIterator<Item = &'a [StepTimes]>) -> Vec<StepTimes> {
    let mut merged: Vec<StepTimes> = Vec::new();
    for log in logs {
        if merged.len() < log.len() {
            merged.resize(log.len(), StepTimes::default());
        }
        for (into, step) in merged.iter_mut().zip(log) {
            *into = into.merge(*step);
        }
    }
    merged
}

/// The log of one process, shared by its workers' migrating operators. Written once per
/// worker, operator and change: never on the record path.
#[derive(Debug, Default)]
pub struct MigrationLog {
    moved: AtomicU64,
    steps: Mutex<Vec<StepTimes>>,
}

impl MigrationLog {
    /// A worker handed `groups` key groups over at change `change` (0-based, in time order).
    pub fn handed_over(&self, change: usize, groups: u64) {
        self.moved.fetch_add(groups, Ordering::Relaxed);
        let now = now_us();
        self.update(change, |step| {
            step.left_us = Some(step.left_us.map_or(now, |t| t.min(now)))
        });
    }

    /// A worker took in what change `change` handed it (nothing, perhaps): it is done there.
    pub fn taken_in(&self, change: usize) {
        let now = now_us();
        self.update(change, |step| {
            step.taken_in_us = Some(step.taken_in_us.map_or(now, |t| t.max(now)))
        });
    }

    /// Key groups handed over so far, counted per operator.
    pub fn moved(&self) -> u64 {
        self.moved.load(Ordering::Relaxed)
    }

    /// Each change's times so far.
    pub fn steps(&self) -> Vec<StepTimes> {
        self.steps.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn update(&self, change: usize, f: impl FnOnce(&mut StepTimes)) {
        // A worker that panicked while holding the lock cannot have left a step half
        // written: each update is one assignment.
        let mut steps = self.steps.lock().unwrap_or_else(|e| e.into_inner());
        if steps.len() <= change {
            steps.resize(change + 1, StepTimes::default());
        }
        f(&mut steps[change]);
    }
}

/// Now, µs since the Unix epoch.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// One planned migration as it ran: from its first hand-over to its last take-in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// The planned migration's index (in `--migrate-at` order).
    pub migration: usize,
    /// The changes of the routing table it made.
    pub steps: usize,
    /// Its first hand-over, µs since the Unix epoch.
    pub began_us: u64,
    /// Its last take-in.
    pub ended_us: u64,
}

/// The spans of the planned migrations starting at the event times `planned` (ascending),
/// from the logged times of the table's changes at `changes` (ascending): each change
/// belongs to the last migration planned at or before it (so the steps of a migration
/// still running when the next one is due count for the next). A migration none of whose
/// changes were both handed over and taken in has no span.
pub fn spans(planned: &[Time], changes: &[Time], steps: &[StepTimes]) -> Vec<Span> {
    let mut spans: Vec<Span> = Vec::new();
    for (&at, step) in changes.iter().zip(steps) {
        let Some(migration) = planned.iter().rposition(|&p| p <= at) else {
            continue;
        };
        let (Some(left), Some(taken)) = (step.left_us, step.taken_in_us) else {
            continue;
        };
        match spans.last_mut().filter(|s| s.migration == migration) {
            Some(span) => {
                span.steps += 1;
                span.began_us = span.began_us.min(left);
                span.ended_us = span.ended_us.max(taken);
            }
            None => spans.push(Span {
                migration,
                steps: 1,
                began_us: left,
                ended_us: taken,
            }),
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(left: u64, taken: u64) -> StepTimes {
        StepTimes {
            left_us: Some(left),
            taken_in_us: Some(taken),
        }
    }

    #[test]
    fn logs_merge_to_the_earliest_hand_over_and_the_latest_take_in() {
        let a = [step(10, 20), StepTimes::default()];
        let b = [step(5, 15), step(30, 40), step(50, 60)];
        let merged = merge_steps([&a[..], &b[..]]);
        assert_eq!(merged, vec![step(5, 20), step(30, 40), step(50, 60)]);
    }

    #[test]
    fn each_change_counts_for_the_migration_planned_last_before_it() {
        // Two migrations, at 100 and 500: three steps, then two.
        let planned = [100, 500];
        let changes = [100, 101, 102, 500, 501];
        let steps = [
            step(1_000, 1_100),
            step(1_050, 1_300),
            step(1_200, 1_250),
            step(9_000, 9_500),
            step(9_100, 9_400),
        ];
        let got = spans(&planned, &changes, &steps);
        assert_eq!(
            got,
            vec![
                Span {
                    migration: 0,
                    steps: 3,
                    began_us: 1_000,
                    ended_us: 1_300
                },
                Span {
                    migration: 1,
                    steps: 2,
                    began_us: 9_000,
                    ended_us: 9_500
                },
            ]
        );
        // A change not logged (the job ended first) makes no span.
        assert_eq!(spans(&planned, &changes, &steps[..2])[0].steps, 2);
        assert_eq!(spans(&planned, &changes, &[]), vec![]);
    }

    #[test]
    fn the_log_counts_groups_and_keeps_the_first_hand_over() {
        let log = MigrationLog::default();
        log.handed_over(1, 3);
        log.handed_over(1, 2);
        log.taken_in(1);
        assert_eq!(log.moved(), 5);
        let steps = log.steps();
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[0], StepTimes::default());
        let (left, taken) = (steps[1].left_us.unwrap(), steps[1].taken_in_us.unwrap());
        assert!(left <= taken);
    }
}
