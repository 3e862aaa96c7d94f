//! `changelog` and `records`: differential collections back as weir streams.
//!
//! A collection's updates become records at their own times, so that sinks, snapshots and
//! every weir operator see them where they belong. In a job restored from epoch `T`, the
//! restored arrangements were fed in just before `T` and everything derived from them holds
//! there what it held before the crash; that was published already, so both operators drop
//! every update before `T` (see [`crate::arrangement`]).

use std::collections::BTreeMap;
use std::hash::Hash;

use differential_dataflow::ExchangeData;
use differential_dataflow::VecCollection;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::{Scope, StreamVec};

use crate::arrangement::Diff;
use crate::changelog::Change;
use crate::snapshot::SnapshotHub;
use crate::time::Time;

/// Extension trait turning collections into weir streams.
pub trait LeaveCollection<'scope, D> {
    /// The collection's changelog: at every time it changes, one [`Change`] per row added
    /// (`diff` 1) or removed (`diff` -1), consolidated, so a row removed and added back at
    /// one time emits nothing, and two copies of a row are two lines.
    ///
    /// ```
    /// use timely::dataflow::operators::capture::Extract;
    /// use timely::dataflow::operators::Capture;
    /// use weir::changelog::Change;
    /// use weir::operators::{EnterChanges, LeaveCollection};
    /// use weir::sources::ToTimedStream;
    ///
    /// let captured = timely::example(|scope| {
    ///     vec![
    ///         (1, Change { diff: 2, time: 1, record: 'a' }),
    ///         (2, Change { diff: -1, time: 2, record: 'a' }),
    ///         (2, Change { diff: 1, time: 2, record: 'a' }),
    ///     ]
    ///     .to_timed_stream(scope)
    ///     .changes()
    ///     .changelog()
    ///     .capture()
    /// });
    /// assert_eq!(
    ///     captured.extract(),
    ///     vec![(1, vec![Change { diff: 1, time: 1, record: 'a' }; 2])]
    /// );
    /// ```
    fn changelog(self) -> StreamVec<'scope, Time, Change<D>>;

    /// The records the collection gains, each once per copy, at the time it gains them:
    /// for results that only grow (an insert-only join), whose records need no diff.
    /// Retractions are dropped; use [`changelog`](Self::changelog) where there are any.
    ///
    /// ```
    /// use timely::dataflow::operators::capture::Extract;
    /// use timely::dataflow::operators::Capture;
    /// use weir::operators::{EnterCollection, LeaveCollection};
    /// use weir::sources::ToTimedStream;
    ///
    /// let captured = timely::example(|scope| {
    ///     vec![(0, 'a'), (2, 'b'), (2, 'b')].to_timed_stream(scope).inserts().records().capture()
    /// });
    /// assert_eq!(captured.extract(), vec![(0, vec!['a']), (2, vec!['b', 'b'])]);
    /// ```
    fn records(self) -> StreamVec<'scope, Time, D>;
}

impl<'scope, D> LeaveCollection<'scope, D> for VecCollection<'scope, Time, D, Diff>
where
    D: ExchangeData + Hash,
{
    fn changelog(self) -> StreamVec<'scope, Time, Change<D>> {
        let scope = self.inner.scope();
        leave(
            self.consolidate().inner,
            scope,
            "Changelog",
            |record: D, time, diff, out: &mut Vec<Change<D>>| {
                let one = diff.signum();
                push_copies(record, diff.unsigned_abs(), out, |record| Change {
                    diff: one,
                    time,
                    record,
                });
            },
        )
    }

    fn records(self) -> StreamVec<'scope, Time, D> {
        let scope = self.inner.scope();
        leave(
            self.inner,
            scope,
            "Records",
            |record: D, _, diff, out: &mut Vec<D>| {
                push_copies(record, diff.max(0).unsigned_abs(), out, |record| record);
            },
        )
    }
}

/// Pushes `copies` of `make(record)`, cloning `record` only for the copies beyond the first
/// (a consolidated update has `|diff| = 1` almost always, so almost nothing is cloned).
fn push_copies<D: Clone, O>(record: D, copies: usize, out: &mut Vec<O>, make: impl Fn(D) -> O) {
    if copies == 0 {
        return;
    }
    for _ in 1..copies {
        out.push(make(record.clone()));
    }
    out.push(make(record));
}

/// Emits what `emit` makes of each update at or after the restored epoch, at the update's
/// own time.
fn leave<'scope, D, O>(
    updates: StreamVec<'scope, Time, (D, Time, Diff)>,
    scope: Scope<'scope, Time>,
    name: &str,
    mut emit: impl FnMut(D, Time, Diff, &mut Vec<O>) + 'static,
) -> StreamVec<'scope, Time, O>
where
    D: 'static,
    O: 'static,
{
    let published_before = SnapshotHub::of(&scope)
        .and_then(|hub| hub.restored_epoch())
        .unwrap_or(0);
    updates.unary(Pipeline, name, move |_, _| {
        let mut by_time: BTreeMap<Time, Vec<O>> = BTreeMap::new();
        move |input, output| {
            input.for_each(|cap, updates| {
                for (record, time, diff) in updates.drain(..) {
                    if time >= published_before {
                        emit(record, time, diff, by_time.entry(time).or_default());
                    }
                }
                for (time, mut records) in std::mem::take(&mut by_time) {
                    if !records.is_empty() {
                        output
                            .session(&cap.delayed(&time, 0))
                            .give_container(&mut records);
                    }
                }
            });
        }
    })
}
