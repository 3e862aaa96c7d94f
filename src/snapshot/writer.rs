//! The writer thread of one process: everything slow about snapshots happens here, in the
//! order it was asked for, so that capturing never waits on encoding, checksums or disks.
//!
//! It encodes and writes state parts, stages output, reports each durable part to its
//! worker's forwarder, and — on the coordinating process — commits manifests, publishes
//! committed output and prunes old snapshots. After a failure it writes nothing more but
//! still delivers reports marked as aborted, so that the dataflow can wind down and nothing
//! half-written is ever committed.

use std::collections::HashMap;
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::snapshot::fault::fault_point;
use crate::snapshot::hub::SnapshotHub;
use crate::snapshot::manifest::{PartFile, FORMAT_VERSION};
use crate::snapshot::messages::{Encode, PartTiming, Report, WriterJob};
use crate::snapshot::part::PartHeader;
use crate::snapshot::publisher::Publisher;
use crate::snapshot::storage::PartWriter;
use crate::time::Time;

/// Encodes captured state into a part's bytes.
struct Staged {
    file: Box<dyn PartWriter>,
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

struct Writer {
    hub: Arc<SnapshotHub>,
    staged: HashMap<(Time, String), Staged>,
    /// Commits and publishes on a thread of its own, so that copying output into the
    /// output file overlaps staging the next epoch's (coordinating process only).
    publisher: Option<Publisher>,
    failed: bool,
}

impl Writer {
    fn new(hub: Arc<SnapshotHub>) -> Self {
        Writer {
            hub,
            staged: HashMap::new(),
            publisher: None,
            failed: false,
        }
    }

    fn run(mut self, jobs: Receiver<WriterJob>) {
        for job in jobs {
            self.handle(job);
        }
        if let Some(publisher) = self.publisher.take() {
            publisher.finish();
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
                if !self.failed
                    && let Err(error) = self.append(epoch, &file, &bytes)
                {
                    self.fail(error);
                }
                self.hub.recycle_buffer(bytes);
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
                    let hub = &self.hub;
                    self.publisher
                        .get_or_insert_with(|| Publisher::spawn(Arc::clone(hub)))
                        .commit(epoch, reports);
                }
            }
        }
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
        let mut file = self.hub.settings().store.create_part(report.epoch, name)?;
        file.write(&header)
            .and_then(|()| file.write(&body))
            .and_then(|()| file.finish())
            .with_context(|| format!("cannot write snapshot part {name}"))?;
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
            let file = self.hub.settings().store.create_part(epoch, name)?;
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
            staged.file.write(bytes).context("cannot stage output")?;
            staged.crc.update(bytes);
            staged.bytes += bytes.len() as u64;
        }
        fault_point("output-staged");
        Ok(())
    }

    fn finish(&mut self, epoch: Time, name: &str) -> anyhow::Result<Option<PartFile>> {
        let Some(staged) = self.staged.remove(&(epoch, name.to_string())) else {
            return Ok(None);
        };
        staged.file.finish().context("cannot sync staged output")?;
        Ok(Some(PartFile {
            name: name.to_string(),
            bytes: staged.bytes,
            crc32: staged.crc.finalize(),
        }))
    }
}
