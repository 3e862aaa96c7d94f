//! An arrangement's side of snapshots: capturing it at each epoch by handing its sealed
//! batches to the writer, and feeding a restored snapshot back in.

use std::hash::Hash;
use std::time::Instant;

use differential_dataflow::trace::{Cursor, Navigable, Span};
use differential_dataflow::{AsCollection, VecCollection};
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::operator::source;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::{Scope, Stream};
use timely::ExchangeData;

use crate::arrangement::{Diff, StateBatch, StateData};
use crate::snapshot::{encode_groups, Participant, Shadow, StateEpochs};
use crate::state::{KeyGroups, StateMap};
use crate::time::{frontier_time, Time};

/// What a restored arrangement entry is: a `(key, value)` and its multiplicity.
type Entry<K, V> = ((K, V), Diff);

/// The batches an arrangement seals, as its `Arranged::stream` carries them.
type SealedBatches<'scope, K, V> = Stream<'scope, Time, Vec<Span<Time, StateBatch<K, V>>>>;

/// The arrangement's updates in the snapshot being restored, this worker's key groups, at
/// the time just before the restored epoch; nothing when not restoring. A damaged part
/// fails the job through `participant`.
pub(crate) fn restored_updates<'scope, K, V>(
    scope: Scope<'scope, Time>,
    participant: &Participant,
) -> VecCollection<'scope, Time, (K, V), Diff>
where
    K: ExchangeData,
    V: ExchangeData,
{
    let epoch = participant.hub().restored_epoch();
    let entries: Vec<Entry<K, V>> = match participant.restore_scattered_state() {
        Ok(entries) => entries,
        Err(error) => {
            participant.fail(error);
            Vec::new()
        }
    };
    source(scope, "RestoreArrangement", move |cap, _| {
        let mut pending = Some((cap, entries));
        move |output| {
            let Some((cap, entries)) = pending.take() else {
                return;
            };
            let Some(epoch) = epoch.filter(|_| !entries.is_empty()) else {
                return;
            };
            // Before the input, which resumes at the epoch; output at this time was
            // published before the crash, and leaving a collection drops it.
            let before = epoch.saturating_sub(1);
            let cap = cap.delayed(&before);
            output
                .session(&cap)
                .give_iterator(entries.into_iter().map(|(d, r)| (d, before, r)));
        }
    })
    .as_collection()
}

/// Captures, at every epoch, the arrangement whose sealed batches come on `batches`: the
/// sum of its updates before the epoch, encoded per key group on the writer thread.
pub(crate) fn capture_epochs<'scope, K, V>(
    batches: SealedBatches<'scope, K, V>,
    mut epochs: StateEpochs,
) where
    K: StateData,
    V: StateData,
{
    let shadow = Shadow::new(ArrangedCopy::<K, V>::default());
    // Batches sealed since the last capture, with their uppers.
    let mut sealed: Vec<(Time, StateBatch<K, V>)> = Vec::new();
    // The bounds of batches that may hold updates at or after the last captured epoch.
    let mut open: Vec<(Time, Time)> = Vec::new();
    let name = format!("Capture {}", epochs.participant().id());
    batches.sink(Pipeline, &name, move |(input, frontier)| {
        input.for_each(|_, spans| {
            for span in spans.drain(..) {
                let Some(batch) = span.inner else { continue };
                let lower = span.desc.lower().first().copied().unwrap_or(Time::MAX);
                let upper = span.desc.upper().first().copied().unwrap_or(Time::MAX);
                open.push((lower, upper));
                sealed.push((upper, batch));
            }
        });
        let frontier = frontier_time(frontier);
        while let Some(epoch) = epochs.due(frontier) {
            let start = Instant::now();
            open.retain(|&(_, upper)| upper > epoch);
            // The state as of the epoch stands for later epochs until an update may come.
            let earliest = open.iter().map(|&(lower, _)| lower.max(epoch)).min();
            let through = epochs.through(frontier, earliest);
            let batches = std::mem::take(&mut sealed);
            shadow.write(
                epochs.participant(),
                epoch,
                through,
                start.elapsed(),
                move |copy| copy.apply(epoch, batches),
                ArrangedCopy::encode,
            );
            epochs.captured(through);
        }
        epochs.finish_if_done(frontier);
    });
}

/// The writer's copy of an arrangement: the sum of its updates before the last captured
/// epoch, and the batches that may still hold updates at or after it.
struct ArrangedCopy<K: StateData, V: StateData> {
    state: StateMap<(K, V), Diff>,
    applied_to: Time,
    open: Vec<(Time, StateBatch<K, V>)>,
}

impl<K: StateData, V: StateData> Default for ArrangedCopy<K, V> {
    fn default() -> Self {
        ArrangedCopy {
            state: StateMap::default(),
            applied_to: 0,
            open: Vec::new(),
        }
    }
}

impl<K, V> ArrangedCopy<K, V>
where
    K: StateData,
    V: StateData,
{
    /// Adds the updates before `epoch` not added yet, from the open batches and `sealed`.
    fn apply(&mut self, epoch: Time, sealed: Vec<(Time, StateBatch<K, V>)>) {
        self.open.extend(sealed);
        let from = self.applied_to;
        for (_, batch) in &self.open {
            let mut cursor = batch.cursor();
            while let Some(key) = cursor.get_key(batch) {
                while let Some(val) = cursor.get_val(batch) {
                    let mut sum: Diff = 0;
                    cursor.map_times(batch, |time, diff| {
                        if (from..epoch).contains(time) {
                            sum += *diff;
                        }
                    });
                    if sum != 0 {
                        add(&mut self.state, (key.clone(), val.clone()), sum);
                    }
                    cursor.step_val(batch);
                }
                cursor.step_key(batch);
            }
        }
        self.open.retain(|&(upper, _)| upper > epoch);
        self.applied_to = epoch;
    }

    fn encode(&self, groups: &KeyGroups) -> anyhow::Result<Vec<u8>> {
        encode_groups(self.state.iter(), groups, |((key, _), _)| {
            groups.group_of(key).0
        })
    }
}

/// Adds `diff` to `record`'s multiplicity, forgetting records whose multiplicity is zero.
fn add<D: Hash + Eq>(state: &mut StateMap<D, Diff>, record: D, diff: Diff) {
    use std::collections::hash_map::Entry;
    match state.entry(record) {
        Entry::Occupied(mut entry) => {
            *entry.get_mut() += diff;
            if *entry.get() == 0 {
                entry.remove();
            }
        }
        Entry::Vacant(entry) => {
            entry.insert(diff);
        }
    }
}
