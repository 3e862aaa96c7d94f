//! `arrange_state`: a differential-dataflow arrangement kept as weir state.
//!
//! Differential's own arrangements live only as long as the process. `arrange_state`
//! arranges a collection exactly as differential's `arrange_by_key` does, so that it meets
//! every other arrangement on the same worker, and registers it with the job's snapshots:
//! the snapshot of epoch `T` holds, per weir key group, the sum of its updates before `T`,
//! and a restore onto any number of workers and processes feeds it back in (see
//! [`crate::arrangement`]). Use differential's operators on the result.

use differential_dataflow::operators::arrange::arrangement::arrange_core;
use differential_dataflow::VecCollection;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::vec::Map;
use timely::dataflow::StreamVec;

use crate::arrangement::{
    capture_epochs, restored_updates, Diff, StateArrangement, StateBatcher, StateData, StateSpine,
};
use crate::operators::{EnterCollection, Side};
use crate::snapshot::StateEpochs;
use crate::time::Time;
use differential_dataflow::Hashable;

/// Extension trait arranging a collection of `(key, value)` updates as state.
pub trait ArrangeState<'scope, K: StateData, V: StateData> {
    /// The collection arranged by key, as state called `name`: in a job that snapshots,
    /// captured at every epoch and restored from the snapshot restored. Its `join_core`,
    /// `reduce_abelian`, `as_collection` and `enter` (for `iterate`) are differential's, and
    /// it joins with any collection or arrangement of differential's.
    ///
    /// Two arranged inputs joined incrementally; the join follows a retraction:
    ///
    /// ```
    /// use timely::dataflow::operators::capture::Extract;
    /// use timely::dataflow::operators::Capture;
    /// use weir::changelog::Change;
    /// use weir::operators::{ArrangeState, EnterChanges, LeaveCollection};
    /// use weir::sources::ToTimedStream;
    ///
    /// let captured = timely::example(|scope| {
    ///     let names = vec![(0, Change { diff: 1, time: 0, record: (7u32, "ann".to_string()) })]
    ///         .to_timed_stream(scope)
    ///         .changes()
    ///         .arrange_state("names");
    ///     let orders = vec![
    ///         (1, Change { diff: 1, time: 1, record: (7u32, 250u32) }),
    ///         (4, Change { diff: -1, time: 4, record: (7, 250) }),
    ///     ]
    ///     .to_timed_stream(scope)
    ///     .changes()
    ///     .arrange_state("orders");
    ///     names
    ///         .join_core(orders, |_id, name, amount| Some((name.clone(), *amount)))
    ///         .changelog()
    ///         .capture()
    /// });
    /// let lines: Vec<Change<(String, u32)>> =
    ///     captured.extract().into_iter().flat_map(|(_, lines)| lines).collect();
    /// assert_eq!(
    ///     lines,
    ///     vec![
    ///         Change { diff: 1, time: 1, record: ("ann".to_string(), 250) },
    ///         Change { diff: -1, time: 4, record: ("ann".to_string(), 250) },
    ///     ]
    /// );
    /// ```
    fn arrange_state(self, name: &str) -> StateArrangement<'scope, K, V>;
}

impl<'scope, K, V> ArrangeState<'scope, K, V> for VecCollection<'scope, Time, (K, V), Diff>
where
    K: StateData,
    V: StateData,
{
    fn arrange_state(self, name: &str) -> StateArrangement<'scope, K, V> {
        let scope = self.inner.scope();
        let epochs = StateEpochs::register(&scope, name);
        let updates = match &epochs {
            Some(epochs) => self.concat(restored_updates(scope, epochs.participant())),
            None => self,
        };
        // Routed as differential routes its own arrangements, so that joins with them find
        // their keys on the same worker. The snapshot does not depend on it: it is encoded
        // by weir's stable key groups, and a restore routes the entries again.
        let by_key = Exchange::new(|update: &((K, V), Time, Diff)| (update.0).0.hashed());
        let arranged = arrange_core::<_, _, StateBatcher<K, V>, StateSpine<K, V>>(
            updates.inner,
            by_key,
            name,
            StateBatcher::new,
        );
        if let Some(epochs) = epochs {
            capture_epochs(arranged.stream.clone(), epochs);
        }
        arranged
    }
}

/// Extension trait for arranging both sides of a two-input keyed stream as state.
pub trait ArrangeSides<'scope, K: StateData, A: StateData, B: StateData> {
    /// The left records arranged by key as state `left`, and the right ones as `right`
    /// ([`ArrangeState::arrange_state`]): the two inputs of an incremental join
    /// (q3's and q20's `--state arranged`), from one stream of [`Side`]s.
    ///
    /// ```
    /// use timely::dataflow::operators::{Capture, ToStream};
    /// use timely::dataflow::operators::capture::Extract;
    /// use weir::operators::{ArrangeSides, LeaveCollection, Side};
    ///
    /// let captured = timely::example(|scope| {
    ///     let sides = vec![(1u64, Side::Left("ann".to_string())), (1, Side::Right(7u64))];
    ///     let (names, orders) = sides
    ///         .to_stream(scope)
    ///         .container::<Vec<_>>()
    ///         .arrange_sides("names", "orders");
    ///     names
    ///         .join_core(orders, |_, name, order| Some((name.clone(), *order)))
    ///         .records()
    ///         .capture()
    /// });
    /// let joined: Vec<_> = captured.extract().into_iter().flat_map(|(_, r)| r).collect();
    /// assert_eq!(joined, [("ann".to_string(), 7)]);
    /// ```
    fn arrange_sides(
        self,
        left: &str,
        right: &str,
    ) -> (
        StateArrangement<'scope, K, A>,
        StateArrangement<'scope, K, B>,
    );
}

impl<'scope, K, A, B> ArrangeSides<'scope, K, A, B> for StreamVec<'scope, Time, (K, Side<A, B>)>
where
    K: StateData,
    A: StateData,
    B: StateData,
{
    fn arrange_sides(
        self,
        left: &str,
        right: &str,
    ) -> (
        StateArrangement<'scope, K, A>,
        StateArrangement<'scope, K, B>,
    ) {
        let lefts = self
            .clone()
            .flat_map(|(key, side)| match side {
                Side::Left(a) => Some((key, a)),
                Side::Right(_) => None,
            })
            .inserts()
            .arrange_state(left);
        let rights = self
            .flat_map(|(key, side)| match side {
                Side::Right(b) => Some((key, b)),
                Side::Left(_) => None,
            })
            .inserts()
            .arrange_state(right);
        (lefts, rights)
    }
}
