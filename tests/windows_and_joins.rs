//! Session windows, top-k, windowed and unbounded joins against sequential references, on
//! 1, 2 and 3 workers, with input arriving out of time order.

mod common;

use std::collections::BTreeMap;

use timely::dataflow::operators::vec::Map;
use weir::operators::{
    Aggregate, Count, Join, SessionWindows, Sum, TopK, TopKPerWindow, WindowJoin,
};
use weir::time::{Time, Window, WindowBounds};

use common::run_dataflow;
use common::scrambled::{records, scrambled, scrambled_timed, Record};

#[test]
fn session_windows_close_after_a_gap_in_each_keys_records() {
    use rand::Rng;
    let (seed, mut rng) = common::shapes_rng("session windows");
    for round in 0..3 {
        // A key's records are about `keys / per_time` ms apart: gaps around that both join
        // and split sessions.
        let (count, per_time, keys) = (
            rng.gen_range(500..6_000),
            rng.gen_range(1..4),
            rng.gen_range(1..60),
        );
        let gap = rng.gen_range(1..3 * keys / per_time + 2);
        let input = records(count, per_time, keys, seed.wrapping_add(round));
        check_sessions(
            &input,
            gap,
            &format!("{count} records, {per_time} per ms, {keys} keys, gap {gap} (seed {seed})"),
        );
    }
}

/// `session_aggregate` on pairs and on `Timed` pairs against a sequential reference.
fn check_sessions(input: &std::sync::Arc<Vec<Record>>, gap: Time, shape: &str) {
    let mut by_key: BTreeMap<u64, Vec<Record>> = BTreeMap::new();
    for record in input.iter() {
        by_key.entry(record.key).or_default().push(*record);
    }
    let mut expected = Vec::new();
    for (key, records) in by_key {
        let mut sessions: Vec<(Time, Time, u64)> = Vec::new(); // start, last, sum
        for record in records {
            match sessions.last_mut() {
                Some(open) if record.time < open.1 + gap => {
                    open.1 = record.time;
                    open.2 += record.value;
                }
                _ => sessions.push((record.time, record.time, record.value)),
            }
        }
        for (start, last, sum) in sessions {
            let end = last + gap;
            expected.push((
                end - 1,
                (
                    key,
                    WindowBounds {
                        start: start as i64,
                        end,
                    },
                    sum,
                ),
            ));
        }
    }
    expected.sort();
    for workers in 1..=3 {
        let records = input.clone();
        let output = run_dataflow(workers, move |scope| {
            scrambled(scope, records.clone())
                .session_aggregate("sessions", gap, Sum::<u64>::new())
                .map(|r| (r.key, r.window, r.value))
        });
        assert_eq!(output, expected, "sessions on {workers} workers, {shape}");
        let records = input.clone();
        let output = run_dataflow(workers, move |scope| {
            scrambled_timed(scope, records.clone())
                .session_aggregate("sessions", gap, Sum::<u64>::new())
                .map(|r| (r.key, r.window, r.value))
        });
        assert_eq!(
            output, expected,
            "Timed sessions on {workers} workers, {shape}"
        );
    }
}

