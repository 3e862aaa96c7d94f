//! Exactly-once JSON-lines output: lines are staged per epoch in the job's snapshots and
//! published to the output file when the snapshot covering them commits.
//!
//! A line at time `t` belongs to the first epoch after `t`. When the writer's frontier
//! reaches an epoch, every line before it has arrived: the staged part is synced and
//! reported, and once the whole snapshot commits, the coordinator appends it to the output.
//! A restored job re-creates exactly the lines at or after its epoch, so no line is lost or
//! doubled.
//!
//! The staging itself is [`StagedLineWriter`], fed either by the [`StageJsonLines`] sink
//! operator or, for a [`Chain`](crate::sources::Chain) that ends in the output, by the source
//! itself, whose own frontier is then the writer's: its records cross no channel.

use std::collections::BTreeMap;

use serde::Serialize;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::{Scope, StreamVec};

use crate::control::{Counters, JobControl};
use crate::sinks::{encode_json, OUTPUT_PARTICIPANT};
use crate::snapshot::{PartKind, Participant, FINAL_EPOCH};
use crate::time::frontier_time;
use crate::time::Time;

/// Bytes of one epoch's lines held before they go to the staged part.
const STAGE_BYTES: usize = 1 << 20;

/// [`STAGE_BYTES`], unless `WEIR_STAGE_BYTES` sets another threshold: the crash tests set a
/// small one, so that small inputs stage output to disk in the middle of their epochs.
fn stage_bytes() -> usize {
    static BYTES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *BYTES.get_or_init(|| {
        std::env::var("WEIR_STAGE_BYTES")
            .ok()
            .and_then(|bytes| bytes.parse().ok())
            .unwrap_or(STAGE_BYTES)
    })
}

/// One epoch's output while it is being staged.
struct EpochLines {
    /// Lines not yet handed to the writer.
    lines: Vec<u8>,
    /// Whether some of its lines already went to its part on disk: that part must then be
    /// finished and reported, whichever way the epoch ends.
    on_disk: bool,
}

/// Extension trait for exactly-once JSON-lines output.
pub trait StageJsonLines<'scope, D> {
    /// Stages every record as a line of JSON in the snapshots of the job `self` belongs to,
    /// to be published when they commit. Without snapshots there is nothing to stage in, and
    /// the records are dropped with an error reported to `control`; use
    /// [`WriteJsonLines`](crate::sinks::WriteJsonLines) there (as
    /// [`Job::output`](crate::job::Job::output) does).
    fn stage_json_lines(self, control: JobControl);
}

impl<'scope, D: Serialize + 'static> StageJsonLines<'scope, D> for StreamVec<'scope, Time, D> {
    fn stage_json_lines(self, control: JobControl) {
        if let Some(writer) = StagedLineWriter::register(&self.scope(), control) {
            self.stage_with(writer);
        }
    }
}

/// The sink operator that feeds a [`StagedLineWriter`].
pub(crate) trait StageWith {
    /// Stages every record with `writer`, closing epochs as the input's frontier passes them.
    fn stage_with(self, writer: StagedLineWriter);
}

impl<'scope, D: Serialize + 'static> StageWith for StreamVec<'scope, Time, D> {
    fn stage_with(self, mut writer: StagedLineWriter) {
        self.sink(Pipeline, "StageJsonLines", move |(input, frontier)| {
            input.for_each_stamp(|cap, data| {
                let Some(&time) = cap.least() else { return };
                for container in data {
                    writer.write(time, container.drain(..));
                }
            });
            writer.advance(frontier_time(frontier));
        });
    }
}

/// One worker's exactly-once output: lines staged per epoch, each epoch reported to the
/// snapshots once the writer's frontier has passed it.
pub(crate) struct StagedLineWriter {
    participant: Participant,
    control: JobControl,
    stage_bytes: usize,
    /// The first epoch not yet reported.
    next: Time,
    staged: BTreeMap<Time, EpochLines>,
    /// Lines written since the last [`advance`](Self::advance), for the counters.
    written: u64,
    /// Whether the final epoch has been reported: the input has ended.
    finished: bool,
    /// Whether a record could not be encoded: the job is failing, nothing more is staged.
    failed: bool,
}

