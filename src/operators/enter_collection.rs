//! `inserts` and `changes`: weir streams as differential collections.
//!
//! Differential's operators take collections of updates, `(record, time, diff)`. A weir
//! stream of plain records is a collection of insertions, each at its message's time; a
//! stream of [`Change`] records (a changelog, as weir writes and reads them) carries its own
//! diffs and times.

use differential_dataflow::{AsCollection, VecCollection};
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::StreamVec;

use crate::arrangement::Diff;
use crate::changelog::Change;
use crate::time::Time;

/// Extension trait turning a stream of records into a collection of insertions.
pub trait EnterCollection<'scope, D> {
    /// Every record inserted once, at its message's time.
    ///
    /// ```
    /// use timely::dataflow::operators::capture::Extract;
    /// use timely::dataflow::operators::Capture;
    /// use weir::operators::{EnterCollection, LeaveCollection};
    /// use weir::sources::ToTimedStream;
    ///
    /// let captured = timely::example(|scope| {
    ///     vec![(3, 'a'), (5, 'a')].to_timed_stream(scope).inserts().distinct().records().capture()
    /// });
    /// assert_eq!(captured.extract(), vec![(3, vec!['a'])]);
    /// ```
    fn inserts(self) -> VecCollection<'scope, Time, D, Diff>;
}

impl<'scope, D: Clone + 'static> EnterCollection<'scope, D> for StreamVec<'scope, Time, D> {
    fn inserts(self) -> VecCollection<'scope, Time, D, Diff> {
        self.unary(Pipeline, "Inserts", |_, _| {
            move |input, output| {
                input.for_each(|cap, records| {
                    let Some(&time) = cap.least() else { return };
                    output
                        .session(&cap)
                        .give_iterator(records.drain(..).map(|record| (record, time, 1)));
                });
            }
        })
        .as_collection()
    }
}

/// Extension trait turning a changelog stream into a collection of its changes.
pub trait EnterChanges<'scope, D> {
    /// Every change as an update of its record at its time (or its message's, if that is
    /// later), with its diff.
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
    ///     ]
    ///     .to_timed_stream(scope)
    ///     .changes()
    ///     .count()
    ///     .changelog()
    ///     .capture()
    /// });
    /// let lines: Vec<Change<(char, isize)>> =
    ///     captured.extract().into_iter().flat_map(|(_, lines)| lines).collect();
    /// assert_eq!(
    ///     lines,
    ///     vec![
    ///         Change { diff: 1, time: 1, record: ('a', 2) },
    ///         Change { diff: -1, time: 2, record: ('a', 2) },
    ///         Change { diff: 1, time: 2, record: ('a', 1) },
    ///     ]
    /// );
    /// ```
    fn changes(self) -> VecCollection<'scope, Time, D, Diff>;
}

impl<'scope, D: Clone + 'static> EnterChanges<'scope, D> for StreamVec<'scope, Time, Change<D>> {
    fn changes(self) -> VecCollection<'scope, Time, D, Diff> {
        self.unary(Pipeline, "Changes", |_, _| {
            move |input, output| {
                input.for_each(|cap, changes| {
                    let Some(&at) = cap.least() else { return };
                    output.session(&cap).give_iterator(
                        changes
                            .drain(..)
                            .map(|change| (change.record, change.time.max(at), change.diff)),
                    );
                });
            }
        })
        .as_collection()
    }
}
