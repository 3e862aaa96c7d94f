//! The open-loop driver: what each worker measures while a benchmark runs.
//!
//! The sources follow their own schedule (record `n` due `n / rate` after the start, made by
//! worker `n % workers`, stamped with its scheduled millisecond) and never wait for output.
//! Between steps, every worker looks at its output probe: when the frontier passes a
//! millisecond `t`, that timestamp is complete, and its latency is now minus the scheduled
//! instant of `t` — not the instant its records were actually sent, so a source that falls
//! behind its schedule shows as latency (no coordinated omission). At the end, timestamps
//! that were due but are not complete are counted as unfinished and recorded with the
//! latency they have reached, a lower bound, rather than dropped.
//!
//! The end: at `warmup + duration + cooldown` the sources stop. Timestamps whose records
//! were all sent by then (the input probe says which) are waited for and measured in full;
//! the others — records a source had not yet sent, because it had fallen behind its
//! schedule — are the unfinished ones.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};

use crate::control::Counters;
use crate::harness::attempts::{AttemptWriter, Entry};
use crate::harness::LatencyHistogram;
use crate::migration::StepTimes;
use crate::runtime::{DrivenWorker, WorkerDriver};
use crate::time::{EventClock, Time};

/// The schedule of one benchmark run, the same on every worker.
#[derive(Clone, Debug)]
pub(crate) struct RunPlan {
    /// Record `n` is scheduled at `clock.time_of(n)` ms after the start.
    pub clock: EventClock,
    /// Timestamps before this are warm-up: on the timeline, not in the totals.
    pub warmup_ms: Time,
    /// Timestamps from this on are cool-down.
    pub measured_end_ms: Time,
    /// The run ends here; nothing is scheduled from here on.
    pub total_ms: Time,
    /// The timeline's interval.
    pub interval_ms: Time,
}

impl RunPlan {
    /// Whether any record is scheduled in millisecond `t`.
    fn has_records(&self, t: Time) -> bool {
        self.clock.time_of(self.clock.first_record_at(t)) == t
    }

    pub(crate) fn measured(&self, t: Time) -> bool {
        (self.warmup_ms..self.measured_end_ms).contains(&t)
    }

    /// Timeline intervals over the whole run.
    pub(crate) fn intervals(&self) -> usize {
        self.total_ms.div_ceil(self.interval_ms) as usize
    }
}

/// What one worker saw, sent to worker 0 to be merged.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct WorkerReport {
    /// Latencies of measured timestamps, as histogram buckets.
    pub histogram: Vec<(u64, u64)>,
    /// Measured timestamps not complete when the run ended.
    pub unfinished: u64,
    /// Latencies in ns of every completed timestamp, by the timeline interval it was
    /// scheduled in.
    pub intervals: Vec<Vec<u64>>,
    /// Unfinished timestamps per timeline interval.
    pub unfinished_intervals: Vec<u64>,
    /// The process's samples, from its first worker only.
    pub samples: Vec<ProcessSample>,
    /// When the process's workers handed over and took in each change of the routing
    /// table (live migrations), from its first worker only.
    #[serde(default)]
    pub migration_steps: Vec<StepTimes>,
}

/// One process's state at the end of a timeline interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct ProcessSample {
    /// Milliseconds since the start.
    pub at_ms: u64,
    /// Records this process's sources have sent so far.
    pub sent: u64,
    /// Records of all workers whose timestamps are complete so far.
    pub completed: u64,
    /// Resident memory of this process, when the platform says.
    pub rss_bytes: Option<u64>,
}

/// Measures latency on every worker of a benchmark run.
pub(crate) struct OpenLoopDriver {
    pub plan: RunPlan,
    /// Advanced by worker 0 of process 0.
    pub progress: Option<ProgressBar>,
    /// Under a supervisor: where each worker also writes its measurements as it makes
    /// them, and which start this is.
    pub log: Option<(PathBuf, usize)>,
}

impl WorkerDriver for OpenLoopDriver {
    fn drive(&self, worker: &mut DrivenWorker<'_>) -> String {
        let mut log = match &self.log {
            Some((dir, attempt)) => match AttemptWriter::create(dir, *attempt, worker.index) {
                Ok(writer) => Some(writer),
                Err(error) => {
                    worker.control.fail(error);
                    return String::new();
                }
            },
            None => None,
        };
        let mut measure = Measurements::new(&self.plan, worker.control.started());
        let result = self.measure(worker, &mut measure, &mut log);
        if let Some(bar) = self.progress.as_ref().filter(|_| worker.index == 0) {
            bar.finish_and_clear();
        }
        if let Err(error) = result {
            worker.control.fail(error);
        }
        measure.report.histogram = measure.histogram.buckets();
        if worker.local_index == 0 {
            measure.report.migration_steps = worker.migration.steps();
        }
        serde_json::to_string(&measure.report).unwrap_or_default()
    }
}

/// What one worker has measured so far.
struct Measurements<'a> {
    plan: &'a RunPlan,
    start: Instant,
    histogram: LatencyHistogram,
    report: WorkerReport,
}

