//! Running a pipeline over worker threads and processes.
//!
//! The runtime turns a registered pipeline and a configuration into timely workers: it
//! builds the communication fabric (threads, or TCP between processes), prepares recovery
//! when the job snapshots, lets every worker build the pipeline's dataflow, runs it to
//! completion — workers park when they have nothing to do — and reports what happened.

mod cluster;
mod driver;
mod recovery;
mod report;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use timely::communication::allocator::zero_copy::initialize::initialize_networking_from_sockets;
use timely::communication::allocator::ProcessBuilder;
use timely::communication::{AllocatorBuilder, Hooks};
use timely::{CommunicationConfig, WorkerConfig};

pub use cluster::{
    free_loopback_hosts, read_hostfile, write_hostfile, Announcement, ClusterSpec, Shape,
};
pub use driver::{DrivenWorker, WorkerDriver};
pub use recovery::SnapshotOptions;
pub use report::{RunReport, SnapshotTimings};

use crate::control::{Counters, JobControl};
use crate::job::{Job, JobConfig};
use crate::lifecycle::{unix_micros, Answer, ControlDirectory, ProgressEvent, ProgressLog};
use crate::migration::{MigrationLog, RoutingTable};
use crate::pipelines::Pipeline;
use crate::sinks::{OutputSpec, OutputTarget};
use crate::snapshot::{self, SnapshotHub, SnapshotSettings, HUB_KEY};
use crate::state::KeyGroups;
use crate::time::Time;

/// How many workers run a job, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workers {
    /// Worker threads in this process.
    pub threads: usize,
    /// The other processes, when there are several.
    pub cluster: Option<ClusterSpec>,
}

impl Workers {
    /// `threads` workers in this one process.
    pub fn threads(threads: usize) -> Self {
        Workers {
            threads: threads.max(1),
            cluster: None,
        }
    }

    /// The number of processes.
    pub fn processes(&self) -> usize {
        self.cluster.as_ref().map_or(1, |c| c.hosts.len())
    }

    /// This process's index.
    pub fn process(&self) -> usize {
        self.cluster.as_ref().map_or(0, |c| c.process)
    }

    /// Workers over all processes.
    pub fn total(&self) -> usize {
        self.threads * self.processes()
    }
}

/// Everything a run needs.
#[derive(Clone)]
pub struct RunSpec {
    /// The pipeline's parameters.
    pub config: JobConfig,
    /// Who runs it.
    pub workers: Workers,
    /// Where its output goes.
    pub output: OutputSpec,
    /// Whether and how it snapshots.
    pub snapshots: Option<SnapshotOptions>,
    /// Print recovery notes (snapshots skipped, output repaired) on standard error as they
    /// happen; they are in the report either way.
    pub verbose: bool,
    /// Drives every worker's loop after its dataflow is built (the harness); `None` lets
    /// timely run the workers to the end.
    pub driver: Option<Arc<dyn WorkerDriver>>,
    /// Where process 0 logs its progress (`lifecycle::ProgressEvent`) for a supervisor.
    pub progress: Option<PathBuf>,
    /// A paced schedule's fixed start, kept across restarts: record `n` is due `n / rate`
    /// after it even in a start that resumes from a snapshot (the input kept arriving while
    /// the job was down). `None` starts the schedule when the job starts, and a restored
    /// start makes its first record due then.
    pub schedule_origin: Option<Instant>,
}

