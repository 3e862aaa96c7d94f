//! Committing snapshots and publishing their output, on a thread of its own in the
//! coordinating process: the manifest is written only for an epoch whose every part is
//! durable, then its staged output is appended to the output file and logged.

use std::collections::HashMap;
use std::sync::mpsc::{self, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;

use crate::lifecycle::{
    unix_micros, Answer, ControlDirectory, ProgressEvent, Request, RequestKind,
};
use crate::snapshot::fault::fault_point;
use crate::snapshot::hub::SnapshotHub;
use crate::snapshot::manifest::{epoch_label, Manifest, FINAL_EPOCH, FORMAT_VERSION};
use crate::snapshot::messages::Report;
use crate::time::Time;

/// The publisher thread, as the writer sees it.
pub(crate) struct Publisher {
    commits: Sender<(Time, Vec<Report>)>,
    thread: JoinHandle<()>,
}

impl Publisher {
    pub(crate) fn spawn(hub: Arc<SnapshotHub>) -> Publisher {
        let (commits, receiver) = mpsc::channel::<(Time, Vec<Report>)>();
        let thread = std::thread::Builder::new()
            .name("weir:publish".to_string())
            .spawn(move || {
                let mut state = Committer {
                    hub,
                    carried: HashMap::new(),
                    failed: false,
                    draining: None,
                };
                for (epoch, reports) in receiver {
                    // After a stop's savepoint nothing commits: a restore resumes there.
                    if state.failed || state.hub.stopped_at().is_some() {
                        continue;
                    }
                    if let Err(error) = state.commit(epoch, reports) {
                        state.failed = true;
                        state.hub.control().fail(
                            error.context(format!("cannot commit snapshot {}", epoch_label(epoch))),
                        );
                    }
                }
            })
            .unwrap_or_else(|e| panic!("cannot start the snapshot publisher thread: {e}"));
        Publisher { commits, thread }
    }

    /// Queues the commit of `epoch`.
    pub(crate) fn commit(&self, epoch: Time, reports: Vec<Report>) {
        // The thread ends only when this sender is dropped.
        let _ = self.commits.send((epoch, reports));
    }

    /// Waits for every queued commit.
    pub(crate) fn finish(self) {
        drop(self.commits);
        let _ = self.thread.join();
    }
}

struct Committer {
    hub: Arc<SnapshotHub>,
    /// Where a part written for one epoch and standing for later ones was last carried to,
    /// by the epoch it was written for and its name: older copies may have been pruned.
    carried: HashMap<(Time, String), (Time, String)>,
    failed: bool,
    /// A stop under way: the epoch boundary the sources drain to, and the stop requests
    /// that its savepoint will answer.
    draining: Option<(Time, Vec<Request>)>,
}

/// How much event time, at most, a stop lets the sources run on past the furthest one of
/// this process, so that the sources of other processes have not passed the boundary it
/// drains to when they hear of it.
const DRAIN_MARGIN: Time = 100;

impl Committer {
    /// Puts the part `name`, written for epoch `written`, into the directory of `epoch`, which
    /// it belongs to as well (a state part standing for later epochs, or output staged for
    /// an epoch that was not committed). Returns its name there, prefixed with `written` so that parts from several
    /// epochs cannot collide.
    fn carry(&mut self, written: Time, epoch: Time, name: &str) -> anyhow::Result<String> {
        let key = (written, name.to_string());
        let (from_epoch, from_name) = self
            .carried
            .get(&key)
            .cloned()
            .unwrap_or_else(|| (written, name.to_string()));
        let carried_name = format!("e{written}-{name}");
        self.hub
            .settings()
            .store
            .link_part(from_epoch, &from_name, epoch, &carried_name)?;
        self.carried.insert(key, (epoch, carried_name.clone()));
        Ok(carried_name)
    }

    fn commit(&mut self, epoch: Time, mut reports: Vec<Report>) -> anyhow::Result<()> {
        fault_point("before-manifest");
        let hub = Arc::clone(&self.hub);
        let settings = hub.settings();
        reports.sort_by_key(|r| (r.part.worker, r.participant));
        for report in &mut reports {
            let written = report.written;
            if let Some(file) = report.part.file.as_mut().filter(|_| written != epoch) {
                file.name = self.carry(written, epoch, &file.name)?;
            }
        }
        let requests = match &settings.control {
            Some(control) => self.requests_answered_at(control, epoch)?,
            None => Vec::new(),
        };
        let committed_unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let manifest = Manifest {
            format: FORMAT_VERSION,
            epoch,
            is_final: epoch == FINAL_EPOCH,
            fingerprint: hub.identity().fingerprint(),
            identity: hub.identity().clone(),
            key_groups: hub.key_groups().count(),
            workers: hub.workers(),
            processes: hub.processes(),
            operators: hub.participants(0),
            parts: reports.into_iter().map(|r| r.part).collect(),
            committed_unix_ms,
            savepoint: !requests.is_empty(),
        };
        settings.store.commit(&manifest)?;
        fault_point("after-manifest");
        for sink in &settings.sinks {
            sink.publish(&manifest)
                .with_context(|| format!("cannot publish the output of {}", sink.participant()))?;
        }
        fault_point("after-publish");
        settings.store.prune(settings.keep)?;
        hub.record_commit(epoch);
        if let Some(progress) = &settings.progress {
            progress.record(&ProgressEvent::Committed {
                epoch,
                savepoint: manifest.savepoint,
                at_us: unix_micros(),
            });
        }
        if let Some(control) = &settings.control {
            self.answer(control, epoch, &requests)?;
        }
        Ok(())
    }

    /// The requests that the commit of `epoch` answers: every savepoint request, and the
    /// stop requests once the job has drained to the boundary chosen for them.
    ///
    /// A stop does not end the job at the epoch committing now, whose later input the
    /// sources have sent already and a restart would compute again; it picks the next epoch
    /// boundary past the furthest source (plus a margin for the other processes), pauses
    /// every source there (`control/draining` tells the other processes), and stops when
    /// that epoch commits: nothing after the savepoint was sent at all.
    fn requests_answered_at(
        &mut self,
        control: &ControlDirectory,
        epoch: Time,
    ) -> anyhow::Result<Vec<Request>> {
        let (stops, mut requests): (Vec<Request>, Vec<Request>) = control
            .take_requests(true)?
            .into_iter()
            .partition(|r| r.kind == RequestKind::Stop);
        if !stops.is_empty() && self.draining.is_none() && epoch != FINAL_EPOCH {
            let reached = epoch.max(self.hub.control().source_position());
            let margin = DRAIN_MARGIN.min(self.hub.settings().every);
            let boundary = self.hub.next_epoch_after(reached.saturating_add(margin));
            control.mark_draining(boundary)?;
            self.hub.control().pause_at(boundary);
            self.draining = Some((boundary, Vec::new()));
        }
        match &mut self.draining {
            Some((_, waiting)) => waiting.extend(stops),
            None => requests.extend(stops),
        }
        if let Some((boundary, _)) = &self.draining
            && (epoch >= *boundary || epoch == FINAL_EPOCH)
            && let Some((_, waiting)) = self.draining.take()
        {
            requests.extend(waiting);
        }
        Ok(requests)
    }

    /// Answers the requests that made `epoch` a savepoint; stops the job after it if one
    /// asked to stop (and the job has not ended anyway).
    fn answer(
        &self,
        control: &ControlDirectory,
        epoch: Time,
        requests: &[Request],
    ) -> anyhow::Result<()> {
        let stop = epoch != FINAL_EPOCH && requests.iter().any(|r| r.kind == RequestKind::Stop);
        if stop {
            // Other processes watch for this mark and stop their sources too.
            control.mark_stopped(epoch)?;
            self.hub.stop_after(epoch);
            if let Some(progress) = &self.hub.settings().progress {
                progress.record(&ProgressEvent::Stopped {
                    epoch,
                    at_us: unix_micros(),
                });
            }
        }
        for request in requests {
            let answer = Answer {
                epoch: Some(epoch),
                stopped: stop || epoch == FINAL_EPOCH,
                error: None,
            };
            control.reply(request, &answer)?;
        }
        Ok(())
    }
}
