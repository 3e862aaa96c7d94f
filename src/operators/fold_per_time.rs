//! `fold_per_time`: a state per key folded from every record, reported once per key and
//! timestamp — after all of that timestamp's records, so the report does not depend on their
//! order. Built on [`ProcessKeyed`] with a deadline just after each time that has records.

use std::hash::Hash;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use timely::dataflow::StreamVec;
use timely::ExchangeData;

use crate::operators::{KeyedProcess, KeyedRecord, ProcessKeyed};
use crate::time::Time;

/// Extension trait for per-timestamp reports of keyed state.
pub trait FoldPerTime<'scope, K, V> {
    /// Folds each record into its key's state with `fold(key, state, value)`, in timestamp
    /// order; once all records of a time `t` are in, calls `report(key, state, t)` for each
    /// key that had records at `t` and emits what it returns at `t`. `name` is the
    /// operator's stable id for snapshots.
    ///
    /// ```
    /// use timely::dataflow::operators::Capture;
    /// use timely::dataflow::operators::capture::Extract;
    /// use weir::operators::FoldPerTime;
    /// use weir::sources::ToTimedStream;
    ///
    /// let captured = timely::example(|scope| {
    ///     vec![(0, ('a', 1)), (0, ('a', 2)), (5, ('a', 4))]
    ///         .to_timed_stream(scope)
    ///         .fold_per_time(
    ///             "running totals",
    ///             |_, total: &mut u64, value| *total += value,
    ///             |key, total, time| Some((*key, *total, time)),
    ///         )
    ///         .capture()
    /// });
    /// // One report per time, after both records at time 0.
    /// let reports: Vec<_> = captured.extract().into_iter().flat_map(|(_, r)| r).collect();
    /// assert_eq!(reports, vec![('a', 3, 0), ('a', 7, 5)]);
    /// ```
    fn fold_per_time<S, O, F, R>(
        self,
        name: &str,
        fold: F,
        report: R,
    ) -> StreamVec<'scope, Time, O>
    where
        S: Default + Clone + Serialize + DeserializeOwned + Send + 'static,
        O: 'static,
        F: FnMut(&K, &mut S, V) + 'static,
        R: FnMut(&K, &mut S, Time) -> Option<O> + 'static;
}

/// Pairs at their message's time, or [`Timed`](crate::time::Timed) pairs at their own
/// ([`KeyedRecord`]).
impl<'scope, R> FoldPerTime<'scope, R::Key, R::Value> for StreamVec<'scope, Time, R>
where
    R: KeyedRecord,
    R::Key: ExchangeData + Hash + Eq + Clone,
{
    fn fold_per_time<S, O, F, P>(self, name: &str, fold: F, report: P) -> StreamVec<'scope, Time, O>
    where
        S: Default + Clone + Serialize + DeserializeOwned + Send + 'static,
        O: 'static,
        F: FnMut(&R::Key, &mut S, R::Value) + 'static,
        P: FnMut(&R::Key, &mut S, Time) -> Option<O> + 'static,
    {
        self.process_keyed(
            name,
            PerTime {
                fold,
                report,
                types: std::marker::PhantomData,
            },
        )
    }
}

/// A key's state and the time whose records await their report.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Folded<S> {
    state: S,
    unreported: Option<Time>,
}

struct PerTime<F, R, S, O> {
    fold: F,
    report: R,
    types: std::marker::PhantomData<fn(S) -> O>,
}

impl<K, V, S, O, F, R> KeyedProcess<K, V> for PerTime<F, R, S, O>
where
    K: 'static,
    V: 'static,
    S: Default + Clone + Serialize + DeserializeOwned + Send + 'static,
    O: 'static,
    F: FnMut(&K, &mut S, V) + 'static,
    R: FnMut(&K, &mut S, Time) -> Option<O> + 'static,
{
    type State = Folded<S>;
    type Output = O;

    fn on_record(&mut self, key: &K, folded: &mut Folded<S>, value: V, time: Time, _: &mut Vec<O>) {
        (self.fold)(key, &mut folded.state, value);
        folded.unreported = Some(time);
    }

    fn deadline(&self, folded: &Folded<S>) -> Option<Time> {
        folded.unreported.map(|time| time.saturating_add(1))
    }

    fn on_deadline(
        &mut self,
        key: &K,
        folded: &mut Folded<S>,
        _: Time,
        output: &mut Vec<O>,
    ) -> bool {
        if let Some(time) = folded.unreported.take() {
            output.extend((self.report)(key, &mut folded.state, time));
        }
        true
    }
}
