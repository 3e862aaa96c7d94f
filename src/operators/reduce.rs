//! `reduce`: a rolling per-key reduction that reports the running value after every record.

use std::hash::Hash;

use timely::dataflow::StreamVec;
use timely::ExchangeData;

use crate::operators::UpdateState;
use crate::time::Time;

/// Extension trait for rolling per-key reductions.
pub trait Reduce<'scope, K, V> {
    /// Combines each key's values with `combine(running, next)` in timestamp order, emitting
    /// `(key, running value)` after every record, at the record's time. The first value of a
    /// key starts its running value.
    ///
    /// ```
    /// use timely::dataflow::operators::{Capture, ToStream};
    /// use timely::dataflow::operators::capture::Extract;
    /// use weir::operators::Reduce;
    ///
    /// let captured = timely::example(|scope| {
    ///     vec![("a".to_string(), 5u64), ("b".to_string(), 1), ("a".to_string(), 7)]
    ///         .to_stream(scope)
    ///         .container::<Vec<_>>()
    ///         .reduce("running max", |max: &mut u64, value| *max = (*max).max(value))
    ///         .capture()
    /// });
    /// let mut seen: Vec<(String, u64)> = captured.extract().into_iter().flat_map(|(_, v)| v).collect();
    /// seen.sort();
    /// assert_eq!(seen, vec![("a".into(), 5), ("a".into(), 7), ("b".into(), 1)]);
    /// ```
    fn reduce<F>(self, name: &str, combine: F) -> StreamVec<'scope, Time, (K, V)>
    where
        F: FnMut(&mut V, V) + 'static;
}

impl<'scope, K, V> Reduce<'scope, K, V> for StreamVec<'scope, Time, (K, V)>
where
    K: ExchangeData + Hash + Eq + Clone,
    V: ExchangeData + Clone,
{
    fn reduce<F>(self, name: &str, mut combine: F) -> StreamVec<'scope, Time, (K, V)>
    where
        F: FnMut(&mut V, V) + 'static,
    {
        self.update_state(name, move |key: &K, running: &mut Option<V>, value| {
            match running {
                Some(running) => combine(running, value),
                None => *running = Some(value),
            }
            running.clone().map(|running| (key.clone(), running))
        })
    }
}
