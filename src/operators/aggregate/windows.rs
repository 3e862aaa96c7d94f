//! The second phase of `aggregate`: partials merged into the windows of their panes as
//! they arrive, on the keyed driver; when a window ends, what its [`Selection`] picks of
//! its results.

use std::collections::BTreeMap;
use std::hash::Hash;
use std::marker::PhantomData;

use timely::dataflow::operators::Capability;
use timely::ExchangeData;

use crate::operators::drive_keyed::{KeyedLogic, KeyedOutput};
use crate::operators::{Aggregator, Windowed};
use crate::snapshot::{PaneState, Stamped};
use crate::state::ShardedMap;
use crate::time::{Time, Window, WindowBounds};

/// The second phase of `aggregate` on the keyed driver: partials merged into the
/// accumulators of every window their pane lies in as they arrive, so that a window is
/// final when it fires, and the windows that have something to report, by end, each with
/// a capability for `end - 1`.
pub(super) struct Windowwise<K, A: Aggregator<V>, V, S> {
    pub(super) aggregator: A,
    pub(super) window: Window,
    pub(super) selection: S,
    pub(super) pending: BTreeMap<Time, Capability<Time>>,
    /// The emptied map of the last window that fired, kept for the next window to open:
    /// a window's map grows to every key of the window (q5: a million auctions), and
    /// growing a fresh one each time rehashes it on the record path.
    pub(super) spare: ShardedMap<K, Stamped<A::Acc>>,
    /// The partials of one pane from the current batch, reused from batch to batch.
    pub(super) run: Vec<(K, A::Acc)>,
    pub(super) _record: PhantomData<fn(V)>,
}

/// What a window reports of its results when it fires, and what it notes of them as
/// partials are merged in.
pub(crate) trait Selection<K, V, A: Aggregator<V>>: 'static {
    /// Merges `partial` into `acc`, `key`'s accumulator in the window ending at `end`.
    #[inline]
    fn merge(&mut self, aggregator: &A, _end: Time, _key: &K, acc: &mut A::Acc, partial: &A::Acc) {
        aggregator.merge(acc, partial);
    }

    /// `key` entered the window ending at `end` with the accumulator `acc`.
    #[inline]
    fn entered(&mut self, _aggregator: &A, _end: Time, _key: &K, _acc: &A::Acc) {}

    /// The windows ending at `ends` come from a restored snapshot: nothing of them was
    /// noted in this run.
    fn restored(&mut self, _ends: &mut dyn Iterator<Item = Time>) {}

    /// Passes to `give` the results to report of the window `window`, ending at `end`, whose
    /// accumulators are `accs`, and empties `accs`.
    fn fire(
        &mut self,
        aggregator: &A,
        window: WindowBounds,
        end: Time,
        accs: &mut ShardedMap<K, Stamped<A::Acc>>,
        give: &mut dyn FnMut(Windowed<K, A::Output>),
    );
}

/// Every result: what [`Aggregate::aggregate`](crate::operators::Aggregate::aggregate)
/// reports.
pub(crate) struct Every;

impl<K: 'static, V, A: Aggregator<V>> Selection<K, V, A> for Every {
    fn fire(
        &mut self,
        aggregator: &A,
        window: WindowBounds,
        _end: Time,
        accs: &mut ShardedMap<K, Stamped<A::Acc>>,
        give: &mut dyn FnMut(Windowed<K, A::Output>),
    ) {
        for (key, acc) in accs.drain() {
            give(Windowed {
                key,
                window,
                value: aggregator.result(&acc.0),
            });
        }
    }
}

