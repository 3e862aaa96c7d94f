//! Benchmark results: what every worker measured, merged, with the configuration and the
//! machine, as the JSON file that `weir plot` and the paper read. The schema is documented
//! in `docs/harness.md`; change `SCHEMA` when it changes incompatibly.

use serde::{Deserialize, Serialize};

use crate::harness::driver::{ProcessSample, RunPlan, WorkerReport};
use crate::harness::latency::exact_quantile;
use crate::harness::machine::{Build, Machine};
use crate::harness::migrations::MigrationMark;
use crate::harness::{LatencyHistogram, LatencySummary};
use crate::job::JobConfig;
use crate::supervisor::{millis_between, ClusterEvent};
use crate::time::Time;

/// The schema of one run's result file.
pub const SCHEMA: &str = "weir-bench/1";

/// One benchmark run, as written to `--json FILE`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BenchResult {
    /// [`SCHEMA`].
    pub schema: String,
    /// weir's version and git commit.
    pub build: Build,
    /// Where it ran.
    pub machine: Machine,
    /// When it started, RFC 3339, UTC.
    pub started_at: String,
    /// Everything that configured the run.
    pub config: BenchConfig,
    /// Totals over the measured window (warm-up and cool-down excluded).
    pub summary: BenchSummary,
    /// Whether the run kept up, by the rule in docs/harness.md.
    pub verdict: Verdict,
    /// The merged latency histogram of the measured window: `[value_ns, count]` pairs.
    pub histogram: Vec<(u64, u64)>,
    /// Fixed intervals over the whole run, warm-up and cool-down included.
    pub timeline: Vec<TimelinePoint>,
    /// Snapshots taken during the run.
    pub snapshots: Vec<SnapshotMark>,
    /// Under a supervisor (`--kill-at`, `--rescale-at`): what it saw, failures and
    /// rescales with their instants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supervision: Option<Supervision>,
    /// Live migrations (`--migrate-at`), as they ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub migrations: Vec<MigrationMark>,
}

/// What a supervisor saw during a benchmark.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Supervision {
    /// The schedule's start, µs since the Unix epoch: events are placed on the timeline
    /// against it.
    pub origin_us: u64,
    /// Every event, in order (`weir cluster --events-log` writes the same).
    pub events: Vec<ClusterEvent>,
}

/// An instant on the timeline where the job's shape or health changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkKind {
    /// A process was killed (as planned).
    Killed,
    /// A process failed by itself (the supervisor saw it end).
    Failed,
    /// A rescale was asked for.
    RescaleAsked,
    /// Results flow again after a failure or a rescale.
    Flowing,
}

impl MarkKind {
    /// How a legend names it.
    pub fn label(self) -> &'static str {
        match self {
            MarkKind::Killed => "process killed",
            MarkKind::Failed => "process failed",
            MarkKind::RescaleAsked => "rescale asked",
            MarkKind::Flowing => "results flow again",
        }
    }
}

/// One marked instant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FaultMark {
    /// What happened.
    pub kind: MarkKind,
    /// When, ms since the schedule's start.
    pub at_ms: f64,
}

impl Supervision {
    /// The instants to mark on the timeline, in order.
    pub fn marks(&self) -> Vec<FaultMark> {
        let since = |at_us: u64| millis_between(self.origin_us, at_us);
        let mut marks = Vec::new();
        let mut killed = false;
        for event in &self.events {
            match event {
                ClusterEvent::Killed { at_us, .. } => {
                    killed = true;
                    marks.push((MarkKind::Killed, since(*at_us)));
                }
                ClusterEvent::Failure { at_us, .. } if !killed => {
                    marks.push((MarkKind::Failed, since(*at_us)));
                }
                ClusterEvent::Failure { .. } => killed = false,
                ClusterEvent::Recovered(times) => {
                    if let Some(total) = times.total_ms {
                        let failed = since(times.failed_at_us) - times.detect_ms.unwrap_or(0.0);
                        marks.push((MarkKind::Flowing, failed + total));
                    }
                }
                ClusterEvent::Rescaled(times) => {
                    let asked = since(times.requested_at_us);
                    marks.push((MarkKind::RescaleAsked, asked));
                    if let (Some(savepoint), Some(down)) = (times.savepoint_ms, times.downtime_ms) {
                        marks.push((MarkKind::Flowing, asked + savepoint + down));
                    }
                }
                _ => {}
            }
        }
        marks.sort_by(|a, b| a.1.total_cmp(&b.1));
        marks
            .into_iter()
            .map(|(kind, at_ms)| FaultMark { kind, at_ms })
            .collect()
    }

