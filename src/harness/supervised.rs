//! A benchmark through failures and rescales: the job runs under the supervisor of
//! `weir cluster`, which kills processes and rescales the job on a plan, while the open-loop
//! schedule goes on as if nothing happened (input keeps arriving while the job is down). The
//! latency timeline then shows what a failure or a rescale costs, with their instants
//! marked from the supervisor's events.
//!
//! Each start of the job is a `weir bench` process started by the supervisor with hidden
//! flags: the schedule's fixed start (`--schedule-origin-us`), and where to write what it
//! measures (`--timeline-dir`; see `attempts`). When the job has ended, this process
//! merges the starts' measurements into one [`BenchResult`].

use std::path::PathBuf;
use std::sync::mpsc::Receiver;

use anyhow::{bail, Context};

use crate::harness::attempts::{self, merge_logs, read_logs};
use crate::harness::machine::{Build, Machine};
use crate::harness::result::{self, BenchResult, Supervision, SCHEMA};
use crate::harness::{now_rfc3339, BenchSpec};
use crate::lifecycle::signals::Asked;
use crate::lifecycle::unix_micros;
use crate::pipelines::Pipeline;
use crate::runtime::{Shape, Workers};
use crate::supervisor::{
    self, ClusterConfig, JobCommand, Placement, PlannedKill, PlannedRescale, RestartPolicy,
};

/// The failures and rescales to put a benchmark through, and how to run its processes.
#[derive(Clone, Debug)]
pub struct Faults {
    /// The `weir` executable that runs each process.
    pub binary: PathBuf,
    /// The job's first shape.
    pub shape: Shape,
    /// Processes to kill, and when.
    pub kills: Vec<PlannedKill>,
    /// Rescales, and when.
    pub rescales: Vec<PlannedRescale>,
    /// When to restart and when to give up.
    pub policy: RestartPolicy,
    /// Where to write the supervisor's events as JSON lines, too.
    pub events_log: Option<PathBuf>,
}

/// Runs `pipeline` open-loop as `spec` says, under a supervisor that applies `faults`.
/// `start_args` is the command line of one start without the layout flags, `bench
/// PIPELINE FLAGS...`, which the supervisor completes (`-n`, `-p`, `-h`, `-w`,
/// `--restore`). `asked` passes signals on to the supervisor.
pub fn bench_supervised(
    pipeline: &'static Pipeline,
    spec: &BenchSpec,
    faults: &Faults,
    start_args: &[String],
    asked: &Receiver<Asked>,
) -> anyhow::Result<BenchResult> {
    spec.check(pipeline)?;
    let Some(snapshots) = &spec.snapshots else {
        bail!(
            "--kill-at and --rescale-at need --snapshot-dir: the job restarts from its snapshots"
        );
    };
    if spec.attempt.is_some() || spec.workers.processes() > 1 {
        bail!("a supervised benchmark starts its processes itself: give -n and -w, not -p or -h");
    }
    let plan = spec.plan();
    let started_at = now_rfc3339();
    let timeline_dir = snapshots.dir.join(attempts::DIR_NAME);
    // The schedule starts now for every start; the supervisor's plan counts from here too.
    let origin_us = unix_micros();
    let mut args = start_args.to_vec();
    args.extend([
        "--schedule-origin-us".to_string(),
        origin_us.to_string(),
        "--timeline-dir".to_string(),
        timeline_dir.display().to_string(),
        "--quiet".to_string(),
    ]);
    let config = ClusterConfig {
        binary: faults.binary.clone(),
        job: JobCommand::bench(&args)?,
        shape: faults.shape,
        placement: Placement::Local,
        policy: faults.policy,
        rescales: faults.rescales.clone(),
        kills: faults.kills.clone(),
        events_log: faults.events_log.clone(),
    };
    let report = supervisor::supervise(&config, asked)?;
    let logs = read_logs(&timeline_dir).context("cannot read the measurements of the job")?;
    if logs.is_empty() {
        bail!(
            "no start of the job measured anything into {}",
            timeline_dir.display()
        );
    }
    let merged = result::merge(&plan, spec.rate, &[merge_logs(&plan, &logs)]);
    let first_shape = BenchSpec {
        workers: Workers::threads(faults.shape.workers),
        ..spec.clone()
    };
    let mut config = first_shape.bench_config(&plan, spec.job_config(pipeline));
    config.processes = faults.shape.processes;
    config.workers = faults.shape.processes * faults.shape.workers;
    Ok(BenchResult {
        schema: SCHEMA.to_string(),
        build: Build::this(),
        machine: Machine::this(),
        started_at,
        config,
        summary: merged.summary,
        verdict: merged.verdict,
        histogram: merged.histogram,
        timeline: merged.timeline,
        snapshots: Vec::new(),
        supervision: Some(Supervision {
            origin_us,
            events: report.events,
        }),
        // The attempts' logs carry latencies, not the migrations' times.
        migrations: Vec::new(),
    })
}
