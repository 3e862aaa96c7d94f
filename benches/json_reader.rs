//! Reading NEXMark JSON lines, the cost of every file- or Kafka-fed run: serde_json, sonic-rs
//! and simd-json side by side, each with serde's derived `Event` (buffered, as an internally
//! tagged enum must be) and with weir's reader ([`EventSeed`]: the type dispatched on the
//! first key, fields a query does not read skipped). weir's sources use sonic-rs through
//! `read_event`; this group is the measurement behind that choice. Run with
//! `cargo bench --features simd-json --bench json_reader`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde::de::DeserializeSeed;
use weir::nexmark::{read_event, Event, EventFields, EventSeed, NexmarkGenerator};

/// Events per iteration: about 4 MB of lines, in the generator's mix of types.
const EVENTS: u64 = 20_000;

fn lines() -> Vec<Vec<u8>> {
    let mut generator = NexmarkGenerator::new(1, 10_000.0);
    (0..EVENTS)
        .map(|n| serde_json::to_vec(&generator.event(n)).expect("an event serializes"))
        .collect()
}

fn read_all(lines: &[Vec<u8>], mut read: impl FnMut(&[u8]) -> Event) -> u64 {
    lines
        .iter()
        .map(|line| black_box(read(line)).date_time())
        .sum()
}

fn json_reader(c: &mut Criterion) {
    let lines = lines();
    let bytes: usize = lines.iter().map(|line| line.len() + 1).sum();
    let mut group = c.benchmark_group("json_reader");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("serde_json, derived Event", |b| {
        b.iter(|| read_all(&lines, |line| serde_json::from_slice(line).expect("valid")))
    });
    group.bench_function("sonic-rs, derived Event", |b| {
        b.iter(|| read_all(&lines, |line| sonic_rs::from_slice(line).expect("valid")))
    });
    let mut scratch = Vec::new();
    group.bench_function("simd-json, derived Event", |b| {
        b.iter(|| {
            read_all(&lines, |line| {
                scratch.clear();
                scratch.extend_from_slice(line);
                simd_json::serde::from_slice(&mut scratch).expect("valid")
            })
        })
    });
    for (name, fields) in [
        ("all fields", EventFields::ALL),
        ("numbers only (q0-q2, q5, q7)", EventFields::NUMBERS),
    ] {
        group.bench_function(format!("serde_json, EventSeed, {name}"), |b| {
            b.iter(|| {
                read_all(&lines, |line| {
                    let mut de = serde_json::Deserializer::from_slice(line);
                    EventSeed(fields).deserialize(&mut de).expect("valid")
                })
            })
        });
        group.bench_function(format!("simd-json, EventSeed, {name}"), |b| {
            b.iter(|| {
                read_all(&lines, |line| {
                    scratch.clear();
                    scratch.extend_from_slice(line);
                    let mut de = simd_json::Deserializer::from_slice(&mut scratch).expect("valid");
                    EventSeed(fields).deserialize(&mut de).expect("valid")
                })
            })
        });
        group.bench_function(format!("sonic-rs, EventSeed, {name}"), |b| {
            b.iter(|| {
                read_all(&lines, |line| {
                    let mut de = sonic_rs::Deserializer::from_slice(line);
                    EventSeed(fields).deserialize(&mut de).expect("valid")
                })
            })
        });
        group.bench_function(
            format!("weir read_event (exact shape, memchr), {name}"),
            |b| b.iter(|| read_all(&lines, |line| read_event(line, fields).expect("valid"))),
        );
    }
    group.finish();
}

criterion_group!(benches, json_reader);
criterion_main!(benches);
