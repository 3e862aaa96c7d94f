//! The writer thread of one process: everything slow about snapshots happens here, in the
//! order it was asked for, so that capturing never waits on encoding, checksums or disks.
//!
//! It encodes and writes state parts, stages output, reports each durable part to its
//! worker's forwarder, and — on the coordinating process — commits manifests, publishes
//! committed output and prunes old snapshots. After a failure it writes nothing more but
//! still delivers reports marked as aborted, so that the dataflow can wind down and nothing
//! half-written is ever committed.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;

use crate::snapshot::fault::fault_point;
use crate::snapshot::hub::{PartTiming, Report, SnapshotHub};
use crate::snapshot::manifest::{epoch_label, Manifest, PartFile, FINAL_EPOCH, FORMAT_VERSION};
use crate::snapshot::part::PartHeader;
use crate::state::KeyGroups;
use crate::time::Time;

/// Encodes captured state into a part's bytes.
pub(crate) type Encode = Box<dyn FnOnce(&KeyGroups) -> anyhow::Result<Vec<u8>> + Send>;

/// Work for the writer thread.
pub(crate) enum WriterJob {
    /// Encode, write and sync a state part, then report it.
    WriteState {
        report: Report,
        worker: usize,
        file: String,
        capture: Duration,
        encode: Encode,
    },
    /// Pass a report on (after everything the participant asked for before it).
    Report { report: Report, worker: usize },
    /// Append lines to a staged output part.
    AppendOutput {
        epoch: Time,
        file: String,
        bytes: Vec<u8>,
    },
    /// Sync a staged output part and report it.
    FinishOutput {
        report: Report,
        worker: usize,
        file: String,
    },
    /// Commit an epoch whose every part is durable (coordinating process only).
    Commit { epoch: Time, reports: Vec<Report> },
}

struct Staged {
    file: File,
    crc: crc32fast::Hasher,
    bytes: u64,
}

/// Starts the writer thread for a hub; it ends when the hub closes its queue.
pub(crate) fn spawn(hub: Arc<SnapshotHub>, jobs: Receiver<WriterJob>) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name("weir:snapshots".to_string())
        .spawn(move || Writer::new(hub).run(jobs))
        .unwrap_or_else(|e| panic!("cannot start the snapshot writer thread: {e}"))
}

/// A channel for writer jobs.
pub(crate) fn channel() -> (mpsc::Sender<WriterJob>, Receiver<WriterJob>) {
    mpsc::channel()
}

struct Writer {
    hub: Arc<SnapshotHub>,
    staged: HashMap<(Time, String), Staged>,
    /// Where a part written for one epoch and standing for later ones was last carried to,
    /// by the epoch it was written for and its name: older copies may have been pruned.
    carried: HashMap<(Time, String), (Time, String)>,
    failed: bool,
}

impl Writer {
    fn new(hub: Arc<SnapshotHub>) -> Self {
        Writer {
            hub,
            staged: HashMap::new(),
            carried: HashMap::new(),
            failed: false,
        }
    }

    fn run(mut self, jobs: Receiver<WriterJob>) {
        for job in jobs {
            self.handle(job);
        }
    }

    fn fail(&mut self, error: anyhow::Error) {
        self.failed = true;
        self.hub.control().fail(error);
    }

    fn handle(&mut self, job: WriterJob) {
        match job {
            WriterJob::WriteState {
                mut report,
                worker,
                file,
                capture,
                encode,
            } => {
                if !self.failed {
                    match self.write_state(&report, worker, &file, encode) {
                        Ok((part, encode, write)) => {
                            self.hub.record_timing(PartTiming {
                                epoch: report.epoch,
                                operator: report.part.operator.clone(),
                                worker,
                                bytes: part.bytes,
                                capture,
                                encode,
                                write,
                            });
                            report.part.file = Some(part);
                        }
                        Err(error) => self.fail(error),
                    }
                }
                report.aborted |= self.failed;
                self.hub.deliver(worker, report);
            }
            WriterJob::Report { mut report, worker } => {
                report.aborted |= self.failed;
                self.hub.deliver(worker, report);
            }
            WriterJob::AppendOutput { epoch, file, bytes } => {
                if !self.failed {
                    if let Err(error) = self.append(epoch, &file, &bytes) {
                        self.fail(error);
                    }
                }
            }
            WriterJob::FinishOutput {
                mut report,
                worker,
                file,
            } => {
                if !self.failed {
                    match self.finish(report.epoch, &file) {
                        Ok(part) => report.part.file = part,
                        Err(error) => self.fail(error),
                    }
                }
                report.aborted |= self.failed;
                self.hub.deliver(worker, report);
            }
            WriterJob::Commit { epoch, reports } => {
                if !self.failed && !reports.iter().any(|r| r.aborted) {
                    if let Err(error) = self.commit(epoch, reports) {
                        self.fail(
                            error.context(format!("cannot commit snapshot {}", epoch_label(epoch))),
                        );
                    }
                }
            }
        }
    }

