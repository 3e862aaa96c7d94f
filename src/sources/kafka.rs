//! A Kafka topic as a source: worker `w` of `W` reads the partitions `p` with `p % W == w`
//! ([`partitions_of`]), each record's value parsed as a JSON line, at the time its JSON
//! field (or, with `time=kafka`, its Kafka timestamp) says.
//!
//! **Resume positions.** For each epoch `E` a worker records, at the first record it reads
//! whose time is `E` or later, every one of its partitions' next offsets: everything it read
//! before had a time before `E` and is in the snapshot's state; from those offsets on, a
//! restored job reads again and drops what is before `E`. The position also keeps each
//! partition's newest time (lateness is judged per partition, in the partition's own order,
//! which a re-read repeats exactly) and how many records the worker had taken (for
//! `--events`). A restore onto another number of workers joins the old workers' partitions
//! and deals them out again by index.
//!
//! **Watermark.** The least of the partitions' newest times less the out-of-orderness bound,
//! over the partitions that delivered something within the idle timeout (`idle=`): a
//! partition with nothing to read does not hold the job back, and a record that arrives
//! on it behind the watermark is counted late and dropped.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::{Message, Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};
use timely::dataflow::operators::generic::operator::source;
use timely::dataflow::{Scope, StreamVec};

use crate::control::Counters;
use crate::identity::LineInput;
use crate::kafka::{client, partitions_of, KafkaUri, StartAt, TimeFrom};
use crate::snapshot::FutureReports;
use crate::sources::epochs::SourceEpochs;
use crate::sources::generator::Deliver;
use crate::sources::lines::LineSourceSpec;
use crate::sources::BATCH;
use crate::time::Time;

/// Where a worker resumes reading at an epoch.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct KafkaPosition {
    /// For each partition the worker read: the next offset, and the newest time read before.
    partitions: Vec<(i32, i64, Option<Time>)>,
    /// Records the worker had taken before the position (counting towards `--events`).
    taken: u64,
}

/// One partition as a worker reads it.
struct Partition {
    id: i32,
    /// The offset of the next record to read.
    next: i64,
    /// The newest time read from it.
    newest: Option<Time>,
    /// With `to=end`: the offset it ends before.
    end: Option<i64>,
    /// When it last delivered a record (or the source started).
    last_seen: Instant,
}

impl Partition {
    fn done(&self) -> bool {
        self.end.is_some_and(|end| self.next >= end)
    }
}

/// A Kafka input opened for this worker, its partitions assigned and resumed where a
/// restored snapshot says, not yet built into a source.
pub(crate) struct PreparedKafka {
    spec: LineSourceSpec,
    uri: KafkaUri,
    epochs: Option<SourceEpochs>,
    /// The epoch restored: records before it are in the restored state.
    restored: Option<Time>,
    /// Records this worker counts as taken before it started (after a restore: worker 0
    /// carries the old workers' sum, so the positions' counts still add up).
    taken: u64,
    consumer: Option<BaseConsumer>,
    partitions: Vec<Partition>,
}