/// Runs `pipeline` as `spec` says, until its input ends.
pub fn run(pipeline: &'static Pipeline, spec: RunSpec) -> anyhow::Result<RunReport> {
    let RunSpec {
        config,
        workers,
        output,
        snapshots,
        verbose,
        driver,
        progress,
        schedule_origin,
    } = spec;
    if let Some(input) = &config.input {
        input.check()?;
    }
    let control = JobControl::new();
    if let Some(origin) = schedule_origin {
        control.fix_schedule(origin);
    }
    let (process, processes) = (workers.process(), workers.processes());

    // Recovery is decided by process 0 before the others can connect, then announced.
    if snapshots.is_some() {
        recovery::check(&config)?;
    }
    let mut recovery = match &snapshots {
        Some(options) if process == 0 => Some(recovery::prepare(options, &config, &output)?),
        _ => None,
    };
    let announcement = Announcement {
        restore: recovery
            .as_ref()
            .and_then(|r| r.manifest.as_ref().map(|m| m.epoch)),
    };
    let control_dir = snapshots.as_ref().map(|o| ControlDirectory::of(&o.dir));
    let progress = match progress.filter(|_| process == 0) {
        Some(path) => Some(ProgressLog::create(&path)?),
        None => None,
    };
    if let (Some(control_dir), true) = (&control_dir, process == 0) {
        // Before the others connect, so that none of them sees an earlier run's stop.
        control_dir.mark_running()?;
        if let Some(progress) = &progress {
            progress.record(&ProgressEvent::Started {
                restored: announcement.restore,
                at_us: unix_micros(),
            });
        }
    }
    let (builders, guard, announced) = allocators(&workers, announcement)?;
    if let (Some(options), None) = (&snapshots, &recovery) {
        recovery = Some(recovery::follow(options, &output, announced.restore)?);
    }

    let mut report = RunReport::default();
    let mut worker_config = WorkerConfig::default();
    worker_config.set(
        KeyGroups::CONFIG_KEY.to_string(),
        KeyGroups::new(config.key_groups),
    );
    let migration_log = Arc::new(MigrationLog::default());
    if let Some(migration) = &config.migration {
        let table = migration
            .table(KeyGroups::new(config.key_groups), workers.total())
            .map_err(|e| anyhow::anyhow!("--migrate-at {}: {e}", migration.plan))?;
        worker_config.set(RoutingTable::CONFIG_KEY.to_string(), table);
        worker_config.set(
            RoutingTable::LOG_KEY.to_string(),
            Arc::clone(&migration_log),
        );
    }
    let mut writer = None;
    let mut hub = None;
    let mut complete = false;
    if let (Some(options), Some(recovery)) = (&snapshots, recovery) {
        report.messages = recovery.messages;
        if verbose {
            for message in &report.messages {
                eprintln!("weir: {message}");
            }
        }
        report.restored = recovery.manifest.as_ref().map(|m| m.epoch);
        complete = recovery.manifest.as_ref().is_some_and(|m| m.is_final);
        report.already_complete = complete;
        let (sender, receiver) = snapshot::writer_channel();
        let settings = SnapshotSettings {
            store: recovery.store,
            every: options.every_ms(),
            keep: options.keep,
            sinks: recovery.sinks,
            control: control_dir.clone(),
            progress: progress.clone(),
        };
        let shared = Arc::new(SnapshotHub::new(
            settings,
            recovery.manifest,
            config.identity(),
            KeyGroups::new(config.key_groups),
            workers.total(),
            processes,
            control.clone(),
            sender,
        ));
        writer = Some(snapshot::spawn_writer(Arc::clone(&shared), receiver));
        worker_config.set(HUB_KEY.to_string(), Arc::clone(&shared));
        hub = Some(shared);
    }
    // Output goes straight to the target only without snapshots; with them it is staged.
    let target = match (&hub, complete) {
        (None, false) => output.open(process, processes)?,
        _ => OutputTarget::new(Box::new(std::io::sink()), false),
    };

    // Process 0 stops at a savepoint when asked; the others learn of it from its mark.
    let watcher = match (&hub, &control_dir) {
        (Some(hub), Some(control_dir)) if process > 0 => {
            Some(StopWatcher::spawn(Arc::clone(hub), control_dir.clone()))
        }
        _ => None,
    };

    let start = Instant::now();
    let gathered = Arc::new(std::sync::Mutex::new(Vec::new()));
    let restored = report.restored;
    let output_progress = progress.clone();
    let shared = (config, control.clone(), target.clone(), driver);
    let threads = workers.threads;
    let gathered_by_workers = Arc::clone(&gathered);
    let workers_log = Arc::clone(&migration_log);
    let guards = timely::execute::execute_from(builders, guard, worker_config, move |worker| {
        if complete {
            return;
        }
        let (config, control, target, driver) = shared.clone();
        let built = worker.dataflow::<Time, _, _>(|scope| {
            let mut job = Job::new(scope, config, control.clone(), target);
            let probes = (job.probe().clone(), job.input_probe().clone());
            (pipeline.build)(&mut job).map(|()| {
                job.finish();
                probes
            })
        });
        let (probe, input_probe) = match built {
            Ok(probes) => probes,
            Err(error) => return control.fail(error),
        };
        let mut flowing = OutputFlowing {
            restored,
            progress: output_progress.as_ref().filter(|_| worker.index() == 0),
        };
        if let Some(driver) = driver {
            let (index, peers) = (worker.index(), worker.peers());
            // A driven worker logs when results flow again between its driver's steps.
            let watched = probe.clone();
            let mut step = |timeout| {
                let alive = worker.step_or_park(timeout);
                flowing.check(&watched);
                alive
            };
            let report = driver.drive(&mut DrivenWorker {
                index,
                peers,
                local_index: index % threads,
                probe,
                input_probe,
                restored,
                control: control.clone(),
                migration: Arc::clone(&workers_log),
                step: &mut step,
            });
            step_to_end(worker);
            let reports = driver::gather(worker, report);
            if !reports.is_empty() {
                *gathered_by_workers
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) = reports;
            }
        } else {
            report_output_flowing(worker, &probe, flowing);
        }
        step_to_end(worker);
    })
    .map_err(|e| anyhow::anyhow!("cannot start workers: {e}"))?;
    let panics: Vec<String> = guards.join().into_iter().filter_map(Result::err).collect();
    report.elapsed = start.elapsed();
    if let Some(hub) = &hub {
        hub.close();
    }
    if let Some(writer) = writer
        && writer.join().is_err()
    {
        control.fail(anyhow::anyhow!("the snapshot writer thread failed"));
    }
    report.started = Some(control.started());
    report.gathered = std::mem::take(&mut *gathered.lock().unwrap_or_else(|e| e.into_inner()));
    if let Some(watcher) = watcher {
        watcher.finish();
    }
    if let (Some(control_dir), true) = (&control_dir, process == 0) {
        answer_late_requests(control_dir);
        control_dir.clear_running();
    }
    if let Some(hub) = &hub {
        report.stopped_at = hub.stopped_at();
        report.capture_starts = hub.capture_starts();
        report.commits = hub.commits();
        report.part_timings = hub.timings();
        report.restore_timings = hub.restores();
    }

    if let Some(error) = control.take_error() {
        return Err(error);
    }
    if let Some(panic) = panics.first() {
        bail!("a worker failed: {panic}");
    }
    target.flush().context("cannot write output")?;
    let counters = control.counters();
    report.records_in = Counters::get(&counters.records_in);
    report.records_out = Counters::get(&counters.records_out);
    report.late = Counters::get(&counters.late);
    report.skipped = Counters::get(&counters.skipped);
    report.groups_moved = migration_log.moved();
    report.migration_steps = migration_log.steps();
    Ok(report)
}

