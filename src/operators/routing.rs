//! Routing records to the worker that owns their key group.

use std::collections::VecDeque;
use std::hash::Hash;

use timely::container::{ContainerBuilder, LengthPreservingContainerBuilder, PushInto};
use timely::dataflow::channels::pact::ExchangeCore;
use timely::dataflow::Scope;
use timely::ExchangeData;

use crate::state::KeyGroups;
use crate::time::Time;

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

/// An exchange of `(key, value)` pairs routed by `F`.
pub(crate) type KeyedExchange<K, V, F> = ExchangeCore<GrowingBuilder<(K, V)>, F>;

/// A parallelization contract that sends each `(key, value)` to the owner of the key's group.
pub(crate) fn by_key_group<K, V>(
    scope: &Scope<'_, Time>,
) -> KeyedExchange<K, V, impl FnMut(&(K, V)) -> u64 + 'static>
where
    K: ExchangeData + Hash,
    V: ExchangeData,
{
    let groups = key_groups_of(scope);
    let peers = scope.peers();
    ExchangeCore::new_core(move |(key, _): &(K, V)| groups.worker_of_key(key, peers) as u64)
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
