//! What snapshots need of a stateful operator's state: the `StateBackend` trait, and its
//! implementations for the state weir's operators keep.
//!
//! A backend says how its state is restored from a snapshot's entries, what changed since
//! the last epoch (captured on the record path, so it must be cheap), how the writer's copy
//! of the state absorbs those changes, and how that copy is encoded per key group. Anything
//! keyed that can answer these — a hash map, windowed panes, next a differential-dataflow
//! arrangement (whose batches are immutable and can be handed over as they are) — can be
//! snapshotted and restored onto any number of workers with [`snapshot_state`] and
//! [`restore_state`].

use std::collections::BTreeMap;
use std::hash::Hash;
use std::time::Instant;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::snapshot::{encode_groups, Participant, Shadow, Stamped};
use crate::state::{KeyGroup, KeyGroups, ShardedMap, StateMap};
use crate::time::Time;

/// Keyed state that can be snapshotted per epoch and restored onto any number of workers.
pub trait StateBackend {
    /// What the state is kept by.
    type Key: Hash + Eq + Clone;
    /// One entry of a snapshot part.
    type Entry: Serialize + DeserializeOwned;
    /// The state as the snapshot writer keeps it.
    type Copy: Default + Send + 'static;
    /// What changed in the state since the previous capture.
    type Changes: Send + 'static;

    /// Adds the restored `entries` (those of this worker's key groups) to the state, and
    /// returns the writer's copy of it.
    fn restore(&mut self, entries: Vec<Self::Entry>) -> Self::Copy;
    /// What changed since the previous call: on the record path, so proportional to the
    /// changes, not to the state.
    fn changes(&mut self) -> Self::Changes;
    /// Brings the writer's copy up to date (on the writer thread).
    fn apply(copy: &mut Self::Copy, changes: Self::Changes);
    /// Encodes the writer's copy as a part, grouped by key group (on the writer thread).
    fn encode(copy: &Self::Copy, groups: &KeyGroups) -> anyhow::Result<Vec<u8>>;

    /// The key group of an entry.
    fn group_of_entry(entry: &Self::Entry, groups: &KeyGroups) -> KeyGroup;
    /// Takes the entries of the key groups `moving` selects out of the state, for a live
    /// migration (the next capture records them as gone).
    fn take_groups(
        &mut self,
        groups: &KeyGroups,
        moving: &mut dyn FnMut(KeyGroup) -> bool,
    ) -> Vec<Self::Entry>;
    /// Adds entries another worker handed over in a live migration (the next capture
    /// includes them).
    fn absorb(&mut self, entries: Vec<Self::Entry>);

    /// Passes every key of the key groups `selected` picks to `found`, with its group (a
    /// key kept in several places may come more than once), in one pass over the state: a
    /// live migration that hands groups over one at a time indexes their keys once.
    fn keys_of_groups(
        &self,
        groups: &KeyGroups,
        selected: &mut dyn FnMut(KeyGroup) -> bool,
        found: &mut dyn FnMut(KeyGroup, &Self::Key),
    );
    /// Takes the entries of `keys` out of the state, those it has, as
    /// [`take_groups`](Self::take_groups) takes whole groups.
    fn take_keys(&mut self, keys: &mut dyn Iterator<Item = Self::Key>) -> Vec<Self::Entry>;
}

/// Restores `backend` with the entries of the key groups `owned`, wherever in the restored
/// snapshot they are (a live migration's assignment), and returns the writer's copy.
pub fn restore_owned_state<B: StateBackend>(
    backend: &mut B,
    participant: &Participant,
    owned: &[KeyGroup],
) -> Shadow<B::Copy> {
    match participant.restore_owned_state::<B::Entry>(owned) {
        Ok(entries) => Shadow::new(backend.restore(entries)),
        Err(error) => {
            participant.fail(error);
            Shadow::new(B::Copy::default())
        }
    }
}

/// Restores `backend` from the snapshot being restored (if any) and returns the writer's
/// copy to snapshot it with; a damaged part fails the job through `participant`.
pub fn restore_state<B: StateBackend>(
    backend: &mut B,
    participant: &Participant,
) -> Shadow<B::Copy> {
    match participant.restore_state::<B::Entry>() {
        Ok(entries) => Shadow::new(backend.restore(entries)),
        Err(error) => {
            participant.fail(error);
            Shadow::new(B::Copy::default())
        }
    }
}

/// Captures `backend` as of `epoch` (standing through `through`) and hands it to the writer.
pub fn snapshot_state<B: StateBackend + 'static>(
    backend: &mut B,
    shadow: &Shadow<B::Copy>,
    participant: &Participant,
    epoch: Time,
    through: Time,
) {
    let start = Instant::now();
    let changes = backend.changes();
    shadow.write(
        participant,
        epoch,
        through,
        start.elapsed(),
        move |copy| B::apply(copy, changes),
        B::encode,
    );
}

