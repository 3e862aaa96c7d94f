//! The keyed driver with live migration: key groups change owner at times of a
//! [`RoutingTable`] while the job runs.
//!
//! [`drive_keyed`](crate::operators::DriveKeyed::drive_keyed) uses this driver instead of
//! the fixed one when the job's routing table moves groups and the operator's state can be
//! handed over ([`KeyedLogic::MIGRATES`]). Three things make a migration at time `T` exact:
//!
//! - **Routing by time.** Each record goes to the owner of its key group *at the record's
//!   time*: records that carry their own time are routed by it in the exchange, the others
//!   tagged with their owner first. Records of a moving group before `T` reach the old
//!   owner, the others the new one.
//! - **Hand-over through the dataflow.** Once its input frontier reaches `T` (everything
//!   before `T` applied, what was due by `T` fired), the old owner takes the moving groups'
//!   state out and sends it to the new owner on a feedback edge (sent at `T - 2`, it arrives
//!   at `T - 1`). Every worker holds a capability at `T - 2` on that edge until it has
//!   reached `T`, so no worker's frontier reaches `T` before every hand-over of `T` arrived.
//! - **Nothing applied early.** The driver's frontier is the lesser of its data input's and
//!   the hand-over input's, so the new owner applies nothing at or after `T` before it
//!   holds the state; it takes the state in when that frontier reaches `T`, before it
//!   applies anything at `T`, and the operator sets up what it keeps beside its entries
//!   ([`KeyedLogic::taking_in`]).
//!
//! What leaves a worker at each change is taken out of its state in [`handover`], by key
//! when a migration comes in several steps.
//!
//! Snapshots stay exact: at an epoch `E`, the old owner captures before it hands over at
//! `T >= E` and the new owner takes the state in only after capturing every epoch up to
//! `T`, so each group is in exactly one worker's part; a restore places groups by the
//! assignment in force at its epoch.

use std::collections::BTreeMap;
use std::hash::Hash;
use std::sync::Arc;

use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, ExchangeCore, Pipeline};
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::{Operator, OutputBuilder};
use timely::dataflow::operators::{Capability, ConnectLoop, Feedback};
use timely::dataflow::{Scope, StreamVec};

use crate::migration::{MigrationLog, RoutingTable};
use crate::operators::drive_keyed::{apply_stashed, KeyedLogic};

mod handover;

use crate::operators::routing::{key_groups_of, KeyedExchange, KeyedRecord};
use crate::operators::stash::{frontier_time, TimeStash};
use crate::snapshot::{restore_owned_state, snapshot_state, StateBackend, StateEpochs};
use crate::time::Time;
use handover::{hand_over, noted, LeavingIndex};

/// How long before a migration at `T` its hand-over is sent: at `T - 2`, arriving through
/// the feedback edge at `T - 1`, so that all of it is in when the frontier reaches `T`, the
/// moment records at `T` may be applied (input at the frontier applies at once).
const HANDOVER_LEAD: Time = 2;

/// State of some key groups on its way to their new owner: the new owner's index, and the
/// entries, encoded.
type Handover = (u64, Vec<u8>);

/// The routing table of the job `scope` belongs to, when it moves key groups.
pub(crate) fn migrating_table_of(scope: &Scope<'_, Time>) -> Option<RoutingTable> {
    scope
        .worker()
        .config()
        .get::<RoutingTable>(RoutingTable::CONFIG_KEY)
        .filter(|table| !table.is_fixed())
        .cloned()
}

/// A hand-over that cannot be encoded or decoded: weir's own state between the workers of
/// one job, so a bug, never input. It must not pass silently (the state would be lost):
/// the job fails, through its snapshots when it takes them, or with the worker's panic.
fn handover_broken(epochs: Option<&StateEpochs>, at: Time, error: bincode::Error) {
    let error = anyhow::anyhow!("the state handed over at {at} cannot be coded: {error}");
    match epochs {
        Some(epochs) => epochs.participant().fail(error),
        None => panic!("{error:#}"),
    }
}

