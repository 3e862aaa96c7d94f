//! `aggregate`: a per-key aggregate over event-time windows (global, tumbling, hopping).
//!
//! Two phases, so that the exchange carries partial aggregates rather than records: every
//! worker folds its own records into one accumulator per key and *pane* (the stretch of
//! time between window boundaries) and sends the partials on at the end of every slice of
//! the pane, a two-hundredth of it and at least 10 ms of event time (`partials`); the owner of the key merges each partial
//! into the accumulators of the windows its pane lies in as it arrives (`windows`), so
//! that when its frontier passes a window's end the result is ready. A record is added once
//! however many hopping windows contain it, and the work of a window is spread over its
//! slices rather than done when it fires, which held every output behind it (q5's p99
//! was 157 ms at half its rate). [`aggregate_top_k`](Aggregate::aggregate_top_k) reports
//! only each window's best results, picked in one pass as the window fires.
//!
//! Input is `(key, value)` pairs at their message's time, or [`Timed`] pairs, each at its
//! own time, from a source that sends many milliseconds per message ([`WindowRecord`]).
//!
//! In a job that snapshots, the first phase also sends its partials on at every epoch
//! boundary, so it holds nothing across one; the second phase applies partials in timestamp
//! order and captures its panes at each epoch.

mod best;
mod partials;
mod windows;

use std::collections::BTreeMap;
use std::hash::Hash;
use std::marker::PhantomData;

use serde::{Deserialize, Serialize};
use timely::dataflow::StreamVec;
use timely::ExchangeData;

use crate::operators::drive_keyed::DriveKeyed;
use crate::operators::{Aggregator, TopKPerWindow};
use crate::state::ShardedMap;

use best::BestPerWindow;
use partials::fold_panes;
use windows::Windowwise;
pub(crate) use windows::{Every, Selection};

use crate::time::{Time, Timed, Window, WindowBounds};

/// The result of an aggregation for one key and window.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Windowed<K, V> {
    /// The key.
    pub key: K,
    /// The window, `[start, end)`.
    pub window: WindowBounds,
    /// The aggregate of the key's records in the window.
    pub value: V,
}

/// Extension trait for windowed aggregation per key.
pub trait Aggregate<'scope, K, V> {
    /// Aggregates the values of each key in each window, emitting one [`Windowed`] result per
    /// key and window that has records, at time `window.end - 1` once the frontier passes the
    /// window's end (for [`Window::Global`], when the input ends).
    ///
    /// The aggregator's `add` and `merge` must be commutative and associative: partial
    /// aggregates from different workers are merged in no particular order. A `window` whose
    /// parameters are invalid (see [`Window::validate`]) aggregates as [`Window::Global`];
    /// pipelines validate their windows before building.
    ///
    /// ```
    /// use timely::dataflow::operators::{Capture, ToStream};
    /// use timely::dataflow::operators::capture::Extract;
    /// use weir::operators::{Aggregate, Count, KeyBy};
    /// use weir::time::Window;
    ///
    /// let captured = timely::example(|scope| {
    ///     vec!["to", "be", "or", "not", "to", "be"]
    ///         .to_stream(scope)
    ///         .container::<Vec<_>>()
    ///         .key_by(|word| word.to_string())
    ///         .aggregate("word counts", Window::Global, Count)
    ///         .capture()
    /// });
    /// let mut counts: Vec<(String, u64)> = captured
    ///     .extract()
    ///     .into_iter()
    ///     .flat_map(|(_, results)| results)
    ///     .map(|result| (result.key, result.value))
    ///     .collect();
    /// counts.sort();
    /// assert_eq!(counts, vec![("be".into(), 2), ("not".into(), 1), ("or".into(), 1), ("to".into(), 2)]);
    /// ```
    fn aggregate<A: Aggregator<V>>(
        self,
        name: &str,
        window: Window,
        aggregator: A,
    ) -> StreamVec<'scope, Time, Windowed<K, A::Output>>;

    /// Aggregates as [`aggregate`](Self::aggregate) does, but reports of each window only the
    /// results with the `k` best `score(key, value)`s, ties included (`k = 1`:
    /// max-with-ties): what `aggregate` followed by
    /// [`top_k_per_window`](crate::operators::TopKPerWindow::top_k_per_window) reports,
    /// without handing every key of the window on. Each worker picks its best in one pass
    /// over the window as it fires, and the owner of the window keeps the best of those.
    ///
    /// ```
    /// use timely::dataflow::operators::Capture;
    /// use timely::dataflow::operators::capture::Extract;
    /// use timely::dataflow::operators::vec::Map;
    /// use weir::operators::{Aggregate, Count};
    /// use weir::sources::ToTimedStream;
    /// use weir::time::Window;
    ///
    /// let captured = timely::example(|scope| {
    ///     // Bids on items at 1..=7 ms; the most bid-on items per 10 ms window.
    ///     vec![(1u64, "pen"), (2, "cup"), (3, "pen"), (4, "cup"), (5, "hat"), (6, "pen"), (7, "cup")]
    ///         .to_timed_stream(scope)
    ///         .map(|item| (item.to_string(), ()))
    ///         .aggregate_top_k("hottest", Window::tumbling(10), Count, 1, |_item, bids| *bids)
    ///         .capture()
    /// });
    /// let mut hottest: Vec<(String, u64)> = captured
    ///     .extract()
    ///     .into_iter()
    ///     .flat_map(|(_, results)| results)
    ///     .map(|r| (r.key, r.value))
    ///     .collect();
    /// hottest.sort();
    /// assert_eq!(hottest, vec![("cup".into(), 3), ("pen".into(), 3)]); // a tie at 3 bids
    /// ```
    fn aggregate_top_k<A, S, F>(
        self,
        name: &str,
        window: Window,
        aggregator: A,
        k: usize,
        score: F,
    ) -> StreamVec<'scope, Time, Windowed<K, A::Output>>
    where
        A: Aggregator<V>,
        A::Output: ExchangeData + Clone,
        S: Ord + Clone + 'static,
        F: Fn(&K, &A::Output) -> S + Clone + 'static;
}

