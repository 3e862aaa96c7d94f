//! Turning durable parts into committed snapshots, with timely's progress tracking.
//!
//! Each worker runs a forwarder: a source that holds a capability at the next epoch `T`
//! until every participant of its worker has reported its part of `T` durable, then sends
//! the reports at time `T` and moves on. All reports go to worker 0's coordinator, whose
//! input frontier passing `T` therefore means that every part of `T`, on every worker and
//! process, is durable: it asks the writer to commit the manifest. When every participant
//! has finished, the final reports commit what remains. The coordinator knows no sink: it
//! only hands parts staged for committing sinks ([`PartKind::is_staged`]) from an epoch
//! that cannot commit on to the next one that does.
//!
//! [`PartKind::is_staged`]: crate::snapshot::PartKind::is_staged

use std::collections::BTreeMap;
use std::sync::Arc;

use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::operator::source;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::Scope;

use crate::snapshot::hub::SnapshotHub;
use crate::snapshot::manifest::FINAL_EPOCH;
use crate::snapshot::messages::Report;
use crate::snapshot::messages::WriterJob;
use crate::time::frontier_time;
use crate::time::Time;

/// Adds the forwarder and the coordinator to a job's dataflow, after all its participants
/// have registered.
pub(crate) fn attach(scope: Scope<'_, Time>, hub: Arc<SnapshotHub>) {
    let worker = scope.index();
    let expected = hub.participants(worker).len();
    let forwarder_hub = Arc::clone(&hub);
    let reports = source(scope, "SnapshotForwarder", move |cap, info| {
        let hub = forwarder_hub;
        hub.set_forwarder(
            worker,
            scope.worker().sync_activator_for(info.address.to_vec()),
        );
        let mut next = hub.first_epoch();
        let mut cap = if expected == 0 {
            None
        } else {
            Some(cap.delayed(&next))
        };
        // Reports by the first epoch they stand for.
        let mut pending: BTreeMap<Time, Vec<Option<Report>>> = BTreeMap::new();
        // Each participant's last report, while it stands for epochs after the last sent.
        let mut standing: Vec<Option<Report>> = vec![None; expected];
        let mut finals: Vec<Option<Report>> = vec![None; expected];
        move |output| {
            let Some(held) = cap.as_mut() else { return };
            for report in hub.take_reports(worker) {
                let index = report.participant;
                if index >= expected {
                    continue;
                }
                if report.epoch == FINAL_EPOCH {
                    finals[index] = Some(report);
                } else {
                    let epoch = report.epoch;
                    pending.entry(epoch).or_insert_with(|| vec![None; expected])[index] =
                        Some(report);
                }
            }
            while next != FINAL_EPOCH {
                let mut slot = pending
                    .remove(&next)
                    .unwrap_or_else(|| vec![None; expected]);
                for (index, report) in slot.iter_mut().enumerate() {
                    if report.is_none() {
                        *report = standing[index]
                            .as_ref()
                            .filter(|standing| standing.through >= next)
                            .map(|standing| relabel(standing, next))
                            // Participants that finished answer as they said they would.
                            .or_else(|| finals[index].as_ref().and_then(|f| synthesize(f, next)));
                    }
                }
                if slot.iter().any(Option::is_none) {
                    pending.insert(next, slot);
                    break;
                }
                let complete: Vec<Report> = slot.into_iter().flatten().collect();
                // The epochs up to the earliest `through` would repeat this snapshot exactly:
                // skip them.
                let through = complete
                    .iter()
                    .map(|r| r.through)
                    .min()
                    .unwrap_or(next)
                    .max(next);
                for report in &complete {
                    standing[report.participant] =
                        (report.through > through).then(|| report.clone());
                }
                output.session(held).give_iterator(complete.into_iter());
                next = hub.next_epoch_after(through);
                pending = pending.split_off(&next);
                held.downgrade(&next);
            }
            if finals.iter().all(Option::is_some) {
                // What was staged for epochs this worker can no longer complete goes on to
                // the coordinator, which hands it to the next epoch it commits.
                let stranded = std::mem::take(&mut pending)
                    .into_values()
                    .flatten()
                    .flatten()
                    .filter(|r| r.part.is_staged_file());
                let last: Vec<Report> = stranded
                    .chain(finals.iter_mut().filter_map(Option::take))
                    .collect();
                output.session(held).give_iterator(last.into_iter());
                cap = None;
            }
        }
    });
    // Reports of an epoch arrive from each worker separately; they wait here until complete.
    // Every worker builds the same dataflow, so has the same participants.
    let every_part = expected * hub.workers();
    let mut unpublished: Vec<Report> = Vec::new();
    let mut arrived: BTreeMap<Time, Vec<Report>> = BTreeMap::new();
    // Each (worker, participant)'s last report while it stands for later epochs: a worker
    // whose participants all stand still skips epochs that others report, and its standing
    // parts answer for it there.
    let mut standing: BTreeMap<(usize, usize), Report> = BTreeMap::new();
    reports.sink(
        Exchange::new(|_: &Report| 0),
        "SnapshotCoordinator",
        move |(input, frontier)| {
            input.for_each(|_, container| {
                for report in container.drain(..) {
                    arrived.entry(report.epoch).or_default().push(report);
                }
            });
            let frontier = frontier_time(frontier);
            while let Some(entry) = arrived.first_entry() {
                let epoch = *entry.key();
                // An epoch is complete once the frontier has passed it; the final one, once the
                // frontier is empty.
                if frontier.is_some_and(|f| f <= epoch) {
                    break;
                }
                let mut reports = entry.remove();
                if epoch != FINAL_EPOCH {
                    fill_in_standing(&mut standing, &mut reports, epoch);
                }
                if reports.len() == every_part {
                    reports.append(&mut unpublished);
                    hub.send(WriterJob::Commit { epoch, reports });
                } else if epoch == FINAL_EPOCH {
                    hub.control().fail(anyhow::anyhow!(
                        "the job ended with {} of its {every_part} final snapshot reports",
                        reports.len()
                    ));
                } else {
                    // A worker's operators finished before they could capture this epoch
                    // (their input ended and the frontier jumped past it): the epoch cannot
                    // be restored, so it is not committed, and what was staged for it is
                    // published with the next epoch that is.
                    unpublished.extend(reports.into_iter().filter(|r| r.part.is_staged_file()));
                }
            }
        },
    );
}

