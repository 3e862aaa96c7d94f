//! Holding input until the frontier says it may be applied, in timestamp order.
//!
//! Keyed operators apply their input in timestamp order so that results, and the state as of
//! any time, do not depend on how records from different workers interleave (DESIGN.md
//! principle 3). Input at time `t` may be applied once the input frontier has reached `t`:
//! nothing earlier can still arrive, and input at `t` itself is applied in arrival order.
//! Most input arrives at the frontier and is applied at once; the rest waits here with a
//! capability for its time, whole containers moved rather than records copied.

use std::collections::BTreeMap;

use timely::dataflow::operators::{Capability, InputCapability};
use timely::progress::frontier::MutableAntichain;

use crate::time::Time;

/// The earliest time that may still arrive at an input, or `None` once the input is complete.
#[inline]
pub(crate) fn frontier_time(frontier: &MutableAntichain<Time>) -> Option<Time> {
    frontier.frontier().first().copied()
}

/// Whether input at `time` may be applied, given the input frontier.
#[inline]
pub(crate) fn is_ready(frontier: Option<Time>, time: Time) -> bool {
    frontier.is_none_or(|f| time <= f)
}

/// Containers waiting for the frontier, by time, each time with a capability to answer at it.
pub(crate) struct TimeStash<D> {
    pending: BTreeMap<Time, (Capability<Time>, Vec<Vec<D>>)>,
}

impl<D> TimeStash<D> {
    pub(crate) fn new() -> Self {
        TimeStash {
            pending: BTreeMap::new(),
        }
    }

    /// Moves the containers of one message at `cap`'s time into the stash.
    pub(crate) fn stash<'a>(
        &mut self,
        cap: &InputCapability<Time>,
        time: Time,
        containers: impl Iterator<Item = &'a mut Vec<D>>,
    ) where
        D: 'a,
    {
        let (_, batches) = self
            .pending
            .entry(time)
            .or_insert_with(|| (cap.delayed(&time, 0), Vec::new()));
        batches.extend(containers.map(std::mem::take));
    }

    /// The earliest stashed time.
    pub(crate) fn earliest(&self) -> Option<Time> {
        self.pending.first_key_value().map(|(&time, _)| time)
    }

    /// Removes the earliest stashed time if it is before `epoch`.
    pub(crate) fn pop_before(&mut self, epoch: Time) -> Option<(Capability<Time>, Vec<Vec<D>>)> {
        let (&time, _) = self.pending.first_key_value()?;
        if time < epoch {
            self.pending.pop_first().map(|(_, entry)| entry)
        } else {
            None
        }
    }

    /// Removes the earliest stashed time if the frontier has reached it.
    pub(crate) fn pop_ready(
        &mut self,
        frontier: Option<Time>,
    ) -> Option<(Capability<Time>, Vec<Vec<D>>)> {
        let (&time, _) = self.pending.first_key_value()?;
        if is_ready(frontier, time) {
            self.pending.pop_first().map(|(_, entry)| entry)
        } else {
            None
        }
    }
}
