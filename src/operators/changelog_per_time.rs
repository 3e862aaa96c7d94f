//! `changelog_per_time`: the changelog of a keyed result that changes as records arrive (the
//! last bid per bidder, the top bids per auction): at every millisecond at which a key's
//! result changes, its rows removed and added, consolidated, as [`Change`] records.
//!
//! Each key folds its records into a state, in timestamp order; once all records of a time
//! `t` are in, the key's rows as of `t` are compared with the rows it last reported, and the
//! difference goes out at `t`: each row no longer there with `diff` -1, each new one with
//! +1, one record per copy (never a `diff` of 2), nothing for a row removed and added back
//! within the millisecond. Summing the diffs of all changes gives the current rows. Built
//! on [`FoldPerTime`]: the state and the reported rows are the key's snapshotted state.

use std::hash::Hash;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use timely::dataflow::operators::vec::Map;
use timely::dataflow::StreamVec;
use timely::ExchangeData;

use crate::changelog::Change;
use crate::operators::FoldPerTime;
use crate::time::Time;

/// Extension trait for the changelog of a keyed result.
pub trait ChangelogPerTime<'scope, K, V> {
    /// Folds each record into its key's state with `fold(key, state, value)`, in timestamp
    /// order; at each time `t` with records, emits at `t` the consolidated difference between
    /// `rows(key, state)` after `t` and the rows the key reported before. `name` is the
    /// operator's stable id for snapshots.
    ///
    /// Here, the largest value per key, as a changelog:
    ///
    /// ```
    /// use timely::dataflow::operators::Capture;
    /// use timely::dataflow::operators::capture::Extract;
    /// use weir::operators::ChangelogPerTime;
    /// use weir::sources::ToTimedStream;
    ///
    /// let captured = timely::example(|scope| {
    ///     vec![(0, ('a', 3)), (1, ('a', 2)), (2, ('a', 5)), (2, ('a', 1))]
    ///         .to_timed_stream(scope)
    ///         .changelog_per_time(
    ///             "largest",
    ///             |_, largest: &mut u64, value| *largest = (*largest).max(value),
    ///             |key, largest| vec![(*key, *largest)],
    ///         )
    ///         .capture()
    /// });
    /// let changes: Vec<(isize, u64, (char, u64))> = captured
    ///     .extract()
    ///     .into_iter()
    ///     .flat_map(|(_, changes)| changes)
    ///     .map(|change| (change.diff, change.time, change.record))
    ///     .collect();
    /// // Nothing changes at time 1; at time 2, 3 goes and 5 comes.
    /// assert_eq!(changes, [(1, 0, ('a', 3)), (-1, 2, ('a', 3)), (1, 2, ('a', 5))]);
    /// ```
    fn changelog_per_time<S, R, F, G>(
        self,
        name: &str,
        fold: F,
        rows: G,
    ) -> StreamVec<'scope, Time, Change<R>>
    where
        S: Default + Clone + Serialize + DeserializeOwned + Send + 'static,
        R: Ord + Clone + Serialize + DeserializeOwned + Send + 'static,
        F: FnMut(&K, &mut S, V) + 'static,
        G: FnMut(&K, &S) -> Vec<R> + 'static;
}

/// A key's state and the rows it last reported, sorted.
#[derive(Clone, Serialize, Deserialize)]
#[serde(bound(serialize = "S: Serialize, R: Serialize"))]
#[serde(bound(deserialize = "S: DeserializeOwned, R: DeserializeOwned"))]
pub struct Reported<S, R> {
    state: S,
    rows: Vec<R>,
}

impl<S: Default, R> Default for Reported<S, R> {
    fn default() -> Self {
        Reported {
            state: S::default(),
            rows: Vec::new(),
        }
    }
}

impl<'scope, K, V> ChangelogPerTime<'scope, K, V> for StreamVec<'scope, Time, (K, V)>
where
    K: ExchangeData + Hash + Eq + Clone,
    V: ExchangeData,
{
    fn changelog_per_time<S, R, F, G>(
        self,
        name: &str,
        mut fold: F,
        mut rows: G,
    ) -> StreamVec<'scope, Time, Change<R>>
    where
        S: Default + Clone + Serialize + DeserializeOwned + Send + 'static,
        R: Ord + Clone + Serialize + DeserializeOwned + Send + 'static,
        F: FnMut(&K, &mut S, V) + 'static,
        G: FnMut(&K, &S) -> Vec<R> + 'static,
    {
        self.fold_per_time(
            name,
            move |key, reported: &mut Reported<S, R>, value| fold(key, &mut reported.state, value),
            move |key, reported, time| {
                let mut now = rows(key, &reported.state);
                now.sort();
                let changes = difference(&reported.rows, &now, time);
                reported.rows = now;
                (!changes.is_empty()).then_some(changes)
            },
        )
        .flat_map(|changes| changes)
    }
}

/// The changes at `time` from the sorted multiset `before` to the sorted multiset `after`.
fn difference<R: Ord + Clone>(before: &[R], after: &[R], time: Time) -> Vec<Change<R>> {
    let change = |diff, record: &R| Change {
        diff,
        time,
        record: record.clone(),
    };
    let mut changes = Vec::new();
    let (mut b, mut a) = (0, 0);
    while b < before.len() || a < after.len() {
        match (before.get(b), after.get(a)) {
            (Some(old), Some(new)) if old == new => {
                b += 1;
                a += 1;
            }
            (Some(old), Some(new)) if old < new => {
                changes.push(change(-1, old));
                b += 1;
            }
            (Some(old), None) => {
                changes.push(change(-1, old));
                b += 1;
            }
            (_, Some(new)) => {
                changes.push(change(1, new));
                a += 1;
            }
            (None, None) => break,
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::difference;

    #[test]
    fn the_difference_of_multisets_keeps_every_copy_and_cancels_what_stays() {
        let changes: Vec<(isize, u32)> = difference(&[1, 2, 2, 4], &[2, 3, 3, 4], 9)
            .into_iter()
            .map(|c| (c.diff, c.record))
            .collect();
        assert_eq!(changes, [(-1, 1), (-1, 2), (1, 3), (1, 3)]);
    }
}
