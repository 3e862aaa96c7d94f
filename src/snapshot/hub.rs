//! The hub: what the participants of one process share while a job snapshots.
//!
//! Stateful operators, sources and sinks find the hub in their worker's configuration and
//! register as participants. Capturing is theirs; everything slow — encoding, checksums,
//! writing, syncing — goes to the process's writer thread, which reports each durable part
//! back here. A per-worker forwarder (see `coordinator`) collects the reports and passes an
//! epoch on once every participant of its worker has reported it.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::de::DeserializeOwned;

use timely::dataflow::Scope;
use timely::scheduling::SyncActivator;

use crate::control::JobControl;
use crate::identity::JobIdentity;
use crate::lifecycle::{ControlDirectory, ProgressLog};
use crate::snapshot::commit::CommittingSink;
use crate::snapshot::manifest::{Manifest, Part, PartKind};
use crate::snapshot::messages::{FutureReports, PartTiming, Report, RestoreTiming, WriterJob};
use crate::snapshot::part::decode_groups_where;
use crate::snapshot::store::SnapshotStore;
use crate::state::{KeyGroup, KeyGroups};
use crate::time::Time;

/// The key in a timely worker configuration under which the hub is found.
pub const HUB_KEY: &str = "weir.snapshots";

/// How a job snapshots.
#[derive(Clone, Debug)]
pub struct SnapshotSettings {
    /// Where snapshots go.
    pub store: SnapshotStore,
    /// Epochs are the multiples of this many milliseconds of event time.
    pub every: Time,
    /// Complete snapshots to keep.
    pub keep: usize,
    /// The sinks that publish committed output.
    pub sinks: Vec<Arc<dyn CommittingSink>>,
    /// Where savepoint and stop requests arrive and are answered (read by the publisher of
    /// the coordinating process at each commit).
    pub control: Option<ControlDirectory>,
    /// Where the coordinating process logs its commits for a supervisor.
    pub progress: Option<ProgressLog>,
}

#[derive(Default)]
struct WorkerSlot {
    participants: Vec<String>,
    reports: VecDeque<Report>,
    forwarder: Option<SyncActivator>,
}

/// Shared by the workers of one process.
pub struct SnapshotHub {
    settings: SnapshotSettings,
    restore: Option<Manifest>,
    identity: JobIdentity,
    key_groups: KeyGroups,
    workers: usize,
    processes: usize,
    control: JobControl,
    writer: Mutex<Option<Sender<WriterJob>>>,
    slots: Mutex<HashMap<usize, WorkerSlot>>,
    commits: Mutex<Vec<(Time, Instant)>>,
    /// The earliest instant any worker of this process began capturing each epoch.
    capture_starts: Mutex<BTreeMap<Time, Instant>>,
    timings: Mutex<Vec<PartTiming>>,
    restores: Mutex<Vec<RestoreTiming>>,
    /// The savepoint the job stops after, once it was asked to stop.
    stopped: Mutex<Option<Time>>,
    /// Output buffers the writer has written out, for sinks to fill again: a fresh buffer
    /// per staged megabyte would be grown (and its pages faulted in) on the record path.
    spare_buffers: Mutex<Vec<Vec<u8>>>,
}

/// Spare output buffers kept for reuse, at most.
const SPARE_BUFFERS: usize = 8;