#[test]
fn top_k_keeps_the_best_with_ties_per_window() {
    let input = records(20_000, 5, 60, 12);
    let window = Window::tumbling(200);
    // Counts per key and window, then the keys with the two highest counts, ties included.
    let mut counts: BTreeMap<(Time, u64), u64> = BTreeMap::new();
    for record in input.iter() {
        *counts
            .entry((record.time / 200 * 200, record.key))
            .or_default() += 1;
    }
    let mut per_window: BTreeMap<Time, Vec<(u64, u64)>> = BTreeMap::new();
    for ((start, key), count) in counts {
        per_window.entry(start).or_default().push((count, key));
    }
    let mut expected = Vec::new();
    let mut ties = 0;
    for (start, mut counted) in per_window {
        counted.sort_by(|a, b| b.cmp(a));
        let second = counted[1].0;
        let best: Vec<_> = counted.iter().filter(|(c, _)| *c >= second).collect();
        ties += best.len() - 2;
        for &&(count, key) in &best {
            expected.push((start + 199, (key, start, count)));
        }
    }
    expected.sort();
    assert!(ties > 0, "the test needs ties at the boundary");
    // The largest three values per key group of keys (key % 4) and window, straight from
    // the records with the TopK aggregator.
    let mut values: BTreeMap<(u64, Time), Vec<u64>> = BTreeMap::new();
    for record in input.iter() {
        values
            .entry((record.key % 4, record.time / 200 * 200))
            .or_default()
            .push(record.value);
    }
    let mut expected_values = Vec::new();
    for ((group, start), mut vs) in values {
        vs.sort_by(|a, b| b.cmp(a));
        let third = vs[2];
        vs.retain(|v| *v >= third);
        expected_values.push((start + 199, (group, vs)));
    }
    expected_values.sort();
    for workers in 1..=3 {
        let source = input.clone();
        let output = run_dataflow(workers, move |scope| {
            scrambled(scope, source.clone())
                .aggregate("counts", window, Count)
                .top_k_per_window("busiest", 2, |r| r.value)
                .map(|r| (r.key, r.window.first_time(), r.value))
        });
        assert_eq!(output, expected, "top_k_per_window on {workers} workers");
        // The same records carrying their own times, many milliseconds per message.
        let source = input.clone();
        let output = run_dataflow(workers, move |scope| {
            scrambled_timed(scope, source.clone())
                .aggregate("counts", window, Count)
                .top_k_per_window("busiest", 2, |r| r.value)
                .map(|r| (r.key, r.window.first_time(), r.value))
        });
        assert_eq!(
            output, expected,
            "top_k_per_window of Timed records on {workers} workers"
        );
        let source = input.clone();
        let output = run_dataflow(workers, move |scope| {
            scrambled(scope, source.clone())
                .map(|(key, value)| (key % 4, value))
                .aggregate("largest", window, TopK::new(3, |v: &u64| *v))
                .map(|r| (r.key, r.value))
        });
        assert_eq!(output, expected_values, "TopK on {workers} workers");
    }
}

#[test]
fn window_join_pairs_records_of_a_key_within_each_window() {
    let (lefts, rights) = (records(3_000, 2, 40, 13), records(3_000, 2, 40, 14));
    let window = Window::tumbling(50);
    let mut expected = Vec::new();
    for a in lefts.iter() {
        for b in rights.iter() {
            if a.key == b.key && a.time / 50 == b.time / 50 {
                let start = a.time / 50 * 50;
                expected.push((start + 49, (a.key, start, a.value, b.value)));
            }
        }
    }
    expected.sort();
    assert!(expected.len() > 1_000, "the test needs many matches");
    // Per key and window, the left records that have a match on the right, once each.
    let mut semi: Vec<(Time, (u64, u64))> = lefts
        .iter()
        .filter(|a| {
            rights
                .iter()
                .any(|b| a.key == b.key && a.time / 50 == b.time / 50)
        })
        .map(|a| (a.time / 50 * 50 + 49, (a.key, a.value)))
        .collect();
    semi.sort();
    for workers in 1..=3 {
        let (l, r) = (lefts.clone(), rights.clone());
        let output = run_dataflow(workers, move |scope| {
            scrambled(scope, l.clone()).window_join(
                "pairs",
                scrambled(scope, r.clone()),
                window,
                |key, bounds, a, b| (*key, bounds.first_time(), *a, *b),
            )
        });
        assert_eq!(output, expected, "window_join on {workers} workers");
        let (l, r) = (lefts.clone(), rights.clone());
        let output = run_dataflow(workers, move |scope| {
            scrambled(scope, l.clone()).window_cogroup(
                "semi",
                scrambled(scope, r.clone()),
                window,
                |key, _, lefts, rights| {
                    let matched = !rights.is_empty();
                    let key = *key;
                    lefts
                        .iter()
                        .filter(move |_| matched)
                        .map(move |a| (key, *a))
                        .collect::<Vec<_>>()
                },
            )
        });
        assert_eq!(output, semi, "window_cogroup on {workers} workers");
    }
}

#[test]
fn join_meets_every_pair_once_at_the_later_time() {
    let (lefts, rights) = (records(2_000, 1, 150, 15), records(2_000, 1, 150, 16));
    let mut expected = Vec::new();
    for a in lefts.iter() {
        for b in rights.iter().filter(|b| b.key == a.key) {
            expected.push((a.time.max(b.time), (a.key, a.value, b.value)));
        }
    }
    expected.sort();
    assert!(expected.len() > 10_000, "the test needs many matches");
    for workers in 1..=3 {
        let (l, r) = (lefts.clone(), rights.clone());
        let output = run_dataflow(workers, move |scope| {
            scrambled(scope, l.clone())
                .join("pairs", scrambled(scope, r.clone()), |k, a, b| (*k, *a, *b))
        });
        assert_eq!(output, expected, "join on {workers} workers");
    }
}
