//! The experiment harness: open-loop benchmark runs of any registered pipeline, with latency
//! measured from each input's scheduled instant, HDR histograms merged over workers and
//! processes, a timeline, and result files that `weir plot` renders.
//!
//! A run offers `rate` records per second for `warmup + duration + cooldown`: worker `i`
//! makes records `n ≡ i (mod workers)`, each due `n / rate` seconds after the start and
//! stamped with that scheduled millisecond; it never waits for output. The latency of
//! timestamp `t` is the instant the output probe's frontier passes `t` minus the scheduled
//! instant of `t` (see [`driver`](self) for the details). Only timestamps scheduled in the
//! measured window count in the totals; the timeline covers the whole run.
//!
//! ```no_run
//! use std::time::Duration;
//! use weir::harness::{bench, BenchSpec};
//!
//! let pipeline = weir::pipelines::find("seed-map")?;
//! let spec = BenchSpec::new(pipeline.name, 100_000.0, Duration::from_secs(5));
//! let result = bench(pipeline, &spec)?.expect("one process: this is process 0");
//! println!("{}", result.describe());
//! # anyhow::Ok(())
//! ```

mod attempts;
mod driver;
mod kafka_load;
mod latency;
mod machine;
mod migrations;
mod result;
mod run_result;
mod supervised;
mod sweep;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};

pub use latency::{LatencyHistogram, LatencySummary};
pub use machine::{Build, Machine};
pub use migrations::MigrationMark;
pub use result::{
    BenchConfig, BenchResult, BenchSummary, FaultMark, MarkKind, SnapshotMark, Supervision,
    TimelinePoint, Verdict, KEEP_UP, SCHEMA, TREND_FACTOR, TREND_SLACK_NS,
};
pub use run_result::{
    max_rss_bytes, OutputCheck, PeerRun, RunConfig, RunResult, RunSummary, SnapshotCost, RUN_SCHEMA,
};
pub use supervised::{bench_supervised, Faults};
pub use sweep::{find_max, sweep, SweepResult, SWEEP_SCHEMA};

use crate::identity::LineInput;
use crate::job::JobConfig;
use crate::migration::log::now_us;
use crate::pipelines::Pipeline;
use crate::runtime::{self, RunSpec, SnapshotOptions, Workers};
use crate::sinks::OutputSpec;
use crate::snapshot::RestoreFrom;
use crate::state::KeyGroups;
use crate::time::{EventClock, Time};
use driver::{OpenLoopDriver, RunPlan, WorkerReport};
use migrations::migration_marks;

/// Everything that configures one benchmark run.
#[derive(Clone, Debug)]
pub struct BenchSpec {
    /// The pipeline's parameters (its rate, event rate and count are set by the run).
    pub config: JobConfig,
    /// Who runs it.
    pub workers: Workers,
    /// Offered rate, records per second over all workers.
    pub rate: f64,
    /// The measured window.
    pub duration: Duration,
    /// Run this long before it, unmeasured.
    pub warmup: Duration,
    /// Run this long after it, unmeasured, so that its last timestamps can complete.
    pub cooldown: Duration,
    /// The timeline's interval.
    pub interval: Duration,
    /// Snapshots during the run (never restored from).
    pub snapshots: Option<SnapshotOptions>,
    /// Show a progress bar on standard error (process 0).
    pub progress: bool,
    /// This run is one start of a benchmark under a supervisor ([`bench_supervised`]):
    /// it measures into files rather than returning a result.
    pub attempt: Option<AttemptSpec>,
}

/// One start of a benchmark that a supervisor runs ([`bench_supervised`] starts each
/// process as `weir bench` with hidden flags that say this).
#[derive(Clone, Debug)]
pub struct AttemptSpec {
    /// Where its workers write their measurements as they make them.
    pub timeline_dir: PathBuf,
    /// Which start this is, from 0.
    pub number: usize,
    /// The schedule's start, fixed at the first start for every start.
    pub origin: Instant,
    /// The snapshot to resume from (none at the first start).
    pub restore: Option<RestoreFrom>,
    /// Where process 0 logs its progress for the supervisor.
    pub progress: Option<PathBuf>,
}

