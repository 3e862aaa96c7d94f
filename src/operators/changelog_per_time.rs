//! `changelog_per_time`: the changelog of a keyed result that changes as records arrive (the
//! last bid per bidder, the top bids per auction): at every millisecond at which a key's
//! result changes, its rows removed and added, consolidated, as [`Change`] records.
//!
//! Each key's state is its rows, which its records update in timestamp order; once all
//! records of a time `t` are in, the rows are compared with what they were before `t`, and
//! the difference goes out at `t`: each row no longer there with `diff` -1, each new one
//! with +1, one record per copy (never a `diff` of 2), nothing for a row removed and added
//! back within the millisecond. Summing the diffs of all changes gives the current rows.
//!
//! The rows are kept once: the first record of a key at a time copies the rows as they
//! were, and the report at the end of that time drops the copy, so only the keys changing
//! in the current millisecond are held twice, and only changed rows are cloned into
//! changes. Built on [`FoldPerTime`]: the rows (and a copy in flight) are the key's
//! snapshotted state.

use std::hash::Hash;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use timely::dataflow::operators::vec::Map;
use timely::dataflow::StreamVec;
use timely::ExchangeData;

use crate::changelog::Change;
use crate::operators::{FoldPerTime, KeyedRecord};
use crate::time::Time;

/// Extension trait for the changelog of a keyed result.
pub trait ChangelogPerTime<'scope, K, V> {
    /// Updates each key's rows with `update(key, rows, value)`, in timestamp order; at each
    /// time `t` with records, emits at `t` the consolidated difference between the key's
    /// rows after `t` and before it. `name` is the operator's stable id for snapshots.
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
    ///         .changelog_per_time("largest", |key, rows: &mut Vec<(char, u64)>, value| {
    ///             if rows.first().is_none_or(|&(_, largest)| value > largest) {
    ///                 *rows = vec![(*key, value)];
    ///             }
    ///         })
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
    fn changelog_per_time<R, F>(self, name: &str, update: F) -> StreamVec<'scope, Time, Change<R>>
    where
        R: Ord + Clone + Serialize + DeserializeOwned + Send + 'static,
        F: FnMut(&K, &mut Vec<R>, V) + 'static;
}

/// A key's rows, and what they were before the current time while it has records.
#[derive(Clone, Serialize, Deserialize)]
#[serde(bound(serialize = "R: Serialize"))]
#[serde(bound(deserialize = "R: DeserializeOwned"))]
pub struct Rows<R> {
    rows: Vec<R>,
    before: Option<Vec<R>>,
}

impl<R> Default for Rows<R> {
    fn default() -> Self {
        Rows {
            rows: Vec::new(),
            before: None,
        }
    }
}

/// Pairs at their message's time, or [`Timed`](crate::time::Timed) pairs at their own
/// ([`KeyedRecord`]).
impl<'scope, Rec> ChangelogPerTime<'scope, Rec::Key, Rec::Value> for StreamVec<'scope, Time, Rec>
where
    Rec: KeyedRecord,
    Rec::Key: ExchangeData + Hash + Eq + Clone,
{
    fn changelog_per_time<R, F>(
        self,
        name: &str,
        mut update: F,
    ) -> StreamVec<'scope, Time, Change<R>>
    where
        R: Ord + Clone + Serialize + DeserializeOwned + Send + 'static,
        F: FnMut(&Rec::Key, &mut Vec<R>, Rec::Value) + 'static,
    {
        self.fold_per_time(
            name,
            move |key, state: &mut Rows<R>, value| {
                if state.before.is_none() {
                    state.before = Some(state.rows.clone());
                }
                update(key, &mut state.rows, value);
            },
            |_, state, time| {
                let before = state.before.take()?;
                let changes = changes_between(&before, &state.rows, time);
                (!changes.is_empty()).then_some(changes)
            },
        )
        .flat_map(|changes| changes)
    }
}

/// References to `rows`, sorted.
fn sorted<R: Ord>(rows: &[R]) -> Vec<&R> {
    let mut sorted: Vec<&R> = rows.iter().collect();
    sorted.sort_unstable();
    sorted
}

/// The changes at `time` from the rows `before` to the rows `after`, as multisets: rows kept
/// in order already (q18's single row) are compared as they are, others through sorted
/// references.
fn changes_between<R: Ord + Clone>(before: &[R], after: &[R], time: Time) -> Vec<Change<R>> {
    if before.is_sorted() && after.is_sorted() {
        difference(before.iter(), after.iter(), time)
    } else {
        difference(sorted(before).into_iter(), sorted(after).into_iter(), time)
    }
}

/// The changes at `time` from the sorted multiset `before` to the sorted multiset `after`.
fn difference<'a, R: Ord + Clone + 'a>(
    before: impl Iterator<Item = &'a R>,
    after: impl Iterator<Item = &'a R>,
    time: Time,
) -> Vec<Change<R>> {
    let change = |diff, record: &R| Change {
        diff,
        time,
        record: record.clone(),
    };
    let (mut before, mut after) = (before.peekable(), after.peekable());
    let mut changes = Vec::new();
    loop {
        match (before.peek(), after.peek()) {
            (Some(old), Some(new)) if old == new => {
                before.next();
                after.next();
            }
            (Some(old), Some(new)) if old < new => {
                changes.push(change(-1, old));
                before.next();
            }
            (Some(old), None) => {
                changes.push(change(-1, old));
                before.next();
            }
            (_, Some(new)) => {
                changes.push(change(1, new));
                after.next();
            }
            (None, None) => return changes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::changes_between;

    #[test]
    fn the_difference_of_multisets_keeps_every_copy_and_cancels_what_stays() {
        let pairs = |before: &[u32], after: &[u32]| -> Vec<(isize, u32)> {
            changes_between(before, after, 9)
                .into_iter()
                .map(|c| (c.diff, c.record))
                .collect()
        };
        assert_eq!(
            pairs(&[1, 2, 2, 4], &[2, 3, 3, 4]),
            [(-1, 1), (-1, 2), (1, 3), (1, 3)]
        );
        // Rows out of order compare as multisets all the same.
        assert_eq!(
            pairs(&[4, 2, 1, 2], &[3, 4, 2, 3]),
            [(-1, 1), (-1, 2), (1, 3), (1, 3)]
        );
    }
}