/// Watches worker 0's output probe for the moment results flow again (the frontier passes
/// `restored`, or moves at all on a fresh start) and logs it once.
struct OutputFlowing<'a> {
    restored: Option<Time>,
    progress: Option<&'a ProgressLog>,
}

impl OutputFlowing<'_> {
    /// Logs the moment if it has come; `true` once it has (or nobody is listening).
    fn check(&mut self, probe: &timely::dataflow::ProbeHandle<Time>) -> bool {
        let Some(progress) = self.progress else {
            return true;
        };
        let restored = self.restored;
        let passed = probe.with_frontier(|frontier| {
            let passed = frontier
                .iter()
                .all(|&t| restored.is_none_or(|r| t > r) && t > 0);
            passed.then(|| frontier.iter().copied().min().unwrap_or(Time::MAX))
        });
        if let Some(frontier) = passed {
            progress.record(&ProgressEvent::Output {
                frontier,
                at_us: unix_micros(),
            });
            self.progress = None;
        }
        self.progress.is_none()
    }
}

/// Steps worker 0 until results flow again, and logs when they do.
fn report_output_flowing(
    worker: &mut timely::worker::Worker,
    probe: &timely::dataflow::ProbeHandle<Time>,
    mut flowing: OutputFlowing<'_>,
) {
    while !flowing.check(probe) {
        if !worker.step_or_park(Some(LONGEST_PARK)) {
            // Done within that step (a restart with little left to do): the frontier is
            // empty now, so results have flowed to the end; say so, or the supervisor
            // never hears that this restart recovered.
            flowing.check(probe);
            return;
        }
    }
}