impl<K, V, A, S> KeyedLogic<(K, (Time, A::Acc))> for Windowwise<K, A, V, S>
where
    K: ExchangeData + Hash + Eq + Clone,
    V: 'static,
    A: Aggregator<V>,
    S: Selection<K, V, A>,
{
    type State = PaneState<K, A::Acc>;
    type Output = Windowed<K, A::Output>;

    fn restored(&mut self, state: &mut Self::State, epoch: Time, cap: &Capability<Time>) {
        // Windows that ended by the epoch fired before it and were dropped; the rest are due.
        for &end in state.panes.keys().filter(|&&end| end > epoch) {
            self.pending
                .entry(end)
                .or_insert_with(|| cap.delayed(&(end - 1)));
        }
        self.selection
            .restored(&mut state.panes.keys().copied().filter(|&end| end > epoch));
    }

    /// The windows of the accumulators handed over are due to fire here now; nothing of
    /// them was noted in this worker ([`Selection::restored`]).
    fn taking_in(&mut self, entries: &mut [(Time, K, A::Acc)], cap: &Capability<Time>) {
        let mut ends: Vec<Time> = entries.iter().map(|(end, _, _)| *end).collect();
        ends.sort_unstable();
        ends.dedup();
        for &end in &ends {
            // Windows that ended by the migration fired on the old owner.
            let at = (end - 1).max(*cap.time());
            self.pending.entry(end).or_insert_with(|| cap.delayed(&at));
        }
        self.selection.restored(&mut ends.into_iter());
    }

    // A window's accumulators are per key, and the windows due to fire are set up again
    // for those handed over.
    const MIGRATES: bool = true;

    fn apply(
        &mut self,
        state: &mut Self::State,
        cap: &Capability<Time>,
        records: &mut Vec<(K, (Time, A::Acc))>,
        _output: &mut KeyedOutput<'_, Self::Output>,
    ) {
        self.merge_partials(state, cap, records);
    }

    /// Reports every window that ends at or before `time`, and drops it.
    fn fire_through(
        &mut self,
        state: &mut Self::State,
        time: Time,
        output: &mut KeyedOutput<'_, Self::Output>,
    ) {
        while let Some(entry) = self.pending.first_entry() {
            let end = *entry.key();
            if time < end {
                break;
            }
            let cap = entry.remove();
            let window = self.window.ending_at(end);
            let Some(mut accs) = state.panes.remove(&end) else {
                continue;
            };
            let mut session = output.session(&cap);
            self.selection
                .fire(&self.aggregator, window, end, &mut accs, &mut |result| {
                    session.give(result)
                });
            if accs.capacity() > self.spare.capacity() {
                self.spare = accs;
            }
        }
    }
}

impl<K, A, V, S> Windowwise<K, A, V, S>
where
    K: Hash + Eq + Clone,
    A: Aggregator<V>,
    S: Selection<K, V, A>,
{
    /// Merges partials into the windows of their panes, noting the windows that now have
    /// something to report. Partials come in runs of one pane: each window's map is looked
    /// up once per run, and the run's last window takes the partials themselves, so a
    /// tumbling window (one per pane) never clones one.
    fn merge_partials(
        &mut self,
        state: &mut PaneState<K, A::Acc>,
        cap: &Capability<Time>,
        batch: &mut Vec<(K, (Time, A::Acc))>,
    ) {
        let stamp = state.stamp;
        let (aggregator, selection) = (&self.aggregator, &mut self.selection);
        let mut records = batch.drain(..).peekable();
        while let Some((_, (pane, _))) = records.peek() {
            let pane = *pane;
            self.run.clear();
            while let Some((key, (_, partial))) = records.next_if(|(_, (p, _))| *p == pane) {
                self.run.push((key, partial));
            }
            let mut ends = self.window.window_ends_of_pane(pane).peekable();
            while let Some(end) = ends.next() {
                self.pending
                    .entry(end)
                    .or_insert_with(|| cap.delayed(&(end - 1)));
                let accs = state
                    .panes
                    .entry(end)
                    .or_insert_with(|| std::mem::take(&mut self.spare));
                if ends.peek().is_some() {
                    for (key, partial) in &self.run {
                        match accs.get_mut(key) {
                            Some(acc) => {
                                selection.merge(aggregator, end, key, &mut acc.0, partial);
                                acc.1 = stamp;
                            }
                            None => {
                                selection.entered(aggregator, end, key, partial);
                                accs.insert(key.clone(), Stamped(partial.clone(), stamp));
                            }
                        }
                    }
                } else {
                    for (key, partial) in self.run.drain(..) {
                        match accs.get_mut(&key) {
                            Some(acc) => {
                                selection.merge(aggregator, end, &key, &mut acc.0, &partial);
                                acc.1 = stamp;
                            }
                            None => {
                                selection.entered(aggregator, end, &key, &partial);
                                accs.insert(key, Stamped(partial, stamp));
                            }
                        }
                    }
                }
            }
        }
    }
}