/// `aggregate_top_k` over either input form: the windows' best per worker, then overall.
fn best_of<'scope, R, K, V, A, S, F>(
    records: StreamVec<'scope, Time, R>,
    (name, window, aggregator): (&str, Window, A),
    k: usize,
    score: F,
    open: fn(R, Time) -> (Time, (K, V)),
) -> StreamVec<'scope, Time, Windowed<K, A::Output>>
where
    R: 'static,
    K: ExchangeData + Hash + Eq + Clone,
    V: 'static,
    A: Aggregator<V>,
    A::Output: ExchangeData + Clone,
    S: Ord + Clone + 'static,
    F: Fn(&K, &A::Output) -> S + Clone + 'static,
{
    let k = k.max(1);
    let best = BestPerWindow::new(k, score.clone());
    aggregate_records(records, name, window, aggregator, best, open).top_k_per_window(
        &format!("{name} (best)"),
        k,
        move |result| score(&result.key, &result.value),
    )
}

/// A record [`Aggregate`] takes: a `(key, value)` pair at its message's time, or a
/// [`Timed`] pair at its own time, from a source that sends many milliseconds per message
/// ([`Chain::timed_stream`](crate::sources::Chain::timed_stream)). The results are those of
/// the same records each at its own message time.
pub trait WindowRecord: 'static {
    /// The key aggregated by.
    type Key;
    /// What is aggregated.
    type Value;

    /// The record's time and pair, in a message at `message`.
    fn open(self, message: Time) -> (Time, (Self::Key, Self::Value));
}

impl<K: 'static, V: 'static> WindowRecord for (K, V) {
    type Key = K;
    type Value = V;

    #[inline]
    fn open(self, message: Time) -> (Time, (K, V)) {
        (message, self)
    }
}

impl<K: 'static, V: 'static> WindowRecord for Timed<(K, V)> {
    type Key = K;
    type Value = V;

    #[inline]
    fn open(self, _: Time) -> (Time, (K, V)) {
        (self.time, self.record)
    }
}

impl<'scope, R> Aggregate<'scope, R::Key, R::Value> for StreamVec<'scope, Time, R>
where
    R: WindowRecord,
    R::Key: ExchangeData + Hash + Eq + Clone,
{
    fn aggregate<A: Aggregator<R::Value>>(
        self,
        name: &str,
        window: Window,
        aggregator: A,
    ) -> StreamVec<'scope, Time, Windowed<R::Key, A::Output>> {
        aggregate_records(self, name, window, aggregator, Every, R::open)
    }

    fn aggregate_top_k<A, S, F>(
        self,
        name: &str,
        window: Window,
        aggregator: A,
        k: usize,
        score: F,
    ) -> StreamVec<'scope, Time, Windowed<R::Key, A::Output>>
    where
        A: Aggregator<R::Value>,
        A::Output: ExchangeData + Clone,
        S: Ord + Clone + 'static,
        F: Fn(&R::Key, &A::Output) -> S + Clone + 'static,
    {
        best_of(self, (name, window, aggregator), k, score, R::open)
    }
}

/// Both phases, over records that `open(record, message time)` makes a time and a pair of;
/// each window reports what `selection` picks of its results.
pub(crate) fn aggregate_records<'scope, R, K, V, A, S>(
    records: StreamVec<'scope, Time, R>,
    name: &str,
    window: Window,
    aggregator: A,
    selection: S,
    open: fn(R, Time) -> (Time, (K, V)),
) -> StreamVec<'scope, Time, Windowed<K, A::Output>>
where
    R: 'static,
    K: ExchangeData + Hash + Eq + Clone,
    V: 'static,
    A: Aggregator<V>,
    S: Selection<K, V, A>,
{
    let window = if window.validate().is_ok() {
        window
    } else {
        Window::Global
    };
    let partials = fold_panes(
        records,
        &format!("{name} (partial)"),
        window,
        aggregator.clone(),
        open,
    );
    partials.drive_keyed(
        name,
        Windowwise {
            aggregator,
            window,
            selection,
            pending: BTreeMap::new(),
            spare: ShardedMap::default(),
            run: Vec::new(),
            _record: PhantomData,
        },
    )
}
