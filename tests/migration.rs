//! Live migration: key groups change owner while a dataflow runs, and the output equals a
//! sequential reference, whatever the schedule. Workers, key groups, keys, record times,
//! plans and strategies are drawn from a printed seed (`WEIR_SHAPES_SEED=N` repeats them).

mod common;

use std::collections::BTreeMap;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use timely::dataflow::operators::capture::Extract;
use timely::dataflow::operators::{Capture, Input, Probe};
use timely::dataflow::{InputHandleVec, ProbeHandle};

use common::shapes_rng;
use weir::migration::{parse_migrations, schedule, Assignment, RoutingTable, Strategy};
use weir::operators::UpdateState;
use weir::state::KeyGroups;
use weir::time::Time;

/// A drawn migration schedule as `--migrate-at` and `--migration` would give it.
fn draw_schedule(rng: &mut SmallRng, last_time: Time, workers: usize) -> (String, Strategy) {
    let mut plans = Vec::new();
    let mut at = 0;
    for _ in 0..rng.gen_range(1..=3) {
        at += rng.gen_range(1..=last_time / 3 + 1);
        let plan = match rng.gen_range(0..3) {
            0 => "reverse".to_string(),
            1 => {
                let first = rng.gen_range(0..8);
                let last = rng.gen_range(first..16);
                format!("g{first}-g{last}>w{}", rng.gen_range(0..workers))
            }
            _ => format!(
                "g{}>w{}+g{}-g15>w{}",
                rng.gen_range(0..4),
                rng.gen_range(0..workers),
                rng.gen_range(4..16),
                rng.gen_range(0..workers)
            ),
        };
        plans.push(format!("{at}ms:{plan}"));
    }
    let strategy = match rng.gen_range(0..3) {
        0 => Strategy::AllAtOnce,
        1 => Strategy::Fluid,
        _ => Strategy::Batched(rng.gen_range(2..6)),
    };
    (plans.join(","), strategy)
}

/// Runs a running count per key on `workers` workers with `table` moving its key groups,
/// the records fed by every worker a time at a time; returns `(time, key, count)`.
fn counts_with(
    workers: usize,
    key_groups: KeyGroups,
    table: RoutingTable,
    records: Vec<(Time, u64)>,
) -> Vec<(Time, u64, u64)> {
    let mut config = timely::Config::process(workers);
    config
        .worker
        .set(KeyGroups::CONFIG_KEY.to_string(), key_groups);
    config
        .worker
        .set(RoutingTable::CONFIG_KEY.to_string(), table);
    let guards = timely::execute(config, move |worker| {
        let (me, peers) = (worker.index(), worker.peers());
        let mut input: InputHandleVec<Time, (u64, ())> = InputHandleVec::new();
        let probe = ProbeHandle::new();
        let captured = worker.dataflow::<Time, _, _>(|scope| {
            scope
                .input_from(&mut input)
                .update_state("counts", |key: &u64, count: &mut u64, ()| {
                    *count += 1;
                    Some((*key, *count))
                })
                .probe_with(&probe)
                .capture()
        });
        // Each worker feeds its share, a time at a time, stepping between times so that
        // records, frontiers and hand-overs interleave.
        for (n, (time, key)) in records.iter().enumerate() {
            if n % peers != me {
                continue;
            }
            if *time > *input.time() {
                input.advance_to(*time);
                worker.step();
            }
            input.send((*key, ()));
        }
        input.close();
        worker.step_while(|| !probe.done());
        captured
    })
    .expect("timely starts");
    let mut out = Vec::new();
    for captured in guards.join() {
        for (time, data) in captured.expect("a worker finished").extract() {
            out.extend(data.into_iter().map(|(key, count)| (time, key, count)));
        }
    }
    out.sort();
    out
}