impl BenchSpec {
    /// `pipeline` at `rate` for `duration`, one worker, 1 s warm-up, 1 s cool-down,
    /// 250 ms intervals, no snapshots, no progress bar.
    pub fn new(pipeline: &str, rate: f64, duration: Duration) -> Self {
        BenchSpec {
            config: JobConfig::new(pipeline),
            workers: Workers::threads(1),
            rate,
            duration,
            warmup: Duration::from_secs(1),
            cooldown: Duration::from_secs(1),
            interval: Duration::from_millis(250),
            snapshots: None,
            progress: false,
            attempt: None,
        }
    }

    fn plan(&self) -> RunPlan {
        let ms = |d: Duration| d.as_millis() as Time;
        let warmup_ms = ms(self.warmup);
        let measured_end_ms = warmup_ms + ms(self.duration);
        RunPlan {
            clock: EventClock::new(self.rate),
            warmup_ms,
            measured_end_ms,
            total_ms: measured_end_ms + ms(self.cooldown),
            interval_ms: ms(self.interval).max(1),
        }
    }

    /// The job a run of `pipeline` runs: open-ended generated input at the offered rate.
    fn job_config(&self, pipeline: &Pipeline) -> JobConfig {
        let mut config = self.config.clone();
        config.pipeline = pipeline.name.to_string();
        config.rate = Some(self.rate);
        config.event_rate = self.rate;
        config.events = u64::MAX;
        config.duration = None;
        config
    }

    /// The configuration a result records.
    fn bench_config(&self, plan: &RunPlan, job: JobConfig) -> BenchConfig {
        BenchConfig {
            pipeline: job.pipeline.clone(),
            rate: self.rate,
            duration_s: self.duration.as_secs_f64(),
            warmup_s: self.warmup.as_secs_f64(),
            cooldown_s: self.cooldown.as_secs_f64(),
            interval_ms: plan.interval_ms,
            threads: self.workers.threads,
            processes: self.workers.processes(),
            workers: self.workers.total(),
            snapshot_dir: self.snapshots.as_ref().map(|o| o.dir.display().to_string()),
            snapshot_every_ms: self.snapshots.as_ref().map(|o| o.every_ms()),
            job,
        }
    }

    fn check(&self, pipeline: &Pipeline) -> anyhow::Result<()> {
        if !(self.rate.is_finite() && self.rate > 0.0) {
            bail!("--rate must be a positive number of records per second");
        }
        if self.duration.as_millis() < 1 {
            bail!("--duration must be at least 1ms");
        }
        if self.interval.as_millis() < 1 {
            bail!("--interval must be at least 1ms");
        }
        if let Some(options) = self.snapshots.as_ref().filter(|_| self.attempt.is_none()) {
            let used =
                std::fs::read_dir(&options.dir).is_ok_and(|mut entries| entries.next().is_some());
            if used {
                bail!(
                    "weir bench snapshots into an empty directory, and {} is not empty",
                    options.dir.display()
                );
            }
        }
        match &self.config.input {
            None => {}
            Some(LineInput::Kafka(_)) if pipeline.name.starts_with("nexmark-") => {}
            Some(_) => bail!(
                "weir bench offers generated input at a scheduled rate, or NEXMark events produced to a Kafka topic at it; {} cannot be benchmarked on --input {}",
                pipeline.name,
                self.config.input.as_ref().map(LineInput::describe).unwrap_or_default()
            ),
        }
        Ok(())
    }
}

/// How long before a Kafka-fed benchmark's schedule starts its producer is made and its
/// workers connect.
const KAFKA_SCHEDULE_DELAY: Duration = Duration::from_millis(500);

