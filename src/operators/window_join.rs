//! `window_join` and `window_cogroup`: two keyed streams joined within event-time windows.
//!
//! Records of either input meet when they share a key and a window; a window's matches are
//! final when the frontier passes its end, and carry the time `end - 1`. It is a windowed
//! [`Aggregate`] of both inputs together, whose accumulator collects each side's records:
//! so it pre-collects per worker, applies in timestamp order and snapshots like one.

use std::hash::Hash;

use timely::dataflow::operators::vec::Map;
use timely::dataflow::StreamVec;
use timely::ExchangeData;

use crate::operators::side::both_sides;
use crate::operators::{Aggregate, Aggregator, Side};
use crate::time::{Time, Window, WindowBounds};

/// Extension trait for joins within windows.
pub trait WindowJoin<'scope, K, A> {
    /// For each key and window, every pair of a record of `self` and a record of `other`
    /// passed to `join(key, window, a, b)`, whose result is emitted at `window.end - 1`.
    /// `name` is the operator's stable id.
    ///
    /// ```
    /// use timely::dataflow::operators::Capture;
    /// use timely::dataflow::operators::capture::Extract;
    /// use weir::operators::WindowJoin;
    /// use weir::sources::ToTimedStream;
    /// use weir::time::Window;
    ///
    /// let captured = timely::example(|scope| {
    ///     let views = vec![(1u64, (7u32, 'h')), (12, (7, 'c'))].to_timed_stream(scope);
    ///     let clicks = vec![(4u64, (7u32, 'b'))].to_timed_stream(scope);
    ///     views
    ///         .window_join("views and clicks", clicks, Window::tumbling(10), |user, window, view, click| {
    ///             (*user, window.start, *view, *click)
    ///         })
    ///         .capture()
    /// });
    /// // Only the view in the click's window [0, 10) joins it.
    /// assert_eq!(captured.extract(), vec![(9, vec![(7, 0, 'h', 'b')])]);
    /// ```
    fn window_join<B, O, F>(
        self,
        name: &str,
        other: StreamVec<'scope, Time, (K, B)>,
        window: Window,
        join: F,
    ) -> StreamVec<'scope, Time, O>
    where
        B: ExchangeData + Clone,
        O: 'static,
        F: FnMut(&K, WindowBounds, &A, &B) -> O + 'static;

    /// For each key and window in which either input has records, `cogroup(key, window,
    /// left records, right records)`, whose outputs are emitted at `window.end - 1`: for
    /// semi-joins, outer joins and anything else that needs a window's records together.
    ///
    /// ```
    /// use timely::dataflow::operators::Capture;
    /// use timely::dataflow::operators::capture::Extract;
    /// use weir::operators::WindowJoin;
    /// use weir::sources::ToTimedStream;
    /// use weir::time::Window;
    ///
    /// let captured = timely::example(|scope| {
    ///     let signups = vec![(1u64, (7u32, 'a')), (2, (8, 'b'))].to_timed_stream(scope);
    ///     let posts = vec![(3u64, (7u32, ())), (5, (7, ()))].to_timed_stream(scope);
    ///     // Users (initials) who signed up and posted in the same window, once each.
    ///     signups
    ///         .window_cogroup("active", posts, Window::tumbling(10), |_, _, names, posts| {
    ///             if posts.is_empty() { Vec::new() } else { names.to_vec() }
    ///         })
    ///         .capture()
    /// });
    /// assert_eq!(captured.extract(), vec![(9, vec!['a'])]);
    /// ```
    fn window_cogroup<B, I, F>(
        self,
        name: &str,
        other: StreamVec<'scope, Time, (K, B)>,
        window: Window,
        cogroup: F,
    ) -> StreamVec<'scope, Time, I::Item>
    where
        B: ExchangeData + Clone,
        I: IntoIterator,
        I::Item: 'static,
        F: FnMut(&K, WindowBounds, &[A], &[B]) -> I + 'static;
}