impl<'a> Measurements<'a> {
    fn new(plan: &'a RunPlan, start: Instant) -> Self {
        Measurements {
            plan,
            start,
            histogram: LatencyHistogram::new(),
            report: WorkerReport {
                intervals: vec![Vec::new(); plan.intervals()],
                unfinished_intervals: vec![0; plan.intervals()],
                ..WorkerReport::default()
            },
        }
    }

    fn at(&self, ms: Time) -> Instant {
        self.start + Duration::from_millis(ms)
    }

    /// Records timestamp `t` as complete at `now`, or as unfinished then.
    fn record(
        &mut self,
        t: Time,
        now: Instant,
        finished: bool,
        log: &mut Option<AttemptWriter>,
    ) -> anyhow::Result<()> {
        let plan = self.plan;
        if !plan.has_records(t) {
            return Ok(());
        }
        let latency = now.saturating_duration_since(self.at(t));
        let ns = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        let interval = (t / plan.interval_ms) as usize;
        if finished {
            self.report.intervals[interval].push(ns);
        } else {
            self.report.unfinished_intervals[interval] += 1;
        }
        if plan.measured(t) {
            self.histogram.record_nanos(ns);
            self.report.unfinished += u64::from(!finished);
        }
        if let Some(log) = log {
            log.push(&match finished {
                true => Entry::Done { t, ns },
                false => Entry::Unfinished { t, ns },
            })?;
        }
        Ok(())
    }

    fn sample(
        &mut self,
        sample: ProcessSample,
        log: &mut Option<AttemptWriter>,
    ) -> anyhow::Result<()> {
        self.report.samples.push(sample);
        match log {
            Some(log) => log.push(&Entry::Sample(sample)),
            None => Ok(()),
        }
    }
}

impl OpenLoopDriver {
    fn measure(
        &self,
        worker: &mut DrivenWorker<'_>,
        measure: &mut Measurements<'_>,
        log: &mut Option<AttemptWriter>,
    ) -> anyhow::Result<()> {
        let plan = &self.plan;
        let start = measure.start;
        let end = measure.at(plan.total_ms);
        let interval = Duration::from_millis(plan.interval_ms);
        let sampling = worker.local_index == 0;
        let progress = self.progress.as_ref().filter(|_| worker.index == 0);
        let frontier_of = |probe: &timely::dataflow::ProbeHandle<Time>| {
            probe
                .with_frontier(|frontier| frontier.first().copied())
                .unwrap_or(Time::MAX)
                .min(plan.total_ms)
        };
        // The first timestamp not yet complete: a start that resumed from a snapshot has
        // the times before it complete already.
        let mut next = worker.restored.unwrap_or(0).min(plan.total_ms);
        // The first interval's end still to come (later than the schedule's start when
        // this start resumed a job already running).
        let intervals_past =
            Instant::now().saturating_duration_since(start).as_millis() as u64 / plan.interval_ms;
        let mut next_sample = start + interval * (intervals_past as u32 + 1);
        loop {
            let wake = if sampling { next_sample.min(end) } else { end };
            let alive = worker.step_or_park(Some(wake.saturating_duration_since(Instant::now())));
            let now = Instant::now();
            // The job failed, ended early, or was stopped at a savepoint: nothing more
            // completes (its sources have ended, so its frontier says nothing).
            if !alive || (worker.control.should_stop() && now < end) {
                break;
            }
            let passed = frontier_of(&worker.probe);
            while next < passed {
                measure.record(next, now, true, log)?;
                next += 1;
            }
            if sampling {
                while now >= next_sample && next_sample <= end {
                    measure.sample(
                        ProcessSample {
                            at_ms: next_sample.duration_since(start).as_millis() as u64,
                            sent: Counters::get(&worker.control.counters().records_in),
                            completed: plan.clock.first_record_at(passed),
                            rss_bytes: resident_bytes(),
                        },
                        log,
                    )?;
                    next_sample += interval;
                }
                if let Some(bar) = progress {
                    bar.set_position(now.saturating_duration_since(start).as_millis() as u64);
                }
            }
            if let Some(log) = log {
                log.flush()?;
            }
            if now >= end {
                let sent = frontier_of(&worker.input_probe);
                worker.control.stop();
                // What was sent completes; wait for it and measure it in full.
                while next < sent {
                    let alive = worker.step_or_park(Some(Duration::from_millis(1)));
                    let now = Instant::now();
                    let passed = frontier_of(&worker.probe).min(sent);
                    while next < passed {
                        measure.record(next, now, true, log)?;
                        next += 1;
                    }
                    if !alive {
                        break;
                    }
                }
                let now = Instant::now();
                while next < plan.total_ms {
                    measure.record(next, now, false, log)?;
                    next += 1;
                }
                if let Some(log) = log {
                    log.flush()?;
                }
                break;
            }
        }
        Ok(())
    }
}

/// This process's resident memory in bytes (Linux; `None` elsewhere).
pub(crate) fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
