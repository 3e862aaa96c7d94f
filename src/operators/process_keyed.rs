//! `process_keyed`: keyed state with event-time deadlines — the general keyed operator that
//! windows of their own length per key (sessions), things that close at a time of their own
//! (auctions) and once-per-timestamp results are built from.
//!
//! A [`KeyedProcess`] keeps a state per key, applies records to it in timestamp order, and
//! names a *deadline* per key: once the frontier reaches it (every record before it has been
//! applied), `on_deadline` runs, before any record at the deadline or later, and what it
//! emits carries the time `deadline - 1`. The deadline is read from the state, so it is
//! snapshotted and restored with it.
//!
//! Input is `(key, value)` pairs at their message's time, or [`Timed`](crate::time::Timed) pairs, each at its
//! own time, from a source that sends many milliseconds per message
//! ([`Chain::timed_stream`](crate::sources::Chain::timed_stream)).

use std::hash::Hash;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use timely::dataflow::operators::Capability;
use timely::dataflow::StreamVec;
use timely::ExchangeData;

use crate::operators::drive_keyed::{DriveKeyed, KeyedLogic, KeyedOutput};
use crate::operators::routing::KeyedRecord;
use crate::operators::stash::TimedQueue;
use crate::snapshot::{KeyedState, Stamped};
use crate::time::Time;

/// What [`ProcessKeyed::process_keyed`] does per key.
pub trait KeyedProcess<K, V>: 'static {
    /// The state kept per key; a key without state has `State::default()`.
    type State: Default + Clone + Serialize + DeserializeOwned + Send + 'static;
    /// What it emits.
    type Output: 'static;

    /// Applies `value`, at `time`, to `key`'s state; outputs carry `time`.
    fn on_record(
        &mut self,
        key: &K,
        state: &mut Self::State,
        value: V,
        time: Time,
        output: &mut Vec<Self::Output>,
    );

    /// When `on_deadline` should run for a key in this state (`None`: never). A deadline at
    /// or before the time of the record that set it runs right after that time.
    fn deadline(&self, state: &Self::State) -> Option<Time>;

    /// Runs once the frontier reaches the key's deadline; outputs carry `deadline - 1`.
    /// Returns whether to keep the state (`false` forgets the key). A new deadline must be
    /// later than this one, or it is dropped.
    fn on_deadline(
        &mut self,
        key: &K,
        state: &mut Self::State,
        deadline: Time,
        output: &mut Vec<Self::Output>,
    ) -> bool;
}

/// A key's state, its deadline, and the time it waits for in the queue of due keys.
///
/// A deadline that moves later (a session's every bid) does not queue the key again: the
/// key stays queued at the earlier time, and when that comes it is queued at its deadline
/// then. So the queue holds a key about once per deadline, not once per record.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Scheduled<S> {
    state: S,
    deadline: Option<Time>,
    /// The time the key is queued for; rebuilt from `deadline` on restore.
    #[serde(skip)]
    queued: Option<Time>,
}

