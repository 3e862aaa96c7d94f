//! `weir cluster`: a supervisor that keeps a job running through failures and rescales it.
//!
//! It starts the processes of one job (all on this machine on free loopback ports, or one
//! process of a host file per supervisor, one supervisor per host), watches them, and when
//! any process dies — a crash, `kill -9`, a lost peer — stops the others and starts the job
//! again from its newest complete snapshot (`--restore latest`). A restart right after
//! progress is immediate; further restarts without a snapshot committed in between back off
//! exponentially, and after `max_restarts` of them it gives up with an error.
//!
//! A rescale is a stop with a savepoint (`lifecycle`), then a start on the new shape from
//! that savepoint, planned (`--rescale-at 20s:2x1`) or asked for (`weir rescale DIR`).
//! Process 0 of each start logs its progress (`lifecycle::ProgressEvent`) to a file the
//! supervisor reads, which times every recovery and rescale phase by phase
//! ([`RecoveryTimes`], [`RescaleTimes`]).
//!
//! The decisions are pure functions in `policy`; this module only runs processes.

mod events;
mod policy;

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

pub use events::{ClusterEvent, RecoveryTimes, RescaleTimes};
pub use policy::{parse_rescales, JobCommand, PlannedRescale, RestartPolicy};

use crate::lifecycle::signals::Asked;
use crate::lifecycle::{
    unix_micros, Answer, ControlDirectory, ProgressEvent, ProgressReader, Request, RequestKind,
};
use crate::runtime::{free_loopback_hosts, write_hostfile, Shape};
use crate::time::Time;
use events::{millis_between, EventsLog};

/// How often the supervisor looks at its processes and their progress.
const POLL: Duration = Duration::from_millis(1);

/// Where the processes of the job run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Every process on this machine, on loopback ports free at each start.
    Local,
    /// The processes of a host file (shared snapshot storage); this supervisor runs only
    /// `process`, and other hosts run their own supervisors for theirs.
    HostFile {
        /// The host file.
        path: PathBuf,
        /// Its `host:port` entries.
        hosts: Vec<String>,
        /// The process this supervisor runs.
        process: usize,
    },
}

/// What a supervisor runs and how.
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// The `weir` executable.
    pub binary: PathBuf,
    /// The job.
    pub job: JobCommand,
    /// Processes and workers per process of the first start.
    pub shape: Shape,
    /// Where the processes run.
    pub placement: Placement,
    /// When to restart and when to give up.
    pub policy: RestartPolicy,
    /// Planned rescales.
    pub rescales: Vec<PlannedRescale>,
    /// Where to write every event as a JSON line.
    pub events_log: Option<PathBuf>,
}

/// What a supervised job did.
#[derive(Clone, Debug, Default)]
pub struct ClusterReport {
    /// Every event, in order.
    pub events: Vec<ClusterEvent>,
    /// Restarts after failures.
    pub restarts: usize,
    /// The savepoint the job stopped after, when it was stopped rather than finished.
    pub stopped_at: Option<Time>,
}

impl ClusterReport {
    /// The recoveries, in order.
    pub fn recoveries(&self) -> impl Iterator<Item = &RecoveryTimes> {
        self.events.iter().filter_map(|e| match e {
            ClusterEvent::Recovered(r) => Some(r),
            _ => None,
        })
    }

    /// The rescales, in order.
    pub fn rescales(&self) -> impl Iterator<Item = &RescaleTimes> {
        self.events.iter().filter_map(|e| match e {
            ClusterEvent::Rescaled(r) => Some(r),
            _ => None,
        })
    }
}

/// Why the supervisor stops the job it runs.
#[derive(Clone, Debug)]
enum Stopping {
    /// To restart it on `shape` (answering `request`, if `weir rescale` asked).
    Rescale {
        shape: Shape,
        request: Option<Request>,
    },
    /// For good (SIGTERM).
    ForGood,
}

/// How one start ended.
enum Outcome {
    /// Every process exited successfully.
    Exited,
    /// `process` failed as `status` says.
    Failed { process: usize, status: String },
}

/// A recovery or rescale being timed until results flow again.
#[derive(Debug)]
enum Timing {
    Recovery(RecoveryTimes),
    Rescale(RescaleTimes, Option<Request>),
}

/// Runs `config`'s job to its end (or its stop), restarting and rescaling it. `asked`
/// delivers signals to the supervisor (SIGUSR1: a savepoint; SIGTERM: stop with one).
pub fn supervise(config: &ClusterConfig, asked: &Receiver<Asked>) -> anyhow::Result<ClusterReport> {
    let control = ControlDirectory::of(&config.job.snapshot_dir);
    std::fs::create_dir_all(control.path())
        .with_context(|| format!("cannot create {}", control.path().display()))?;
    if let Placement::HostFile { hosts, process, .. } = &config.placement {
        check_ports_free(hosts, *process)?;
    }
    control.mark_supervisor()?;
    let result = Supervisor {
        config,
        control: control.clone(),
        asked,
        log: EventsLog::create(config.events_log.as_deref())?,
        began: Instant::now(),
        planned: 0,
        restarts: 0,
    }
    .run();
    control.clear_supervisor();
    result
}

