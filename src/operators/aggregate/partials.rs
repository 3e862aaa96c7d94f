//! The first phase of `aggregate`: each worker's records folded per key and pane, and sent
//! on as partials slice by slice.

use std::collections::BTreeMap;
use std::hash::Hash;

use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::Capability;
use timely::dataflow::StreamVec;
use timely::ExchangeData;

use crate::operators::stash::frontier_time;
use crate::operators::Aggregator;
use crate::snapshot::SnapshotHub;
use crate::state::StateMap;
use crate::time::{Time, Window};

/// How many slices a pane is cut into: the first phase sends its partials on at the end of
/// each. A key busy in every slice sends a partial per slice rather than per pane, so the
/// exchange carries a little more; in return, the owner merges a pane's partials over the
/// pane instead of all at its end. A slice is a share of the pane, not a fixed length: a
/// day's pane in 10 ms slices sent 8.6 million partials per busy key (q16's statistics per
/// channel ran 20% slower), where the merge at its end is no longer than a 2 s pane's.
const SLICES_PER_PANE: Time = 200;

/// The shortest slice, in milliseconds of event time: q5's 2 s panes.
const SHORTEST_SLICE: Time = 10;

/// The slice length of `window`'s panes.
pub(crate) fn slice_of(window: Window) -> Time {
    (window.pane() / SLICES_PER_PANE).max(SHORTEST_SLICE)
}

/// The first phase: each worker's records folded per key and pane, sent on as
/// `(key, (pane, partial))` when the worker's frontier passes the end of a slice, the pane
/// or, in a job that snapshots, an epoch, whichever comes first.
pub(super) fn fold_panes<'scope, R, K, V, A>(
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
        // When the partials of a record at a time are sent: the end of its slice, pane or
        // epoch, whichever comes first, less one.
        let slice = slice_of(window);
        let send_time = move |time: Time| {
            let pane = window.pane_of(time);
            let slice_end = (time / slice).saturating_add(1).saturating_mul(slice);
            let mut end = pane.saturating_add(window.pane()).min(slice_end);
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
