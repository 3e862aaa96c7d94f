//! Exactly-once JSON-lines output: lines are staged per epoch in the job's snapshots and
//! published to the output file when the snapshot covering them commits.
//!
//! A line at time `t` belongs to the first epoch after `t`. When the sink's frontier reaches
//! an epoch, every line before it has arrived: the staged part is synced and reported, and
//! once the whole snapshot commits, the coordinator appends it to the output. A restored job
//! re-creates exactly the lines at or after its epoch, so no line is lost or doubled.

use std::collections::BTreeMap;

use serde::Serialize;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::StreamVec;

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
        let Some(participant) =
            Participant::register(&self.scope(), OUTPUT_PARTICIPANT, PartKind::Output)
        else {
            control.fail(anyhow::anyhow!(
                "exactly-once output needs a job that snapshots"
            ));
            return;
        };
        let stage_bytes = stage_bytes();
        let mut next = participant.first_epoch();
        let mut staged: BTreeMap<Time, EpochLines> = BTreeMap::new();
        let mut finished = false;
        self.sink(Pipeline, "StageJsonLines", move |(input, frontier)| {
            let mut written = 0u64;
            input.for_each_stamp(|cap, data| {
                let Some(&time) = cap.least() else { return };
                let epoch = participant.next_epoch_after(time);
                let staging = staged.entry(epoch).or_insert_with(|| EpochLines {
                    lines: participant.output_buffer(stage_bytes + stage_bytes / 4),
                    on_disk: false,
                });
                let lines = &mut staging.lines;
                for container in data {
                    for record in container.drain(..) {
                        if let Err(error) = encode_json(lines, &record) {
                            control.fail(
                                anyhow::Error::new(error).context("cannot encode an output record"),
                            );
                            return;
                        }
                        lines.push(b'\n');
                        written += 1;
                    }
                }
                if lines.len() >= stage_bytes {
                    // Room for the threshold and the batch that crosses it, so that filling
                    // the next buffer never grows it.
                    let next = participant.output_buffer(stage_bytes + stage_bytes / 4);
                    participant.append_output(epoch, std::mem::replace(lines, next));
                    staging.on_disk = true;
                }
            });
            Counters::add(&control.counters().records_out, written);
            let frontier = frontier_time(frontier);
            while let Some(frontier) = frontier.filter(|&f| f >= next) {
                // An epoch with output stands for itself alone (its lines are published once);
                // a run of epochs without output, up to the next with some, is one report.
                let through = match staged.remove(&next) {
                    Some(EpochLines { lines, .. }) => {
                        if !lines.is_empty() {
                            participant.append_output(next, lines);
                        }
                        next
                    }
                    None => {
                        let quiet_until = staged
                            .keys()
                            .next()
                            .map_or(frontier, |&staged| frontier.min(staged - 1));
                        participant
                            .epoch_at_or_before(quiet_until)
                            .clamp(next, FINAL_EPOCH - 1)
                    }
                };
                participant.finish_output(next, through, false);
                next = participant.next_epoch_after(through);
            }
            if frontier.is_none() && !finished {
                finished = true;
                // The input ended before these epochs could be captured. Lines still in
                // memory join the final epoch's part; an epoch some of whose lines are on
                // disk already is finished as it is and reported, and the coordinator
                // publishes it with the next epoch it commits (it carries staged output of
                // every epoch it cannot commit).
                for (epoch, EpochLines { lines, on_disk }) in std::mem::take(&mut staged) {
                    if on_disk && epoch != FINAL_EPOCH {
                        if !lines.is_empty() {
                            participant.append_output(epoch, lines);
                        }
                        participant.finish_output(epoch, epoch, false);
                    } else if !lines.is_empty() {
                        participant.append_output(FINAL_EPOCH, lines);
                    }
                }
                participant.finish_output(FINAL_EPOCH, FINAL_EPOCH, control.should_stop());
            }
        });
    }
}