    /// The faults in a few words, e.g. `1 kill, 1 rescale (2x1 -> 1x2)`.
    pub fn summary(&self) -> String {
        let kills = self
            .events
            .iter()
            .filter(|e| matches!(e, ClusterEvent::Killed { .. }))
            .count();
        let failures = self
            .events
            .iter()
            .filter(|e| matches!(e, ClusterEvent::Failure { .. }))
            .count()
            .saturating_sub(kills);
        let rescales: Vec<String> = self
            .events
            .iter()
            .filter_map(|e| match e {
                ClusterEvent::Rescaled(r) => Some(format!("{} -> {}", r.from, r.to)),
                _ => None,
            })
            .collect();
        let mut parts = Vec::new();
        if kills > 0 {
            parts.push(format!("{kills} kill(s)"));
        }
        if failures > 0 {
            parts.push(format!("{failures} failure(s)"));
        }
        if !rescales.is_empty() {
            parts.push(format!("rescaled {}", rescales.join(", ")));
        }
        parts.join(", ")
    }

    /// One line per recovery and rescale, for the terminal.
    pub fn describe(&self) -> String {
        let mut lines = Vec::new();
        for event in &self.events {
            if matches!(
                event,
                ClusterEvent::Recovered(_)
                    | ClusterEvent::Rescaled(_)
                    | ClusterEvent::GaveUp { .. }
            ) {
                lines.push(event.to_string());
            }
        }
        lines.join("\n")
    }
}

/// The configuration of a run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BenchConfig {
    /// The pipeline.
    pub pipeline: String,
    /// Offered rate, records per second over all workers.
    pub rate: f64,
    /// Measured window, seconds.
    pub duration_s: f64,
    /// Warm-up before it, seconds.
    pub warmup_s: f64,
    /// Cool-down after it, seconds.
    pub cooldown_s: f64,
    /// Timeline interval, milliseconds.
    pub interval_ms: u64,
    /// Worker threads per process.
    pub threads: usize,
    /// Processes.
    pub processes: usize,
    /// Workers in all.
    pub workers: usize,
    /// Snapshot directory, when the run snapshots.
    pub snapshot_dir: Option<String>,
    /// Snapshot interval in event-time milliseconds, when the run snapshots.
    pub snapshot_every_ms: Option<u64>,
    /// The pipeline's parameters.
    pub job: JobConfig,
}

/// Totals over the measured window.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BenchSummary {
    /// Offered rate, records per second.
    pub offered_rate: f64,
    /// Records sent per second by the sources over the measured window.
    pub sent_rate: f64,
    /// Records per second whose timestamps completed over the measured window.
    pub achieved_rate: f64,
    /// Timestamps (milliseconds with records) measured, over all workers' probes.
    pub timestamps: u64,
    /// Of those, timestamps not complete when the run ended (recorded as lower bounds).
    pub unfinished: u64,
    /// Latency percentiles.
    pub latency: LatencySummary,
}

/// One interval of the timeline.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TimelinePoint {
    /// Start of the interval, ms since the run's start.
    pub start_ms: u64,
    /// Its end.
    pub end_ms: u64,
    /// Latency of the timestamps scheduled in it that completed (exact, from every
    /// worker's samples).
    pub latency: LatencySummary,
    /// Timestamps scheduled in it left unfinished at the end (per worker's probe).
    pub unfinished: u64,
    /// Records sent in it, all processes.
    pub sent: u64,
    /// Records sent per second in it.
    pub sent_per_s: f64,
    /// Records whose timestamps completed in it.
    pub completed: u64,
    /// Records completed per second in it: the achieved rate.
    pub achieved_per_s: f64,
    /// Resident memory at its end, all processes.
    pub rss_bytes: Option<u64>,
}

/// A snapshot on the timeline.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SnapshotMark {
    /// The epoch (event time, which in a benchmark is the scheduled time in ms).
    pub epoch: Time,
    /// When the first worker began capturing it, ms since the start.
    pub started_ms: Option<f64>,
    /// When its manifest was committed, ms since the start.
    pub completed_ms: Option<f64>,
}