impl PreparedKafka {
    /// Registers the source for snapshots, finds the topic's partitions (a clear error for
    /// an unreachable cluster or a missing topic) and assigns this worker's.
    pub(crate) fn open(scope: Scope<'_, Time>, spec: LineSourceSpec) -> anyhow::Result<Self> {
        let LineInput::Kafka(uri) = spec.input.clone() else {
            anyhow::bail!("not a Kafka input: {}", spec.input.describe());
        };
        anyhow::ensure!(
            !spec.numbered,
            "this pipeline numbers its input lines, which a Kafka topic does not have: give it --input FILE"
        );
        let (worker, workers) = (scope.index(), scope.peers());
        let epochs = SourceEpochs::register(&scope, "input");
        let resume = match &epochs {
            Some(epochs) => resume_positions(epochs)?,
            None => None,
        };
        let restored = resume.as_ref().map(|(epoch, _, _)| *epoch);
        let taken = match &resume {
            Some((_, _, taken)) => {
                spec.control.restore_input_taken(*taken);
                if worker == 0 {
                    *taken
                } else {
                    0
                }
            }
            None => 0,
        };
        let consumer = client::consumer(&uri)?;
        let count = client::partitions(&consumer, &uri)?;
        let mine = partitions_of(worker, workers, count);
        if mine.is_empty() {
            return Ok(PreparedKafka {
                spec,
                uri,
                epochs,
                restored,
                taken,
                consumer: None,
                partitions: Vec::new(),
            });
        }
        let now = Instant::now();
        let mut assignment = TopicPartitionList::new();
        let mut partitions = Vec::new();
        for id in mine {
            let resumed = resume.as_ref().and_then(|(_, at, _)| at.get(&id).copied());
            let needs_watermarks = uri.to_end || resumed.is_none();
            let (low, high) = if needs_watermarks {
                consumer
                    .fetch_watermarks(&uri.topic, id, uri.timeout())
                    .map_err(|error| client::unreachable(&uri, error))
                    .with_context(|| {
                        format!("cannot read the offsets of partition {id} of {uri}")
                    })?
            } else {
                (0, 0)
            };
            let (next, newest) = match resumed {
                Some(at) => at,
                None if uri.from == StartAt::Latest => (high, None),
                None => (low, None),
            };
            assignment
                .add_partition_offset(&uri.topic, id, Offset::Offset(next))
                .with_context(|| format!("cannot assign partition {id} of {uri}"))?;
            partitions.push(Partition {
                id,
                next,
                newest,
                end: uri.to_end.then_some(high),
                last_seen: now,
            });
        }
        consumer
            .assign(&assignment)
            .with_context(|| format!("cannot assign the partitions of {uri}"))?;
        Ok(PreparedKafka {
            spec,
            uri,
            epochs,
            restored,
            taken,
            consumer: Some(consumer),
            partitions,
        })
    }