/// The running count per key of `records`, in time order, computed sequentially.
fn reference(records: &[(Time, u64)]) -> Vec<(Time, u64, u64)> {
    let mut sorted = records.to_vec();
    sorted.sort();
    let mut counts: BTreeMap<u64, u64> = BTreeMap::new();
    let mut out: Vec<(Time, u64, u64)> = sorted
        .into_iter()
        .map(|(time, key)| {
            let count = counts.entry(key).or_default();
            *count += 1;
            (time, key, *count)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn running_counts_equal_the_reference_under_any_migration_schedule() {
    let (seed, mut rng) = shapes_rng("migration schedules");
    for round in 0..6 {
        let mut rng = SmallRng::seed_from_u64(rng.r#gen());
        let workers = rng.gen_range(2..=3);
        let key_groups = KeyGroups::new(16);
        let keys = rng.gen_range(1..200u64);
        let last_time: Time = rng.gen_range(20..400);
        let count = rng.gen_range(100..3000);
        let mut records: Vec<(Time, u64)> = (0..count)
            .map(|_| (rng.gen_range(0..=last_time), rng.gen_range(0..keys)))
            .collect();
        records.sort_by_key(|(time, _)| *time);
        let step = rng.gen_range(1..5);
        // Plans that happen to move nothing (groups sent where they are) are drawn again.
        let (plan, strategy, table) = loop {
            let (plan, strategy) = draw_schedule(&mut rng, last_time, workers);
            let planned = parse_migrations(&plan).expect(&plan);
            let table = schedule(
                Assignment::ranges(key_groups, workers),
                workers,
                &planned,
                strategy,
                step,
                |_, _| Vec::new(),
            )
            .expect(&plan);
            if !table.is_fixed() {
                break (plan, strategy, table);
            }
        };
        let what = format!(
            "WEIR_SHAPES_SEED={seed} round {round}: -w {workers}, {count} records of {keys} keys \
             to {last_time} ms, --migrate-at {plan} --migration {strategy}, a step every {step} ms"
        );
        let got = counts_with(workers, key_groups, table, records.clone());
        // A record applied by no worker, by two, or before its group's state arrived shows
        // as a missing, doubled or restarted count.
        assert_eq!(got, reference(&records), "{what}");
    }
}

#[test]
fn a_record_at_the_moment_of_its_groups_move_is_applied_once_after_the_state() {
    let (seed, mut rng) = shapes_rng("migration boundary");
    // One key, records at every millisecond around the move: a one-millisecond routing
    // gap (a record at T routed to the old owner after it handed over, or applied by the
    // new one before the state came) shows as a wrong count.
    let workers = rng.gen_range(2..=3);
    let key_groups = KeyGroups::new(8);
    let key = rng.gen_range(0..1000u64);
    let group = key_groups.group_of(&key).0;
    let owner = key_groups.worker_of(key_groups.group_of(&key), workers);
    let to = (owner + 1) % workers;
    let at: Time = rng.gen_range(5..50);
    let plan = format!("{at}ms:g{group}>w{to},{}ms:g{group}>w{owner}", at + 1);
    let what = format!("WEIR_SHAPES_SEED={seed}: key {key} (group {group}), {plan}, -w {workers}");
    let table = schedule(
        Assignment::ranges(key_groups, workers),
        workers,
        &parse_migrations(&plan).expect(&what),
        Strategy::AllAtOnce,
        1,
        |_, _| Vec::new(),
    )
    .expect(&what);
    let records: Vec<(Time, u64)> = (at - 3..at + 4)
        .flat_map(|time| [(time, key), (time, key)])
        .collect();
    let got = counts_with(workers, key_groups, table, records.clone());
    assert_eq!(got, reference(&records), "{what}");
}

/// A `--migrate-at` for a run whose event times end at `last_ms`, and its strategy.
fn draw_cli_schedule(rng: &mut SmallRng, last_ms: Time, workers: usize) -> Vec<String> {
    let (plan, strategy) = draw_schedule(rng, last_ms, workers);
    vec![
        "--migrate-at".into(),
        plan,
        "--migration".into(),
        strategy.to_string(),
        "--migration-step".into(),
        format!("{}ms", rng.gen_range(1..4)),
    ]
}

/// The pipelines whose state moves in a live migration, each with an operator of another
/// kind: counters (`update_state`), joins, deadlines (`process_keyed`: closing auctions,
/// sessions), windows (hopping, tumbling, top-k, cogroups) and changelogs.
const MIGRATING_PIPELINES: [&str; 11] = [
    "seed-state",
    "wordcount",
    "nexmark-q3",
    "nexmark-q4",
    "nexmark-q5",
    "nexmark-q6",
    "nexmark-q7",
    "nexmark-q8",
    "nexmark-q11",
    "nexmark-q18",
    "nexmark-q19",
];

#[test]
fn weir_run_with_migrations_equals_the_run_without_on_any_shape() {
    let (seed, mut rng) = shapes_rng("migrating runs");
    let dir = tempfile::tempdir().expect("temp dir");
    let shapes = [(1, 2), (1, 3), (2, 1), (2, 2)];
    // Every pipeline on two shapes drawn from the four, so that each run of the test
    // stays short and every pipeline and shape is met across runs.
    for pipeline in MIGRATING_PIPELINES {
        let events = rng.gen_range(50..300u64) * 1000;
        // Slow event time makes windows end and deadlines pass amid the migrations.
        let event_rate = rng.gen_range(20..1000u64) * 1000;
        let keys = rng.gen_range(1..5000u64).to_string();
        let (events_flag, rate_flag) = (events.to_string(), event_rate.to_string());
        let job = [
            "run",
            pipeline,
            "--events",
            &events_flag,
            "--event-rate",
            &rate_flag,
            "--keys",
            &keys,
        ];
        let expected = common::run_lines(dir.path(), &job);
        assert!(
            !expected.is_empty() || pipeline == "nexmark-q8",
            "{pipeline}: no output"
        );
        let first = rng.gen_range(0..shapes.len());
        let second = (first + rng.gen_range(1..shapes.len())) % shapes.len();
        for (processes, workers) in [shapes[first], shapes[second]] {
            let total = processes * workers;
            let migration = draw_cli_schedule(&mut rng, events * 1000 / event_rate, total);
            let what =
                format!("WEIR_SHAPES_SEED={seed}: {job:?} {migration:?} on {processes}x{workers}");
            let mut args: Vec<&str> = job.to_vec();
            args.extend(migration.iter().map(String::as_str));
            let got = if processes == 1 {
                let workers = workers.to_string();
                args.extend(["-w", &workers]);
                common::run_lines(dir.path(), &args)
            } else {
                common::run_cluster_lines(dir.path(), processes, workers, &args)
            };
            common::assert_same_multiset(&got, &expected, &what);
        }
    }
}

#[test]
fn a_crash_amid_migrations_restores_and_publishes_exactly_the_reference() {
    use common::snapshot_job::{assert_killed, reference, Job};
    let (seed, mut rng) = shapes_rng("migration crash");
    let dir = tempfile::tempdir().expect("temp dir");
    // At least 150k records paced at 200k a second: long enough for a dozen commits.
    let events = rng.gen_range(150..300u64) * 1000;
    let events_flag = events.to_string();
    let pipeline = MIGRATING_PIPELINES[rng.gen_range(0..MIGRATING_PIPELINES.len())];
    // Event time at 200k records a second, the pace of the runs below (a pace alone would
    // set the event rate too, and the reference has none).
    let job_args = [
        "run",
        pipeline,
        "--events",
        &events_flag,
        "--event-rate",
        "200k",
        "--keys",
        "3000",
    ];
    let expected = reference(dir.path(), &job_args);
    let workers = rng.gen_range(2..=3usize);
    // Paced at 200k records a second: 200 a millisecond of event time.
    let migration = draw_cli_schedule(&mut rng, events / 200, workers);
    let mut args: Vec<&str> = job_args.to_vec();
    args.extend(["--rate", "200k"]);
    args.extend(migration.iter().map(String::as_str));
    let job = Job::new(dir.path(), &args).every("20ms");
    // After the n-th commit, so that there is a snapshot to restore.
    let visit = rng.gen_range(2..12);
    let fault = format!("after-manifest:{visit}");
    let what = format!(
        "WEIR_SHAPES_SEED={seed}: {pipeline} {migration:?} on -w {workers}, crash at {fault}"
    );
    eprintln!("{what}");
    let w = workers.to_string();
    let crashed = job.run(&["-w", &w], Some(&fault));
    assert_killed(&crashed, &what);
    // Restored onto one more worker (the plan's explicit moves name workers of the first
    // shape): the plan is laid out for that count, and each group's state is found where
    // the old run's assignment had put it.
    let again = (workers + 1).to_string();
    let published = job.restore_to_end(&["-w", &again]);
    common::assert_same_multiset(&published, &expected, &what);
}

#[test]
fn a_run_reports_the_groups_it_moved_and_a_bad_plan_is_a_clear_error() {
    let output = common::run(&[
        "run",
        "seed-state",
        "--events",
        "100k",
        "-w",
        "2",
        "--output",
        "/dev/null",
        "-q",
        "--migrate-at",
        "20ms:reverse",
        "--migration",
        "all-at-once",
    ]);
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{said}");
    // All 256 groups change owner on two workers.
    assert!(said.contains("handed 256 key group(s) over"), "{said}");
    // q5's windows move with their key groups, in both its operators: the counts per
    // auction and the best per window.
    let output = common::run(&[
        "run",
        "nexmark-q5",
        "--events",
        "100k",
        "--output",
        "/dev/null",
        "-q",
        "--migrate-at",
        "20ms:reverse",
        "--migration",
        "batched:64",
        "-w",
        "2",
    ]);
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("handed 512 key group(s) over"), "{said}");
    // Arranged state (differential's arrangements) stays where the job started it.
    let output = common::run(&[
        "run",
        "nexmark-q3",
        "--state",
        "arranged",
        "--events",
        "10k",
        "--output",
        "/dev/null",
        "-q",
        "--migrate-at",
        "5ms:reverse",
        "-w",
        "2",
    ]);
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("moved no state"), "{said}");
    for (plan, expected) in [
        ("5s:g0>w2", "workers w0-w1"),
        ("5s:g0-g300>w1", "key groups g0-g255"),
        ("5s:sideways", "WHEN:PLAN"),
        ("5s:balance", "measured load"),
    ] {
        let error = common::run_error(&[
            "run",
            "seed-state",
            "--events",
            "1k",
            "-w",
            "2",
            "--migrate-at",
            plan,
        ]);
        assert!(error.contains(expected), "{plan}: {error}");
        assert!(!error.contains("panicked"), "{error}");
    }
}
