//! `aggregate`: a per-key aggregate over event-time windows (global, tumbling, hopping).
//!
//! Two phases, so that the exchange carries partial aggregates rather than records: every
//! worker folds its own records into one accumulator per key and *pane* (the stretch of time
//! between window boundaries) and sends the partials on when its frontier passes the pane's
//! end; the owner of the key merges the partials and, when its frontier passes a window's end,
//! combines the window's panes into the result. A record is added once however many hopping
//! windows contain it.
//!
//! Input is `(key, value)` pairs at their message's time, or [`Timed`] pairs, each at its
//! own time, from a source that sends many milliseconds per message.
//!
//! In a job that snapshots, the first phase also sends its partials on at every epoch
//! boundary, so it holds nothing across one; the second phase applies partials in timestamp
//! order and captures its panes at each epoch.

use std::collections::BTreeMap;
use std::hash::Hash;
use std::marker::PhantomData;

use serde::{Deserialize, Serialize};
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::Capability;
use timely::dataflow::StreamVec;
use timely::ExchangeData;

use crate::operators::drive_keyed::{DriveKeyed, KeyedLogic, KeyedOutput};
use crate::operators::stash::frontier_time;
use crate::operators::Aggregator;
use crate::snapshot::{PaneState, Panes, SnapshotHub, Stamped};
use crate::state::StateMap;
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
}

impl<'scope, K, V> Aggregate<'scope, K, V> for StreamVec<'scope, Time, (K, V)>
where
    K: ExchangeData + Hash + Eq + Clone,
    V: 'static,
{
    fn aggregate<A: Aggregator<V>>(
        self,
        name: &str,
        window: Window,
        aggregator: A,
    ) -> StreamVec<'scope, Time, Windowed<K, A::Output>> {
        aggregate_records(self, name, window, aggregator, |pair, message| {
            (message, pair)
        })
    }
}

/// Records that carry their own times ([`Timed`], from
/// [`Chain::timed_stream`](crate::sources::Chain::timed_stream)): a message may hold many
/// milliseconds, so a generator sends a buffer per activation rather than a message per
/// millisecond. The results are those of the same records each at its own message time.
impl<'scope, K, V> Aggregate<'scope, K, V> for StreamVec<'scope, Time, Timed<(K, V)>>
where
    K: ExchangeData + Hash + Eq + Clone,
    V: 'static,
{
    fn aggregate<A: Aggregator<V>>(
        self,
        name: &str,
        window: Window,
        aggregator: A,
    ) -> StreamVec<'scope, Time, Windowed<K, A::Output>> {
        aggregate_records(self, name, window, aggregator, |timed, _| {
            (timed.time, timed.record)
        })
    }
}

/// Both phases, over records that `open(record, message time)` makes a time and a pair of.
fn aggregate_records<'scope, R, K, V, A>(
    records: StreamVec<'scope, Time, R>,
    name: &str,
    window: Window,
    aggregator: A,
    open: fn(R, Time) -> (Time, (K, V)),
) -> StreamVec<'scope, Time, Windowed<K, A::Output>>
where
    R: 'static,
    K: ExchangeData + Hash + Eq + Clone,
    V: 'static,
    A: Aggregator<V>,
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
        Panewise {
            aggregator,
            window,
            pending: BTreeMap::new(),
            _record: PhantomData,
        },
    )
}

/// The second phase of `aggregate` on the keyed driver: partials merged into panes, and the
/// windows that have something to report, by end, each with a capability for `end - 1`.
struct Panewise<A, V> {
    aggregator: A,
    window: Window,
    pending: BTreeMap<Time, Capability<Time>>,
    _record: PhantomData<fn(V)>,
}

impl<K, V, A> KeyedLogic<(K, (Time, A::Acc))> for Panewise<A, V>
where
    K: ExchangeData + Hash + Eq + Clone,
    V: 'static,
    A: Aggregator<V>,
{
    type State = PaneState<K, A::Acc>;
    type Output = Windowed<K, A::Output>;

    fn restored(&mut self, state: &mut Self::State, epoch: Time, cap: &Capability<Time>) {
        // Windows that ended by the epoch reported before it; the rest are due.
        for &pane in state.panes.keys() {
            for end in self
                .window
                .window_ends_of_pane(pane)
                .filter(|&end| end > epoch)
            {
                self.pending
                    .entry(end)
                    .or_insert_with(|| cap.delayed(&(end - 1)));
            }
        }
    }

    fn apply(
        &mut self,
        state: &mut Self::State,
        cap: &Capability<Time>,
        records: &mut Vec<(K, (Time, A::Acc))>,
        _output: &mut KeyedOutput<'_, Self::Output>,
    ) {
        merge_partials(
            &self.aggregator,
            self.window,
            &mut state.panes,
            &mut self.pending,
            cap,
            records,
            state.stamp,
        );
    }

    /// Reports every window that ends at or before `time`, and closes the panes whose last
    /// window that was.
    fn fire_through(
        &mut self,
        state: &mut Self::State,
        time: Time,
        output: &mut KeyedOutput<'_, Self::Output>,
    ) {
        let (window, aggregator) = (self.window, &self.aggregator);
        while let Some(entry) = self.pending.first_entry() {
            let end = *entry.key();
            if time < end {
                break;
            }
            let cap = entry.remove();
            let bounds = window.ending_at(end);
            let mut session = output.session(&cap);
            if window.size() == window.pane() {
                // The window is one pane: its accumulators are final as they are.
                let pane = end.saturating_sub(window.pane());
                for (key, acc) in state.panes.remove(&pane).unwrap_or_default() {
                    let value = aggregator.result(&acc.0);
                    session.give(Windowed {
                        key,
                        window: bounds,
                        value,
                    });
                }
            } else {
                let mut merged: StateMap<K, A::Acc> = StateMap::default();
                for (_, accs) in state.panes.range(bounds.first_time()..end) {
                    for (key, acc) in accs {
                        match merged.get_mut(key) {
                            Some(into) => aggregator.merge(into, &acc.0),
                            None => {
                                merged.insert(key.clone(), acc.0.clone());
                            }
                        }
                    }
                }
                for (key, acc) in merged {
                    let value = aggregator.result(&acc);
                    session.give(Windowed {
                        key,
                        window: bounds,
                        value,
                    });
                }
                // A pane's last window ends `size` after the pane starts.
                if let Some(last) = end.checked_sub(window.size()) {
                    while state
                        .panes
                        .first_key_value()
                        .is_some_and(|(&pane, _)| pane <= last)
                    {
                        state.panes.pop_first();
                    }
                }
            }
        }
    }
}

