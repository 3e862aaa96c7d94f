//! `seed-state` written directly against timely, without weir's layer: the baseline that
//! weir's overhead is measured against (`scripts/measure-core.sh`).
//!
//! Same input (record `n` is `random_of(seed, n) % keys` at event time `n / 1000` ms), same
//! routing by key, same per-value counters and the same JSON lines, written to a shared
//! buffered writer. It applies records as they arrive, as a timely program naturally would.
//!
//!     cargo run --release --example raw_timely_seed_state -- EVENTS WORKERS [OUTPUT]

use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::operator::source;
use timely::dataflow::operators::generic::Operator;
use weir::sources::random_of;

/// The allocator the `weir` binary uses, so that the comparison is of the layers alone.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Serialize)]
struct Occurrence {
    value: u64,
    count: u64,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let events: u64 = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let workers: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1);
    let output = args
        .get(3)
        .cloned()
        .unwrap_or_else(|| "/dev/null".to_string());
    let (seed, keys) = (0u64, 1_000u64);

    let file = std::fs::File::create(&output).expect("output file");
    let writer: Arc<Mutex<BufWriter<std::fs::File>>> =
        Arc::new(Mutex::new(BufWriter::with_capacity(1 << 20, file)));
    let start = Instant::now();
    let shared = writer.clone();
    timely::execute(timely::Config::process(workers), move |worker| {
        let (index, peers) = (worker.index() as u64, worker.peers() as u64);
        let writer = shared.clone();
        worker.dataflow::<u64, _, _>(|scope| {
            source(scope, "Generate", move |cap, info| {
                let activator = scope.activator_for(info.address);
                let mut cap = Some(cap);
                let mut next = index;
                move |output| {
                    let Some(held) = cap.as_mut() else { return };
                    let end = events.min(next + 8192 * peers);
                    while next < end {
                        let time = next / 1000;
                        held.downgrade(&time);
                        let mut session = output.session(held);
                        while next < end && next / 1000 == time {
                            session.give(random_of(seed, next) % keys);
                            next += peers;
                        }
                    }
                    if next >= events {
                        cap = None;
                    } else {
                        held.downgrade(&(next / 1000));
                        activator.activate();
                    }
                }
            })
            .unary(
                Exchange::new(|v: &u64| weir::state::stable_hash(v)),
                "Count",
                |_, _| {
                    // The same fast hasher weir's state uses, so the comparison is of the layer.
                    let mut counts: HashMap<u64, u64, foldhash::fast::RandomState> =
                        HashMap::default();
                    move |input, output| {
                        input.for_each_stamp(|cap, data| {
                            let mut session = output.session(&cap);
                            for container in data {
                                for value in container.drain(..) {
                                    let count = counts.entry(value).or_insert(0);
                                    *count += 1;
                                    session.give(Occurrence {
                                        value,
                                        count: *count,
                                    });
                                }
                            }
                        });
                    }
                },
            )
            .sink(Pipeline, "Write", move |(input, _)| {
                let mut lines = Vec::new();
                input.for_each(|_, container: &mut Vec<Occurrence>| {
                    for record in container.drain(..) {
                        serde_json::to_writer(&mut lines, &record).expect("encode");
                        lines.push(b'\n');
                    }
                });
                if !lines.is_empty() {
                    writer
                        .lock()
                        .expect("writer")
                        .write_all(&lines)
                        .expect("write");
                }
            });
        });
    })
    .expect("timely starts")
    .join();
    writer.lock().expect("writer").flush().expect("flush");
    let seconds = start.elapsed().as_secs_f64();
    eprintln!(
        "raw timely seed-state on {workers} worker(s): {events} records in {seconds:.3} s, {:.0} records/s",
        events as f64 / seconds
    );
}