/// Whether a run kept up with its offered rate.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Verdict {
    /// Achieved at least 98% of the offered rate.
    pub rate_kept: bool,
    /// The median latency of the completed timestamps of the last quarter of the measured
    /// window is at most twice that of the first quarter plus 1 ms.
    pub no_latency_trend: bool,
    /// Every measured timestamp completed.
    pub all_finished: bool,
    /// All three: the rate is sustainable.
    pub sustainable: bool,
    /// Median latency of the measured window's first quarter, ns.
    pub first_quarter_p50_ns: u64,
    /// Median latency of its last quarter, ns.
    pub last_quarter_p50_ns: u64,
}

/// The achieved rate must be at least this share of the offered one.
pub const KEEP_UP: f64 = 0.98;
/// Latency trend tolerance: the last quarter's median may be this many times the first's…
pub const TREND_FACTOR: u64 = 2;
/// … plus this many nanoseconds.
pub const TREND_SLACK_NS: u64 = 1_000_000;

impl Verdict {
    fn of(summary: &BenchSummary, plan: &RunPlan, intervals: &[Vec<u64>]) -> Verdict {
        let quarter = (plan.measured_end_ms - plan.warmup_ms) / 4;
        let median_of = |from: Time, to: Time| {
            let mut values: Vec<u64> = (from / plan.interval_ms..to.div_ceil(plan.interval_ms))
                .filter_map(|i| intervals.get(i as usize))
                .flatten()
                .copied()
                .collect();
            values.sort_unstable();
            exact_quantile(&values, 0.5)
        };
        let first = median_of(plan.warmup_ms, plan.warmup_ms + quarter.max(1));
        let last = median_of(plan.measured_end_ms - quarter.max(1), plan.measured_end_ms);
        let rate_kept = summary.achieved_rate >= KEEP_UP * summary.offered_rate;
        let no_latency_trend = last <= TREND_FACTOR * first + TREND_SLACK_NS;
        let all_finished = summary.unfinished == 0;
        Verdict {
            rate_kept,
            no_latency_trend,
            all_finished,
            sustainable: rate_kept && no_latency_trend && all_finished,
            first_quarter_p50_ns: first,
            last_quarter_p50_ns: last,
        }
    }
}

/// Every worker's report merged: the measured parts of a [`BenchResult`].
pub(crate) struct Merged {
    pub summary: BenchSummary,
    pub verdict: Verdict,
    pub histogram: Vec<(u64, u64)>,
    pub timeline: Vec<TimelinePoint>,
}