/// Merges partials into their panes, noting the windows that now have something to report.
fn merge_partials<K, V, A>(
    aggregator: &A,
    window: Window,
    panes: &mut Panes<K, Stamped<A::Acc>>,
    pending: &mut BTreeMap<Time, Capability<Time>>,
    cap: &Capability<Time>,
    batch: &mut Vec<(K, (Time, A::Acc))>,
    stamp: u32,
) where
    K: Hash + Eq,
    A: Aggregator<V>,
{
    let mut registered = None;
    for (key, (pane, partial)) in batch.drain(..) {
        if registered != Some(pane) {
            for end in window.window_ends_of_pane(pane) {
                pending
                    .entry(end)
                    .or_insert_with(|| cap.delayed(&(end - 1)));
            }
            registered = Some(pane);
        }
        let accs = panes.entry(pane).or_default();
        match accs.get_mut(&key) {
            Some(acc) => {
                aggregator.merge(&mut acc.0, &partial);
                acc.1 = stamp;
            }
            None => {
                accs.insert(key, Stamped(partial, stamp));
            }
        }
    }
}

/// The first phase: each worker's records folded per key and pane, sent on as
/// `(key, (pane, partial))` when the worker's frontier passes the pane's end or, in a job
/// that snapshots, an epoch boundary, whichever comes first.
fn fold_panes<'scope, R, K, V, A>(
    stream: StreamVec<'scope, Time, R>,
    name: &str,
    window: Window,
    aggregator: A,
    open: fn(R, Time) -> (Time, (K, V)),
) -> StreamVec<'scope, Time, (K, (Time, A::Acc))>
where
    R: 'static,
    K: ExchangeData + Hash + Eq,
    V: 'static,
    A: Aggregator<V>,
{
    let hub = SnapshotHub::of(&stream.scope());
    stream.unary_frontier(Pipeline, name, move |_, _| {
        // Keyed by the time the partials are sent at: the last time of the pane, or of the
        // epoch, that they cover. Distinct panes never share it.
        type Folds<K, Acc> = BTreeMap<Time, (Time, Capability<Time>, StateMap<K, Acc>)>;
        let mut folds: Folds<K, A::Acc> = BTreeMap::new();
        // When the partials of a record at a time are sent: the end of its pane, or of its
        // epoch, less one.
        let send_time = move |time: Time| {
            let pane = window.pane_of(time);
            let mut end = pane.saturating_add(window.pane());
            if let Some(hub) = &hub {
                end = end.min(hub.next_epoch_after(time));
            }
            (pane, end - 1)
        };
        move |(input, frontier), output| {
            input.for_each_stamp(|cap, data| {
                let Some(&message) = cap.least() else { return };
                for container in data {
                    // Records of one time come in runs: one lookup of their fold per run.
                    let mut records = container
                        .drain(..)
                        .map(|record| open(record, message))
                        .peekable();
                    while let Some((time, (key, value))) = records.next() {
                        let (pane, send) = send_time(time);
                        let (_, _, accs) = folds
                            .entry(send)
                            .or_insert_with(|| (pane, cap.delayed(&send, 0), StateMap::default()));
                        add(&aggregator, accs, key, value);
                        while let Some((_, (key, value))) = records.next_if(|(t, _)| *t == time) {
                            add(&aggregator, accs, key, value);
                        }
                    }
                }
            });
            let frontier = frontier_time(frontier);
            while let Some(entry) = folds.first_entry() {
                if frontier.is_some_and(|f| f <= *entry.key()) {
                    break;
                }
                let (pane, cap, accs) = entry.remove();
                output
                    .session(&cap)
                    .give_iterator(accs.into_iter().map(|(key, acc)| (key, (pane, acc))));
            }
        }
    })
}

/// Folds `value` into `key`'s accumulator in `accs`.
fn add<K: Hash + Eq, V, A: Aggregator<V>>(
    aggregator: &A,
    accs: &mut StateMap<K, A::Acc>,
    key: K,
    value: V,
) {
    match accs.get_mut(&key) {
        Some(acc) => aggregator.add(acc, value),
        None => {
            let mut acc = A::Acc::default();
            aggregator.add(&mut acc, value);
            accs.insert(key, acc);
        }
    }
}
