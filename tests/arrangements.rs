//! Arrangements as state: `graph-reach` (differential's `iterate` over edges kept as weir
//! state) against a recomputation from scratch at every millisecond, on `-w 1/2/3` and two
//! processes; its snapshots hold exactly the updates before their epochs; crashes and
//! restores onto other shapes lose and double nothing. Shapes are drawn from a printed seed
//! (`WEIR_SHAPES_SEED=N` repeats them).

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rand::rngs::SmallRng;
use rand::Rng;

use common::snapshot_job::{assert_killed, assert_success, reference, Job};
use common::{assert_same_multiset, check_all_layouts, shapes_rng};
use weir::changelog::Change;
use weir::operators::{ArrangeState, EnterCollection, LeaveCollection};
use weir::pipelines::graph_reach::{Edge, EdgeChanges, ROOT};
use weir::sources::ToTimedStream;
use weir::time::{EventClock, Time};

/// The changelog of the nodes reachable from the root, recomputed from scratch after every
/// millisecond's changes (`changes` in time order).
fn reachable_changelog(changes: &[Change<Edge>]) -> Vec<String> {
    let mut sums: HashMap<Edge, isize> = HashMap::new();
    let mut reached: BTreeSet<u64> = BTreeSet::new();
    let mut lines = Vec::new();
    let mut index = 0;
    while index < changes.len() {
        let time = changes[index].time;
        while index < changes.len() && changes[index].time == time {
            *sums.entry(changes[index].record).or_default() += changes[index].diff;
            index += 1;
        }
        let mut out: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        for (edge, _) in sums.iter().filter(|(_, sum)| **sum > 0) {
            out.entry(edge.src).or_default().push(edge.dst);
        }
        let mut now = BTreeSet::from([ROOT]);
        let mut frontier = vec![ROOT];
        while let Some(node) = frontier.pop() {
            for &next in out.get(&node).into_iter().flatten() {
                if now.insert(next) {
                    frontier.push(next);
                }
            }
        }
        for node in reached.difference(&now) {
            lines.push(format!("{{\"diff\":-1,\"time\":{time},\"node\":{node}}}"));
        }
        for node in now.difference(&reached) {
            lines.push(format!("{{\"diff\":1,\"time\":{time},\"node\":{node}}}"));
        }
        reached = now;
    }
    lines
}

/// A generated run: changes, nodes, event rate and seed.
#[derive(Debug)]
struct Generated {
    events: u64,
    nodes: u64,
    event_rate: u64,
    seed: u64,
}

impl Generated {
    fn draw(rng: &mut SmallRng) -> Generated {
        Generated {
            events: rng.gen_range(1..10_000),
            nodes: [1, 10, 100, 1_000, 5_000][rng.gen_range(0..5)],
            // At 2,000 changes per second, one change per millisecond.
            event_rate: [2_000, 10_000, 100_000][rng.gen_range(0..3)],
            seed: rng.gen_range(0..1_000),
        }
    }

    fn args(&self) -> Vec<String> {
        let mut args = vec!["run", "graph-reach"]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>();
        for (flag, value) in [
            ("--events", self.events),
            ("--keys", self.nodes),
            ("--event-rate", self.event_rate),
            ("--seed", self.seed),
        ] {
            args.extend([flag.to_string(), value.to_string()]);
        }
        args
    }

    fn changes(&self) -> Vec<Change<Edge>> {
        let changes = EdgeChanges::new(
            self.seed,
            self.nodes,
            EventClock::new(self.event_rate as f64),
        );
        (0..self.events).map(|n| changes.change(n)).collect()
    }
}

#[test]
fn graph_reach_equals_a_recomputation_from_scratch_at_every_millisecond() {
    let (seed, mut rng) = shapes_rng("graph-reach generated");
    for _ in 0..3 {
        let run = Generated::draw(&mut rng);
        let expected = reachable_changelog(&run.changes());
        let args = run.args();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        check_all_layouts(
            &args,
            &expected,
            &format!("WEIR_SHAPES_SEED={seed}: {run:?}"),
        );
    }
}

