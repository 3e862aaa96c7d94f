//! Operators and sources against sequential references, on 1, 2 and 3 workers.

mod common;

use std::collections::{BTreeMap, HashMap};

use timely::dataflow::operators::vec::Map;
use weir::operators::{ChangelogPerTime, KeyedProcess, ProcessKeyed};
use weir::prelude::*;

use common::run_dataflow;
use common::scrambled::{records, scrambled, scrambled_timed, Record};

/// Each key's records in time order (times are distinct per key in these tests).
fn by_key_in_time_order(input: &[Record]) -> BTreeMap<u64, Vec<Record>> {
    let mut by_key: BTreeMap<u64, Vec<Record>> = BTreeMap::new();
    for record in input {
        by_key.entry(record.key).or_default().push(*record);
    }
    for records in by_key.values_mut() {
        records.sort_by_key(|r| r.time);
    }
    by_key
}

fn fold_hash(hash: u64, value: u64) -> u64 {
    hash.wrapping_mul(1_000_003).wrapping_add(value + 1)
}

#[test]
fn update_state_applies_each_key_in_time_order_on_any_number_of_workers() {
    // One record per time, so every key's records have distinct times and an
    // order-sensitive fold has exactly one right answer.
    let input = records(6_000, 1, 25, 1);
    let mut expected = Vec::new();
    for (key, records) in by_key_in_time_order(&input) {
        let (mut count, mut hash) = (0u64, 0u64);
        for record in records {
            count += 1;
            hash = fold_hash(hash, record.value);
            expected.push((record.time, (key, count, hash)));
        }
    }
    expected.sort();
    for workers in 1..=3 {
        let input = input.clone();
        let output = run_dataflow(workers, move |scope| {
            scrambled(scope, input.clone()).update_state(
                "sequence",
                |key, state: &mut (u64, u64), value| {
                    state.0 += 1;
                    state.1 = fold_hash(state.1, value);
                    Some((*key, state.0, state.1))
                },
            )
        });
        assert_eq!(output, expected, "update_state on {workers} workers");
    }
}

#[test]
fn reduce_reports_the_running_value_in_time_order() {
    let input = records(4_000, 1, 10, 2);
    let mut expected = Vec::new();
    for (key, records) in by_key_in_time_order(&input) {
        let mut running: Option<u64> = None;
        for record in records {
            let next = match running {
                Some(r) => fold_hash(r, record.value),
                None => record.value,
            };
            running = Some(next);
            expected.push((record.time, (key, next)));
        }
    }
    expected.sort();
    for workers in 1..=3 {
        let input = input.clone();
        let output = run_dataflow(workers, move |scope| {
            scrambled(scope, input.clone()).reduce("running", |running, value| {
                *running = fold_hash(*running, value)
            })
        });
        assert_eq!(output, expected, "reduce on {workers} workers");
    }
}

/// Counts and hashes each key's values in order, and reports each key once no record of it
/// has come for a while: its deadline is `1 + value % spread` after its latest record, so
/// a record moves the deadline later or earlier.
struct SequenceWithQuiet {
    spread: u64,
}

impl SequenceWithQuiet {
    fn delay(&self, value: u64) -> Time {
        1 + value % self.spread
    }
}

impl KeyedProcess<u64, u64> for SequenceWithQuiet {
    type State = (u64, u64, Time);
    /// Key, count, hash, and whether a deadline reported it.
    type Output = (u64, u64, u64, bool);

    fn on_record(
        &mut self,
        key: &u64,
        state: &mut Self::State,
        value: u64,
        time: Time,
        output: &mut Vec<Self::Output>,
    ) {
        *state = (
            state.0 + 1,
            fold_hash(state.1, value),
            time + self.delay(value),
        );
        output.push((*key, state.0, state.1, false));
    }

    fn deadline(&self, state: &Self::State) -> Option<Time> {
        Some(state.2)
    }

    fn on_deadline(
        &mut self,
        key: &u64,
        state: &mut Self::State,
        _: Time,
        output: &mut Vec<Self::Output>,
    ) -> bool {
        output.push((*key, state.0, state.1, true));
        true
    }
}