    /// Builds the source, as [`PreparedLines::build`](crate::sources::lines::PreparedLines::build)
    /// does for lines: `parse(None, value)` gives each record's time and leaves the record
    /// for `take`; a malformed value is an error naming its partition and offset.
    pub(crate) fn build<'scope, D, P, T, E>(
        self,
        scope: Scope<'scope, Time>,
        name: &str,
        mut parse: P,
        mut take: T,
        mut deliver: E,
    ) -> StreamVec<'scope, Time, E::Output>
    where
        D: 'static,
        P: FnMut(Option<u64>, &[u8]) -> anyhow::Result<Option<Time>> + 'static,
        T: FnMut() -> Option<D> + 'static,
        E: Deliver<D>,
    {
        let PreparedKafka {
            spec,
            uri,
            mut epochs,
            restored,
            mut taken,
            mut consumer,
            mut partitions,
        } = self;
        source(scope, name, move |cap, info| {
            if let Some(consumer) = consumer.as_mut() {
                let woken = scope.worker().sync_activator_for(info.address.to_vec());
                // librdkafka's fetcher threads wake the worker when records arrive.
                consumer.set_nonempty_callback(move || {
                    let _ = woken.activate();
                });
            }
            let activator = scope.activator_for(info.address);
            let skip_before = restored.unwrap_or(0);
            let mut cap = Some(cap.delayed(&skip_before));
            let idle = Duration::from_millis(uri.idle_ms);
            let limit = spec.limit;
            // As for lines: keyed by the first epoch of a range that all resume at one
            // position, with the range's last epoch.
            let mut starts: BTreeMap<Time, (Time, KafkaPosition)> = BTreeMap::new();
            let mut next_start = epochs.as_ref().map_or(Time::MAX, SourceEpochs::next);
            let mut buffer: Vec<D> = Vec::new();
            let mut buffer_time: Time = 0;
            let position = move |partitions: &[Partition], taken: u64| KafkaPosition {
                partitions: partitions
                    .iter()
                    .map(|p| (p.id, p.next, p.newest))
                    .collect(),
                taken,
            };
            move |output| {
                let Some(held) = cap.as_mut() else { return };
                let counters = spec.control.counters();
                let (mut emitted, mut late, mut skipped) = (0u64, 0u64, 0u64);
                let mut finished = false;
                let mut aborted = false;
                let mut waiting = false;
                if spec.control.should_stop() {
                    (finished, aborted) = (true, true);
                }
                let now = Instant::now();
                while !finished && emitted < BATCH {
                    if spec.control.input_exhausted(limit) {
                        finished = true;
                        break;
                    }
                    let Some(consumer) = consumer.as_ref() else {
                        // No partition of its own (more workers than partitions).
                        finished = true;
                        break;
                    };
                    let message = match consumer.poll(Duration::ZERO) {
                        None => {
                            waiting = true;
                            break;
                        }
                        Some(Ok(message)) => message,
                        Some(Err(KafkaError::PartitionEOF(_))) => continue,
                        Some(Err(error)) => {
                            spec.control.fail(
                                anyhow::Error::new(error).context(format!("cannot read {uri}")),
                            );
                            (finished, aborted) = (true, true);
                            break;
                        }
                    };
                    let (id, offset) = (message.partition(), message.offset());
                    let Some(index) = partitions.iter().position(|p| p.id == id) else {
                        continue;
                    };
                    let partition = &mut partitions[index];
                    if partition.done() || offset < partition.next {
                        continue;
                    }
                    if let Some(end) = partition.end.filter(|end| offset >= *end) {
                        // Past the end offset seen at the start (offsets may skip).
                        partition.next = end;
                        continue;
                    }
                    if !spec.control.take_input(limit) {
                        finished = true;
                        break;
                    }
                    let value = message.payload().unwrap_or_default();
                    let time = match parse(None, value) {
                        Ok(Some(time)) => Some(match uri.time {
                            TimeFrom::Record => time,
                            TimeFrom::Kafka => {
                                message.timestamp().to_millis().unwrap_or(0).max(0) as Time
                            }
                        }),
                        // An empty value (a tombstone) or a blank one holds no record.
                        Ok(None) => None,
                        Err(_) if spec.skip_bad_input => {
                            skipped += 1;
                            None
                        }
                        Err(error) => {
                            spec.control.fail(error.context(format!(
                                "topic {} partition {id} offset {offset}",
                                uri.topic
                            )));
                            (finished, aborted) = (true, true);
                            break;
                        }
                    };
                    let Some(time) = time else {
                        taken += 1;
                        partitions[index].next = offset + 1;
                        continue;
                    };
                    if let Some(epochs) = epochs.as_ref().filter(|_| next_start <= time) {
                        let last = epochs.at_or_before(time).max(next_start);
                        starts.insert(next_start, (last, position(&partitions, taken)));
                        next_start = epochs.after(last);
                    }
                    taken += 1;
                    let partition = &mut partitions[index];
                    partition.next = offset + 1;
                    partition.last_seen = now;
                    let behind = partition
                        .newest
                        .map_or(0, |n| n.saturating_sub(spec.out_of_orderness));
                    partition.newest = partition.newest.max(Some(time));
                    if time < skip_before {
                        continue;
                    }
                    // Late: behind its partition's own watermark (the same on every re-read),
                    // or behind the job's after its partition was idle.
                    if time < behind || time < *held.time() {
                        late += 1;
                        continue;
                    }
                    emitted += 1;
                    let Some(record) = take() else { continue };
                    if time != buffer_time && !buffer.is_empty() {
                        deliver.deliver(output, &held.delayed(&buffer_time), buffer.drain(..));
                    }
                    buffer_time = time;
                    buffer.push(record);
                }
                if !buffer.is_empty() {
                    deliver.deliver(output, &held.delayed(&buffer_time), buffer.drain(..));
                }
                Counters::add(&counters.records_in, emitted);
                Counters::add(&counters.late, late);
                Counters::add(&counters.skipped, skipped);
                if finished || partitions.iter().all(Partition::done) {
                    if let Some(epochs) = epochs.as_mut() {
                        let future = FutureReports {
                            known: starts
                                .iter()
                                .map(|(&first, (last, at))| (first, *last, to_inline(at)))
                                .collect(),
                            beyond: to_inline(&position(&partitions, taken)),
                        };
                        epochs.finish(aborted, future);
                    }
                    deliver.end_batch(output, None);
                    cap = None;
                    return;
                }
                let active = partitions
                    .iter()
                    .filter(|p| !p.done() && now.duration_since(p.last_seen) < idle);
                let watermark = match active.map(|p| p.newest).min() {
                    // A partition that has delivered nothing yet holds the watermark.
                    Some(least) => least.map(|n| n.saturating_sub(spec.out_of_orderness)),
                    // Every partition idle: this worker follows the furthest source of the
                    // process, so that it holds no one back (a record that comes later
                    // behind it is late).
                    None => {
                        let own = partitions.iter().filter_map(|p| p.newest).max();
                        let own = own.map_or(0, |n| n.saturating_sub(spec.out_of_orderness));
                        Some(own.max(spec.control.source_position()))
                    }
                };
                if let Some(watermark) = watermark.filter(|w| w > held.time()) {
                    held.downgrade(&watermark);
                }
                spec.control.note_source_position(*held.time());
                if let Some(epochs) = epochs.as_mut() {
                    epochs.passed(*held.time(), |epoch| {
                        while let Some(entry) = starts.first_entry() {
                            if entry.get().0 >= epoch {
                                break;
                            }
                            entry.remove();
                        }
                        match starts.range(..=epoch).next_back() {
                            Some((_, (last, at))) => (*last, to_inline(at)),
                            // Nothing read yet at or after the epoch: everything read is
                            // before it, and the partitions resume where they are.
                            None => (epoch, to_inline(&position(&partitions, taken))),
                        }
                    });
                }
                deliver.end_batch(output, Some(*held.time()));
                if !waiting {
                    activator.activate();
                } else {
                    // Records wake the source; the idle timeout and the other workers'
                    // progress towards `--events` are looked at every few milliseconds.
                    let every = if limit == u64::MAX {
                        idle.min(Duration::from_millis(100))
                    } else {
                        Duration::from_millis(5)
                    };
                    activator.activate_after(every.max(Duration::from_millis(1)));
                }
            }
        })
    }
}