/// The earlier of two frontiers, `None` being the empty frontier (the end).
fn earlier(a: Option<Time>, b: Option<Time>) -> Option<Time> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// Runs `logic` with the key groups of `table` moving among the workers while it runs.
pub(crate) fn drive_migrating<'scope, R, L>(
    stream: StreamVec<'scope, Time, R>,
    table: RoutingTable,
    name: &str,
    logic: L,
) -> StreamVec<'scope, Time, L::Output>
where
    R: KeyedRecord,
    R::Key: Hash + Eq + Clone,
    L: KeyedLogic<R>,
{
    let scope = stream.scope();
    let groups = key_groups_of(&scope);
    let routing = table.clone();
    if R::OWN_TIME {
        // A record with a time of its own is routed by it, once it is no earlier than its
        // message's (the time it is applied at): in place, nothing copied.
        let clamped = stream.unary(Pipeline, "ClampTimes", move |_, _| {
            move |input, output| {
                input.for_each_stamp(|cap, data| {
                    let Some(&time) = cap.least() else { return };
                    let mut session = output.session(&cap);
                    for container in data {
                        container
                            .iter_mut()
                            .for_each(|record| record.clamp_time(time));
                        session.give_container(container);
                    }
                });
            }
        });
        let pact = ExchangeCore::new_core(move |record: &R| {
            routing.owner_at(groups.group_of(record.key()), record.time(0)) as u64
        });
        drive_routed(
            clamped,
            pact,
            (|record| record, |record| record),
            table,
            name,
            logic,
        )
    } else {
        // A record applied at its message's time is tagged with its owner at that time.
        let tagged = stream.unary(Pipeline, "RouteByTime", move |_, _| {
            move |input, output| {
                input.for_each_stamp(|cap, data| {
                    let Some(&time) = cap.least() else { return };
                    let mut session = output.session(&cap);
                    for container in data {
                        session.give_iterator(container.drain(..).map(|record| {
                            let group = groups.group_of(record.key());
                            (routing.owner_at(group, time) as u64, record)
                        }));
                    }
                });
            }
        });
        let pact = ExchangeCore::new_core(|(to, _): &(u64, R)| *to);
        drive_routed(
            tagged,
            pact,
            (|(_, record)| record, |(_, record)| record),
            table,
            name,
            logic,
        )
    }
}

/// How to read the record out of what the exchange carries: by reference and by value.
type Unwrap<X, R> = (fn(&X) -> &R, fn(X) -> R);