struct Supervisor<'a> {
    config: &'a ClusterConfig,
    control: ControlDirectory,
    asked: &'a Receiver<Asked>,
    log: EventsLog,
    began: Instant,
    /// Planned rescales done so far.
    planned: usize,
    restarts: usize,
}

impl Supervisor<'_> {
    fn run(mut self) -> anyhow::Result<ClusterReport> {
        let mut shape = self.config.shape;
        let mut restore = self.config.job.first_restore.clone();
        let mut timing: Option<Timing> = None;
        let mut failures_in_a_row = 0;
        let mut stop_for_good = false;
        for attempt in 0.. {
            let progress_path = self
                .control
                .path()
                .join(format!("progress-{attempt}.jsonl"));
            let _ = std::fs::remove_file(&progress_path);
            let mut children = self.start(attempt, shape, restore.as_deref(), &progress_path)?;
            let spawned_at = unix_micros();
            let mut progress = ProgressReader::new(&progress_path);
            let mut stopping = stop_for_good.then_some(Stopping::ForGood);
            if stop_for_good {
                self.control.request_without_reply(RequestKind::Stop)?;
            }
            let mut progressed = false;
            let mut started_at = None;
            let outcome = loop {
                for event in progress.poll() {
                    self.on_progress(
                        event,
                        &mut timing,
                        &mut started_at,
                        &mut progressed,
                        spawned_at,
                        shape,
                    )?;
                }
                if let Some(outcome) = poll_children(&mut children, &self.placement_indices(shape))?
                {
                    // Events written just before the end still count.
                    for event in progress.poll() {
                        self.on_progress(
                            event,
                            &mut timing,
                            &mut started_at,
                            &mut progressed,
                            spawned_at,
                            shape,
                        )?;
                    }
                    break outcome;
                }
                if stopping.is_none()
                    && let Some(next) = self.next_rescale()?
                {
                    self.control.request_without_reply(RequestKind::Stop)?;
                    timing = Some(Timing::Rescale(
                        RescaleTimes {
                            from: shape.to_string(),
                            to: next.0.to_string(),
                            requested_at_us: unix_micros(),
                            ..RescaleTimes::default()
                        },
                        next.1.clone(),
                    ));
                    stopping = Some(Stopping::Rescale {
                        shape: next.0,
                        request: next.1,
                    });
                }
                while let Ok(signal) = self.asked.try_recv() {
                    match signal {
                        Asked::Savepoint => {
                            self.control.request_without_reply(RequestKind::Savepoint)?;
                        }
                        Asked::Stop => {
                            self.control.request_without_reply(RequestKind::Stop)?;
                            stop_for_good = true;
                            stopping = Some(Stopping::ForGood);
                        }
                    }
                }
                std::thread::sleep(POLL);
            };
            let _ = std::fs::remove_file(&progress_path);
            match outcome {
                Outcome::Exited => {
                    let stopped = self.control.stopped();
                    match (stopping, stopped) {
                        (Some(Stopping::Rescale { shape: next, .. }), Some(epoch)) => {
                            if let Some(Timing::Rescale(times, _)) = &mut timing {
                                times.savepoint = Some(epoch);
                                let exited = unix_micros();
                                times.drain_ms = times
                                    .savepoint_ms
                                    .map(|_| millis_between(self.savepoint_at(times), exited));
                            }
                            shape = next;
                            restore = Some(epoch.to_string());
                            continue;
                        }
                        (_, Some(epoch)) => {
                            self.log.record(ClusterEvent::Stopped {
                                epoch,
                                at_us: unix_micros(),
                            });
                            return Ok(self.report(Some(epoch)));
                        }
                        (stopping, None) => {
                            if let Some(Stopping::Rescale {
                                request: Some(request),
                                ..
                            }) = stopping
                            {
                                self.control.reply(
                                    &request,
                                    &Answer {
                                        error: Some("the job finished before it could stop".into()),
                                        ..Answer::default()
                                    },
                                )?;
                            }
                            self.log.record(ClusterEvent::Finished {
                                restarts: self.restarts,
                                at_us: unix_micros(),
                            });
                            return Ok(self.report(None));
                        }
                    }
                }
                Outcome::Failed { process, status } => {
                    let failed_at = unix_micros();
                    for child in children.iter_mut() {
                        let _ = child.kill();
                    }
                    for child in children.iter_mut() {
                        let _ = child.wait();
                    }
                    let stopped_at = unix_micros();
                    self.log.record(ClusterEvent::Failure {
                        attempt,
                        process,
                        status: status.clone(),
                        at_us: failed_at,
                    });
                    failures_in_a_row = if progressed { 1 } else { failures_in_a_row + 1 };
                    let Some(wait) = self.config.policy.after_failure(failures_in_a_row) else {
                        let reason = format!(
                            "{} restart(s) in a row made no progress (no snapshot committed); the last failure: process {process} {status}",
                            failures_in_a_row - 1
                        );
                        self.log.record(ClusterEvent::GaveUp {
                            restarts: self.restarts,
                            reason: reason.clone(),
                            at_us: unix_micros(),
                        });
                        bail!("weir cluster gave up: {reason}");
                    };
                    std::thread::sleep(wait);
                    if let Some(Stopping::Rescale {
                        shape: next,
                        request,
                    }) = stopping
                    {
                        // The rescale goes on from the newest snapshot instead.
                        shape = next;
                        if let Some(request) = request {
                            self.control.reply(
                                &request,
                                &Answer {
                                    error: Some(format!(
                                        "process {process} {status} during the rescale; the job restarts on {next} from its newest snapshot"
                                    )),
                                    ..Answer::default()
                                },
                            )?;
                        }
                    }
                    timing = Some(Timing::Recovery(RecoveryTimes {
                        cause: format!("process {process} {status}"),
                        failed_at_us: failed_at,
                        stop_ms: millis_between(failed_at, stopped_at),
                        backoff_ms: wait.as_secs_f64() * 1e3,
                        ..RecoveryTimes::default()
                    }));
                    restore = Some("latest".to_string());
                    self.restarts += 1;
                }
            }
        }
        unreachable!("the attempts never run out")
    }

    /// The instant of a rescale's savepoint, from its request and how long it took.
    fn savepoint_at(&self, times: &RescaleTimes) -> u64 {
        times.requested_at_us + (times.savepoint_ms.unwrap_or(0.0) * 1e3) as u64
    }

    fn report(&mut self, stopped_at: Option<Time>) -> ClusterReport {
        ClusterReport {
            events: std::mem::take(&mut self.log.events),
            restarts: self.restarts,
            stopped_at,
        }
    }

    /// The process indices this supervisor runs on `shape`.
    fn placement_indices(&self, shape: Shape) -> Vec<usize> {
        match &self.config.placement {
            Placement::Local => (0..shape.processes).collect(),
            Placement::HostFile { process, .. } => vec![*process],
        }
    }

    /// A rescale due now: the next planned one, or one asked for with `weir rescale`.
    fn next_rescale(&mut self) -> anyhow::Result<Option<(Shape, Option<Request>)>> {
        if let Some(planned) = self.config.rescales.get(self.planned)
            && self.began.elapsed() >= planned.after
        {
            self.planned += 1;
            return Ok(Some((planned.shape, None)));
        }
        let mut requests = self.control.take_requests(false)?.into_iter();
        let Some(request) = requests.next() else {
            return Ok(None);
        };
        for extra in requests {
            self.control.reply(
                &extra,
                &Answer {
                    error: Some("another rescale was asked for at the same time".into()),
                    ..Answer::default()
                },
            )?;
        }
        match request.kind {
            RequestKind::Rescale { processes, workers } => {
                if matches!(self.config.placement, Placement::HostFile { .. }) && processes != 1 {
                    self.control.reply(
                        &request,
                        &Answer {
                            error: Some("a supervisor of one process of a host file cannot rescale; restart the job with a new host file".into()),
                            ..Answer::default()
                        },
                    )?;
                    return Ok(None);
                }
                Ok(Some((Shape { processes, workers }, Some(request))))
            }
            _ => Ok(None),
        }
    }

    /// Notes one progress event of the start spawned at `spawned_at`.
    fn on_progress(
        &mut self,
        event: ProgressEvent,
        timing: &mut Option<Timing>,
        started_at: &mut Option<u64>,
        progressed: &mut bool,
        spawned_at: u64,
        shape: Shape,
    ) -> anyhow::Result<()> {
        match event {
            ProgressEvent::Started { at_us, restored } => {
                *started_at = Some(at_us);
                match timing {
                    Some(Timing::Recovery(times)) => {
                        times.restart_ms = Some(millis_between(spawned_at, at_us));
                        times.restored = restored;
                    }
                    Some(Timing::Rescale(times, _)) if times.to == shape.to_string() => {
                        times.restart_ms = Some(millis_between(spawned_at, at_us));
                    }
                    _ => {}
                }
            }
            ProgressEvent::Output { at_us, .. } => match timing.take() {
                Some(Timing::Recovery(mut times)) => {
                    times.restore_ms = started_at.map(|s| millis_between(s, at_us));
                    times.total_ms = Some(millis_between(times.failed_at_us, at_us));
                    self.log.record(ClusterEvent::Recovered(times));
                }
                Some(Timing::Rescale(mut times, request)) if times.to == shape.to_string() => {
                    times.restore_ms = started_at.map(|s| millis_between(s, at_us));
                    let savepoint_at = self.savepoint_at(&times);
                    times.downtime_ms = times
                        .savepoint_ms
                        .map(|_| millis_between(savepoint_at, at_us));
                    if let Some(request) = &request {
                        self.control.reply(
                            request,
                            &Answer {
                                epoch: times.savepoint,
                                ..Answer::default()
                            },
                        )?;
                    }
                    self.log.record(ClusterEvent::Rescaled(times));
                }
                other => *timing = other,
            },
            ProgressEvent::Committed {
                epoch,
                savepoint,
                at_us,
            } => {
                *progressed = true;
                let rescaling =
                    matches!(timing, Some(Timing::Rescale(t, _)) if t.savepoint_ms.is_none());
                if savepoint && !rescaling {
                    self.log.record(ClusterEvent::Savepoint { epoch, at_us });
                }
            }
            ProgressEvent::Stopped { epoch, at_us } => {
                if let Some(Timing::Rescale(times, _)) = timing {
                    times.savepoint = Some(epoch);
                    times.savepoint_ms = Some(millis_between(times.requested_at_us, at_us));
                }
            }
        }
        Ok(())
    }

    /// Starts the processes of one start of the job.
    fn start(
        &mut self,
        attempt: usize,
        shape: Shape,
        restore: Option<&str>,
        progress: &Path,
    ) -> anyhow::Result<Vec<Child>> {
        let (hostfile, indices) = match &self.config.placement {
            Placement::Local => {
                let path = self.control.path().join("hosts.txt");
                if shape.processes > 1 {
                    write_hostfile(&path, &free_loopback_hosts(shape.processes)?)?;
                }
                (path, (0..shape.processes).collect::<Vec<_>>())
            }
            Placement::HostFile { path, process, .. } => (path.clone(), vec![*process]),
        };
        let mut children = Vec::new();
        for &process in &indices {
            let mut command = Command::new(&self.config.binary);
            command
                .args(&self.config.job.args)
                .args(["-w", &shape.workers.to_string()]);
            if shape.processes > 1 {
                command
                    .args([
                        "-n",
                        &shape.processes.to_string(),
                        "-p",
                        &process.to_string(),
                    ])
                    .arg("-h")
                    .arg(&hostfile);
            }
            if process == 0 {
                command.arg("--progress-log").arg(progress);
            }
            if let Some(restore) = restore {
                command.args(["--restore", restore]);
            }
            let child = command
                .env("WEIR_SUPERVISED", "1")
                .stdin(Stdio::null())
                .spawn()
                .with_context(|| format!("cannot start {}", self.config.binary.display()));
            match child {
                Ok(child) => children.push(child),
                Err(error) => {
                    for child in children.iter_mut() {
                        let _ = child.kill();
                        let _ = child.wait();
                    }
                    return Err(error);
                }
            }
        }
        self.log.record(ClusterEvent::Start {
            attempt,
            shape: shape.to_string(),
            pids: children.iter().map(Child::id).collect(),
            restore: restore.map(str::to_string),
            at_us: unix_micros(),
        });
        Ok(children)
    }
}

/// Looks at every child once: the first failure, or `Exited` once all have succeeded.
fn poll_children(children: &mut [Child], indices: &[usize]) -> anyhow::Result<Option<Outcome>> {
    let mut running = false;
    for (child, &process) in children.iter_mut().zip(indices) {
        match child
            .try_wait()
            .context("cannot wait for a process of the job")?
        {
            None => running = true,
            Some(status) if status.success() => {}
            Some(status) => {
                return Ok(Some(Outcome::Failed {
                    process,
                    status: describe(status),
                }));
            }
        }
    }
    Ok((!running).then_some(Outcome::Exited))
}

/// How a process ended, in words.
fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        _ => "ended".to_string(),
    }
}

/// Checks that the ports of the host file that this host's process listens on are free.
fn check_ports_free(hosts: &[String], process: usize) -> anyhow::Result<()> {
    // Every process but the last listens on its own entry.
    if process + 1 < hosts.len() {
        let address = &hosts[process];
        if let Err(error) = std::net::TcpListener::bind(address) {
            bail!("process {process}'s address {address} is taken ({error}): another program listens there; give a free port in the host file");
        }
    }
    Ok(())
}
