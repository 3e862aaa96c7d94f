//! `drive_keyed`: the one driver of every keyed stateful operator.
//!
//! Routing records to the worker that owns their key group, holding them back until the
//! frontier has passed their time, applying them in timestamp order, capturing the state as
//! of each snapshot epoch (exactly the input before it, applied) and restoring it onto any
//! number of workers: all of it is here, once. An operator supplies a [`KeyedLogic`] —
//! what a batch of records does to its state, and what fires when time passes — and needs
//! no snapshot code of its own. `update_state`, `process_keyed` and `aggregate` are built
//! on it. When the job's key groups move while it runs, operators whose state can move
//! run on the migrating driver instead ([`migrate_keyed`](super::migrate_keyed)).

use timely::container::CapacityContainerBuilder;
use timely::dataflow::operators::generic::{Operator, OutputBuilderSession};
use timely::dataflow::operators::Capability;
use timely::dataflow::StreamVec;

use crate::operators::migrate_keyed::{drive_migrating, migrating_table_of};
use crate::operators::routing::{by_key_group, KeyedExchange, KeyedRecord};
use crate::operators::stash::{frontier_time, is_ready, TimeStash};
use crate::snapshot::{restore_state, snapshot_state, StateBackend, StateEpochs};
use crate::time::Time;

/// Where a [`KeyedLogic`] sends its output.
pub type KeyedOutput<'a, O> = OutputBuilderSession<'a, Time, CapacityContainerBuilder<Vec<O>>>;

/// What a keyed stateful operator does; [`DriveKeyed::drive_keyed`] does the rest.
///
/// The driver calls [`apply`](Self::apply) with the records of one time once the input
/// frontier has passed it, times in order, and [`fire_through`](Self::fire_through) before
/// each time it applies, at each epoch it captures and whenever the frontier moves. Between
/// those calls, `state` is the operator's whole state: what the snapshot captures and a
/// restore gives back, through its [`StateBackend`].
pub trait KeyedLogic<R: KeyedRecord>: 'static {
    /// The operator's keyed state, kept by the records' keys.
    type State: StateBackend<Key = R::Key> + Default + 'static;
    /// What it emits.
    type Output: 'static;

    /// Applies `records`, all at `cap`'s time, in order (draining them); outputs go to
    /// `output` at a time no earlier than `cap`'s.
    fn apply(
        &mut self,
        state: &mut Self::State,
        cap: &Capability<Time>,
        records: &mut Vec<R>,
        output: &mut KeyedOutput<'_, Self::Output>,
    );

    /// Fires what is due at or before `time` (deadlines, windows that end by then): input
    /// before `time` has all been applied, and nothing before it will come. Does nothing
    /// unless the operator keeps timers.
    fn fire_through(
        &mut self,
        _state: &mut Self::State,
        _time: Time,
        _output: &mut KeyedOutput<'_, Self::Output>,
    ) {
    }

    /// Called once, in a job that snapshots, after `state` was restored as of `epoch` (0 for
    /// a job starting afresh); `cap` (at time 0) backs the timers the operator sets again.
    fn restored(&mut self, _state: &mut Self::State, _epoch: Time, _cap: &Capability<Time>) {}

    /// Called on the new owner of key groups handed over in a live migration, with their
    /// entries before they join `state`: sets up what the operator keeps beside its state
    /// for them (deadlines, windows due to fire), backed by `cap`, at the migration's time.
    /// What was due by then has fired on the old owner.
    fn taking_in(
        &mut self,
        _entries: &mut [<Self::State as StateBackend>::Entry],
        _cap: &Capability<Time>,
    ) {
    }

    /// Whether the state can move to another worker while the job runs (a live migration,
    /// [`crate::migration`]): everything of a key is in its state's entries, and what the
    /// operator keeps beside them [`taking_in`](Self::taking_in) sets up again. Operators
    /// that say `false` keep their key groups where the job started them.
    const MIGRATES: bool = false;
}