/// The migrating driver over records already routed to their owners at their times by
/// `pact`; `unwrap` reads the record out of what the exchange carries.
fn drive_routed<'scope, X, R, L, F>(
    routed: StreamVec<'scope, Time, X>,
    pact: KeyedExchange<X, F>,
    (peek, unwrap): Unwrap<X, R>,
    table: RoutingTable,
    name: &str,
    mut logic: L,
) -> StreamVec<'scope, Time, L::Output>
where
    X: timely::ExchangeData,
    R: KeyedRecord,
    R::Key: Hash + Eq + Clone,
    L: KeyedLogic<R>,
    F: FnMut(&X) -> u64 + 'static,
{
    let scope = routed.scope();
    let groups = key_groups_of(&scope);
    let me = scope.index();
    let (handle, handovers) = scope.feedback::<Vec<Handover>>(1);
    let mut epochs = StateEpochs::register(&scope, name);
    let mut builder = OperatorBuilder::new(name.to_owned(), scope);
    let mut records = builder.new_input(routed, pact);
    let mut arriving = builder.new_input(handovers, Exchange::new(|(to, _): &Handover| *to));
    let (output, results) = builder.new_output();
    let (sending, sent) = builder.new_output::<Vec<Handover>>();
    let mut output = OutputBuilder::<_, CapacityContainerBuilder<Vec<L::Output>>>::from(output);
    let mut sending = OutputBuilder::<_, CapacityContainerBuilder<Vec<Handover>>>::from(sending);
    let changes: Vec<Time> = table.changes().map(|(at, _)| at).collect();
    let log = scope
        .worker()
        .config()
        .get::<Arc<MigrationLog>>(RoutingTable::LOG_KEY)
        .cloned();
    builder.build(move |mut caps| {
        let send_cap = caps.pop().expect("a capability for the hand-over output");
        let initial = caps.pop().expect("a capability for the output");
        let mut state = L::State::default();
        let restored_at = epochs
            .as_ref()
            .and_then(|e| e.participant().hub().restored_epoch());
        let shadow = epochs.as_ref().map(|epochs| {
            let owned = table.at(restored_at.unwrap_or(0)).groups_of(me);
            let shadow = restore_owned_state(&mut state, epochs.participant(), &owned);
            logic.restored(&mut state, restored_at.unwrap_or(0), &initial);
            shadow
        });
        // Changes before the restored epoch were made before the snapshot was taken.
        let first = changes.partition_point(|&at| at <= restored_at.unwrap_or(0));
        // The next change to hand over at, and the next to take in at: the capabilities
        // each holds (on the hand-over edge, and on the output for what comes in with it).
        let (mut next_leave, mut next_take_in) = (first, first);
        let mut leaving = changes
            .get(first)
            .map(|&at| send_cap.delayed(&(at - HANDOVER_LEAD)));
        let mut coming = changes.get(first).map(|&at| initial.delayed(&at));
        drop((initial, send_cap));
        let mut stash: TimeStash<R> = TimeStash::new();
        let mut index: Option<LeavingIndex<R::Key>> = None;
        // Hand-overs received, by the time they take effect.
        let mut arrived: BTreeMap<Time, Vec<Vec<u8>>> = BTreeMap::new();
        move |frontiers| {
            let mut output = output.activate();
            let mut sending = sending.activate();
            arriving.for_each(|cap, data| {
                // A hand-over arrives the millisecond before the migration it belongs to.
                let Some(&sent) = cap.least() else { return };
                let at = sent + 1;
                arrived
                    .entry(at)
                    .or_default()
                    .extend(data.drain(..).map(|(_, bytes)| bytes));
            });
            records.for_each_stamp(|cap, data| {
                let Some(&time) = cap.least() else { return };
                stash.stash_unwrapped(&cap, data, |routed| peek(routed).time(time), unwrap);
            });
            let data = frontier_time(&frontiers[0]);
            let handed = frontier_time(&frontiers[1]);
            // Records at a time apply once both frontiers reach it: all hand-overs of a
            // migration at that time are in by then.
            let frontier = earlier(data, handed);
            // Everything before a time is applied and taken in once the data frontier
            // reaches it and the hand-over frontier the millisecond before (hand-overs of a
            // migration at `at` arrive at `at - 1`): the moment to capture it, or to hand
            // over what leaves at it.
            let settled = earlier(data, handed.map(|h| h.saturating_add(1)));
            let (state, logic, index) = (&mut state, &mut logic, &mut index);
            // Captures, hand-overs and take-ins in time order; at one time, a capture
            // first, then what leaves, then what comes.
            loop {
                let capture = epochs.as_ref().and_then(|e| e.due(settled));
                let leave = changes
                    .get(next_leave)
                    .copied()
                    .filter(|&at| settled.is_none_or(|f| f >= at));
                let take_in = changes
                    .get(next_take_in)
                    .copied()
                    .filter(|&at| frontier.is_none_or(|f| f >= at));
                let next = [capture, leave, take_in].into_iter().flatten().min();
                let Some(at) = next else { break };
                if capture == Some(at) {
                    let (Some(epochs), Some(shadow)) = (epochs.as_mut(), shadow.as_ref()) else {
                        break;
                    };
                    let pop = || noted(stash.pop_before(at), index, &groups);
                    apply_stashed(state, logic, pop, &mut output);
                    logic.fire_through(state, at, &mut output);
                    // The state changes at the next hand-over, either way, after this capture.
                    let pending = [
                        stash.earliest(),
                        changes.get(next_leave).copied(),
                        changes.get(next_take_in).copied(),
                    ]
                    .into_iter()
                    .flatten()
                    .min();
                    let through = epochs.through(settled, pending);
                    snapshot_state(state, shadow, epochs.participant(), at, through);
                    epochs.captured(through);
                } else if leave == Some(at) {
                    let pop = || noted(stash.pop_before(at), index, &groups);
                    apply_stashed(state, logic, pop, &mut output);
                    logic.fire_through(state, at, &mut output);
                    let handed_over =
                        hand_over::<R, L>(state, index, &groups, me, &table, next_leave);
                    if let Some(log) = &log {
                        log.handed_over(next_leave, handed_over.groups);
                    }
                    if let Some(cap) = leaving.as_ref() {
                        let mut session = sending.session(cap);
                        for (to, entries) in handed_over.by_owner {
                            match bincode::serialize(&entries) {
                                Ok(bytes) => session.give((to as u64, bytes)),
                                Err(error) => handover_broken(epochs.as_ref(), at, error),
                            }
                        }
                    }
                    next_leave += 1;
                    leaving =
                        next_capability(leaving.take(), changes.get(next_leave), HANDOVER_LEAD);
                } else {
                    let cap = coming
                        .as_ref()
                        .expect("a capability until the last take-in");
                    for bytes in arrived.remove(&at).into_iter().flatten() {
                        type Entry<R, L> = <<L as KeyedLogic<R>>::State as StateBackend>::Entry;
                        match bincode::deserialize::<Vec<Entry<R, L>>>(&bytes) {
                            Ok(mut entries) => {
                                logic.taking_in(&mut entries, cap);
                                // Groups that come and will leave again are indexed anew.
                                if index.as_ref().is_some_and(|index| {
                                    entries.iter().any(|entry| {
                                        index.holds(L::State::group_of_entry(entry, &groups))
                                    })
                                }) {
                                    *index = None;
                                }
                                state.absorb(entries);
                            }
                            Err(error) => handover_broken(epochs.as_ref(), at, error),
                        }
                    }
                    if let Some(log) = &log {
                        log.taken_in(next_take_in);
                    }
                    next_take_in += 1;
                    coming = next_capability(coming.take(), changes.get(next_take_in), 0);
                }
            }
            let pop = || noted(stash.pop_ready(frontier), index, &groups);
            apply_stashed(state, logic, pop, &mut output);
            logic.fire_through(state, frontier.unwrap_or(Time::MAX), &mut output);
            if let Some(epochs) = epochs.as_mut() {
                epochs.finish_if_done(frontier);
            }
        }
    });
    sent.connect_loop(handle);
    results
}

/// `held` moved on to `lead` before the next change, or dropped after the last.
fn next_capability(
    held: Option<Capability<Time>>,
    next: Option<&Time>,
    lead: Time,
) -> Option<Capability<Time>> {
    match (held, next) {
        (Some(mut cap), Some(&at)) => {
            cap.downgrade(&(at - lead));
            Some(cap)
        }
        _ => None,
    }
}