/// Runs `pipeline` open-loop as `spec` says. Returns the merged result on process 0 and
/// `None` on the others.
pub fn bench(pipeline: &'static Pipeline, spec: &BenchSpec) -> anyhow::Result<Option<BenchResult>> {
    spec.check(pipeline)?;
    let plan = spec.plan();
    let started_at = now_rfc3339();
    let config = spec.job_config(pipeline);

    let attempt = spec.attempt.as_ref();
    let progress = (spec.progress && attempt.is_none() && spec.workers.process() == 0).then(|| {
        let bar = ProgressBar::new(plan.total_ms);
        let style = ProgressStyle::with_template(
            "{msg} [{bar:40}] {elapsed_precise} of {len} ms scheduled",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style.progress_chars("=> "));
        bar.set_message(format!("{} at {:.0} records/s", pipeline.name, spec.rate));
        bar
    });
    // A job that snapshots publishes its output; it goes beside the snapshots, into a
    // directory of segments, the sink that writes each byte once.
    let output = match &spec.snapshots {
        Some(options) => OutputSpec::Directory(options.dir.join("bench-output")),
        None => OutputSpec::Discard,
    };
    let snapshots = spec.snapshots.clone().map(|mut options| {
        options.restore = attempt.and_then(|a| a.restore);
        options
    });
    // From a Kafka topic, the offered load is NEXMark events produced to it on the
    // schedule (event time = time since the schedule's start): latency includes the
    // brokers' round trip.
    let mut schedule_origin = attempt.map(|a| a.origin);
    let producer = match (&config.input, spec.workers.process()) {
        (Some(LineInput::Kafka(uri)), 0) => {
            let origin = Instant::now() + KAFKA_SCHEDULE_DELAY;
            schedule_origin = Some(origin);
            Some(kafka_load::start(
                uri.clone(),
                config.seed,
                spec.rate,
                origin,
                plan.total_ms,
            )?)
        }
        _ => None,
    };
    let driver = Arc::new(OpenLoopDriver {
        plan: plan.clone(),
        progress,
        log: attempt.map(|a| (a.timeline_dir.clone(), a.number)),
    });
    let report = runtime::run(
        pipeline,
        RunSpec {
            config: config.clone(),
            workers: spec.workers.clone(),
            output,
            snapshots,
            verbose: true,
            driver: Some(driver),
            progress: attempt.and_then(|a| a.progress.clone()),
            schedule_origin,
        },
    )?;
    if let Some(producer) = producer {
        producer.finish()?;
    }
    if report.gathered.is_empty() || attempt.is_some() {
        return Ok(None);
    }
    let reports = report
        .gathered
        .iter()
        .map(|r| serde_json::from_str::<WorkerReport>(r))
        .collect::<Result<Vec<_>, _>>()
        .context("a worker's measurements could not be read")?;
    let merged = result::merge(&plan, spec.rate, &reports);
    let start = report.started.unwrap_or_else(Instant::now);
    let since = |at: Instant| at.saturating_duration_since(start).as_secs_f64() * 1e3;
    let mut snapshots: Vec<SnapshotMark> = report
        .capture_starts
        .iter()
        .map(|&(epoch, at)| SnapshotMark {
            epoch,
            started_ms: Some(since(at)),
            completed_ms: None,
        })
        .collect();
    for &(epoch, at) in &report.commits {
        match snapshots.iter_mut().find(|mark| mark.epoch == epoch) {
            Some(mark) => mark.completed_ms = Some(since(at)),
            None => snapshots.push(SnapshotMark {
                epoch,
                started_ms: None,
                completed_ms: Some(since(at)),
            }),
        }
    }
    snapshots.sort_by_key(|mark| mark.epoch);
    let origin_us = now_us().saturating_sub(start.elapsed().as_micros() as u64);
    let migrations = config
        .migration
        .as_ref()
        .map_or_else(Vec::new, |migration| {
            let shape = (KeyGroups::new(config.key_groups), spec.workers.total());
            migration_marks(migration, shape, &plan, &reports, origin_us)
        });
    Ok(Some(BenchResult {
        schema: SCHEMA.to_string(),
        build: Build::this(),
        machine: Machine::this(),
        started_at,
        config: spec.bench_config(&plan, config),
        summary: merged.summary,
        verdict: merged.verdict,
        histogram: merged.histogram,
        timeline: merged.timeline,
        snapshots,
        supervision: None,
        migrations,
    }))
}

/// Now, RFC 3339 to the second, UTC: when a result file says its run started.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}
