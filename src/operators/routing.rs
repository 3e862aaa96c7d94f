//! Routing records to the worker that owns their key group.

use std::collections::VecDeque;
use std::hash::Hash;

use timely::container::{ContainerBuilder, LengthPreservingContainerBuilder, PushInto};
use timely::dataflow::channels::pact::ExchangeCore;
use timely::dataflow::Scope;
use timely::ExchangeData;

use crate::state::KeyGroups;
use crate::time::{Time, Timed};

/// The key groups of the job that `scope` belongs to: those set in the worker configuration
/// by the runtime, or the default when an operator runs outside a weir job (as in tests and
/// doc examples).
pub fn key_groups_of(scope: &Scope<'_, Time>) -> KeyGroups {
    scope
        .worker()
        .config()
        .get::<KeyGroups>(KeyGroups::CONFIG_KEY)
        .copied()
        .unwrap_or_default()
}

/// A record that keyed operators route by its key and apply at its time: a `(key, value)`
/// pair at its message's time, or a [`Timed`] pair at its own.
///
/// ```
/// use weir::operators::KeyedRecord;
/// use weir::time::Timed;
///
/// assert_eq!(('a', 1).time(5), 5);
/// assert_eq!(Timed { time: 7, record: ('a', 1) }.time(5), 7);
/// // A record cannot be earlier than the message that holds it.
/// assert_eq!(Timed { time: 3, record: ('a', 1) }.time(5), 5);
/// assert_eq!(*Timed { time: 7, record: ('a', 1) }.key(), 'a');
/// ```
pub trait KeyedRecord: ExchangeData {
    /// The key the record is routed and kept by.
    type Key;
    /// What is applied to the key's state.
    type Value;
    /// Whether records carry times of their own, so that one message may hold many times.
    const OWN_TIME: bool;

    /// The record's key.
    fn key(&self) -> &Self::Key;

    /// The record's time, in a message at `message`.
    fn time(&self, message: Time) -> Time;

    /// The key and the value.
    fn into_pair(self) -> (Self::Key, Self::Value);

    /// Makes the record's own time no earlier than `message`, its message's time, so that
    /// [`time`](Self::time) reads the same without the message (records applied at the
    /// message's time have nothing to change).
    #[inline]
    fn clamp_time(&mut self, _message: Time) {}
}

impl<K: ExchangeData, V: ExchangeData> KeyedRecord for (K, V) {
    type Key = K;
    type Value = V;
    const OWN_TIME: bool = false;

    #[inline]
    fn key(&self) -> &K {
        &self.0
    }

    #[inline]
    fn time(&self, message: Time) -> Time {
        message
    }

    #[inline]
    fn into_pair(self) -> (K, V) {
        self
    }
}

impl<K: ExchangeData, V: ExchangeData> KeyedRecord for Timed<(K, V)> {
    type Key = K;
    type Value = V;
    const OWN_TIME: bool = true;

    #[inline]
    fn key(&self) -> &K {
        &self.record.0
    }

    #[inline]
    fn time(&self, message: Time) -> Time {
        // A record cannot be earlier than the message that holds it.
        self.time.max(message)
    }

    #[inline]
    fn into_pair(self) -> (K, V) {
        self.record
    }

    #[inline]
    fn clamp_time(&mut self, message: Time) {
        self.time = self.time.max(message);
    }
}

/// An exchange of keyed records routed by `F`.
pub(crate) type KeyedExchange<R, F> = ExchangeCore<GrowingBuilder<R>, F>;

/// A parallelization contract that sends each keyed record to the owner of its key's group.
pub(crate) fn by_key_group<R>(
    scope: &Scope<'_, Time>,
) -> KeyedExchange<R, impl FnMut(&R) -> u64 + 'static + use<R>>
where
    R: KeyedRecord,
    R::Key: Hash,
{
    let groups = key_groups_of(scope);
    let peers = scope.peers();
    ExchangeCore::new_core(move |record: &R| groups.worker_of_key(record.key(), peers) as u64)
}

/// Builds the vectors an exchange sends, growing each as records come.
///
/// timely's default builder reserves a full buffer (8 KiB) for every message. Event-time
/// sources send a message per millisecond, and split over the workers it holds a few records:
/// an 8 KiB allocation each, freed by another thread, cost more than the records' own
/// routing.
pub(crate) struct GrowingBuilder<T> {
    current: Vec<T>,
    pending: VecDeque<Vec<T>>,
    /// The container last handed out, kept until the next is asked for.
    shipped: Option<Vec<T>>,
}

impl<T> Default for GrowingBuilder<T> {
    fn default() -> Self {
        GrowingBuilder {
            current: Vec::new(),
            pending: VecDeque::new(),
            shipped: None,
        }
    }
}

impl<T> PushInto<T> for GrowingBuilder<T> {
    #[inline]
    fn push_into(&mut self, item: T) {
        self.current.push(item);
        if self.current.len() >= timely::container::buffer::default_capacity::<T>() {
            self.pending.push_back(std::mem::take(&mut self.current));
        }
    }
}

impl<T> ContainerBuilder for GrowingBuilder<T> {
    type Container = Vec<T>;

    #[inline]
    fn extract(&mut self) -> Option<&mut Vec<T>> {
        self.shipped = Some(self.pending.pop_front()?);
        self.shipped.as_mut()
    }

    #[inline]
    fn finish(&mut self) -> Option<&mut Vec<T>> {
        if !self.current.is_empty() {
            self.pending.push_back(std::mem::take(&mut self.current));
        }
        self.shipped = self.pending.pop_front();
        self.shipped.as_mut()
    }
}

impl<T> LengthPreservingContainerBuilder for GrowingBuilder<T> {}

#[cfg(test)]
mod tests {
    use timely::container::buffer::default_capacity;
    use timely::container::{ContainerBuilder, PushInto};

    use super::GrowingBuilder;

    fn built(records: u64) -> Vec<Vec<u64>> {
        let mut builder = GrowingBuilder::default();
        let mut containers = Vec::new();
        for record in 0..records {
            builder.push_into(record);
            while let Some(container) = builder.extract() {
                containers.push(std::mem::take(container));
            }
        }
        while let Some(container) = builder.finish() {
            containers.push(std::mem::take(container));
        }
        containers
    }

    #[test]
    fn a_message_of_a_few_records_is_a_small_allocation() {
        let containers = built(3);
        assert_eq!(containers, vec![vec![0, 1, 2]]);
        assert!(
            containers[0].capacity() < 16,
            "{}",
            containers[0].capacity()
        );
    }

    #[test]
    fn many_records_are_sent_in_full_buffers_in_order() {
        let full = default_capacity::<u64>();
        let containers = built(2 * full as u64 + 5);
        let lengths: Vec<usize> = containers.iter().map(Vec::len).collect();
        assert_eq!(lengths, vec![full, full, 5]);
        let records: Vec<u64> = containers.into_iter().flatten().collect();
        assert_eq!(records, (0..2 * full as u64 + 5).collect::<Vec<_>>());
    }
}
