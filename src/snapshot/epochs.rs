//! A stateful operator's side of snapshots: which epoch it captures next, and its report
//! when its input ends.

use timely::dataflow::Scope;

use crate::snapshot::hub::Participant;
use crate::snapshot::manifest::{PartKind, FINAL_EPOCH};
use crate::time::Time;

/// Tracks the epochs a stateful operator captures.
pub struct StateEpochs {
    participant: Participant,
    next: Time,
    finished: bool,
}

impl StateEpochs {
    /// Registers a stateful operator called `id`; `None` when the job does not snapshot.
    pub fn register(scope: &Scope<'_, Time>, id: &str) -> Option<StateEpochs> {
        let participant = Participant::register(scope, id, PartKind::State)?;
        Some(StateEpochs {
            next: participant.first_epoch(),
            participant,
            finished: false,
        })
    }

    /// The participant.
    pub fn participant(&self) -> &Participant {
        &self.participant
    }

    /// The next epoch to capture, if the input frontier has reached it. The operator must
    /// then apply exactly its input before that epoch, capture, and call [`Self::captured`].
    #[inline]
    pub fn due(&self, frontier: Option<Time>) -> Option<Time> {
        match frontier {
            Some(f) if f >= self.next && !self.finished => Some(self.next),
            _ => None,
        }
    }

    /// The last epoch that the state captured for the due epoch stands for as well: the
    /// input frontier is at `frontier`, and the earliest input not yet applied is at
    /// `earliest_pending`, so nothing changes the state before the earlier of the two.
    pub fn through(&self, frontier: Option<Time>, earliest_pending: Option<Time>) -> Time {
        let quiet_until = frontier
            .unwrap_or(Time::MAX)
            .min(earliest_pending.unwrap_or(Time::MAX));
        self.participant
            .epoch_at_or_before(quiet_until)
            .min(FINAL_EPOCH - 1)
            .max(self.next)
    }

    /// Moves on after capturing the due epoch for the epochs up to `through`.
    pub fn captured(&mut self, through: Time) {
        self.next = self.participant.next_epoch_after(through.max(self.next));
    }

    /// Reports the end of the operator's input, once: it takes part in no later epoch.
    pub fn finish_if_done(&mut self, frontier: Option<Time>) {
        if frontier.is_none() && !self.finished {
            self.finished = true;
            self.participant.report_final(false, None);
        }
    }
}
