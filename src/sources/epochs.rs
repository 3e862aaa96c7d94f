//! A source's side of snapshots: reporting, for each epoch its watermark passes, where to
//! resume at that epoch.

use timely::dataflow::Scope;

use crate::snapshot::{FutureReports, PartKind, Participant, FINAL_EPOCH};
use crate::time::Time;

/// Tracks the epochs a source has reported.
pub(crate) struct SourceEpochs {
    participant: Participant,
    next: Time,
    finished: bool,
}

impl SourceEpochs {
    /// Registers a source; `None` when the job does not snapshot.
    pub(crate) fn register(scope: &Scope<'_, Time>, id: &str) -> Option<SourceEpochs> {
        let participant = Participant::register(scope, id, PartKind::Source)?;
        Some(SourceEpochs {
            next: participant.first_epoch(),
            participant,
            finished: false,
        })
    }

    pub(crate) fn participant(&self) -> &Participant {
        &self.participant
    }

    /// The epoch being restored, if any.
    pub(crate) fn restored_epoch(&self) -> Option<Time> {
        self.participant.hub().restored_epoch()
    }

    /// The next epoch to report.
    pub(crate) fn next(&self) -> Time {
        self.next
    }

    /// The last epoch at or before `time`.
    pub(crate) fn at_or_before(&self, time: Time) -> Time {
        self.participant.epoch_at_or_before(time)
    }

    /// The epoch after `epoch`.
    pub(crate) fn after(&self, epoch: Time) -> Time {
        self.participant.next_epoch_after(epoch)
    }

    /// The watermark is now `watermark`: reports every epoch it has passed, with the resume
    /// position `position(epoch)` gives together with the last epoch it holds for (a source
    /// whose input skips ahead in time resumes at the same place for every epoch skipped).
    pub(crate) fn passed(
        &mut self,
        watermark: Time,
        mut position: impl FnMut(Time) -> (Time, Option<String>),
    ) {
        let last_passed = self
            .participant
            .epoch_at_or_before(watermark)
            .min(FINAL_EPOCH - 1);
        while !self.finished && self.next <= last_passed {
            let (holds_through, inline) = position(self.next);
            let through = holds_through.clamp(self.next, last_passed);
            self.participant.report_inline(self.next, through, inline);
            self.next = self.participant.next_epoch_after(through);
        }
    }

    /// The source has ended: later epochs resume as `future` says. `aborted` marks a source
    /// stopped by an error or a stop request, whose end must not be committed.
    pub(crate) fn finish(&mut self, aborted: bool, future: FutureReports) {
        if !self.finished {
            self.finished = true;
            self.participant.report_final(aborted, Some(future));
        }
    }
}