    fn epoch_dir(&self, epoch: Time) -> anyhow::Result<std::path::PathBuf> {
        let dir = self.hub.settings().store.epoch_dir(epoch);
        fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create snapshot directory {}", dir.display()))?;
        Ok(dir)
    }

    fn write_state(
        &mut self,
        report: &Report,
        worker: usize,
        name: &str,
        encode: Encode,
    ) -> anyhow::Result<(PartFile, Duration, Duration)> {
        let start = Instant::now();
        let groups = self.hub.key_groups();
        let header = PartHeader {
            format: FORMAT_VERSION,
            fingerprint: self.hub.identity().fingerprint(),
            operator: report.part.operator.clone(),
            epoch: report.epoch,
            worker,
            workers: self.hub.workers(),
            key_groups: groups.count(),
        }
        .to_bytes()?;
        let body = encode(&groups)?;
        let encoded = start.elapsed();
        let path = self.epoch_dir(report.epoch)?.join(name);
        let mut file =
            File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        file.write_all(&header)
            .and_then(|()| file.write_all(&body))
            .with_context(|| format!("cannot write {}", path.display()))?;
        file.sync_all()
            .with_context(|| format!("cannot sync {}", path.display()))?;
        fault_point("part-written");
        let mut crc = crc32fast::Hasher::new();
        crc.update(&header);
        crc.update(&body);
        let part = PartFile {
            name: name.to_string(),
            bytes: (header.len() + body.len()) as u64,
            crc32: crc.finalize(),
        };
        Ok((part, encoded, start.elapsed() - encoded))
    }

    fn append(&mut self, epoch: Time, name: &str, bytes: &[u8]) -> anyhow::Result<()> {
        let key = (epoch, name.to_string());
        if !self.staged.contains_key(&key) {
            let path = self.epoch_dir(epoch)?.join(name);
            let file = OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .open(&path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            self.staged.insert(
                key.clone(),
                Staged {
                    file,
                    crc: crc32fast::Hasher::new(),
                    bytes: 0,
                },
            );
        }
        if let Some(staged) = self.staged.get_mut(&key) {
            staged
                .file
                .write_all(bytes)
                .context("cannot stage output")?;
            staged.crc.update(bytes);
            staged.bytes += bytes.len() as u64;
        }
        Ok(())
    }

    fn finish(&mut self, epoch: Time, name: &str) -> anyhow::Result<Option<PartFile>> {
        let Some(staged) = self.staged.remove(&(epoch, name.to_string())) else {
            return Ok(None);
        };
        staged
            .file
            .sync_all()
            .context("cannot sync staged output")?;
        Ok(Some(PartFile {
            name: name.to_string(),
            bytes: staged.bytes,
            crc32: staged.crc.finalize(),
        }))
    }

    /// Puts the part `name`, written for epoch `written`, into the directory of `epoch`, which
    /// it belongs to as well (a state part standing for later epochs, or output staged for
    /// an epoch that was not committed): a hard link where the file system allows, a copy
    /// where not. Returns its name there, prefixed with `written` so that parts from several
    /// epochs cannot collide.
    fn carry(&mut self, written: Time, epoch: Time, name: &str) -> anyhow::Result<String> {
        let key = (written, name.to_string());
        let (from_epoch, from_name) = self
            .carried
            .get(&key)
            .cloned()
            .unwrap_or_else(|| (written, name.to_string()));
        let store = &self.hub.settings().store;
        let from = store.epoch_dir(from_epoch).join(&from_name);
        let carried_name = format!("e{written}-{name}");
        let to = self.epoch_dir(epoch)?.join(&carried_name);
        if fs::hard_link(&from, &to).is_err() {
            fs::copy(&from, &to).with_context(|| {
                format!("cannot carry {} into {}", from.display(), to.display())
            })?;
        }
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
            output: Some(settings.output.display().to_string()),
            committed_unix_ms,
        };
        settings.store.commit(&manifest)?;
        fault_point("after-manifest");
        settings.store.publish(&manifest, &settings.output)?;
        fault_point("after-publish");
        settings.store.prune(settings.keep)?;
        hub.record_commit(epoch);
        Ok(())
    }
}
