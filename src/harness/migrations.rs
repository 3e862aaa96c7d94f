//! Live migrations on a benchmark's timeline: when each planned migration (`--migrate-at`)
//! began and ended, and the latency of the timestamps scheduled while it ran.

use serde::{Deserialize, Serialize};

use crate::harness::driver::{RunPlan, WorkerReport};
use crate::harness::result::exact_summary;
use crate::harness::LatencySummary;
use crate::migration::log::{merge_steps, spans};
use crate::migration::{parse_migrations, MigrationSpec};
use crate::state::KeyGroups;
use crate::time::Time;

/// One planned migration as the benchmark saw it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MigrationMark {
    /// `WHEN:PLAN`, as planned.
    pub plan: String,
    /// How its moves were spread (`all-at-once`, `fluid`, `batched:N`).
    pub strategy: String,
    /// Its planned event time, which in a benchmark is its scheduled time: ms since the
    /// start.
    pub at_ms: f64,
    /// The changes of the routing table it made.
    pub steps: usize,
    /// Its first hand-over, ms since the start.
    pub began_ms: f64,
    /// Its last take-in, ms since the start: every group is with its new owner.
    pub ended_ms: f64,
    /// Latency of the timestamps scheduled in the timeline intervals from `at_ms` to
    /// `ended_ms` (exact over those intervals).
    pub latency: LatencySummary,
}

impl MigrationMark {
    /// One line for the terminal.
    pub fn describe(&self) -> String {
        let ms = |ns: u64| ns as f64 / 1e6;
        format!(
            "migration {} ({}, {} step(s)): began {:.1} ms, ended {:.1} ms ({:.1} ms); latency \
             over it p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            self.plan,
            self.strategy,
            self.steps,
            self.began_ms,
            self.ended_ms,
            self.ended_ms - self.began_ms,
            ms(self.latency.p50_ns),
            ms(self.latency.p99_ns),
            ms(self.latency.max_ns),
        )
    }
}

/// The marks of `spec`'s migrations in a run of `workers` workers over `groups`, from the
/// workers' reports; `origin_us` is the schedule's start, µs since the Unix epoch.
pub(crate) fn migration_marks(
    spec: &MigrationSpec,
    (groups, workers): (KeyGroups, usize),
    plan: &RunPlan,
    reports: &[WorkerReport],
    origin_us: u64,
) -> Vec<MigrationMark> {
    let (Ok(planned), Ok(table)) = (parse_migrations(&spec.plan), spec.table(groups, workers))
    else {
        return Vec::new();
    };
    let whens: Vec<Time> = planned.iter().map(|p| p.at).collect();
    let changes: Vec<Time> = table.changes().map(|(at, _)| at).collect();
    let steps = merge_steps(reports.iter().map(|r| r.migration_steps.as_slice()));
    let texts: Vec<&str> = spec.plan.split(',').collect();
    let since = |us: u64| us.saturating_sub(origin_us) as f64 / 1e3;
    spans(&whens, &changes, &steps)
        .into_iter()
        .map(|span| {
            let at_ms = whens[span.migration];
            let ended_ms = since(span.ended_us);
            MigrationMark {
                plan: texts.get(span.migration).unwrap_or(&"").to_string(),
                strategy: spec.strategy.clone(),
                at_ms: at_ms as f64,
                steps: span.steps,
                began_ms: since(span.began_us),
                ended_ms,
                latency: latency_between(plan, reports, at_ms, ended_ms.ceil() as Time),
            }
        })
        .collect()
}

/// The latency of the timestamps scheduled in the timeline intervals that overlap
/// `[from_ms, to_ms]`.
fn latency_between(
    plan: &RunPlan,
    reports: &[WorkerReport],
    from_ms: Time,
    to_ms: Time,
) -> LatencySummary {
    let first = (from_ms / plan.interval_ms) as usize;
    let last = (to_ms / plan.interval_ms) as usize;
    let mut values: Vec<u64> = reports
        .iter()
        .flat_map(|r| r.intervals.iter().take(last + 1).skip(first))
        .flatten()
        .copied()
        .collect();
    values.sort_unstable();
    exact_summary(&values)
}
