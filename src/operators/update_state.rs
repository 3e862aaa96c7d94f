//! `update_state`: the general keyed state transition `S(t+1) = g(S(t), x(t))`.

use std::hash::Hash;

use serde::de::DeserializeOwned;
use serde::Serialize;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::StreamVec;
use timely::ExchangeData;

use crate::operators::routing::by_key_group;
use crate::operators::stash::{frontier_time, is_ready, TimeStash};
use crate::snapshot::{restore_state, snapshot_state, KeyedState, Stamped, StateEpochs};
use crate::time::Time;

/// Extension trait for per-key state transitions.
pub trait UpdateState<'scope, K, V> {
    /// Keeps a state of type `S` per key and applies `logic(key, state, value)` to every
    /// record, in timestamp order; what it returns (an `Option`, a `Vec`, any iterator of
    /// outputs) is emitted at the record's time.
    ///
    /// Records move to the worker that owns their key's group, so each key's state lives on
    /// exactly one worker. A key's state starts as `S::default()`. Records of one key are
    /// applied in timestamp order and, within one timestamp, in arrival order; so a `logic`
    /// that is order-insensitive within a timestamp (counters, sums, maxima) gives the same
    /// results on any number of workers.
    ///
    /// `name` is the operator's stable id: in a job that snapshots, the state as of each
    /// epoch is saved under it and restored from it, onto any number of workers.
    ///
    /// ```
    /// use timely::dataflow::operators::{Capture, ToStream};
    /// use timely::dataflow::operators::capture::Extract;
    /// use weir::operators::{KeyBy, UpdateState};
    ///
    /// let captured = timely::example(|scope| {
    ///     vec![3u64, 1, 3, 3]
    ///         .to_stream(scope)
    ///         .container::<Vec<_>>()
    ///         .key_by(|x| *x)
    ///         .update_state("occurrences", |value, count: &mut u64, _| {
    ///             *count += 1;
    ///             Some((*value, *count))
    ///         })
    ///         .capture()
    /// });
    /// let mut seen: Vec<(u64, u64)> = captured.extract().into_iter().flat_map(|(_, v)| v).collect();
    /// seen.sort();
    /// assert_eq!(seen, vec![(1, 1), (3, 1), (3, 2), (3, 3)]);
    /// ```
    fn update_state<S, I, F>(self, name: &str, logic: F) -> StreamVec<'scope, Time, I::Item>
    where
        S: Default + Clone + Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator,
        I::Item: 'static,
        F: FnMut(&K, &mut S, V) -> I + 'static;
}

impl<'scope, K, V> UpdateState<'scope, K, V> for StreamVec<'scope, Time, (K, V)>
where
    K: ExchangeData + Hash + Eq + Clone,
    V: ExchangeData,
{
    fn update_state<S, I, F>(self, name: &str, mut logic: F) -> StreamVec<'scope, Time, I::Item>
    where
        S: Default + Clone + Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator,
        I::Item: 'static,
        F: FnMut(&K, &mut S, V) -> I + 'static,
    {
        let scope = self.scope();
        let pact = by_key_group(&scope);
        let mut epochs = StateEpochs::register(&scope, name);
        self.unary_frontier(pact, name, move |_, _| {
            let mut states: KeyedState<K, S> = KeyedState::default();
            let shadow = epochs
                .as_ref()
                .map(|epochs| restore_state(&mut states, epochs.participant()));
            let mut stash = TimeStash::new();
            let mut outputs = Vec::new();
            move |(input, frontier), output| {
                let frontier = frontier_time(frontier);
                if let (Some(epochs), Some(shadow)) = (epochs.as_mut(), shadow.as_ref()) {
                    while let Some(epoch) = epochs.due(frontier) {
                        // The state as of the epoch: exactly the input before it, applied.
                        while let Some((cap, mut records)) = stash.pop_before(epoch) {
                            apply(&mut states, &mut logic, &mut records, &mut outputs);
                            output.session(&cap).give_container(&mut outputs);
                        }
                        let through = epochs.through(frontier, stash.earliest());
                        snapshot_state(&mut states, shadow, epochs.participant(), epoch, through);
                        epochs.captured(through);
                    }
                }
                // Earlier arrivals first, so that a time's records keep their arrival order.
                while let Some((cap, mut records)) = stash.pop_ready(frontier) {
                    apply(&mut states, &mut logic, &mut records, &mut outputs);
                    output.session(&cap).give_container(&mut outputs);
                }
                input.for_each_stamp(|cap, data| {
                    let Some(&time) = cap.least() else { return };
                    if is_ready(frontier, time) {
                        // The stash holds nothing at or before `frontier` by now.
                        for batch in data {
                            apply(&mut states, &mut logic, batch, &mut outputs);
                        }
                        output.session(&cap).give_container(&mut outputs);
                    } else {
                        stash.stash(&cap, time, data);
                    }
                });
                if let Some(epochs) = epochs.as_mut() {
                    epochs.finish_if_done(frontier);
                }
            }
        })
    }
}

/// Applies `logic` to a batch of records, in order, collecting outputs; every state it
/// touches is stamped as changed in the current epoch.
#[inline]
fn apply<K, V, S, I, F>(
    states: &mut KeyedState<K, S>,
    logic: &mut F,
    batch: &mut Vec<(K, V)>,
    outputs: &mut Vec<I::Item>,
) where
    K: Hash + Eq,
    S: Default,
    I: IntoIterator,
    F: FnMut(&K, &mut S, V) -> I,
{
    let stamp = states.stamp;
    for (key, value) in batch.drain(..) {
        let output = match states.map.get_mut(&key) {
            Some(state) => {
                state.1 = stamp;
                logic(&key, &mut state.0, value)
            }
            None => {
                let mut state = S::default();
                let output = logic(&key, &mut state, value);
                states.map.insert(key, Stamped(state, stamp));
                output
            }
        };
        outputs.extend(output);
    }
}