impl SnapshotHub {
    /// A hub for a job; `restore` is the snapshot it resumes from, if any.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        settings: SnapshotSettings,
        restore: Option<Manifest>,
        identity: JobIdentity,
        key_groups: KeyGroups,
        workers: usize,
        processes: usize,
        control: JobControl,
        writer: Sender<WriterJob>,
    ) -> Self {
        SnapshotHub {
            settings,
            restore,
            identity,
            key_groups,
            workers,
            processes,
            control,
            writer: Mutex::new(Some(writer)),
            slots: Mutex::new(HashMap::new()),
            commits: Mutex::new(Vec::new()),
            capture_starts: Mutex::new(BTreeMap::new()),
            timings: Mutex::new(Vec::new()),
            restores: Mutex::new(Vec::new()),
            stopped: Mutex::new(None),
            spare_buffers: Mutex::new(Vec::new()),
        }
    }

    /// Keeps a written-out output buffer for [`Participant::output_buffer`].
    pub(crate) fn recycle_buffer(&self, mut buffer: Vec<u8>) {
        let mut spare = self.spare_buffers.lock().unwrap_or_else(|e| e.into_inner());
        if spare.len() < SPARE_BUFFERS {
            buffer.clear();
            spare.push(buffer);
        }
    }

    /// The hub of the job `scope` belongs to, if it snapshots.
    pub fn of(scope: &Scope<'_, Time>) -> Option<Arc<SnapshotHub>> {
        scope
            .worker()
            .config()
            .get::<Arc<SnapshotHub>>(HUB_KEY)
            .cloned()
    }

    /// Registers a participant of `worker`; a repeated id gets a `#n` suffix, the same on
    /// every worker because every worker builds the same dataflow.
    pub fn register(self: &Arc<Self>, worker: usize, id: &str, kind: PartKind) -> Participant {
        let mut slots = self.slots();
        let slot = slots.entry(worker).or_default();
        let mut unique = id.to_string();
        let mut n = 1;
        while slot.participants.contains(&unique) {
            n += 1;
            unique = format!("{id}#{n}");
        }
        slot.participants.push(unique.clone());
        Participant {
            hub: Arc::clone(self),
            worker,
            index: slot.participants.len() - 1,
            id: unique,
            kind,
        }
    }

    fn slots(&self) -> MutexGuard<'_, HashMap<usize, WorkerSlot>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The participants of `worker`, in registration order.
    pub fn participants(&self, worker: usize) -> Vec<String> {
        self.slots()
            .get(&worker)
            .map(|s| s.participants.clone())
            .unwrap_or_default()
    }

    /// Where the forwarder of `worker` is woken when reports arrive.
    pub(crate) fn set_forwarder(&self, worker: usize, activator: SyncActivator) {
        self.slots().entry(worker).or_default().forwarder = Some(activator);
    }

    /// Takes the reports that have arrived for `worker`.
    pub(crate) fn take_reports(&self, worker: usize) -> Vec<Report> {
        self.slots()
            .get_mut(&worker)
            .map(|slot| slot.reports.drain(..).collect())
            .unwrap_or_default()
    }

    /// Delivers a report to its worker's forwarder (called by the writer thread).
    pub(crate) fn deliver(&self, worker: usize, report: Report) {
        let activator = {
            let mut slots = self.slots();
            let slot = slots.entry(worker).or_default();
            slot.reports.push_back(report);
            slot.forwarder.clone()
        };
        if let Some(activator) = activator {
            // The forwarder is gone only once the dataflow has ended; nothing is lost then.
            let _ = activator.activate();
        }
    }

    /// Queues work for the writer thread.
    pub(crate) fn send(&self, job: WriterJob) {
        let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let sent = writer
            .as_ref()
            .map(|w| w.send(job).is_ok())
            .unwrap_or(false);
        if !sent {
            self.control
                .fail(anyhow::anyhow!("the snapshot writer has stopped"));
        }
    }

    /// Closes the writer's queue, so that it finishes what it has and ends.
    pub(crate) fn close(&self) {
        self.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
    }

    /// The job's settings.
    pub fn settings(&self) -> &SnapshotSettings {
        &self.settings
    }

    /// The snapshot being restored, if any.
    pub fn restoring(&self) -> Option<&Manifest> {
        self.restore.as_ref()
    }

    /// The epoch being restored, if any.
    pub fn restored_epoch(&self) -> Option<Time> {
        self.restore.as_ref().map(|m| m.epoch)
    }

    /// The first epoch after `time`.
    pub fn next_epoch_after(&self, time: Time) -> Time {
        let every = self.settings.every.max(1);
        (time / every).saturating_add(1).saturating_mul(every)
    }

    /// The last epoch at or before `time` (0 before the first).
    pub fn epoch_at_or_before(&self, time: Time) -> Time {
        let every = self.settings.every.max(1);
        time / every * every
    }

    /// The first epoch this run snapshots.
    pub fn first_epoch(&self) -> Time {
        self.next_epoch_after(self.restored_epoch().unwrap_or(0))
    }

    /// The job's identity.
    pub fn identity(&self) -> &JobIdentity {
        &self.identity
    }

    /// The job's key groups.
    pub fn key_groups(&self) -> KeyGroups {
        self.key_groups
    }

    /// Workers over all processes.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Processes of the job.
    pub fn processes(&self) -> usize {
        self.processes
    }

    /// The job's control.
    pub fn control(&self) -> &JobControl {
        &self.control
    }

    /// Stops the job after the savepoint `epoch`: its sources stop, and nothing after the
    /// savepoint commits (the publisher drops later commits).
    pub fn stop_after(&self, epoch: Time) {
        self.stopped
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert(epoch);
        self.control.stop();
    }

    /// The savepoint the job stopped after, if it was asked to stop.
    pub fn stopped_at(&self) -> Option<Time> {
        *self.stopped.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Notes that `epoch` was committed now (on the coordinating process).
    pub(crate) fn record_commit(&self, epoch: Time) {
        self.commits
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((epoch, Instant::now()));
    }

    /// Notes that a worker began capturing `epoch` at `at`; the earliest is kept.
    fn record_capture_start(&self, epoch: Time, at: Instant) {
        let mut starts = self
            .capture_starts
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let start = starts.entry(epoch).or_insert(at);
        *start = (*start).min(at);
    }

    /// When this process began capturing each epoch's state.
    pub fn capture_starts(&self) -> Vec<(Time, Instant)> {
        let starts = self
            .capture_starts
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        starts.iter().map(|(&epoch, &at)| (epoch, at)).collect()
    }

    /// Notes the timings of a state part (called by the writer).
    pub(crate) fn record_timing(&self, timing: PartTiming) {
        self.timings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(timing);
    }

    /// The timings of every state part this process wrote.
    pub fn timings(&self) -> Vec<PartTiming> {
        self.timings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The timings of every restore on this process.
    pub fn restores(&self) -> Vec<RestoreTiming> {
        self.restores
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The epochs committed so far by this process, with when.
    pub fn commits(&self) -> Vec<(Time, Instant)> {
        self.commits
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// One operator's (or source's, or sink's) place in a job's snapshots, on one worker.
#[derive(Clone)]
pub struct Participant {
    hub: Arc<SnapshotHub>,
    worker: usize,
    index: usize,
    id: String,
    kind: PartKind,
}

impl Participant {
    /// Registers a participant for the job `scope` belongs to; `None` when it does not
    /// snapshot.
    pub fn register(scope: &Scope<'_, Time>, id: &str, kind: PartKind) -> Option<Participant> {
        SnapshotHub::of(scope).map(|hub| hub.register(scope.index(), id, kind))
    }

    /// The participant's id within the pipeline.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The hub.
    pub fn hub(&self) -> &SnapshotHub {
        &self.hub
    }

    /// The first epoch to capture.
    pub fn first_epoch(&self) -> Time {
        self.hub.first_epoch()
    }

    /// The epoch after `epoch`.
    pub fn next_epoch_after(&self, epoch: Time) -> Time {
        self.hub.next_epoch_after(epoch)
    }

    /// The last epoch at or before `time`.
    pub fn epoch_at_or_before(&self, time: Time) -> Time {
        self.hub.epoch_at_or_before(time)
    }

    fn part(&self) -> Part {
        Part {
            operator: self.id.clone(),
            kind: self.kind,
            worker: self.worker,
            file: None,
            inline: None,
        }
    }

    fn report(&self, epoch: Time, through: Time, part: Part) -> Report {
        Report {
            epoch,
            through: through.max(epoch),
            written: epoch,
            participant: self.index,
            part,
            aborted: false,
            future: None,
        }
    }

    /// A file name for this participant's part, unique within an epoch.
    pub(crate) fn file_name(&self, extension: &str) -> String {
        let readable: String = self
            .id
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .take(40)
            .collect();
        format!("p{:02}-{readable}-w{}.{extension}", self.index, self.worker)
    }

    /// Hands the state as of `epoch` to the writer, which encodes it with `encode` off the
    /// worker thread, writes and syncs it, and reports it as the state as of every epoch up
    /// to `through` as well. `capture` is how long capturing took.
    pub fn write_state(
        &self,
        epoch: Time,
        through: Time,
        capture: Duration,
        encode: impl FnOnce(&KeyGroups) -> anyhow::Result<Vec<u8>> + Send + 'static,
    ) {
        let began = Instant::now()
            .checked_sub(capture)
            .unwrap_or_else(Instant::now);
        self.hub.record_capture_start(epoch, began);
        self.hub.send(WriterJob::WriteState {
            report: self.report(epoch, through, self.part()),
            worker: self.worker,
            file: self.file_name("part"),
            capture,
            encode: Box::new(encode),
        });
    }

    /// Reports a part with only inline data (or none), for the epochs from `epoch` through
    /// `through`.
    pub fn report_inline(&self, epoch: Time, through: Time, inline: Option<String>) {
        let mut part = self.part();
        part.inline = inline;
        self.hub.send(WriterJob::Report {
            report: self.report(epoch, through, part),
            worker: self.worker,
        });
    }

    /// Reports that this participant has finished: it takes part in no later epoch except
    /// as `future` says. `aborted` marks a participant that stopped early.
    pub fn report_final(&self, aborted: bool, future: Option<FutureReports>) {
        let final_epoch = crate::snapshot::FINAL_EPOCH;
        let mut report = self.report(final_epoch, final_epoch, self.part());
        report.aborted = aborted;
        report.future = future;
        self.hub.send(WriterJob::Report {
            report,
            worker: self.worker,
        });
    }

    /// An empty buffer for output lines of at least `capacity` bytes: one the writer has
    /// written out, or a new one.
    pub fn output_buffer(&self, capacity: usize) -> Vec<u8> {
        let spare = self
            .hub
            .spare_buffers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop();
        let mut buffer = spare.unwrap_or_default();
        buffer.reserve(capacity);
        buffer
    }

    /// Appends output lines to this participant's staged part of `epoch`.
    pub fn append_output(&self, epoch: Time, bytes: Vec<u8>) {
        self.hub.send(WriterJob::AppendOutput {
            epoch,
            file: self.file_name("jsonl"),
            bytes,
        });
    }

    /// Completes this participant's staged output of `epoch` (syncing it) and reports it,
    /// standing for the epochs through `through` as well: the caller has staged no output
    /// for any of them, so none can be published twice.
    pub fn finish_output(&self, epoch: Time, through: Time, aborted: bool) {
        let mut report = self.report(epoch, through, self.part());
        report.aborted = aborted;
        self.hub.send(WriterJob::FinishOutput {
            report,
            worker: self.worker,
            file: self.file_name("jsonl"),
        });
    }

    /// The entries of this worker's key groups in the restored snapshot's parts for this
    /// participant; empty when not restoring.
    pub fn restore_state<E: DeserializeOwned>(&self) -> anyhow::Result<Vec<E>> {
        self.restore_groups(Wanted::Placed)
    }

    /// The entries of the key groups `owned` (this worker's under a live migration's
    /// assignment at the restored epoch), searched for in every part.
    pub fn restore_owned_state<E: DeserializeOwned>(
        &self,
        owned: &[KeyGroup],
    ) -> anyhow::Result<Vec<E>> {
        self.restore_groups(Wanted::Owned(owned))
    }

    /// [`Self::restore_state`] for state whose parts may hold any key group: state that is
    /// not placed by key group while the job runs (arrangements, routed by differential's
    /// hash), so that every part must be searched for this worker's groups.
    pub fn restore_scattered_state<E: DeserializeOwned>(&self) -> anyhow::Result<Vec<E>> {
        self.restore_groups(Wanted::Scattered)
    }

    /// The entries of the groups `wanted` names, from the parts that can hold them.
    fn restore_groups<E: DeserializeOwned>(&self, wanted: Wanted<'_>) -> anyhow::Result<Vec<E>> {
        let Some(manifest) = self.hub.restoring() else {
            return Ok(Vec::new());
        };
        // A snapshot without this operator belongs to a different pipeline shape (a renamed
        // or added operator); starting it empty would silently lose its state.
        if !manifest.operators.iter().any(|op| op == &self.id) {
            anyhow::bail!(
                "snapshot of epoch {} has no state for operator {:?} (it has {:?}); \
                 restore with the pipeline that wrote it",
                manifest.epoch,
                self.id,
                manifest.operators
            );
        }
        let start = Instant::now();
        let groups = self.hub.key_groups;
        let mine = groups.range_of(self.worker, self.hub.workers);
        let owned: Vec<bool> = match wanted {
            Wanted::Owned(owned) => {
                let mut flags = vec![false; groups.count() as usize];
                for group in owned {
                    flags[group.0 as usize] = true;
                }
                flags
            }
            Wanted::Placed | Wanted::Scattered => {
                (0..groups.count()).map(|g| mine.contains(&g)).collect()
            }
        };
        let mut entries = Vec::new();
        for part in manifest.parts_of(&self.id) {
            let Some(file) = &part.file else { continue };
            let theirs = groups.range_of(part.worker, manifest.workers);
            let overlaps = theirs.start < mine.end && mine.start < theirs.end;
            if matches!(wanted, Wanted::Placed) && !overlaps {
                continue;
            }
            let bytes = self.hub.settings.store.read_part(manifest.epoch, file)?;
            let wanted = |group: u32| owned.get(group as usize).copied().unwrap_or(false);
            let mut decoded = decode_groups_where::<E>(&bytes, wanted)
                .with_context(|| format!("cannot restore {} from {}", self.id, file.name))?;
            entries.append(&mut decoded);
        }
        self.hub
            .restores
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(RestoreTiming {
                operator: self.id.clone(),
                worker: self.worker,
                entries: entries.len(),
                duration: start.elapsed(),
            });
        Ok(entries)
    }

    /// The inline data every worker recorded for this participant in the restored snapshot,
    /// by worker; `None` when not restoring.
    pub fn restore_inline(&self) -> Option<Vec<(usize, Option<String>)>> {
        let manifest = self.hub.restoring()?;
        Some(
            manifest
                .parts_of(&self.id)
                .map(|part| (part.worker, part.inline.clone()))
                .collect(),
        )
    }

    /// The number of workers when the restored snapshot was taken.
    pub fn restored_workers(&self) -> Option<usize> {
        self.hub.restoring().map(|m| m.workers)
    }

    /// Reports a failure to restore or capture; the job stops with it.
    pub fn fail(&self, error: anyhow::Error) {
        self.hub
            .control
            .fail(error.context(format!("snapshot participant {}", self.id)));
    }
}

/// Which key groups a participant restores.
#[derive(Clone, Copy)]
enum Wanted<'a> {
    /// Its range, from the parts of the workers whose ranges overlap it.
    Placed,
    /// Its range, from every part.
    Scattered,
    /// These groups, from every part.
    Owned(&'a [KeyGroup]),
}
