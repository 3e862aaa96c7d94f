//! Micro-benchmarks of weir's hot paths, for comparing commits on one machine:
//! key-group routing, a keyed state update, snapshot encode and decode of a large state,
//! the generators, and JSON output lines (weir's encoder beside serde_json's). Run with `cargo bench` (or `cargo bench -- routing` for one group).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use weir::nexmark::q0::BidLine;
use weir::nexmark::NexmarkGenerator;
use weir::sinks::encode_json;
use weir::snapshot::{decode_groups, KeyedState, PartHeader, Stamped, StateBackend};
use weir::sources::random_of;
use weir::state::{KeyGroups, DEFAULT_KEY_GROUPS};

/// Records per benchmark iteration where a batch is measured.
const BATCH: u64 = 1024;

fn keys() -> Vec<u64> {
    (0..BATCH).map(|n| random_of(1, n) % 100_000).collect()
}

fn routing(c: &mut Criterion) {
    let groups = KeyGroups::new(DEFAULT_KEY_GROUPS);
    let keys = keys();
    let mut group = c.benchmark_group("routing");
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function("worker_of_key, 1024 u64 keys, 4 workers", |b| {
        b.iter(|| {
            keys.iter()
                .map(|key| groups.worker_of_key(black_box(key), 4))
                .sum::<usize>()
        })
    });
    group.finish();
}

fn state_update(c: &mut Criterion) {
    let keys = keys();
    let mut state: KeyedState<u64, u64> = KeyedState::default();
    let mut group = c.benchmark_group("state");
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function("count per key, 1024 records over 100k keys", |b| {
        b.iter(|| {
            let stamp = state.stamp;
            for &key in &keys {
                let entry = state.map.get_or_insert_with(key, || Stamped(0, stamp));
                entry.0 += 1;
                entry.1 = stamp;
            }
        })
    });
    group.finish();
}

/// A captured keyed state of `entries` keys, as the snapshot writer holds it.
fn large_state(entries: u64) -> <KeyedState<u64, u64> as StateBackend>::Copy {
    let mut state: KeyedState<u64, u64> = KeyedState::default();
    let mut copy = state.restore(Vec::new());
    for key in 0..entries {
        state
            .map
            .insert(key, Stamped(random_of(2, key), state.stamp));
    }
    KeyedState::apply(&mut copy, state.changes());
    copy
}

fn snapshot_codec(c: &mut Criterion) {
    const ENTRIES: u64 = 1_000_000;
    let groups = KeyGroups::new(DEFAULT_KEY_GROUPS);
    let copy = large_state(ENTRIES);
    // A part file as the writer makes it: header, then the groups.
    let header = PartHeader {
        format: weir::snapshot::FORMAT_VERSION,
        fingerprint: "bench".to_string(),
        operator: "bench".to_string(),
        epoch: 0,
        worker: 0,
        workers: 1,
        key_groups: groups.count(),
    };
    let mut part = header.to_bytes().expect("a header encodes");
    part.extend(KeyedState::<u64, u64>::encode(&copy, &groups).expect("encodes"));
    let mut group = c.benchmark_group("snapshot");
    group.sample_size(10);
    group.throughput(Throughput::Elements(ENTRIES));
    group.bench_function("encode 1M (u64, u64) entries", |b| {
        b.iter(|| KeyedState::<u64, u64>::encode(black_box(&copy), &groups).expect("encodes"))
    });
    group.bench_function("decode 1M (u64, u64) entries", |b| {
        b.iter_batched(
            || part.clone(),
            |bytes| decode_groups::<(u64, u64)>(&bytes, 0..groups.count()).expect("decodes"),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn generators(c: &mut Criterion) {
    let mut group = c.benchmark_group("generators");
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function("seed values (random_of), 1024", |b| {
        let mut start = 0;
        b.iter(|| {
            start += BATCH;
            (start..start + BATCH)
                .map(|n| random_of(0, n) % 1000)
                .sum::<u64>()
        })
    });
    group.bench_function("NEXMark events, 1024", |b| {
        let mut generator = NexmarkGenerator::new(0, 10_000.0);
        let mut start = 0;
        b.iter(|| {
            start += BATCH;
            for n in start..start + BATCH {
                black_box(generator.event(n));
            }
        })
    });
    group.finish();
}

/// q0's output lines, encoded by weir and by serde_json: the encoder exists to be faster.
fn json_lines(c: &mut Criterion) {
    let lines: Vec<BidLine> = (0..BATCH)
        .map(|n| BidLine {
            auction: 1000 + random_of(2, n) % 3000,
            bidder: 1000 + random_of(3, n) % 100_000,
            price: random_of(4, n) % 100_000,
            date_time: 1_700_000_000_000 + n,
        })
        .collect();
    let mut group = c.benchmark_group("json lines");
    group.throughput(Throughput::Elements(BATCH));
    let mut out = Vec::with_capacity(1 << 17);
    group.bench_function("encode_json, 1024 bid lines", |b| {
        b.iter(|| {
            out.clear();
            for line in &lines {
                encode_json(&mut out, line).expect("encodes");
                out.push(b'\n');
            }
            black_box(out.len())
        })
    });
    group.bench_function("serde_json::to_writer, 1024 bid lines", |b| {
        b.iter(|| {
            out.clear();
            for line in &lines {
                serde_json::to_writer(&mut out, line).expect("encodes");
                out.push(b'\n');
            }
            black_box(out.len())
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    routing,
    state_update,
    snapshot_codec,
    generators,
    json_lines
);
criterion_main!(benches);