impl<'scope, K, A> WindowJoin<'scope, K, A> for StreamVec<'scope, Time, (K, A)>
where
    K: ExchangeData + Hash + Eq + Clone,
    A: ExchangeData + Clone,
{
    fn window_join<B, O, F>(
        self,
        name: &str,
        other: StreamVec<'scope, Time, (K, B)>,
        window: Window,
        mut join: F,
    ) -> StreamVec<'scope, Time, O>
    where
        B: ExchangeData + Clone,
        O: 'static,
        F: FnMut(&K, WindowBounds, &A, &B) -> O + 'static,
    {
        self.window_cogroup(name, other, window, move |key, bounds, lefts, rights| {
            let mut pairs = Vec::with_capacity(lefts.len() * rights.len());
            for a in lefts {
                for b in rights {
                    pairs.push(join(key, bounds, a, b));
                }
            }
            pairs
        })
    }

    fn window_cogroup<B, I, F>(
        self,
        name: &str,
        other: StreamVec<'scope, Time, (K, B)>,
        window: Window,
        cogroup: F,
    ) -> StreamVec<'scope, Time, I::Item>
    where
        B: ExchangeData + Clone,
        I: IntoIterator,
        I::Item: 'static,
        F: FnMut(&K, WindowBounds, &[A], &[B]) -> I + 'static,
    {
        both_sides(self, other).window_cogroup_sides(name, window, cogroup)
    }
}

/// Extension trait for joins within windows of one stream carrying both sides.
pub trait WindowCogroupSides<'scope, K, A, B> {
    /// [`WindowJoin::window_cogroup`] of the left and the right records of one stream: for
    /// inputs that come from one source, split (and keyed) inside it.
    ///
    /// ```
    /// use timely::dataflow::operators::Capture;
    /// use timely::dataflow::operators::capture::Extract;
    /// use weir::operators::{Side, WindowCogroupSides};
    /// use weir::sources::ToTimedStream;
    /// use weir::time::Window;
    ///
    /// let captured = timely::example(|scope| {
    ///     let events = vec![(1u64, (7u32, Side::Left('a'))), (3, (7, Side::Right(()))), (4, (8, Side::Left('b')))];
    ///     events
    ///         .to_timed_stream(scope)
    ///         .window_cogroup_sides("active", Window::tumbling(10), |_, _, names, posts| {
    ///             if posts.is_empty() { Vec::new() } else { names.to_vec() }
    ///         })
    ///         .capture()
    /// });
    /// assert_eq!(captured.extract(), vec![(9, vec!['a'])]);
    /// ```
    fn window_cogroup_sides<I, F>(
        self,
        name: &str,
        window: Window,
        cogroup: F,
    ) -> StreamVec<'scope, Time, I::Item>
    where
        I: IntoIterator,
        I::Item: 'static,
        F: FnMut(&K, WindowBounds, &[A], &[B]) -> I + 'static;
}

impl<'scope, K, A, B> WindowCogroupSides<'scope, K, A, B>
    for StreamVec<'scope, Time, (K, Side<A, B>)>
where
    K: ExchangeData + Hash + Eq + Clone,
    A: ExchangeData + Clone,
    B: ExchangeData + Clone,
{
    fn window_cogroup_sides<I, F>(
        self,
        name: &str,
        window: Window,
        mut cogroup: F,
    ) -> StreamVec<'scope, Time, I::Item>
    where
        I: IntoIterator,
        I::Item: 'static,
        F: FnMut(&K, WindowBounds, &[A], &[B]) -> I + 'static,
    {
        self.aggregate(name, window, Collect)
            .flat_map(move |group| {
                let (lefts, rights) = group.value;
                cogroup(&group.key, group.window, &lefts, &rights)
            })
    }
}

/// Collects the records of both sides.
#[derive(Clone, Copy)]
struct Collect;

impl<A: ExchangeData + Clone, B: ExchangeData + Clone> Aggregator<Side<A, B>> for Collect {
    type Acc = (Vec<A>, Vec<B>);
    type Output = (Vec<A>, Vec<B>);

    fn add(&self, acc: &mut Self::Acc, value: Side<A, B>) {
        match value {
            Side::Left(a) => acc.0.push(a),
            Side::Right(b) => acc.1.push(b),
        }
    }

    fn merge(&self, acc: &mut Self::Acc, other: &Self::Acc) {
        acc.0.extend(other.0.iter().cloned());
        acc.1.extend(other.1.iter().cloned());
    }

    fn result(&self, acc: &Self::Acc) -> Self::Output {
        acc.clone()
    }
}