/// Extension trait for driving keyed stateful operators.
pub trait DriveKeyed<'scope, R: KeyedRecord> {
    /// Runs `logic` on the records of each key group, on the worker that owns it, in
    /// timestamp order (records that carry their own times, [`Timed`](crate::time::Timed),
    /// each at its own). `name` is the operator's stable id: in a job that snapshots, its
    /// state is saved as of each epoch under it and restored from it.
    ///
    /// A running count per key, written on the driver: the records come at times 5, 0, 0, 9
    /// and are applied in time order.
    ///
    /// ```
    /// use timely::dataflow::operators::capture::Extract;
    /// use timely::dataflow::operators::{Capability, Capture};
    /// use weir::operators::{DriveKeyed, KeyedLogic, KeyedOutput};
    /// use weir::snapshot::KeyedState;
    /// use weir::sources::ToTimedStream;
    ///
    /// /// Per key, how many records it has had so far, emitted with each record.
    /// struct RunningCount;
    ///
    /// impl KeyedLogic<(char, ())> for RunningCount {
    ///     type State = KeyedState<char, u64>;
    ///     type Output = (char, u64);
    ///
    ///     fn apply(
    ///         &mut self,
    ///         state: &mut Self::State,
    ///         cap: &Capability<u64>,
    ///         records: &mut Vec<(char, ())>,
    ///         output: &mut KeyedOutput<'_, (char, u64)>,
    ///     ) {
    ///         let mut session = output.session(cap);
    ///         for (key, ()) in records.drain(..) {
    ///             let count = state.changed(key);
    ///             *count += 1;
    ///             session.give((key, *count));
    ///         }
    ///     }
    /// }
    ///
    /// let captured = timely::example(|scope| {
    ///     vec![(5, ('a', ())), (0, ('a', ())), (0, ('b', ())), (9, ('a', ()))]
    ///         .to_timed_stream(scope)
    ///         .drive_keyed("running-count", RunningCount)
    ///         .capture()
    /// });
    /// let mut counts: Vec<(u64, Vec<(char, u64)>)> = captured.extract();
    /// counts.iter_mut().for_each(|(_, c)| c.sort());
    /// assert_eq!(
    ///     counts,
    ///     vec![(0, vec![('a', 1), ('b', 1)]), (5, vec![('a', 2)]), (9, vec![('a', 3)])]
    /// );
    /// ```
    fn drive_keyed<L: KeyedLogic<R>>(
        self,
        name: &str,
        logic: L,
    ) -> StreamVec<'scope, Time, L::Output>;
}

impl<'scope, R> DriveKeyed<'scope, R> for StreamVec<'scope, Time, R>
where
    R: KeyedRecord,
    R::Key: std::hash::Hash + Eq + Clone,
{
    fn drive_keyed<L: KeyedLogic<R>>(
        self,
        name: &str,
        logic: L,
    ) -> StreamVec<'scope, Time, L::Output> {
        if L::MIGRATES
            && let Some(table) = migrating_table_of(&self.scope())
        {
            return drive_migrating(self, table, name, logic);
        }
        let pact = by_key_group(&self.scope());
        drive_with(self, pact, name, logic)
    }
}

/// The driver on a stream whose records reach their owners through `pact`.
pub(crate) fn drive_with<'scope, R, L, F>(
    stream: StreamVec<'scope, Time, R>,
    pact: KeyedExchange<R, F>,
    name: &str,
    mut logic: L,
) -> StreamVec<'scope, Time, L::Output>
where
    R: KeyedRecord,
    L: KeyedLogic<R>,
    F: FnMut(&R) -> u64 + 'static,
{
    let mut epochs = StateEpochs::register(&stream.scope(), name);
    stream.unary_frontier(pact, name, move |initial, _| {
        let mut state = L::State::default();
        let shadow = epochs.as_ref().map(|epochs| {
            let shadow = restore_state(&mut state, epochs.participant());
            let epoch = epochs.participant().hub().restored_epoch().unwrap_or(0);
            logic.restored(&mut state, epoch, &initial);
            shadow
        });
        drop(initial);
        let mut stash: TimeStash<R> = TimeStash::new();
        move |(input, frontier), output| {
            let frontier = frontier_time(frontier);
            let (state, logic) = (&mut state, &mut logic);
            if let (Some(epochs), Some(shadow)) = (epochs.as_mut(), shadow.as_ref()) {
                while let Some(epoch) = epochs.due(frontier) {
                    // The state as of the epoch: exactly the input before it applied, and
                    // what was due by then fired.
                    apply_stashed(state, logic, || stash.pop_before(epoch), output);
                    logic.fire_through(state, epoch, output);
                    let through = epochs.through(frontier, stash.earliest());
                    snapshot_state(state, shadow, epochs.participant(), epoch, through);
                    epochs.captured(through);
                }
            }
            // Earlier arrivals first, so that a time's records keep their arrival order.
            apply_stashed(state, logic, || stash.pop_ready(frontier), output);
            input.for_each_stamp(|cap, data| {
                let Some(&time) = cap.least() else { return };
                if R::OWN_TIME {
                    stash.stash_by_own_time(&cap, data, |record| record.time(time));
                } else if is_ready(frontier, time) {
                    // The stash holds nothing at or before `frontier` by now.
                    let cap = cap.delayed(&time, 0);
                    logic.fire_through(state, time, output);
                    for records in data {
                        logic.apply(state, &cap, records, output);
                    }
                } else {
                    stash.stash(&cap, time, data);
                }
            });
            // Records with times of their own were all stashed; those at the frontier apply.
            apply_stashed(state, logic, || stash.pop_ready(frontier), output);
            logic.fire_through(state, frontier.unwrap_or(Time::MAX), output);
            if let Some(epochs) = epochs.as_mut() {
                epochs.finish_if_done(frontier);
            }
        }
    })
}

/// Applies what `pop` takes out of the stash, a time at a time, each after what is due up
/// to it has fired.
pub(crate) fn apply_stashed<R: KeyedRecord, L: KeyedLogic<R>>(
    state: &mut L::State,
    logic: &mut L,
    mut pop: impl FnMut() -> Option<(Capability<Time>, Vec<R>)>,
    output: &mut KeyedOutput<'_, L::Output>,
) {
    while let Some((cap, mut records)) = pop() {
        logic.fire_through(state, *cap.time(), output);
        logic.apply(state, &cap, &mut records, output);
    }
}
