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
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

pub use events::{millis_between, ClusterEvent, RecoveryTimes, RescaleTimes};
pub use policy::{
    parse_kills, parse_rescales, JobCommand, PlannedKill, PlannedRescale, RestartPolicy,
};

use crate::lifecycle::signals::Asked;
use crate::lifecycle::{
    unix_micros, Answer, ControlDirectory, ProgressEvent, ProgressReader, Request, RequestKind,
};
use crate::runtime::{free_loopback_hosts, write_hostfile, Shape};
use crate::time::Time;
use events::EventsLog;

/// The environment variable that tells each process of the job which start it belongs to
/// (0, 1, ...): a benchmark's starts keep their measurements apart by it.
pub const ATTEMPT_VARIABLE: &str = "WEIR_ATTEMPT";

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
    /// Planned failures (with [`Placement::Local`] only): processes killed on schedule.
    pub kills: Vec<PlannedKill>,
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
        killed: 0,
        injected: None,
        restarts: 0,
        timing: None,
        stop_for_good: false,
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
    /// Planned kills done so far.
    killed: usize,
    /// When the last planned kill struck (µs since the Unix epoch) and which process it
    /// killed, until its failure is seen.
    injected: Option<(u64, usize)>,
    restarts: usize,
    /// The recovery or rescale being timed, until results flow again.
    timing: Option<Timing>,
    /// SIGTERM came: stop the job with a savepoint (again, after a failure) and end.
    stop_for_good: bool,
}

/// One start of the job: its processes and what their progress log said.
struct Attempt {
    number: usize,
    shape: Shape,
    children: Vec<Child>,
    /// The process index of each child.
    indices: Vec<usize>,
    progress_path: PathBuf,
    progress: ProgressReader,
    spawned_at: u64,
    /// When process 0 had chosen its snapshot.
    started_at: Option<u64>,
    /// Whether a snapshot committed during this start.
    progressed: bool,
    /// Why the supervisor is stopping it, if it is.
    stopping: Option<Stopping>,
}

/// What comes after a start whose processes all exited successfully.
enum AfterExit {
    /// Start again on `shape` from the savepoint `epoch` (a rescale).
    Restart { shape: Shape, epoch: Time },
    /// The job finished or stopped for good.
    Done(ClusterReport),
}