#[test]
fn graph_reach_reads_any_changes_from_a_file() {
    let (seed, mut rng) = shapes_rng("graph-reach from a file");
    let dir = tempfile::tempdir().expect("temp dir");
    // Any diffs, including deletions of absent edges and edges inserted several times:
    // an edge is present only while its sum is positive.
    let nodes = rng.gen_range(1..50u64);
    let mut time: Time = rng.gen_range(0..5);
    let changes: Vec<Change<Edge>> = (0..rng.gen_range(1..4_000))
        .map(|_| {
            time += rng.gen_range(0..3);
            Change {
                diff: [-2, -1, 1, 1, 1, 2][rng.gen_range(0..6)],
                time,
                record: Edge {
                    src: rng.gen_range(0..nodes),
                    dst: rng.gen_range(0..nodes),
                },
            }
        })
        .collect();
    let text: String = changes
        .iter()
        .map(|c| serde_json::to_string(c).expect("encode") + "\n")
        .collect();
    let path = dir.path().join("edges.jsonl");
    std::fs::write(&path, text).expect("write input");
    let expected = reachable_changelog(&changes);
    let input = path.to_str().expect("utf-8 path");
    check_all_layouts(
        &["run", "graph-reach", "--input", input],
        &expected,
        &format!(
            "WEIR_SHAPES_SEED={seed}: {} changes among {nodes} nodes",
            changes.len()
        ),
    );
}

/// The snapshot of every epoch holds, per edge, the sum of its diffs before the epoch.
#[test]
fn an_arrangement_snapshot_holds_exactly_the_updates_before_its_epoch() {
    let (seed, mut rng) = shapes_rng("graph-reach snapshot contents");
    let root = tempfile::tempdir().expect("temp dir");
    let run = Generated {
        events: rng.gen_range(5_000..30_000),
        nodes: rng.gen_range(2..3_000),
        event_rate: 10_000,
        seed: rng.gen_range(0..1_000),
    };
    let workers = rng.gen_range(1..=3).to_string();
    let what = format!("WEIR_SHAPES_SEED={seed}: {run:?} on {workers} workers");
    let args = run.args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // At least three epochs before the input ends, so that two snapshots are kept.
    let duration_ms = run.events * 1000 / run.event_rate;
    let every_ms = rng.gen_range(20..=duration_ms / 3);
    let what = format!("{what}, snapshots every {every_ms} ms");
    // Paced, so that changes keep arriving across several snapshots. On a loaded machine a
    // source that fell behind its pace catches up in one batch past several boundaries,
    // leaving fewer snapshots: such a run is repeated (in a fresh directory), at most twice.
    let mut attempts = 0;
    let (job, epochs) = loop {
        let job = Job::new(root.path(), &args).every(&format!("{every_ms}ms"));
        assert_success(&job.run(&["-w", &workers, "--rate", "40k"], None), &what);
        let epochs = job.complete_epochs();
        attempts += 1;
        if epochs.len() >= 2 || attempts == 3 {
            break (job, epochs);
        }
    };
    let changes = run.changes();
    assert!(
        epochs.len() >= 2,
        "{what}: epochs {epochs:?} after {attempts} runs"
    );
    for epoch in epochs {
        let mut state: BTreeMap<(u64, u64), isize> = BTreeMap::new();
        for (edge, sum) in job.state_entries::<((u64, u64), isize)>(epoch, "graph-reach edges") {
            assert!(state.insert(edge, sum).is_none(), "{what}: {edge:?} twice");
        }
        let mut expected: BTreeMap<(u64, u64), isize> = BTreeMap::new();
        for change in changes.iter().take_while(|c| c.time < epoch) {
            *expected
                .entry((change.record.src, change.record.dst))
                .or_default() += change.diff;
        }
        expected.retain(|_, sum| *sum != 0);
        assert_eq!(state, expected, "{what}: edges in the snapshot of {epoch}");
    }
}