impl StagedLineWriter {
    /// Registers this worker's output in the snapshots of `scope`'s job. Without snapshots
    /// there is nothing to stage in: `None`, with the error reported to `control`.
    pub(crate) fn register(scope: &Scope<'_, Time>, control: JobControl) -> Option<Self> {
        let Some(participant) = Participant::register(scope, OUTPUT_PARTICIPANT, PartKind::Output)
        else {
            control.fail(anyhow::anyhow!(
                "exactly-once output needs a job that snapshots"
            ));
            return None;
        };
        Some(StagedLineWriter {
            next: participant.first_epoch(),
            participant,
            control,
            stage_bytes: stage_bytes(),
            staged: BTreeMap::new(),
            written: 0,
            finished: false,
            failed: false,
        })
    }

    /// A buffer for one epoch's lines: room for the threshold and the batch that crosses
    /// it, so that filling it never grows it.
    fn buffer(&self) -> Vec<u8> {
        self.participant
            .output_buffer(self.stage_bytes + self.stage_bytes / 4)
    }

    /// Stages `records`, all at `time`, as lines of the epoch after `time`.
    #[inline]
    pub(crate) fn write<D: Serialize>(&mut self, time: Time, records: impl Iterator<Item = D>) {
        if self.failed {
            return;
        }
        let epoch = self.participant.next_epoch_after(time);
        if !self.staged.contains_key(&epoch) {
            let lines = self.buffer();
            self.staged.insert(
                epoch,
                EpochLines {
                    lines,
                    on_disk: false,
                },
            );
        }
        let Some(staging) = self.staged.get_mut(&epoch) else {
            return;
        };
        let lines = &mut staging.lines;
        for record in records {
            if let Err(error) = encode_json(lines, &record) {
                self.control
                    .fail(anyhow::Error::new(error).context("cannot encode an output record"));
                self.failed = true;
                return;
            }
            lines.push(b'\n');
            self.written += 1;
        }
        if lines.len() >= self.stage_bytes {
            let next = self
                .participant
                .output_buffer(self.stage_bytes + self.stage_bytes / 4);
            self.participant
                .append_output(epoch, std::mem::replace(lines, next));
            staging.on_disk = true;
        }
    }

    /// Reports every epoch before `frontier`: no line before it will come. `None`: the input
    /// has ended, and what is left is reported with the final epoch.
    pub(crate) fn advance(&mut self, frontier: Option<Time>) {
        Counters::add(
            &self.control.counters().records_out,
            std::mem::take(&mut self.written),
        );
        let participant = &self.participant;
        while let Some(frontier) = frontier.filter(|&f| f >= self.next) {
            let next = self.next;
            // An epoch with output stands for itself alone (its lines are published once);
            // a run of epochs without output, up to the next with some, is one report.
            let through = match self.staged.remove(&next) {
                Some(EpochLines { lines, .. }) => {
                    if !lines.is_empty() {
                        participant.append_output(next, lines);
                    }
                    next
                }
                None => {
                    let quiet_until = self
                        .staged
                        .keys()
                        .next()
                        .map_or(frontier, |&staged| frontier.min(staged - 1));
                    participant
                        .epoch_at_or_before(quiet_until)
                        .clamp(next, FINAL_EPOCH - 1)
                }
            };
            participant.finish_output(next, through, false);
            self.next = participant.next_epoch_after(through);
        }
        if frontier.is_none() && !self.finished {
            self.finished = true;
            // The input ended before these epochs could be captured. Lines still in memory
            // join the final epoch's part; an epoch some of whose lines are on disk already
            // is finished as it is and reported, and the coordinator publishes it with the
            // next epoch it commits (it carries staged output of every epoch it cannot
            // commit).
            for (epoch, EpochLines { lines, on_disk }) in std::mem::take(&mut self.staged) {
                if on_disk && epoch != FINAL_EPOCH {
                    if !lines.is_empty() {
                        participant.append_output(epoch, lines);
                    }
                    participant.finish_output(epoch, epoch, false);
                } else if !lines.is_empty() {
                    participant.append_output(FINAL_EPOCH, lines);
                }
            }
            participant.finish_output(FINAL_EPOCH, FINAL_EPOCH, self.control.should_stop());
        }
    }
}