/// The state of `update_state` and `process_keyed`: a value per key, stamped with the epoch
/// it last changed in; keys removed since the last capture are remembered until then.
pub struct KeyedState<K, S> {
    /// The states. Sharded: a million keys grow a shard at a time, not all at once on the
    /// record path.
    pub map: ShardedMap<K, Stamped<S>>,
    /// The current epoch's stamp (counted from 1 in this run).
    pub stamp: u32,
    /// Keys removed since the last capture (only while snapshotting).
    removed: Vec<K>,
    /// Whether removals are remembered: only a job that snapshots needs them.
    tracking: bool,
}

impl<K, S> Default for KeyedState<K, S> {
    fn default() -> Self {
        KeyedState {
            map: ShardedMap::default(),
            stamp: 1,
            removed: Vec::new(),
            tracking: false,
        }
    }
}

impl<K: Hash + Eq, S> KeyedState<K, S> {
    /// The state of `key` (`S::default()` for a new key), marked as changed in this epoch so
    /// that the next capture includes it.
    pub fn changed(&mut self, key: K) -> &mut S
    where
        S: Default,
    {
        let stamp = self.stamp;
        let state = self
            .map
            .get_or_insert_with(key, || Stamped(S::default(), stamp));
        state.1 = stamp;
        &mut state.0
    }

    /// Removes `key`'s state, remembering the removal for the next capture.
    pub fn remove(&mut self, key: &K) -> Option<S>
    where
        K: Clone,
    {
        let removed = self.map.remove(key)?;
        if self.tracking {
            self.removed.push(key.clone());
        }
        Some(removed.0)
    }
}

/// What changed in a [`KeyedState`] since the previous capture: keys removed, then entries
/// changed (a key removed and set again in one epoch is in both).
pub type KeyedChanges<K, S> = (Vec<K>, Vec<(K, S)>);

impl<K, S> StateBackend for KeyedState<K, S>
where
    K: Hash + Eq + Clone + Serialize + DeserializeOwned + Send + 'static,
    S: Clone + Serialize + DeserializeOwned + Send + 'static,
{
    type Key = K;
    type Entry = (K, S);
    type Copy = StateMap<K, S>;
    type Changes = KeyedChanges<K, S>;

    fn restore(&mut self, entries: Vec<(K, S)>) -> StateMap<K, S> {
        self.tracking = true;
        let copy: StateMap<K, S> = entries.iter().cloned().collect();
        self.map
            .extend(entries.into_iter().map(|(k, s)| (k, Stamped(s, 0))));
        copy
    }

    fn changes(&mut self) -> KeyedChanges<K, S> {
        let stamp = self.stamp;
        self.stamp = stamp.wrapping_add(1);
        let changed = self
            .map
            .iter()
            .filter(|(_, state)| state.1 == stamp)
            .map(|(key, state)| (key.clone(), state.0.clone()))
            .collect();
        (std::mem::take(&mut self.removed), changed)
    }

    fn apply(copy: &mut StateMap<K, S>, (removed, changed): KeyedChanges<K, S>) {
        for key in &removed {
            copy.remove(key);
        }
        copy.extend(changed);
    }

    fn encode(copy: &StateMap<K, S>, groups: &KeyGroups) -> anyhow::Result<Vec<u8>> {
        encode_groups(copy.iter(), groups, |(key, _)| groups.group_of(*key).0)
    }

    fn group_of_entry((key, _): &(K, S), groups: &KeyGroups) -> KeyGroup {
        groups.group_of(key)
    }

    fn take_groups(
        &mut self,
        groups: &KeyGroups,
        moving: &mut dyn FnMut(KeyGroup) -> bool,
    ) -> Vec<(K, S)> {
        let taken: Vec<(K, S)> = self
            .map
            .extract_where(|key, _| moving(groups.group_of(key)))
            .map(|(key, state)| (key, state.0))
            .collect();
        if self.tracking {
            self.removed
                .extend(taken.iter().map(|(key, _)| key.clone()));
        }
        taken
    }

    fn absorb(&mut self, entries: Vec<(K, S)>) {
        let stamp = self.stamp;
        for (key, state) in entries {
            self.map.insert(key, Stamped(state, stamp));
        }
    }

    fn keys_of_groups(
        &self,
        groups: &KeyGroups,
        selected: &mut dyn FnMut(KeyGroup) -> bool,
        found: &mut dyn FnMut(KeyGroup, &K),
    ) {
        for (key, _) in self.map.iter() {
            let group = groups.group_of(key);
            if selected(group) {
                found(group, key);
            }
        }
    }

    fn take_keys(&mut self, keys: &mut dyn Iterator<Item = K>) -> Vec<(K, S)> {
        keys.filter_map(|key| {
            let state = self.remove(&key)?;
            Some((key, state))
        })
        .collect()
    }
}

/// Per time (the end of a window, for `aggregate`), the aggregate of each key.
pub type Panes<K, Acc> = BTreeMap<Time, StateMap<K, Acc>>;

