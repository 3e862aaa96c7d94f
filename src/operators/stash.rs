//! Holding input until the frontier says it may be applied, in timestamp order.
//!
//! Keyed operators apply their input in timestamp order so that results, and the state as of
//! any time, do not depend on how records from different workers interleave (docs/architecture.md,
//! principle 3). Input at time `t` may be applied once the input frontier has reached `t`:
//! nothing earlier can still arrive, and input at `t` itself is applied in arrival order.
//! Most input arrives at the frontier and is applied at once; the rest waits here, under one
//! capability at the earliest time waiting.
//!
//! A stash keeps one vector of records per time. A well-filled container is moved in whole;
//! the records of a sparse one are moved into the time's vector. Event-time sources send a
//! message per millisecond, often of a few records in a container sized for hundreds: kept
//! whole, a stash a few seconds deep held hundreds of MiB of empty capacity (q4 at `-w 2`).

use std::collections::BTreeMap;

use timely::dataflow::operators::{Capability, InputCapability};

pub(crate) use crate::time::frontier_time;
use crate::time::Time;

/// Whether input at `time` may be applied, given the input frontier.
#[inline]
pub(crate) fn is_ready(frontier: Option<Time>, time: Time) -> bool {
    frontier.is_none_or(|f| time <= f)
}

/// Values by time, and one capability, at the earliest time: what a keyed operator keeps
/// for later (stashed input, deadlines) and must be able to answer at.
///
/// One capability rather than one per time: every capability an operator holds from one
/// activation to the next is progress that every worker hears of, and an operator behind a
/// remote worker's frontier holds a time per millisecond. A time's own capability is made
/// from the one held as the time is taken out.
pub(crate) struct TimedQueue<V> {
    by_time: BTreeMap<Time, V>,
    /// At the earliest time; `None` when the queue is empty.
    held: Option<Capability<Time>>,
}

impl<V: Default> TimedQueue<V> {
    pub(crate) fn new() -> Self {
        TimedQueue {
            by_time: BTreeMap::new(),
            held: None,
        }
    }

    /// The value of `time`; `cap(time)` makes a capability for it should the queue need one.
    pub(crate) fn entry(
        &mut self,
        time: Time,
        cap: impl FnOnce(Time) -> Capability<Time>,
    ) -> &mut V {
        if self.held.as_ref().is_none_or(|held| time < *held.time()) {
            self.held = Some(cap(time));
        }
        self.by_time.entry(time).or_default()
    }

    /// The earliest time.
    pub(crate) fn earliest(&self) -> Option<Time> {
        self.by_time.first_key_value().map(|(&time, _)| time)
    }

    /// Removes the earliest time if `due(time)`, with a capability for it, and moves the held
    /// capability on to the next.
    pub(crate) fn pop_if(
        &mut self,
        due: impl FnOnce(Time) -> bool,
    ) -> Option<(Time, Capability<Time>, V)> {
        let time = self.earliest().filter(|&time| due(time))?;
        let held = self.held.as_mut()?;
        let (_, value) = self.by_time.pop_first()?;
        let cap = held.delayed(&time);
        match self.by_time.first_key_value() {
            Some((&next, _)) => held.downgrade(&next),
            None => self.held = None,
        }
        Some((time, cap, value))
    }
}

/// Records waiting for the frontier, by time.
pub(crate) struct TimeStash<D> {
    pending: TimedQueue<Vec<D>>,
}

impl<D> TimeStash<D> {
    pub(crate) fn new() -> Self {
        TimeStash {
            pending: TimedQueue::new(),
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
        let records = self.pending.entry(time, |time| cap.delayed(&time, 0));
        for container in containers {
            gather(records, container);
        }
    }

    /// Moves the records of one message held by `cap` into the stash, each by its own time
    /// (`time_of`, at or after `cap`'s). A run of records of one time costs one lookup:
    /// sources send their records in time order.
    pub(crate) fn stash_by_own_time<'a>(
        &mut self,
        cap: &InputCapability<Time>,
        containers: impl Iterator<Item = &'a mut Vec<D>>,
        time_of: impl Fn(&D) -> Time,
    ) where
        D: 'a,
    {
        self.stash_unwrapped(cap, containers, time_of, |record| record);
    }

    /// As [`stash_by_own_time`](Self::stash_by_own_time), for messages of wrapped records
    /// (`unwrap` takes the record out: routing tags, say).
    pub(crate) fn stash_unwrapped<'a, W: 'a>(
        &mut self,
        cap: &InputCapability<Time>,
        containers: impl Iterator<Item = &'a mut Vec<W>>,
        time_of: impl Fn(&W) -> Time,
        unwrap: impl Fn(W) -> D,
    ) {
        for container in containers {
            let mut records = container.drain(..).peekable();
            while let Some(first) = records.next() {
                let time = time_of(&first);
                let run = self.pending.entry(time, |time| cap.delayed(&time, 0));
                run.push(unwrap(first));
                while let Some(next) = records.next_if(|record| time_of(record) == time) {
                    run.push(unwrap(next));
                }
            }
        }
    }

    /// The earliest stashed time.
    pub(crate) fn earliest(&self) -> Option<Time> {
        self.pending.earliest()
    }

    /// Removes the earliest stashed time if it is before `epoch`.
    pub(crate) fn pop_before(&mut self, epoch: Time) -> Option<(Capability<Time>, Vec<D>)> {
        let (_, cap, records) = self.pending.pop_if(|time| time < epoch)?;
        Some((cap, records))
    }

    /// Removes the earliest stashed time if the frontier has reached it.
    pub(crate) fn pop_ready(
        &mut self,
        frontier: Option<Time>,
    ) -> Option<(Capability<Time>, Vec<D>)> {
        let (_, cap, records) = self.pending.pop_if(|time| is_ready(frontier, time))?;
        Some((cap, records))
    }
}

/// Moves the records of `container` to the end of `records`: the container itself when it is
/// the first and at least half full, its records otherwise, so that what is kept is never
/// mostly spare capacity.
fn gather<D>(records: &mut Vec<D>, container: &mut Vec<D>) {
    if records.is_empty() && container.len() * 2 >= container.capacity() {
        std::mem::swap(records, container);
    } else {
        records.append(container);
    }
}

#[cfg(test)]
mod tests {
    use super::gather;

    #[test]
    fn sparse_containers_are_gathered_without_their_spare_capacity() {
        let mut records = Vec::new();
        for n in 0..100u64 {
            let mut container = Vec::with_capacity(1024);
            container.extend([n, n]);
            gather(&mut records, &mut container);
        }
        assert_eq!(records.len(), 200);
        assert_eq!(records[..4], [0, 0, 1, 1]);
        // 100 containers kept whole would hold 102,400 slots.
        assert!(records.capacity() < 512, "capacity {}", records.capacity());
    }

    #[test]
    fn a_full_first_container_is_kept_without_copying() {
        let mut records = Vec::new();
        let mut container: Vec<u64> = (0..1000).collect();
        let buffer = container.as_ptr();
        gather(&mut records, &mut container);
        assert_eq!(records.as_ptr(), buffer);
        assert!(container.is_empty());
    }
}