/// `process_keyed` applies records in time order and runs deadlines between them, whether
/// each message is of one time or (`Timed` records) of many, out of order, and whether a
/// record moves its key's deadline later or earlier: the output, times included, equals a
/// sequential reference on 1, 2 and 3 workers, for input sizes, keys and deadline spreads
/// drawn from a printed seed.
#[test]
fn process_keyed_applies_records_at_their_own_times_on_any_number_of_workers() {
    use rand::Rng;
    let (seed, mut rng) = common::shapes_rng("process_keyed");
    for _ in 0..2 {
        let (count, keys, spread) = (
            rng.gen_range(500..6_000),
            rng.gen_range(1..60),
            rng.gen_range(1..12),
        );
        let shape = format!("seed {seed}: {count} records, {keys} keys, spread {spread}");
        let input = records(count, 1, keys, rng.gen_range(0..1_000));
        let process = SequenceWithQuiet { spread };
        let mut expected = Vec::new();
        for (key, records) in by_key_in_time_order(&input) {
            let (mut count, mut hash) = (0u64, 0u64);
            for (i, record) in records.iter().enumerate() {
                count += 1;
                hash = fold_hash(hash, record.value);
                expected.push((record.time, (key, count, hash, false)));
                let deadline = record.time + process.delay(record.value);
                if records.get(i + 1).is_none_or(|next| next.time >= deadline) {
                    expected.push((deadline - 1, (key, count, hash, true)));
                }
            }
        }
        expected.sort();
        assert!(expected.iter().any(|(_, (.., quiet))| *quiet), "{shape}");
        for workers in 1..=3 {
            let plain = input.clone();
            let output = run_dataflow(workers, move |scope| {
                scrambled(scope, plain.clone())
                    .process_keyed("sequence", SequenceWithQuiet { spread })
            });
            assert_eq!(
                output, expected,
                "process_keyed on {workers} workers, {shape}"
            );
            let timed = input.clone();
            let output = run_dataflow(workers, move |scope| {
                scrambled_timed(scope, timed.clone())
                    .process_keyed("sequence", SequenceWithQuiet { spread })
            });
            assert_eq!(
                output, expected,
                "Timed process_keyed on {workers} workers, {shape}"
            );
        }
    }
}

/// The rows `changelog_per_time` keeps per key in its test: the three largest values seen,
/// emptied by a value divisible by `clear_every` (0: never).
fn top_three_or_clear(rows: &mut Vec<(u64, u64)>, key: u64, value: u64, clear_every: u64) {
    if clear_every > 0 && value.is_multiple_of(clear_every) {
        rows.clear();
        return;
    }
    rows.push((key, value));
    rows.sort_by(|a, b| b.cmp(a));
    rows.truncate(3);
}

/// `changelog_per_time` emits, at each time a key's rows change, exactly the consolidated
/// difference (a row removed and added back within the time gives nothing, two equal rows
/// two changes), against a sequential reference on 1, 2 and 3 workers, pairs and `Timed`,
/// for shapes drawn from a printed seed: several records per time (of one key, too, from
/// different workers, so a time arrives in several batches) or one per time with updates
/// that empty a key's rows, which then start again.
#[test]
fn changelog_per_time_emits_each_times_consolidated_difference() {
    use rand::Rng;
    let (seed, mut rng) = common::shapes_rng("changelog_per_time");
    for _ in 0..8 {
        let per_time = rng.gen_range(1..9);
        // Emptying depends on order within a time, which workers do not fix: only with one
        // record per time.
        let clear_every = if per_time == 1 {
            rng.gen_range(3..12)
        } else {
            0
        };
        // Few keys: a key's records of one time then often come from several workers.
        let (count, keys) = (rng.gen_range(500..5_000), rng.gen_range(1..8));
        let shape = format!(
            "seed {seed}: {count} records, {per_time} per time, {keys} keys, clear every {clear_every}"
        );
        let input = records(count, per_time, keys, rng.gen_range(0..1_000));
        let mut expected = Vec::new();
        for (key, records) in by_key_in_time_order(&input) {
            let mut rows: Vec<(u64, u64)> = Vec::new();
            for same_time in records.chunk_by(|a, b| a.time == b.time) {
                let time = same_time[0].time;
                let mut before = rows.clone();
                for record in same_time {
                    top_three_or_clear(&mut rows, key, record.value, clear_every);
                }
                let mut after = rows.clone();
                // Consolidate as multisets: what stays cancels.
                before.sort();
                after.sort();
                let mut kept = Vec::new();
                before.retain(|row| match after.iter().position(|r| r == row) {
                    Some(at) => {
                        kept.push(after.remove(at));
                        false
                    }
                    None => true,
                });
                let changes = before.iter().map(|row| (-1, *row));
                let changes = changes.chain(after.iter().map(|row| (1, *row)));
                expected.extend(changes.map(|(diff, row)| (time, (diff, time, row))));
            }
        }
        expected.sort();
        assert!(expected.iter().any(|(_, (diff, ..))| *diff < 0), "{shape}");
        for workers in 1..=3 {
            for timed in [false, true] {
                let input = input.clone();
                let output = run_dataflow(workers, move |scope| {
                    let update = move |key: &u64, rows: &mut Vec<(u64, u64)>, value| {
                        top_three_or_clear(rows, *key, value, clear_every)
                    };
                    let changes = if timed {
                        scrambled_timed(scope, input.clone()).changelog_per_time("rows", update)
                    } else {
                        scrambled(scope, input.clone()).changelog_per_time("rows", update)
                    };
                    changes.map(|c| (c.diff, c.time, c.record))
                });
                assert_eq!(
                    output, expected,
                    "changelog_per_time on {workers} workers, timed {timed}, {shape}"
                );
            }
        }
    }
}