/// Remembers the reports of `epoch` that stand for later epochs, and answers for the
/// participants that did not report `epoch` with their standing reports that cover it.
fn fill_in_standing(
    standing: &mut BTreeMap<(usize, usize), Report>,
    reports: &mut Vec<Report>,
    epoch: Time,
) {
    let mut reported = std::collections::BTreeSet::new();
    for report in reports.iter() {
        let key = (report.part.worker, report.participant);
        reported.insert(key);
        if report.through > epoch {
            standing.insert(key, report.clone());
        } else {
            standing.remove(&key);
        }
    }
    standing.retain(|_, report| report.through >= epoch);
    for (key, report) in standing.iter() {
        if !reported.contains(key) {
            let mut answer = relabel(report, epoch);
            // What is staged once is published once: a standing staged part adds none later.
            if answer.part.kind.is_staged() {
                answer.part.file = None;
            }
            reports.push(answer);
        }
    }
}

/// A standing report, answering for a later epoch it covers.
fn relabel(standing: &Report, epoch: Time) -> Report {
    let mut report = standing.clone();
    report.epoch = epoch;
    report
}

/// The report a finished participant gives for a later epoch, if it said.
fn synthesize(finished: &Report, epoch: Time) -> Option<Report> {
    let future = finished.future.as_ref()?;
    if finished.aborted {
        return None;
    }
    let known = future
        .known
        .iter()
        .find(|(first, last, _)| (*first..=*last).contains(&epoch));
    let (through, inline) = match known {
        Some((_, last, inline)) => (*last, inline.clone()),
        None => {
            // Every other epoch, up to the next known range, answers with `beyond`.
            let next_known = future
                .known
                .iter()
                .map(|(first, _, _)| *first)
                .filter(|first| *first > epoch)
                .min();
            let through = next_known.map_or(FINAL_EPOCH - 1, |first| first - 1);
            (through, future.beyond.clone())
        }
    };
    let mut part = finished.part.clone();
    part.inline = inline;
    Some(Report {
        epoch,
        through,
        written: epoch,
        participant: finished.participant,
        part,
        aborted: false,
        future: None,
    })
}
