//! `update_state`: the general keyed state transition `S(t+1) = g(S(t), x(t))`.

use std::hash::Hash;

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::marker::PhantomData;

use timely::dataflow::operators::Capability;
use timely::dataflow::StreamVec;
use timely::ExchangeData;

use crate::operators::drive_keyed::{DriveKeyed, KeyedLogic, KeyedOutput};
use crate::snapshot::{KeyedState, Stamped};
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
    fn update_state<S, I, F>(self, name: &str, logic: F) -> StreamVec<'scope, Time, I::Item>
    where
        S: Default + Clone + Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator,
        I::Item: 'static,
        F: FnMut(&K, &mut S, V) -> I + 'static,
    {
        self.drive_keyed(
            name,
            Transition {
                logic,
                outputs: Vec::new(),
                _state: PhantomData,
            },
        )
    }
}

/// `update_state` on the keyed driver.
struct Transition<S, F, O> {
    logic: F,
    outputs: Vec<O>,
    _state: PhantomData<S>,
}

impl<K, V, S, I, F> KeyedLogic<(K, V)> for Transition<S, F, I::Item>
where
    K: ExchangeData + Hash + Eq + Clone,
    V: ExchangeData,
    S: Default + Clone + Serialize + DeserializeOwned + Send + 'static,
    I: IntoIterator,
    I::Item: 'static,
    F: FnMut(&K, &mut S, V) -> I + 'static,
{
    type State = KeyedState<K, S>;
    type Output = I::Item;
    // A key's state is all of it.
    const MIGRATES: bool = true;

    fn apply(
        &mut self,
        state: &mut Self::State,
        cap: &Capability<Time>,
        records: &mut Vec<(K, V)>,
        output: &mut KeyedOutput<'_, I::Item>,
    ) {
        apply(state, &mut self.logic, records, &mut self.outputs);
        output.session(cap).give_container(&mut self.outputs);
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