/// Merges the workers' reports (`reports[i]` from worker `i`).
pub(crate) fn merge(plan: &RunPlan, rate: f64, reports: &[WorkerReport]) -> Merged {
    let mut histogram = LatencyHistogram::new();
    let mut intervals = vec![Vec::new(); plan.intervals()];
    let mut unfinished_intervals = vec![0; intervals.len()];
    let mut unfinished = 0;
    for report in reports {
        histogram.merge(&LatencyHistogram::from_buckets(&report.histogram));
        unfinished += report.unfinished;
        for (merged, own) in intervals.iter_mut().zip(&report.intervals) {
            merged.extend_from_slice(own);
        }
        for (merged, own) in unfinished_intervals
            .iter_mut()
            .zip(&report.unfinished_intervals)
        {
            *merged += own;
        }
    }
    for values in &mut intervals {
        values.sort_unstable();
    }
    // Samples by interval: sent and memory summed over processes; completed counts are
    // global, so the first process's stand for all.
    let processes: Vec<&[ProcessSample]> = reports
        .iter()
        .map(|r| r.samples.as_slice())
        .filter(|s| !s.is_empty())
        .collect();
    let sample_count = processes.iter().map(|s| s.len()).min().unwrap_or(0);
    let samples: Vec<ProcessSample> = (0..sample_count)
        .map(|i| ProcessSample {
            at_ms: processes[0][i].at_ms,
            sent: processes.iter().map(|s| s[i].sent).sum(),
            completed: processes[0][i].completed,
            rss_bytes: processes.iter().map(|s| s[i].rss_bytes).sum(),
        })
        .collect();

    let mut timeline = Vec::with_capacity(intervals.len());
    let mut previous = ProcessSample {
        at_ms: 0,
        sent: 0,
        completed: 0,
        rss_bytes: None,
    };
    for (i, values) in intervals.iter().enumerate() {
        let start_ms = i as u64 * plan.interval_ms;
        let end_ms = (start_ms + plan.interval_ms).min(plan.total_ms);
        let sample = samples.get(i).copied().unwrap_or(previous);
        let seconds = (end_ms - start_ms).max(1) as f64 / 1e3;
        let sent = sample.sent.saturating_sub(previous.sent);
        let completed = sample.completed.saturating_sub(previous.completed);
        timeline.push(TimelinePoint {
            start_ms,
            end_ms,
            latency: exact_summary(values),
            unfinished: unfinished_intervals[i],
            sent,
            sent_per_s: sent as f64 / seconds,
            completed,
            achieved_per_s: completed as f64 / seconds,
            rss_bytes: sample.rss_bytes,
        });
        previous = sample;
    }

    // Rates over the measured window, from the samples nearest its ends.
    let window = |pick: fn(&ProcessSample) -> u64| {
        let first = samples.iter().rev().find(|s| s.at_ms <= plan.warmup_ms);
        let last = samples
            .iter()
            .rev()
            .find(|s| s.at_ms <= plan.measured_end_ms);
        match (first, last) {
            (first, Some(last)) => {
                let (from_ms, from) = first.map_or((0, 0), |s| (s.at_ms, pick(s)));
                let seconds = last.at_ms.saturating_sub(from_ms).max(1) as f64 / 1e3;
                pick(last).saturating_sub(from) as f64 / seconds
            }
            _ => 0.0,
        }
    };
    let summary = BenchSummary {
        offered_rate: rate,
        sent_rate: window(|s| s.sent),
        achieved_rate: window(|s| s.completed),
        timestamps: histogram.count(),
        unfinished,
        latency: histogram.summary(),
    };
    let verdict = Verdict::of(&summary, plan, &intervals);
    Merged {
        summary,
        verdict,
        histogram: histogram.buckets(),
        timeline,
    }
}

/// Exact percentiles of sorted raw latencies.
pub(crate) fn exact_summary(sorted: &[u64]) -> LatencySummary {
    if sorted.is_empty() {
        return LatencySummary::default();
    }
    LatencySummary {
        count: sorted.len() as u64,
        min_ns: sorted[0],
        mean_ns: sorted.iter().map(|&v| v as f64).sum::<f64>() / sorted.len() as f64,
        p50_ns: exact_quantile(sorted, 0.5),
        p90_ns: exact_quantile(sorted, 0.9),
        p99_ns: exact_quantile(sorted, 0.99),
        p999_ns: exact_quantile(sorted, 0.999),
        max_ns: sorted[sorted.len() - 1],
    }
}

impl BenchResult {
    /// A few lines for the terminal.
    pub fn describe(&self) -> String {
        let s = &self.summary;
        let l = &s.latency;
        let ms = |ns: u64| ns as f64 / 1e6;
        let verdict = if self.verdict.sustainable {
            "sustainable".to_string()
        } else {
            let mut why = Vec::new();
            if !self.verdict.rate_kept {
                why.push("achieved rate below 98% of offered");
            }
            if !self.verdict.no_latency_trend {
                why.push("latency grows over the run");
            }
            if !self.verdict.all_finished {
                why.push("timestamps left unfinished");
            }
            format!("NOT sustainable: {}", why.join(", "))
        };
        format!(
            "{} on {} worker(s), {:.1} s measured: offered {:.0} records/s, sent {:.0}, achieved {:.0} ({verdict})\n\
             latency over {} timestamps: p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.3} ms{}",
            self.config.pipeline,
            self.config.workers,
            self.config.duration_s,
            s.offered_rate,
            s.sent_rate,
            s.achieved_rate,
            s.timestamps,
            ms(l.p50_ns),
            ms(l.p90_ns),
            ms(l.p99_ns),
            ms(l.p999_ns),
            ms(l.max_ns),
            if s.unfinished > 0 {
                format!(
                    "; {} unfinished (counted at their latency so far)",
                    s.unfinished
                )
            } else {
                String::new()
            },
        ) + &self
            .supervision
            .as_ref()
            .map(|s| s.describe())
            .filter(|lines| !lines.is_empty())
            .map_or(String::new(), |lines| format!("\n{lines}"))
            + &self
                .migrations
                .iter()
                .map(|m| format!("\n{}", m.describe()))
                .collect::<String>()
    }
}