/// The windows of `window` that contain `time`, as `[start, end)`; the first hopping ones
/// start before 0.
fn windows_of(window: Window, time: Time) -> Vec<WindowBounds> {
    match window {
        Window::Global => vec![WindowBounds {
            start: 0,
            end: Time::MAX,
        }],
        Window::Tumbling { size } => {
            let start = time / size * size;
            vec![WindowBounds {
                start: start as i64,
                end: start + size,
            }]
        }
        Window::Hopping { size, slide } => {
            // Every window [s, s + size) with s a multiple of slide (negative ones included)
            // and s <= time < s + size; ends are positive multiples of slide.
            let mut bounds = Vec::new();
            let mut end = (time / slide + 1) * slide;
            while end <= time + size {
                bounds.push(WindowBounds {
                    start: end as i64 - size as i64,
                    end,
                });
                end += slide;
            }
            bounds
        }
    }
}

fn check_aggregate<A, R>(name: &'static str, window: Window, aggregator: A, reference: R)
where
    A: Aggregator<u64, Output = u64> + Send + Sync,
    R: Fn(&[u64]) -> u64,
{
    let input = records(20_000, 7, 40, 3);
    let mut groups: HashMap<(u64, WindowBounds), Vec<u64>> = HashMap::new();
    for record in input.iter() {
        for bounds in windows_of(window, record.time) {
            groups
                .entry((record.key, bounds))
                .or_default()
                .push(record.value);
        }
    }
    let mut expected: Vec<(Time, (u64, WindowBounds, u64))> = groups
        .into_iter()
        .map(|((key, bounds), values)| (bounds.end - 1, (key, bounds, reference(&values))))
        .collect();
    expected.sort();
    for workers in 1..=3 {
        let input = input.clone();
        let aggregator = aggregator.clone();
        let output = run_dataflow(workers, move |scope| {
            use timely::dataflow::operators::vec::Map;
            scrambled(scope, input.clone())
                .aggregate(name, window, aggregator.clone())
                .map(|result| (result.key, result.window, result.value))
        });
        assert_eq!(
            output.len(),
            expected.len(),
            "{name} on {workers} workers: number of results"
        );
        assert_eq!(output, expected, "{name} on {workers} workers");
    }
}

#[test]
fn aggregate_counts_per_key_over_tumbling_windows() {
    check_aggregate("count", Window::tumbling(100), Count, |values| {
        values.len() as u64
    });
}

#[test]
fn aggregate_sums_per_key_over_hopping_windows() {
    check_aggregate(
        "sum",
        Window::hopping(400, 100),
        Sum::<u64>::new(),
        |values| values.iter().sum(),
    );
}

#[test]
fn aggregate_takes_maxima_per_key_over_all_time() {
    check_aggregate("max", Window::Global, Max::<u64>::new(), |values| {
        values.iter().copied().max().unwrap_or_default()
    });
}

/// A window of random shape: tumbling, hopping (sizes a multiple of the slide, some
/// slides longer than the first phase's slices, some shorter), or global.
fn random_window(rng: &mut impl rand::Rng) -> Window {
    match rng.gen_range(0..5) {
        0 => Window::Global,
        1 | 2 => Window::tumbling(rng.gen_range(1..400)),
        _ => {
            let slide = rng.gen_range(1..120);
            Window::hopping(slide * rng.gen_range(1..6), slide)
        }
    }
}

#[test]
fn aggregate_and_its_top_k_match_a_reference_on_random_shapes() {
    use rand::Rng;
    use timely::dataflow::operators::vec::Map;
    let (seed, mut rng) = common::shapes_rng("aggregate and top-k");
    for round in 0..6 {
        let window = random_window(&mut rng);
        let k = rng.gen_range(1..4);
        let count = rng.gen_range(1..6_000);
        let per_time = rng.gen_range(1..12);
        let keys = rng.gen_range(1..300);
        // The best are the largest sums (scores that only grow, kept as they change) or the
        // smallest (scores that fall, found by a scan when the window fires).
        let largest = rng.gen_bool(0.5);
        let input = records(count, per_time, keys, seed.wrapping_add(round));
        let shape = format!(
            "{window:?}, k {k}, {count} records, {per_time} per ms, {keys} keys, largest {largest}"
        );
        // The reference: per key and window, the sum of values (small, so that ties are
        // common); per window, every key whose sum is at least the k-th best (ties kept),
        // best being largest or smallest.
        let mut sums: HashMap<(WindowBounds, u64), u64> = HashMap::new();
        for record in input.iter() {
            for bounds in windows_of(window, record.time) {
                *sums.entry((bounds, record.key)).or_default() += record.value % 3;
            }
        }
        let mut all: Vec<(Time, (u64, WindowBounds, u64))> = sums
            .iter()
            .map(|(&(bounds, key), &sum)| (bounds.end - 1, (key, bounds, sum)))
            .collect();
        all.sort();
        let mut per_window: BTreeMap<WindowBounds, Vec<u64>> = BTreeMap::new();
        for (&(bounds, _), &sum) in &sums {
            per_window.entry(bounds).or_default().push(sum);
        }
        let mut best: Vec<(Time, (u64, WindowBounds, u64))> = all
            .iter()
            .filter(|(_, (_, bounds, sum))| {
                let mut sums = per_window[bounds].clone();
                if largest {
                    sums.sort_unstable_by(|a, b| b.cmp(a));
                    *sum >= sums[(k - 1).min(sums.len() - 1)]
                } else {
                    sums.sort_unstable();
                    *sum <= sums[(k - 1).min(sums.len() - 1)]
                }
            })
            .copied()
            .collect();
        best.sort();
        for workers in 1..=3 {
            let records = input.clone();
            let output = run_dataflow(workers, move |scope| {
                scrambled(scope, records.clone())
                    .map(|(key, value)| (key, value % 3))
                    .aggregate("sums", window, Sum::<u64>::new())
                    .map(|result| (result.key, result.window, result.value))
            });
            assert_eq!(
                output, all,
                "aggregate, {shape}, {workers} workers (seed {seed})"
            );
            let records = input.clone();
            let output = run_dataflow(workers, move |scope| {
                scrambled_timed(scope, records.clone())
                    .map(|timed| weir::time::Timed {
                        time: timed.time,
                        record: (timed.record.0, timed.record.1 % 3),
                    })
                    .aggregate_top_k("best sums", window, Sum::<u64>::new(), k, move |_, sum| {
                        if largest {
                            *sum as i64
                        } else {
                            -(*sum as i64)
                        }
                    })
                    .map(|result| (result.key, result.window, result.value))
            });
            assert_eq!(
                output, best,
                "aggregate_top_k, {shape}, {workers} workers (seed {seed})"
            );
        }
    }
}

#[test]
fn generator_splits_records_over_workers_at_their_event_times() {
    for workers in 1..=3 {
        let output = run_dataflow(workers, |scope| {
            let spec = GeneratorSpec::new(10_000, EventClock::new(3_000.0));
            scope.generate(spec, |n| n)
        });
        let clock = EventClock::new(3_000.0);
        let expected: Vec<(Time, u64)> = (0..10_000).map(|n| (clock.time_of(n), n)).collect();
        assert_eq!(output, expected, "generator on {workers} workers");
    }
}

#[test]
fn a_paced_generator_delivers_every_record() {
    let output = run_dataflow(2, |scope| {
        let mut spec = GeneratorSpec::new(3_000, EventClock::new(30_000.0));
        spec.rate = Some(30_000.0);
        scope.generate(spec, |n| n)
    });
    let values: Vec<u64> = output.into_iter().map(|(_, n)| n).collect();
    assert_eq!(values, (0..3_000).collect::<Vec<_>>());
}