/// Crashed on one worker, restored onto three and crashed again, restored onto two; and
/// crashed as one process, restored as two.
#[test]
fn graph_reach_survives_crashes_and_rescaling() {
    let (seed, mut rng) = shapes_rng("graph-reach rescaling");
    let root = tempfile::tempdir().expect("temp dir");
    let run = Generated {
        events: rng.gen_range(10_000..30_000),
        nodes: rng.gen_range(100..3_000),
        event_rate: 10_000,
        seed: rng.gen_range(0..1_000),
    };
    let what = format!("WEIR_SHAPES_SEED={seed}: {run:?}");
    let args = run.args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let expected = reference(root.path(), &args);
    assert_same_multiset(&expected, &reachable_changelog(&run.changes()), &what);
    let crash = |k: u64| format!("after-manifest:{k}");
    // Paced, so that every epoch of the input commits a snapshot of its own.
    let paced = ["--rate", "40k"];

    let job = Job::new(root.path(), &args);
    let first = crash(rng.gen_range(1..=4));
    let run_1 = [&paced[..], &["-w", "1"]].concat();
    assert_killed(&job.run(&run_1, Some(&first)), &format!("{what}: -w 1"));
    let second = crash(rng.gen_range(1..=4));
    let run_3 = [&paced[..], &["-w", "3", "--restore", "latest"]].concat();
    let restored = job.run(&run_3, Some(&second));
    if restored.status.code() == Some(common::snapshot_job::KILLED) {
        let published = job.restore_to_end(&["-w", "2"]);
        assert_same_multiset(
            &published,
            &expected,
            &format!("{what}: 1 -> 3 -> 2 workers"),
        );
    } else {
        // The job ended before the second fault struck.
        assert_success(&restored, &what);
        assert_same_multiset(
            &job.published(),
            &expected,
            &format!("{what}: 1 -> 3 workers"),
        );
    }

    let job = Job::new(root.path(), &args);
    let run_1 = [&paced[..], &["-w", "1"]].concat();
    assert_killed(&job.run(&run_1, Some(&crash(rng.gen_range(1..=4)))), &what);
    for (process, output) in job
        .run_cluster(2, 1, &["--restore", "latest"], None)
        .iter()
        .enumerate()
    {
        assert_success(output, &format!("{what}: restored process {process}"));
    }
    assert_same_multiset(
        &job.published(),
        &expected,
        &format!("{what}: 1 process -> 2"),
    );
}

/// An arrangement kept as state meets collections that differential arranges itself on
/// the same workers: a join of the two finds every pair, on any number of workers.
#[test]
fn a_state_arrangement_joins_with_collections_differential_arranges() {
    let (seed, mut rng) = shapes_rng("state arrangement joins");
    let keys = rng.gen_range(1..200u64);
    let left: Vec<(Time, (u64, u64))> = (0..rng.gen_range(1..2_000))
        .map(|n| (rng.gen_range(0..50), (rng.gen_range(0..keys), n)))
        .collect();
    let right: Vec<(Time, (u64, u64))> = (0..rng.gen_range(1..2_000))
        .map(|n| (rng.gen_range(0..50), (rng.gen_range(0..keys), n)))
        .collect();
    let mut expected: Vec<(Time, (u64, u64, u64))> = Vec::new();
    for &(t1, (k1, a)) in &left {
        for &(t2, (k2, b)) in &right {
            if k1 == k2 {
                expected.push((t1.max(t2), (k1, a, b)));
            }
        }
    }
    expected.sort();
    for workers in 1..=3 {
        let (left, right) = (left.clone(), right.clone());
        let joined = common::run_dataflow(workers, move |scope| {
            let state = left
                .clone()
                .to_timed_stream(scope)
                .inserts()
                .arrange_state("left");
            right
                .clone()
                .to_timed_stream(scope)
                .inserts()
                .join_core(state, |key, b, a| Some((*key, *a, *b)))
                .records()
        });
        assert_eq!(
            joined, expected,
            "WEIR_SHAPES_SEED={seed}: {keys} keys on {workers} workers"
        );
    }
}