impl Supervisor<'_> {
    fn run(mut self) -> anyhow::Result<ClusterReport> {
        let mut shape = self.config.shape;
        let mut restore = self.config.job.first_restore.clone();
        let mut failures_in_a_row = 0;
        for number in 0.. {
            let mut attempt = self.start(number, shape, restore.as_deref())?;
            let outcome = self.watch(&mut attempt)?;
            let _ = std::fs::remove_file(&attempt.progress_path);
            match outcome {
                Outcome::Exited => match self.after_exit(&mut attempt)? {
                    AfterExit::Restart { shape: next, epoch } => {
                        shape = next;
                        restore = Some(epoch.to_string());
                    }
                    AfterExit::Done(report) => return Ok(report),
                },
                Outcome::Failed { process, status } => {
                    failures_in_a_row = if attempt.progressed {
                        1
                    } else {
                        failures_in_a_row + 1
                    };
                    shape = self.after_failure(&mut attempt, process, status, failures_in_a_row)?;
                    restore = Some("latest".to_string());
                }
            }
        }
        unreachable!("the attempts never run out")
    }

    /// Watches a start until it ends, taking its progress, planned and asked-for rescales,
    /// and signals as they come.
    fn watch(&mut self, attempt: &mut Attempt) -> anyhow::Result<Outcome> {
        if self.stop_for_good {
            self.control.request_without_reply(RequestKind::Stop)?;
            attempt.stopping = Some(Stopping::ForGood);
        }
        loop {
            self.absorb_progress(attempt)?;
            if let Some(outcome) = poll_children(&mut attempt.children, &attempt.indices)? {
                // Events written just before the end still count.
                self.absorb_progress(attempt)?;
                return Ok(outcome);
            }
            if attempt.stopping.is_none() {
                self.kill_when_planned(attempt);
            }
            // A rescale waits until the last restart (a recovery or a rescale) has its
            // results flowing again: its times are complete then, and a job that has not
            // yet caught up would only be stopped again before it could commit anything.
            if attempt.stopping.is_none()
                && !self.awaiting_output()
                && let Some((shape, request)) = self.next_rescale()?
            {
                self.control.request_without_reply(RequestKind::Stop)?;
                let times = RescaleTimes {
                    from: attempt.shape.to_string(),
                    to: shape.to_string(),
                    requested_at_us: unix_micros(),
                    ..RescaleTimes::default()
                };
                self.timing = Some(Timing::Rescale(times, request.clone()));
                attempt.stopping = Some(Stopping::Rescale { shape, request });
            }
            while let Ok(signal) = self.asked.try_recv() {
                match signal {
                    Asked::Savepoint => {
                        self.control.request_without_reply(RequestKind::Savepoint)?;
                    }
                    Asked::Stop => {
                        self.control.request_without_reply(RequestKind::Stop)?;
                        self.stop_for_good = true;
                        attempt.stopping = Some(Stopping::ForGood);
                    }
                }
            }
            std::thread::sleep(POLL);
        }
    }

    /// Kills a process of `attempt` when a planned kill is due (and logs it).
    fn kill_when_planned(&mut self, attempt: &mut Attempt) {
        let Some(planned) = self.config.kills.get(self.killed) else {
            return;
        };
        if self.began.elapsed() < planned.after {
            return;
        }
        self.killed += 1;
        let process = planned
            .process
            .unwrap_or(attempt.shape.processes - 1)
            .min(attempt.shape.processes - 1);
        let Some(position) = attempt.indices.iter().position(|&p| p == process) else {
            return;
        };
        let at_us = unix_micros();
        if attempt.children[position].kill().is_ok() {
            self.injected = Some((at_us, process));
            self.log.record(ClusterEvent::Killed {
                attempt: attempt.number,
                process,
                at_us,
            });
        }
    }

    /// Every process of `attempt` exited successfully: a rescale goes on, a stop or the end
    /// of the input ends the supervisor.
    fn after_exit(&mut self, attempt: &mut Attempt) -> anyhow::Result<AfterExit> {
        let stopped = self.control.stopped();
        match (attempt.stopping.take(), stopped) {
            (Some(Stopping::Rescale { shape, .. }), Some(epoch)) => {
                let exited = unix_micros();
                if let Some(Timing::Rescale(times, _)) = &mut self.timing {
                    times.savepoint = Some(epoch);
                    let savepoint_at = savepoint_at(times);
                    times.drain_ms = times
                        .savepoint_ms
                        .map(|_| millis_between(savepoint_at, exited));
                }
                Ok(AfterExit::Restart { shape, epoch })
            }
            (_, Some(epoch)) => {
                self.log.record(ClusterEvent::Stopped {
                    epoch,
                    at_us: unix_micros(),
                });
                Ok(AfterExit::Done(self.report(Some(epoch))))
            }
            (stopping, None) => {
                if let Some(Stopping::Rescale {
                    request: Some(request),
                    ..
                }) = stopping
                {
                    let error = "the job finished before it could stop";
                    self.refuse(&request, error.to_string())?;
                }
                self.log.record(ClusterEvent::Finished {
                    restarts: self.restarts,
                    at_us: unix_micros(),
                });
                Ok(AfterExit::Done(self.report(None)))
            }
        }
    }

    /// `process` of `attempt` failed: stops the rest, waits as the policy says (or gives
    /// up), and returns the shape to restart on.
    fn after_failure(
        &mut self,
        attempt: &mut Attempt,
        process: usize,
        status: String,
        failures_in_a_row: usize,
    ) -> anyhow::Result<Shape> {
        let failed_at = unix_micros();
        for child in attempt.children.iter_mut() {
            let _ = child.kill();
        }
        for child in attempt.children.iter_mut() {
            let _ = child.wait();
        }
        let stopped_at = unix_micros();
        self.log.record(ClusterEvent::Failure {
            attempt: attempt.number,
            process,
            status: status.clone(),
            at_us: failed_at,
        });
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
        let mut shape = attempt.shape;
        if let Some(Stopping::Rescale {
            shape: next,
            request,
        }) = attempt.stopping.take()
        {
            // The rescale goes on from the newest snapshot instead.
            shape = next;
            if let Some(request) = request {
                self.refuse(
                    &request,
                    format!(
                        "process {process} {status} during the rescale; the job restarts on {next} from its newest snapshot"
                    ),
                )?;
            }
        }
        // Another process may notice the lost peer and end before the killed one is seen.
        let injected = self.injected.take();
        let cause = match injected {
            Some((_, killed)) => format!("the planned kill of process {killed}"),
            None => format!("process {process} {status}"),
        };
        self.timing = Some(Timing::Recovery(RecoveryTimes {
            cause,
            failed_at_us: failed_at,
            detect_ms: injected.map(|(killed_at, _)| millis_between(killed_at, failed_at)),
            stop_ms: millis_between(failed_at, stopped_at),
            backoff_ms: wait.as_secs_f64() * 1e3,
            ..RecoveryTimes::default()
        }));
        self.restarts += 1;
        Ok(shape)
    }

    /// Answers `request` with `error`.
    fn refuse(&self, request: &Request, error: String) -> anyhow::Result<()> {
        let answer = Answer {
            error: Some(error),
            ..Answer::default()
        };
        self.control.reply(request, &answer)
    }

    fn report(&mut self, stopped_at: Option<Time>) -> ClusterReport {
        ClusterReport {
            events: std::mem::take(&mut self.log.events),
            restarts: self.restarts,
            stopped_at,
        }
    }

    /// Whether the last restart has yet to see results flow again (only process 0 logs
    /// progress, so a supervisor of another process never waits).
    fn awaiting_output(&self) -> bool {
        let logs_progress = match &self.config.placement {
            Placement::Local => true,
            Placement::HostFile { process, .. } => *process == 0,
        };
        logs_progress && self.timing.is_some()
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
            self.refuse(
                &extra,
                "another rescale was asked for at the same time".into(),
            )?;
        }
        match request.kind {
            RequestKind::Rescale { .. }
                if matches!(self.config.placement, Placement::HostFile { .. }) =>
            {
                let error = "a supervisor of one process of a host file cannot rescale; restart the job with a new host file";
                self.refuse(&request, error.into())?;
                Ok(None)
            }
            RequestKind::Rescale { processes, workers } => {
                Ok(Some((Shape { processes, workers }, Some(request))))
            }
            _ => Ok(None),
        }
    }

    /// Takes the events process 0 of `attempt` logged since the last look.
    fn absorb_progress(&mut self, attempt: &mut Attempt) -> anyhow::Result<()> {
        for event in attempt.progress.poll() {
            self.on_progress(event, attempt)?;
        }
        Ok(())
    }

    /// Notes one progress event of `attempt`.
    fn on_progress(&mut self, event: ProgressEvent, attempt: &mut Attempt) -> anyhow::Result<()> {
        let shape = attempt.shape.to_string();
        match event {
            ProgressEvent::Started { at_us, restored } => {
                attempt.started_at = Some(at_us);
                let restart_ms = Some(millis_between(attempt.spawned_at, at_us));
                match &mut self.timing {
                    Some(Timing::Recovery(times)) => {
                        times.restart_ms = restart_ms;
                        times.restored = restored;
                    }
                    Some(Timing::Rescale(times, _)) if times.to == shape => {
                        times.restart_ms = restart_ms;
                    }
                    _ => {}
                }
            }
            ProgressEvent::Output { at_us, .. } => {
                let restore_ms = attempt.started_at.map(|s| millis_between(s, at_us));
                match self.timing.take() {
                    Some(Timing::Recovery(mut times)) => {
                        times.restore_ms = restore_ms;
                        times.total_ms = Some(
                            times.detect_ms.unwrap_or(0.0)
                                + millis_between(times.failed_at_us, at_us),
                        );
                        self.log.record(ClusterEvent::Recovered(times));
                    }
                    Some(Timing::Rescale(mut times, request)) if times.to == shape => {
                        times.restore_ms = restore_ms;
                        let savepoint_at = savepoint_at(&times);
                        times.downtime_ms = times
                            .savepoint_ms
                            .map(|_| millis_between(savepoint_at, at_us));
                        if let Some(request) = &request {
                            let answer = Answer {
                                epoch: times.savepoint,
                                ..Answer::default()
                            };
                            self.control.reply(request, &answer)?;
                        }
                        self.log.record(ClusterEvent::Rescaled(times));
                    }
                    other => self.timing = other,
                }
            }
            ProgressEvent::Committed {
                epoch,
                savepoint,
                at_us,
            } => {
                attempt.progressed = true;
                let rescaling =
                    matches!(&self.timing, Some(Timing::Rescale(t, _)) if t.savepoint_ms.is_none());
                if savepoint && !rescaling {
                    self.log.record(ClusterEvent::Savepoint { epoch, at_us });
                }
            }
            ProgressEvent::Stopped { epoch, at_us } => {
                if let Some(Timing::Rescale(times, _)) = &mut self.timing {
                    times.savepoint = Some(epoch);
                    times.savepoint_ms = Some(millis_between(times.requested_at_us, at_us));
                }
            }
        }
        Ok(())
    }

    /// Starts the processes of start `number` of the job, on `shape`.
    fn start(
        &mut self,
        number: usize,
        shape: Shape,
        restore: Option<&str>,
    ) -> anyhow::Result<Attempt> {
        let progress_path = self.control.path().join(format!("progress-{number}.jsonl"));
        let _ = std::fs::remove_file(&progress_path);
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
                command.arg("--progress-log").arg(&progress_path);
            }
            if let Some(restore) = restore {
                command.args(["--restore", restore]);
            }
            let child = command
                .env("WEIR_SUPERVISED", "1")
                .env(ATTEMPT_VARIABLE, number.to_string())
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
        let spawned_at = unix_micros();
        self.log.record(ClusterEvent::Start {
            attempt: number,
            shape: shape.to_string(),
            pids: children.iter().map(Child::id).collect(),
            restore: restore.map(str::to_string),
            at_us: spawned_at,
        });
        Ok(Attempt {
            number,
            shape,
            children,
            indices,
            progress: ProgressReader::new(&progress_path),
            progress_path,
            spawned_at,
            started_at: None,
            progressed: false,
            stopping: None,
        })
    }
}

/// The instant of a rescale's savepoint, from its request and how long it took.
fn savepoint_at(times: &RescaleTimes) -> u64 {
    times.requested_at_us + (times.savepoint_ms.unwrap_or(0.0) * 1e3) as u64
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