/// Extension trait for keyed processing with deadlines.
pub trait ProcessKeyed<'scope, K, V> {
    /// Routes each `(key, value)` to the owner of the key's group and applies it to the key's
    /// state with `process`, in timestamp order, running each key's deadline when the
    /// frontier reaches it. `name` is the operator's stable id for snapshots.
    ///
    /// Here, a sum per key emitted once per timestamp with the total after all of that
    /// timestamp's records (a deadline just after the record's time):
    ///
    /// ```
    /// use timely::dataflow::operators::Capture;
    /// use timely::dataflow::operators::vec::Map;
    /// use weir::sources::ToTimedStream;
    /// use timely::dataflow::operators::capture::Extract;
    /// use weir::operators::{KeyedProcess, ProcessKeyed};
    ///
    /// struct TotalPerTime;
    /// impl KeyedProcess<char, u64> for TotalPerTime {
    ///     type State = (u64, Option<u64>); // total, the time to report it after
    ///     type Output = (char, u64);
    ///     fn on_record(&mut self, _: &char, state: &mut Self::State, value: u64, time: u64, _: &mut Vec<Self::Output>) {
    ///         state.0 += value;
    ///         state.1 = Some(time + 1);
    ///     }
    ///     fn deadline(&self, state: &Self::State) -> Option<u64> { state.1 }
    ///     fn on_deadline(&mut self, key: &char, state: &mut Self::State, _: u64, output: &mut Vec<Self::Output>) -> bool {
    ///         state.1 = None;
    ///         output.push((*key, state.0));
    ///         true
    ///     }
    /// }
    ///
    /// let captured = timely::example(|scope| {
    ///     vec![(0, ('a', 1)), (0, ('a', 2)), (5, ('a', 4))]
    ///         .to_timed_stream(scope)
    ///         .process_keyed("totals", TotalPerTime)
    ///         .capture()
    /// });
    /// let totals: Vec<(u64, Vec<(char, u64)>)> = captured.extract();
    /// assert_eq!(totals, vec![(0, vec![('a', 3)]), (5, vec![('a', 7)])]);
    /// ```
    fn process_keyed<P: KeyedProcess<K, V>>(
        self,
        name: &str,
        process: P,
    ) -> StreamVec<'scope, Time, P::Output>;
}

/// The keys due at each deadline (a key whose deadline has moved since is skipped when its
/// entry comes up), kept by `deadline - 1`, the time what a deadline emits carries.
struct Due<K>(TimedQueue<Vec<K>>);

impl<K> Due<K> {
    /// Puts `key` on the list of `deadline`; `cap` (at or before `deadline - 1`) backs what
    /// the deadline will emit.
    fn schedule(&mut self, deadline: Time, cap: &Capability<Time>, key: K) {
        self.0.entry(deadline - 1, |at| cap.delayed(&at)).push(key);
    }

    /// Removes the earliest deadline if it is at or before `time`, with a capability for
    /// `deadline - 1`.
    fn pop_through(&mut self, time: Time) -> Option<(Time, Capability<Time>, Vec<K>)> {
        let (at, cap, keys) = self.0.pop_if(|at| at < time)?;
        Some((at + 1, cap, keys))
    }
}

/// For `(key, value)` pairs, applied at their message's time, and for [`Timed`](crate::time::Timed) pairs,
/// each applied at its own time whatever the time of the message that brought it.
impl<'scope, R> ProcessKeyed<'scope, R::Key, R::Value> for StreamVec<'scope, Time, R>
where
    R: KeyedRecord,
    R::Key: ExchangeData + Hash + Eq + Clone,
{
    fn process_keyed<P: KeyedProcess<R::Key, R::Value>>(
        self,
        name: &str,
        process: P,
    ) -> StreamVec<'scope, Time, P::Output> {
        process_records(self, name, process)
    }
}

fn process_records<'scope, R, P>(
    stream: StreamVec<'scope, Time, R>,
    name: &str,
    process: P,
) -> StreamVec<'scope, Time, P::Output>
where
    R: KeyedRecord,
    R::Key: ExchangeData + Hash + Eq + Clone,
    P: KeyedProcess<R::Key, R::Value>,
{
    stream.drive_keyed(
        name,
        Deadlines {
            process,
            due: Due(TimedQueue::new()),
            outputs: Vec::new(),
        },
    )
}

/// `process_keyed` on the keyed driver: the process, and the keys due at each deadline.
struct Deadlines<K, P: KeyedProcess<K, V>, V> {
    process: P,
    due: Due<K>,
    outputs: Vec<P::Output>,
}

