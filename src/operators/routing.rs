//! Routing records to the worker that owns their key group.

use std::hash::Hash;

use timely::dataflow::channels::pact::Exchange;
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

/// A parallelization contract that sends each `(key, value)` to the owner of the key's group.
pub(crate) fn by_key_group<K, V>(
    scope: &Scope<'_, Time>,
) -> Exchange<(K, V), impl FnMut(&(K, V)) -> u64 + 'static>
where
    K: ExchangeData + Hash,
    V: ExchangeData,
{
    let groups = key_groups_of(scope);
    let peers = scope.peers();
    Exchange::new(move |(key, _): &(K, V)| groups.worker_of_key(key, peers) as u64)
}
