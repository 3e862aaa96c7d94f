//! What leaves a worker at one change of the routing table: the entries of its groups
//! that move, taken out of its state by key when the worker has more groups to hand over
//! at later steps (an index built in one pass and kept up to date from the records it
//! applies), by one pass over the state otherwise.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::Hash;

use timely::dataflow::operators::Capability;

use crate::migration::RoutingTable;
use crate::operators::drive_keyed::KeyedLogic;
use crate::operators::routing::KeyedRecord;
use crate::snapshot::StateBackend;
use crate::state::{KeyGroup, KeyGroups};
use crate::time::Time;

/// What a worker hands over at one change: the entries of its groups that leave, by new
/// owner, and how many groups left.
pub(super) struct HandedOver<E> {
    pub(super) by_owner: BTreeMap<usize, Vec<E>>,
    pub(super) groups: u64,
}

/// The keys of the groups a worker is still to hand over, at later steps of a migration:
/// found in one pass over the state at the first of them, and kept up to date with the
/// keys of the records applied since, so that each step takes its groups' entries by key
/// rather than reading the whole state again (fluid: a pass per group).
pub(super) struct LeavingIndex<K> {
    /// By group number: the keys of each group still to leave, `None` for the others. A
    /// key may be listed more than once (once per record noted): taking it a second time
    /// finds nothing. A list costs a push per record where a set cost a lookup.
    keys: Vec<Option<Vec<K>>>,
    /// Groups still listed.
    pending: usize,
}

impl<K: Hash + Eq + Clone> LeavingIndex<K> {
    /// An index of `leaving`'s keys, found in one pass over `state`.
    fn build<B: StateBackend<Key = K>>(
        state: &B,
        groups: &KeyGroups,
        leaving: impl Iterator<Item = KeyGroup>,
    ) -> Self {
        let mut keys: Vec<Option<Vec<K>>> = (0..groups.count()).map(|_| None).collect();
        for group in leaving {
            if let Some(slot) = keys.get_mut(group.0 as usize) {
                *slot = Some(Vec::new());
            }
        }
        let pending = keys.iter().flatten().count();
        let mut selected = |g: KeyGroup| keys.get(g.0 as usize).is_some_and(Option::is_some);
        let mut found: Vec<(KeyGroup, K)> = Vec::new();
        state.keys_of_groups(groups, &mut selected, &mut |g, key| {
            found.push((g, key.clone()))
        });
        for (group, key) in found {
            if let Some(Some(listed)) = keys.get_mut(group.0 as usize) {
                listed.push(key);
            }
        }
        LeavingIndex { keys, pending }
    }

    /// Whether `group`'s keys are indexed: it leaves at a later step.
    pub(super) fn holds(&self, group: KeyGroup) -> bool {
        self.keys.get(group.0 as usize).is_some_and(Option::is_some)
    }

    /// Takes `group`'s keys out of the index.
    fn take(&mut self, group: KeyGroup) -> Vec<K> {
        let taken = self.keys.get_mut(group.0 as usize).and_then(Option::take);
        if taken.is_some() {
            self.pending -= 1;
        }
        taken.unwrap_or_default()
    }

    /// Notes the keys of `records`, about to be applied.
    fn note<R: KeyedRecord<Key = K>>(&mut self, records: &[R], groups: &KeyGroups) {
        for record in records {
            let group = groups.group_of(record.key());
            if let Some(Some(keys)) = self.keys.get_mut(group.0 as usize) {
                keys.push(record.key().clone());
            }
        }
    }
}

/// `popped`, its records' keys noted in `index`.
pub(super) fn noted<R: KeyedRecord<Key: Hash + Eq + Clone>>(
    popped: Option<(Capability<Time>, Vec<R>)>,
    index: &mut Option<LeavingIndex<R::Key>>,
    groups: &KeyGroups,
) -> Option<(Capability<Time>, Vec<R>)> {
    if let (Some(index), Some((_, records))) = (index.as_mut(), popped.as_ref()) {
        index.note(records, groups);
    }
    popped
}

/// Takes the groups that leave worker `me` at change `change` of `table` out of `state`:
/// by key when `index` holds them, building it first when more of this worker's groups
/// leave later, and by one pass over the state otherwise.
pub(super) fn hand_over<R: KeyedRecord<Key: Hash + Eq + Clone>, L: KeyedLogic<R>>(
    state: &mut L::State,
    index: &mut Option<LeavingIndex<R::Key>>,
    groups: &KeyGroups,
    me: usize,
    table: &RoutingTable,
    change: usize,
) -> HandedOver<<L::State as StateBackend>::Entry> {
    let moves_of = |c: usize| table.changes().nth(c).map_or(&[][..], |(_, m)| m);
    let to_of: BTreeMap<KeyGroup, usize> = moves_of(change)
        .iter()
        .filter(|m| m.from == me)
        .map(|m| (m.group, m.to))
        .collect();
    let mut by_owner: BTreeMap<usize, Vec<_>> = BTreeMap::new();
    if to_of.is_empty() {
        return HandedOver {
            by_owner,
            groups: 0,
        };
    }
    if index.is_none() {
        let later: BTreeSet<KeyGroup> = (change + 1..table.changes().count())
            .flat_map(|c| moves_of(c).iter().filter(|m| m.from == me).map(|m| m.group))
            .collect();
        if !later.is_empty() {
            let leaving = to_of.keys().chain(&later).copied();
            *index = Some(LeavingIndex::build(&*state, groups, leaving));
        }
    }
    let taken = match index.as_mut() {
        Some(indexed) if to_of.keys().all(|&g| indexed.holds(g)) => {
            let mut keys = to_of.keys().flat_map(|&g| indexed.take(g));
            let taken = state.take_keys(&mut keys);
            if indexed.pending == 0 {
                *index = None;
            }
            taken
        }
        _ => state.take_groups(groups, &mut |g| to_of.contains_key(&g)),
    };
    for entry in taken {
        let group = L::State::group_of_entry(&entry, groups);
        by_owner.entry(to_of[&group]).or_default().push(entry);
    }
    HandedOver {
        by_owner,
        groups: to_of.len() as u64,
    }
}
