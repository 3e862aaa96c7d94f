//! Scrambled keyed input for operator tests: records at known times, emitted out of time
//! order within and across workers, with the watermark held at the least time to come.

use std::sync::Arc;

use timely::dataflow::operators::generic::operator::source;
use timely::dataflow::{Scope, StreamVec};
use weir::sources::random_of;
use weir::time::{Time, Timed};

/// A record of the test input: a key, a value, and an event time.
#[derive(Clone, Copy, Debug)]
pub struct Record {
    pub time: Time,
    pub key: u64,
    pub value: u64,
}

/// `count` records at times `0, 1, 2, ...` (`per_time` records per time), random keys of
/// `keys` and random values.
pub fn records(count: u64, per_time: u64, keys: u64, seed: u64) -> Arc<Vec<Record>> {
    Arc::new(
        (0..count)
            .map(|i| Record {
                time: i / per_time,
                key: random_of(seed, i) % keys,
                value: random_of(seed + 1, i) % 1000,
            })
            .collect(),
    )
}

/// Emits the records of this worker (record `i` is worker `i % peers`'s) in chunks of 64,
/// each chunk in a scrambled order of times, holding the watermark at the least time still
/// to come. Input thus arrives out of time order, within and across workers.
pub fn scrambled<'scope>(
    scope: Scope<'scope, Time>,
    input: Arc<Vec<Record>>,
) -> StreamVec<'scope, Time, (u64, u64)> {
    scrambled_as(scope, input, |record, _| record.time, |r| (r.key, r.value))
}

/// As [`scrambled`], but each chunk is one message at the least time still to come, whose
/// records carry their own times.
pub fn scrambled_timed<'scope>(
    scope: Scope<'scope, Time>,
    input: Arc<Vec<Record>>,
) -> StreamVec<'scope, Time, Timed<(u64, u64)>> {
    scrambled_as(
        scope,
        input,
        |_, least| least,
        |r| Timed {
            time: r.time,
            record: (r.key, r.value),
        },
    )
}

/// Emits `make(record)` at `message_time(record, least time still to come)`.
fn scrambled_as<'scope, D: Clone + 'static>(
    scope: Scope<'scope, Time>,
    input: Arc<Vec<Record>>,
    message_time: fn(&Record, Time) -> Time,
    make: fn(&Record) -> D,
) -> StreamVec<'scope, Time, D> {
    let (index, peers) = (scope.index(), scope.peers());
    source(scope, "Scrambled", move |cap, info| {
        let activator = scope.activator_for(info.address);
        let mine: Vec<Record> = input.iter().copied().skip(index).step_by(peers).collect();
        let mut next = 0;
        let mut cap = Some(cap);
        move |output| {
            let Some(held) = cap.as_mut() else { return };
            let end = (next + 64).min(mine.len());
            let mut chunk: Vec<(u64, Record)> = mine[next..end]
                .iter()
                .enumerate()
                .map(|(i, r)| (random_of(99, (next + i) as u64), *r))
                .collect();
            chunk.sort_by_key(|(scramble, _)| *scramble);
            for (_, record) in chunk {
                let time = message_time(&record, *held.time());
                output.session(&held.delayed(&time)).give(make(&record));
            }
            next = end;
            match mine.get(next) {
                Some(record) => {
                    held.downgrade(&record.time);
                    activator.activate();
                }
                None => cap = None,
            }
        }
    })
}