/// Answers the requests that came after the last commit: nothing will take them now.
fn answer_late_requests(control_dir: &ControlDirectory) {
    for request in control_dir.take_requests(true).unwrap_or_default() {
        let answer = Answer {
            error: Some("the job ended before another snapshot committed".to_string()),
            ..Answer::default()
        };
        let _ = control_dir.reply(&request, &answer);
    }
}

/// On a process other than 0: watches the control folder for process 0's mark that the job
/// stops at a savepoint, and stops this process's sources then.
struct StopWatcher {
    done: Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl StopWatcher {
    /// How often the mark is looked for.
    const POLL: std::time::Duration = std::time::Duration::from_millis(10);

    fn spawn(hub: Arc<SnapshotHub>, control_dir: ControlDirectory) -> Self {
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let finished = Arc::clone(&done);
        let thread = std::thread::spawn(move || {
            while !finished.load(std::sync::atomic::Ordering::Relaxed) {
                if let Some(epoch) = control_dir.draining() {
                    hub.control().pause_at(epoch);
                }
                if let Some(epoch) = control_dir.stopped() {
                    hub.stop_after(epoch);
                    return;
                }
                std::thread::sleep(Self::POLL);
            }
        });
        StopWatcher { done, thread }
    }

    fn finish(self) {
        self.done.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = self.thread.join();
    }
}

/// The longest a worker parks without looking at its channels again.
///
/// A worker with no deadline would park until a message wakes it. In rare runs of two
/// processes under load (about one in 25 two-process benchmarks with the XXH3 key hash),
/// one process finished its dataflow while the other stayed parked forever with every
/// message delivered and nothing left to send; with a bounded park the same runs never
/// hung in 180 tries. The cause was not found in timely 0.32. An idle worker wakes ten
/// times a second, which costs nothing measurable.
pub(crate) const LONGEST_PARK: std::time::Duration = std::time::Duration::from_millis(100);

/// Steps `worker` until its dataflows are complete, parking at most [`LONGEST_PARK`] at a
/// time (timely's own loop after the worker closure parks without a deadline).
fn step_to_end(worker: &mut timely::worker::Worker) {
    while worker.step_or_park(Some(LONGEST_PARK)) {}
}

/// The communication fabric for `workers`, whatever must live as long as it, and process
/// 0's announcement.
fn allocators(
    workers: &Workers,
    announcement: Announcement,
) -> anyhow::Result<(
    Vec<AllocatorBuilder>,
    Box<dyn std::any::Any + Send>,
    Announcement,
)> {
    match &workers.cluster {
        None => {
            let config = if workers.threads == 1 {
                CommunicationConfig::Thread
            } else {
                CommunicationConfig::Process(workers.threads)
            };
            let (builders, guard) = config
                .try_build()
                .map_err(|e| anyhow::anyhow!("cannot set up workers: {e}"))?;
            Ok((builders, guard, announcement))
        }
        Some(spec) => {
            let (sockets, announced) = cluster::connect(spec, announcement)?;
            let hooks = Hooks::default();
            let local = ProcessBuilder::new_typed_vector(spec.threads, hooks.refill.clone(), None);
            let (builders, guard) = initialize_networking_from_sockets(
                local,
                sockets,
                spec.process,
                spec.threads,
                hooks,
            )
            .context("cannot start the network threads")?;
            Ok((
                builders.into_iter().map(AllocatorBuilder::Tcp).collect(),
                Box::new(guard),
                announced,
            ))
        }
    }
}