fn to_inline(position: &KafkaPosition) -> Option<String> {
    serde_json::to_string(position).ok()
}

/// The restored epoch, every partition's resume offset and newest time (the old workers'
/// positions joined), and the records taken before them in all.
type Resumed = (Time, BTreeMap<i32, (i64, Option<Time>)>, u64);

fn resume_positions(epochs: &SourceEpochs) -> anyhow::Result<Option<Resumed>> {
    let participant = epochs.participant();
    let (Some(epoch), Some(recorded)) = (epochs.restored_epoch(), participant.restore_inline())
    else {
        return Ok(None);
    };
    let mut partitions = BTreeMap::new();
    let mut taken = 0;
    let mut workers = 0;
    for (old_worker, inline) in recorded {
        let Some(inline) = inline else {
            anyhow::bail!(
                "the snapshot has no Kafka position for worker {old_worker} of the input"
            );
        };
        let position: KafkaPosition = serde_json::from_str(&inline)
            .context("the snapshot's Kafka position is damaged (or from a file input)")?;
        for (id, next, newest) in position.partitions {
            partitions.insert(id, (next, newest));
        }
        taken += position.taken;
        workers += 1;
    }
    if participant.restored_workers() != Some(workers) {
        anyhow::bail!("the snapshot's Kafka positions are not one per worker of the input");
    }
    Ok(Some((epoch, partitions, taken)))
}