/// Aggregates per time and key, each stamped with the epoch it last changed in: the state
/// of `aggregate`, per window end, whose windows close whole when they fire.
pub struct PaneState<K, Acc> {
    /// The open windows. Sharded: a window of a million keys grows a shard at a time.
    pub panes: BTreeMap<Time, ShardedMap<K, Stamped<Acc>>>,
    /// The current epoch's stamp (counted from 1 in this run).
    pub stamp: u32,
    /// Aggregates handed to another worker since the last capture (only while
    /// snapshotting).
    moved_out: Vec<(Time, K)>,
    /// Whether hand-overs are remembered: only a job that snapshots needs them.
    tracking: bool,
}

impl<K, Acc> Default for PaneState<K, Acc> {
    fn default() -> Self {
        PaneState {
            panes: BTreeMap::new(),
            stamp: 1,
            moved_out: Vec::new(),
            tracking: false,
        }
    }
}

/// The panes still open, the aggregates handed to another worker, and the aggregates merged
/// into since the previous epoch.
pub type PaneChanges<K, Acc> = (Vec<Time>, Vec<(Time, K)>, Vec<(Time, K, Acc)>);

impl<K, Acc> StateBackend for PaneState<K, Acc>
where
    K: Hash + Eq + Clone + Serialize + DeserializeOwned + Send + 'static,
    Acc: Clone + Serialize + DeserializeOwned + Send + 'static,
{
    type Key = K;
    type Entry = (Time, K, Acc);
    type Copy = Panes<K, Acc>;
    type Changes = PaneChanges<K, Acc>;

    fn restore(&mut self, entries: Vec<(Time, K, Acc)>) -> Panes<K, Acc> {
        self.tracking = true;
        let mut copy: Panes<K, Acc> = BTreeMap::new();
        for (pane, key, acc) in entries {
            copy.entry(pane)
                .or_default()
                .insert(key.clone(), acc.clone());
            self.panes
                .entry(pane)
                .or_default()
                .insert(key, Stamped(acc, 0));
        }
        copy
    }

    fn changes(&mut self) -> PaneChanges<K, Acc> {
        let stamp = self.stamp;
        self.stamp = stamp.wrapping_add(1);
        let open = self.panes.keys().copied().collect();
        let changed = self
            .panes
            .iter()
            .flat_map(|(&pane, accs)| {
                accs.iter()
                    .filter(|(_, acc)| acc.1 == stamp)
                    .map(move |(key, acc)| (pane, key.clone(), acc.0.clone()))
            })
            .collect();
        (open, std::mem::take(&mut self.moved_out), changed)
    }

    fn apply(copy: &mut Panes<K, Acc>, (open, moved_out, changed): PaneChanges<K, Acc>) {
        copy.retain(|pane, _| open.binary_search(pane).is_ok());
        for (pane, key) in moved_out {
            if let Some(accs) = copy.get_mut(&pane) {
                accs.remove(&key);
            }
        }
        for (pane, key, acc) in changed {
            copy.entry(pane).or_default().insert(key, acc);
        }
    }

    fn encode(copy: &Panes<K, Acc>, groups: &KeyGroups) -> anyhow::Result<Vec<u8>> {
        let entries = copy
            .iter()
            .flat_map(|(pane, accs)| accs.iter().map(move |(key, acc)| (pane, key, acc)));
        encode_groups(entries, groups, |(_, key, _)| groups.group_of(*key).0)
    }

    fn group_of_entry((_, key, _): &(Time, K, Acc), groups: &KeyGroups) -> KeyGroup {
        groups.group_of(key)
    }

    fn take_groups(
        &mut self,
        groups: &KeyGroups,
        moving: &mut dyn FnMut(KeyGroup) -> bool,
    ) -> Vec<(Time, K, Acc)> {
        let mut taken = Vec::new();
        for (&pane, accs) in self.panes.iter_mut() {
            for (key, acc) in accs.extract_where(|key, _| moving(groups.group_of(key))) {
                if self.tracking {
                    self.moved_out.push((pane, key.clone()));
                }
                taken.push((pane, key, acc.0));
            }
        }
        taken
    }

    fn absorb(&mut self, entries: Vec<(Time, K, Acc)>) {
        let stamp = self.stamp;
        for (pane, key, acc) in entries {
            self.panes
                .entry(pane)
                .or_default()
                .insert(key, Stamped(acc, stamp));
        }
    }

    fn keys_of_groups(
        &self,
        groups: &KeyGroups,
        selected: &mut dyn FnMut(KeyGroup) -> bool,
        found: &mut dyn FnMut(KeyGroup, &K),
    ) {
        for accs in self.panes.values() {
            for (key, _) in accs.iter() {
                let group = groups.group_of(key);
                if selected(group) {
                    found(group, key);
                }
            }
        }
    }

    fn take_keys(&mut self, keys: &mut dyn Iterator<Item = K>) -> Vec<(Time, K, Acc)> {
        let keys: Vec<K> = keys.collect();
        let mut taken = Vec::new();
        for (&pane, accs) in self.panes.iter_mut() {
            for key in &keys {
                if let Some(acc) = accs.remove(key) {
                    if self.tracking {
                        self.moved_out.push((pane, key.clone()));
                    }
                    taken.push((pane, key.clone(), acc.0));
                }
            }
        }
        taken
    }
}