impl<R, P> KeyedLogic<R> for Deadlines<R::Key, P, R::Value>
where
    R: KeyedRecord,
    R::Key: ExchangeData + Hash + Eq + Clone,
    P: KeyedProcess<R::Key, R::Value>,
{
    type State = KeyedState<R::Key, Scheduled<P::State>>;
    type Output = P::Output;

    fn restored(&mut self, states: &mut Self::State, _epoch: Time, cap: &Capability<Time>) {
        for (key, state) in states.map.iter_mut() {
            state.0.queued = state.0.deadline;
            if let Some(deadline) = state.0.deadline {
                self.due.schedule(deadline, cap, key.clone());
            }
        }
    }

    /// The deadlines of the keys handed over are queued here now.
    fn taking_in(&mut self, entries: &mut [(R::Key, Scheduled<P::State>)], cap: &Capability<Time>) {
        for (key, state) in entries.iter_mut() {
            // Deadlines by the migration's time fired on the old owner: the rest are later.
            state.deadline = state.deadline.map(|d| d.max(cap.time() + 1));
            state.queued = state.deadline;
            if let Some(deadline) = state.deadline {
                self.due.schedule(deadline, cap, key.clone());
            }
        }
    }

    // A key's state holds its deadline, and the queue of deadlines is set up again for
    // the keys handed over.
    const MIGRATES: bool = true;

    /// Applies records at `cap`'s time, in order.
    fn apply(
        &mut self,
        states: &mut Self::State,
        cap: &Capability<Time>,
        records: &mut Vec<R>,
        output: &mut KeyedOutput<'_, P::Output>,
    ) {
        let stamp = states.stamp;
        for (key, value) in records.drain(..).map(R::into_pair) {
            let (process, due, outputs) = (&mut self.process, &mut self.due, &mut self.outputs);
            if let Some(state) = states.map.get_mut(&key) {
                state.1 = stamp;
                apply_one(process, due, outputs, cap, &key, &mut state.0, value);
            } else {
                let mut state = Stamped(Scheduled::default(), stamp);
                apply_one(process, due, outputs, cap, &key, &mut state.0, value);
                states.map.insert(key, state);
            }
        }
        if !self.outputs.is_empty() {
            output.session(cap).give_container(&mut self.outputs);
        }
    }

    /// Runs every deadline at or before `time`, earliest first.
    fn fire_through(
        &mut self,
        states: &mut Self::State,
        time: Time,
        output: &mut KeyedOutput<'_, P::Output>,
    ) {
        while let Some((deadline, cap, keys)) = self.due.pop_through(time) {
            let stamp = states.stamp;
            for key in keys {
                let Some(state) = states.map.get_mut(&key) else {
                    continue;
                };
                if state.0.queued != Some(deadline) {
                    continue; // queued again at another time since
                }
                state.0.queued = None;
                match state.0.deadline {
                    Some(due) if due == deadline => {}
                    Some(later) if later > deadline => {
                        state.0.queued = Some(later);
                        self.due.schedule(later, &cap, key);
                        continue;
                    }
                    _ => continue,
                }
                state.1 = stamp;
                state.0.deadline = None;
                let keep =
                    self.process
                        .on_deadline(&key, &mut state.0.state, deadline, &mut self.outputs);
                if !keep {
                    states.remove(&key);
                    continue;
                }
                if let Some(next) = self.process.deadline(&state.0.state)
                    && next > deadline
                {
                    state.0.deadline = Some(next);
                    state.0.queued = Some(next);
                    self.due.schedule(next, &cap, key);
                }
            }
            if !self.outputs.is_empty() {
                output.session(&cap).give_container(&mut self.outputs);
            }
        }
    }
}

/// Applies one record and reschedules its key if the deadline moved.
#[inline]
fn apply_one<K: Clone, V, P: KeyedProcess<K, V>>(
    process: &mut P,
    due: &mut Due<K>,
    outputs: &mut Vec<P::Output>,
    cap: &Capability<Time>,
    key: &K,
    scheduled: &mut Scheduled<P::State>,
    value: V,
) {
    let time = *cap.time();
    process.on_record(key, &mut scheduled.state, value, time, outputs);
    let deadline = process
        .deadline(&scheduled.state)
        .map(|d| d.max(time.saturating_add(1)));
    scheduled.deadline = deadline;
    // Queued already at or before the deadline: that entry requeues the key when it comes.
    if let Some(deadline) = deadline
        && scheduled.queued.is_none_or(|queued| deadline < queued)
    {
        scheduled.queued = Some(deadline);
        due.schedule(deadline, cap, key.clone());
    }
}
