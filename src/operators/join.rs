//! `join`: an unbounded, incremental equi-join of two keyed streams.
//!
//! Every record of either side is kept in its key's state and meets every record of the
//! other side with the same key, whichever arrives first, exactly once, at the later of the
//! two times. Built on [`UpdateState`] over both inputs together, so it applies in timestamp
//! order and is snapshotted and restored (onto any number of workers) like any keyed state.
//! Its state grows with its input: filter both sides before joining.

use std::hash::Hash;

use timely::dataflow::StreamVec;
use timely::ExchangeData;

use crate::operators::side::both_sides;
use crate::operators::{Side, UpdateState};
use crate::time::Time;

/// Extension trait for unbounded equi-joins.
pub trait Join<'scope, K, A> {
    /// Every pair of a record of `self` and a record of `other` with equal keys, passed to
    /// `join(key, a, b)` once, at the time of whichever of the two came later. `name` is the
    /// operator's stable id.
    ///
    /// ```
    /// use timely::dataflow::operators::Capture;
    /// use timely::dataflow::operators::capture::Extract;
    /// use weir::operators::Join;
    /// use weir::sources::ToTimedStream;
    ///
    /// let captured = timely::example(|scope| {
    ///     let people = vec![(1u64, (7u32, "ann".to_string()))].to_timed_stream(scope);
    ///     let orders = vec![(0u64, (7u32, 250u32)), (3, (7, 99)), (3, (8, 5))].to_timed_stream(scope);
    ///     people
    ///         .join("orders by person", orders, |_, name, amount| (name.clone(), *amount))
    ///         .capture()
    /// });
    /// assert_eq!(
    ///     captured.extract(),
    ///     vec![(1, vec![("ann".to_string(), 250)]), (3, vec![("ann".to_string(), 99)])]
    /// );
    /// ```
    fn join<B, O, F>(
        self,
        name: &str,
        other: StreamVec<'scope, Time, (K, B)>,
        join: F,
    ) -> StreamVec<'scope, Time, O>
    where
        B: ExchangeData + Clone,
        O: 'static,
        F: FnMut(&K, &A, &B) -> O + 'static;
}

impl<'scope, K, A> Join<'scope, K, A> for StreamVec<'scope, Time, (K, A)>
where
    K: ExchangeData + Hash + Eq + Clone,
    A: ExchangeData + Clone,
{
    fn join<B, O, F>(
        self,
        name: &str,
        other: StreamVec<'scope, Time, (K, B)>,
        join: F,
    ) -> StreamVec<'scope, Time, O>
    where
        B: ExchangeData + Clone,
        O: 'static,
        F: FnMut(&K, &A, &B) -> O + 'static,
    {
        both_sides(self, other).join_sides(name, join)
    }
}

/// Extension trait for unbounded equi-joins of one stream carrying both sides.
pub trait JoinSides<'scope, K, A, B> {
    /// [`Join::join`] of the left and the right records of one stream: for inputs that come
    /// from one source, split (and keyed) inside it, so neither side needs an operator of its
    /// own.
    ///
    /// ```
    /// use timely::dataflow::operators::Capture;
    /// use timely::dataflow::operators::capture::Extract;
    /// use weir::operators::{JoinSides, Side};
    /// use weir::sources::ToTimedStream;
    ///
    /// let captured = timely::example(|scope| {
    ///     vec![(0u64, (7u32, Side::Right(250u32))), (1, (7, Side::Left('a')))]
    ///         .to_timed_stream(scope)
    ///         .join_sides("orders by person", |_, initial, amount| (*initial, *amount))
    ///         .capture()
    /// });
    /// assert_eq!(captured.extract(), vec![(1, vec![('a', 250)])]);
    /// ```
    fn join_sides<O, F>(self, name: &str, join: F) -> StreamVec<'scope, Time, O>
    where
        O: 'static,
        F: FnMut(&K, &A, &B) -> O + 'static;
}

impl<'scope, K, A, B> JoinSides<'scope, K, A, B> for StreamVec<'scope, Time, (K, Side<A, B>)>
where
    K: ExchangeData + Hash + Eq + Clone,
    A: ExchangeData + Clone,
    B: ExchangeData + Clone,
{
    fn join_sides<O, F>(self, name: &str, mut join: F) -> StreamVec<'scope, Time, O>
    where
        O: 'static,
        F: FnMut(&K, &A, &B) -> O + 'static,
    {
        self.update_state(
            name,
            move |key, seen: &mut (Vec<A>, Vec<B>), record| match record {
                Side::Left(a) => {
                    let matches: Vec<O> = seen.1.iter().map(|b| join(key, &a, b)).collect();
                    seen.0.push(a);
                    matches
                }
                Side::Right(b) => {
                    let matches: Vec<O> = seen.0.iter().map(|a| join(key, a, &b)).collect();
                    seen.1.push(b);
                    matches
                }
            },
        )
    }
}
