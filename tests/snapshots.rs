//! Snapshots, recovery and exactly-once output, tested by killing the `weir` process: at
//! injected fault points (`WEIR_FAULT`, among them while a snapshot is being written) and by
//! SIGKILL at chosen moments of paced runs; by restoring onto other numbers of workers and
//! processes; by damaging snapshots; and by decoding a snapshot's state and comparing it
//! with the state as of its epoch computed sequentially.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::snapshot_job::{assert_killed, assert_success, reference, stderr, Job, KILLED};
use common::{assert_same_multiset, weir};
use weir::pipelines::seed::seed_state_value;
use weir::snapshot::Manifest;
use weir::time::EventClock;

const SEED_STATE: &[&str] = &[
    "run",
    "seed-state",
    "--events",
    "120k",
    "--keys",
    "300",
    "--event-rate",
    "100k",
    "--seed",
    "7",
];

const WORDCOUNT: &[&str] = &[
    "run",
    "wordcount",
    "--events",
    "120k",
    "--event-rate",
    "100k",
    "--seed",
    "3",
];

/// Every fault point, at different visits: each run dies there, is restored (possibly
/// dying again at the same point of the restored run) and run to the end; the published
/// output is the fault-free output exactly, no line lost or doubled.
fn crash_at_fault_points(pipeline: &[&str], faults: &[&str], workers: &str) {
    let root = tempfile::tempdir().expect("temp dir");
    let expected = reference(root.path(), &[pipeline, &["-w", workers]].concat());
    for fault in faults {
        let job = Job::new(root.path(), pipeline);
        // Paced, as in `crashed_job`: unpaced on a busy machine the frontier can jump over
        // epochs, and the job may end before the fault's epoch (seen in CI).
        let first = job.run(&["-w", workers, "--rate", "200k"], Some(fault));
        assert_killed(&first, &format!("{pipeline:?} with WEIR_FAULT={fault}"));
        // A second crash at the same point of the restored run, where it gets that far.
        let second = job.run(&["-w", workers, "--restore", "latest"], Some(fault));
        assert!(
            second.status.success() || second.status.code() == Some(KILLED),
            "restore under WEIR_FAULT={fault} failed: {}",
            stderr(&second)
        );
        let published = job.restore_to_end(&["-w", workers]);
        assert_same_multiset(&published, &expected, &format!("after WEIR_FAULT={fault}"));
    }
}

#[test]
fn seed_state_survives_every_fault_point() {
    crash_at_fault_points(
        SEED_STATE,
        &[
            "part-written:1",
            "part-written:7",
            "before-manifest:2",
            "before-manifest-rename:4",
            "after-manifest:3",
            "mid-publish:2",
            "after-publish:5",
        ],
        "2",
    );
}

#[test]
fn wordcount_survives_fault_points() {
    crash_at_fault_points(
        WORDCOUNT,
        &[
            "part-written:3",
            "before-manifest:5",
            "after-manifest:6",
            // Wordcount publishes only its final counts: the crash lands there.
            "mid-publish:1",
        ],
        "2",
    );
}

/// A NEXMark query over a directory of event files (cut at random lines, on a random
/// number of workers, crashed at a random early fault point) restores onto another number
/// of workers and publishes the fault-free output; a restore after one of the files changed
/// is refused, since its resume offsets would mean other lines.
#[test]
fn a_directory_of_files_resumes_exactly_and_refuses_changed_files() {
    use rand::seq::SliceRandom;
    use rand::Rng;
    let (_, mut rng) = common::shapes_rng("a directory of files resumes exactly");
    let root = tempfile::tempdir().expect("temp dir");
    let events = root.path().join("events.jsonl");
    let generate = weir()
        .args([
            "nexmark",
            "generate",
            "--events",
            "150k",
            "--event-rate",
            "4k",
        ])
        .args(["--seed", "5", "--output"])
        .arg(&events)
        .status()
        .expect("the weir binary runs");
    assert!(generate.success());
    let parts = common::split_into_files(&events, root.path(), &mut rng);
    // q1 is a chain: its line source stages its output itself.
    let query = *["nexmark-q1", "nexmark-q3", "nexmark-q5", "nexmark-q8"]
        .choose(&mut rng)
        .expect("one");
    let single = [
        "run",
        query,
        "--input",
        events.to_str().expect("utf-8 path"),
    ];
    let expected = reference(root.path(), &single);
    let pipeline = ["run", query, "--input", parts.to_str().expect("utf-8 path")];
    let job = Job::new(root.path(), &pipeline);
    // Each after a commit, so that there is a snapshot whose offsets a change would move.
    let fault = *["after-manifest:1", "after-manifest:2", "after-publish:1"]
        .choose(&mut rng)
        .expect("one");
    let (before, after) = (rng.gen_range(1..=3), rng.gen_range(1..=3));
    let shape = format!("{query} over {parts:?}, {fault} on -w {before}, restored on -w {after}");
    assert_killed(&job.run(&["-w", &before.to_string()], Some(fault)), &shape);
    assert!(!job.complete_epochs().is_empty(), "{shape}: no snapshot");

    let mut files: Vec<PathBuf> = std::fs::read_dir(&parts)
        .expect("list parts")
        .map(|entry| entry.expect("entry").path())
        .collect();
    files.sort();
    let changed = files.last().expect("a part");
    let original = std::fs::read(changed).expect("read part");
    let mut longer = original.clone();
    longer.extend_from_slice(b"\n");
    std::fs::write(changed, &longer).expect("change part");
    let message = job.restore_error(&["-w", &after.to_string()]);
    assert!(
        message.contains("not those of the snapshot"),
        "{shape}: {message}"
    );

    std::fs::write(changed, &original).expect("restore part");
    let published = job.restore_to_end(&["-w", &after.to_string()]);
    assert_same_multiset(&published, &expected, &shape);
}

#[test]
fn wordcount_over_a_text_file_survives_a_crash_and_resumes_its_input() {
    let root = tempfile::tempdir().expect("temp dir");
    let input = root.path().join("words.txt");
    // A worker reads up to 8192 lines per step and one step may pass many epochs, so the
    // file spans many steps: then the job commits several epochs before its end wherever
    // the scheduler puts the steps, and the second manifest is one taken mid-file.
    let text: String = (0..300_000)
        .map(|i| format!("w{} w{} common\n", i % 97, (i * 7) % 1013))
        .collect();
    std::fs::write(&input, text).expect("write input");
    let input = input.to_str().expect("utf-8 path");
    let pipeline = ["run", "wordcount", "--input", input, "--event-rate", "50k"];
    let expected = reference(root.path(), &[&pipeline[..], &["-w", "2"]].concat());
    for (fault, workers_after) in [("part-written:4", "2"), ("after-manifest:2", "3")] {
        let job = Job::new(root.path(), &pipeline);
        assert_killed(&job.run(&["-w", "2"], Some(fault)), fault);
        let published = job.restore_to_end(&["-w", workers_after]);
        assert_same_multiset(&published, &expected, &format!("text input after {fault}"));
    }
}

/// SIGKILL at chosen moments of paced runs: wherever the kill lands (applying records,
/// capturing, writing a part, committing, publishing), the restored job publishes exactly
/// the fault-free output.
#[test]
fn sigkill_at_many_moments_loses_and_doubles_nothing() {
    let paced: Vec<&str> = [SEED_STATE, &["--rate", "100k", "-w", "2"]].concat();
    let root = tempfile::tempdir().expect("temp dir");
    let expected = reference(root.path(), &paced);
    // Twelve distinct moments over the 1.2 s run, at uneven offsets.
    let moments_ms = [40, 95, 160, 230, 310, 380, 455, 540, 620, 730, 860, 990];
    let jobs: Vec<(u64, Job)> = moments_ms
        .iter()
        .map(|&ms| (ms, Job::new(root.path(), &paced)))
        .collect();
    let mut killed = 0;
    for (ms, job) in &jobs {
        let mut child = job.command(&[], None).spawn().expect("spawn weir");
        std::thread::sleep(Duration::from_millis(*ms));
        if child.try_wait().expect("poll weir").is_none() {
            killed += 1;
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    assert!(
        killed >= 8,
        "only {killed} of the runs were still going when killed"
    );
    for (ms, job) in &jobs {
        let published = job.restore_to_end(&[]);
        assert_same_multiset(&published, &expected, &format!("killed after {ms} ms"));
    }
}

#[test]
fn restores_onto_fewer_and_more_workers() {
    let root = tempfile::tempdir().expect("temp dir");
    let expected = reference(root.path(), &[SEED_STATE, &["-w", "2"]].concat());
    for after in ["1", "3"] {
        let job = Job::new(root.path(), SEED_STATE);
        // Paced, so that the fourth commit comes however loaded the machine is (unpaced,
        // a slow writer lets epochs merge, and a run may commit fewer than four).
        let paced = ["-w", "2", "--rate", "200k"];
        assert_killed(&job.run(&paced, Some("after-manifest:4")), "-w 2");
        let published = job.restore_to_end(&["-w", after]);
        assert_same_multiset(&published, &expected, &format!("2 workers -> {after}"));
    }
    // Wordcount's state is its aggregate's panes.
    let expected = reference(root.path(), &[WORDCOUNT, &["-w", "2"]].concat());
    let job = Job::new(root.path(), WORDCOUNT);
    assert_killed(&job.run(&["-w", "2"], Some("after-manifest:5")), "-w 2");
    let published = job.restore_to_end(&["-w", "3"]);
    assert_same_multiset(&published, &expected, "wordcount 2 workers -> 3");
}

#[test]
fn restores_between_one_process_and_two() {
    let root = tempfile::tempdir().expect("temp dir");
    let expected = reference(root.path(), &[SEED_STATE, &["-w", "2"]].concat());

    // One process of two workers, restored as two processes of one worker. The crashing
    // runs are paced (as in `crashed_job`): unpaced on a busy machine the frontier can jump
    // over epochs, and the job may end before its third manifest.
    let job = Job::new(root.path(), SEED_STATE);
    let paced = ["-w", "2", "--rate", "200k"];
    assert_killed(&job.run(&paced, Some("after-manifest:3")), "-w 2");
    for (process, output) in job
        .run_cluster(2, 1, &["--restore", "latest"], None)
        .iter()
        .enumerate()
    {
        assert_success(output, &format!("restored process {process}"));
    }
    assert_same_multiset(&job.published(), &expected, "1x2 -> 2x1");

    // Two processes of one worker, crashed, restored as one process of two workers.
    let job = Job::new(root.path(), SEED_STATE);
    let outputs = job.run_cluster(2, 1, &paced[2..], Some("after-manifest:3"));
    assert_killed(&outputs[0], "process 0");
    // Process 1 may have finished its share already, or fails on losing process 0; either
    // way it ends, and without a panic.
    assert!(
        !stderr(&outputs[1]).contains("panicked"),
        "{}",
        stderr(&outputs[1])
    );
    let published = job.restore_to_end(&["-w", "2"]);
    assert_same_multiset(&published, &expected, "2x1 -> 1x2");
}

/// A job with several complete snapshots, cut short by a crash before its end.
fn crashed_job(root: &Path) -> Job {
    let job = Job::new(root, SEED_STATE);
    // Paced, so that every epoch is committed on its own: unpaced on a busy machine, the
    // frontier may jump over several epochs at once, and the sixth publish may be the
    // last (the job finishes) or never come.
    let setup = job.run(&["-w", "2", "--rate", "200k"], Some("after-publish:6"));
    assert_killed(&setup, "setup");
    assert!(
        job.complete_epochs().len() >= 2,
        "setup left {:?}",
        job.complete_epochs()
    );
    job
}

fn newest_state_part(job: &Job) -> PathBuf {
    let newest = *job.complete_epochs().last().expect("a snapshot");
    let dir = job.epoch_dir(newest);
    let mut parts: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read epoch dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "part"))
        .collect();
    parts.sort();
    parts.into_iter().next().expect("a state part")
}

/// Restores after `damage`, expecting a fallback to the previous snapshot that names the
/// damaged one and why, and the fault-free output in the end.
fn falls_back_after(damage: impl Fn(&Job), why: &str) {
    let root = tempfile::tempdir().expect("temp dir");
    let expected = reference(root.path(), &[SEED_STATE, &["-w", "2"]].concat());
    let job = crashed_job(root.path());
    let newest = *job.complete_epochs().last().expect("a snapshot");
    damage(&job);
    let verify = weir()
        .args(["snapshot", "verify"])
        .arg(&job.snapshots)
        .output()
        .expect("weir snapshot verify runs");
    let restored = job.run(&["-w", "2", "--restore", "latest"], None);
    assert_success(&restored, "restore after damage");
    let message = stderr(&restored);
    assert!(
        message.contains(&newest.to_string()) && message.contains(why),
        "the fallback should name snapshot {newest} and say {why:?}: {message}"
    );
    assert!(
        message.contains("restoring snapshot"),
        "it should restore an older snapshot: {message}"
    );
    assert_same_multiset(&job.published(), &expected, why);
    // A damaged manifest or part fails verification; a missing manifest is only incomplete.
    if why != "incomplete" {
        assert_eq!(verify.status.code(), Some(1), "verify should fail: {why}");
    }
}

#[test]
fn a_truncated_part_falls_back_to_the_previous_snapshot() {
    falls_back_after(
        |job| {
            let part = newest_state_part(job);
            let length = std::fs::metadata(&part).expect("part").len();
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(&part)
                .expect("open part");
            file.set_len(length / 2).expect("truncate");
        },
        "truncated",
    );
}

#[test]
fn a_flipped_byte_falls_back_to_the_previous_snapshot() {
    falls_back_after(
        |job| {
            let part = newest_state_part(job);
            let mut bytes = std::fs::read(&part).expect("read part");
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x10;
            std::fs::write(&part, bytes).expect("write part");
        },
        "checksum",
    );
}

#[test]
fn a_missing_manifest_falls_back_to_the_previous_snapshot() {
    falls_back_after(
        |job| {
            let newest = *job.complete_epochs().last().expect("a snapshot");
            std::fs::remove_file(job.epoch_dir(newest).join("MANIFEST")).expect("remove manifest");
        },
        "incomplete",
    );
}

#[test]
fn a_manifest_of_another_job_is_skipped_or_refused() {
    let root = tempfile::tempdir().expect("temp dir");
    // Snapshots of wordcount, offered to seed-state: nothing usable, a clear error.
    let other = Job::new(root.path(), WORDCOUNT);
    assert_killed(
        &other.run(&["-w", "2"], Some("after-manifest:3")),
        "wordcount",
    );
    let job = Job {
        args: SEED_STATE.iter().map(|a| a.to_string()).collect(),
        dir: other.dir.clone(),
        snapshots: other.snapshots.clone(),
        output: other.output.clone(),
        outputs: other.outputs.clone(),
        every: other.every.clone(),
        stage_bytes: None,
    };
    let message = job.restore_error(&["-w", "2"]);
    assert!(
        message.contains("another job") && message.contains("no usable snapshot"),
        "{message}"
    );

    // The same seed-state job with another seed: its newest snapshot planted among ours is
    // skipped, with the reason, and ours is restored.
    let expected = reference(root.path(), &[SEED_STATE, &["-w", "2"]].concat());
    let ours = crashed_job(root.path());
    let foreign_args: Vec<&str> = SEED_STATE
        .iter()
        .map(|a| if *a == "7" { "8" } else { a })
        .collect();
    let theirs = Job::new(root.path(), &foreign_args);
    assert_killed(
        &theirs.run(&["-w", "2"], Some("after-manifest:2")),
        "other seed",
    );
    let foreign = *theirs.complete_epochs().last().expect("a snapshot");
    let planted = ours.epoch_dir(10_000_000);
    std::fs::create_dir_all(&planted).expect("plant");
    let manifest = std::fs::read_to_string(theirs.epoch_dir(foreign).join("MANIFEST"))
        .expect("read manifest")
        .replace(&format!("\"epoch\": {foreign},"), "\"epoch\": 10000000,");
    std::fs::write(planted.join("MANIFEST"), manifest).expect("plant manifest");
    let restored = ours.run(&["-w", "2", "--restore", "latest"], None);
    assert_success(&restored, "restore past a foreign snapshot");
    let message = stderr(&restored);
    assert!(message.contains("skipping snapshot"), "{message}");
    assert_same_multiset(&ours.published(), &expected, "past a foreign snapshot");
}

#[test]
fn an_empty_directory_starts_from_the_beginning_and_a_named_epoch_is_an_error() {
    let root = tempfile::tempdir().expect("temp dir");
    let expected = reference(root.path(), &[SEED_STATE, &["-w", "2"]].concat());
    let job = Job::new(root.path(), SEED_STATE);
    std::fs::create_dir_all(&job.snapshots).expect("empty dir");
    let named = job.run(&["--restore", "500"], None);
    assert!(!named.status.success());
    assert!(
        stderr(&named).contains("no snapshot of epoch 500"),
        "{}",
        stderr(&named)
    );
    let started = job.run(&["-w", "2", "--restore", "latest"], None);
    assert_success(&started, "restore from an empty directory");
    assert!(
        stderr(&started).contains("from the beginning"),
        "{}",
        stderr(&started)
    );
    assert_same_multiset(&job.published(), &expected, "from an empty directory");
}

/// The publication log decides which output bytes a restore keeps: one that fails its
/// checksum is reported by name and the output is left as it is, never guessed at.
#[test]
fn a_damaged_publication_log_stops_a_restore_with_a_clear_error() {
    let root = tempfile::tempdir().expect("temp dir");
    let job = crashed_job(root.path());
    let log = job.snapshots.join("published.jsonl");
    let text = std::fs::read_to_string(&log).expect("publication log");
    assert!(
        text.lines().last().is_some_and(|l| l.starts_with("crc32 ")),
        "{text}"
    );
    let first = text.lines().next().expect("a publication");
    assert!(first.contains("\"output\":\"../out.jsonl\""), "{first}");
    let output_before = std::fs::read(&job.output).expect("output");
    std::fs::write(&log, text.replacen("\"bytes\":", "\"bytes\":1", 1)).expect("damage");
    let message = job.restore_error(&["-w", "2"]);
    assert!(
        message.contains("publication log") && message.contains("checksum"),
        "{message}"
    );
    let output_after = std::fs::read(&job.output).expect("output");
    assert_eq!(output_before, output_after, "the output must be left alone");
}

#[test]
fn every_snapshot_damaged_is_a_clear_error() {
    let root = tempfile::tempdir().expect("temp dir");
    let job = crashed_job(root.path());
    for epoch in job.complete_epochs() {
        let manifest = job.epoch_dir(epoch).join("MANIFEST");
        let text = std::fs::read_to_string(&manifest).expect("manifest");
        std::fs::write(&manifest, text.replace("\"workers\"", "\"wrkers\"")).expect("damage");
    }
    let message = job.restore_error(&["-w", "2"]);
    assert!(message.contains("no usable snapshot"), "{message}");
}

/// A snapshot whose manifest lacks one of the job's stateful operators (a pipeline whose
/// operator was renamed or added) is refused: starting that operator empty would be
/// silently wrong state.
#[test]
fn a_snapshot_without_an_operator_of_the_job_is_refused() {
    let root = tempfile::tempdir().expect("temp dir");
    let job = crashed_job(root.path());
    let store = job.store();
    for epoch in job.complete_epochs() {
        let mut manifest = Manifest::from_text(
            &std::fs::read_to_string(job.epoch_dir(epoch).join("MANIFEST")).expect("read manifest"),
        )
        .expect("a manifest");
        manifest.operators.retain(|op| op != "counts");
        manifest.parts.retain(|part| part.operator != "counts");
        store.commit(&manifest).expect("rewrite manifest");
    }
    let message = job.restore_error(&["-w", "2"]);
    assert!(
        message.contains("no state for operator \"counts\""),
        "{message}"
    );
}

/// A snapshot taken while input keeps arriving holds exactly the state as of its epoch:
/// every value's count over the records before `T`, no more, no fewer.
#[test]
fn a_snapshot_holds_exactly_the_state_as_of_its_epoch() {
    let root = tempfile::tempdir().expect("temp dir");
    let (events, keys, seed, rate) = (120_000u64, 300u64, 7u64, 100_000.0);
    for workers in ["1", "3"] {
        let job = Job::new(root.path(), SEED_STATE);
        // Paced, so that records keep arriving across several snapshots.
        let output = job.run(&["-w", workers, "--rate", "200k"], None);
        assert_success(&output, "snapshotting run");
        let clock = EventClock::new(rate);
        let epochs = job.complete_epochs();
        assert!(epochs.len() >= 2, "{workers} workers: {epochs:?}");
        for epoch in epochs {
            let mut state: BTreeMap<u64, u64> = BTreeMap::new();
            for (value, count) in job.state_entries::<(u64, u64)>(epoch, "counts") {
                assert!(state.insert(value, count).is_none(), "{value} twice");
            }
            let mut expected: BTreeMap<u64, u64> = BTreeMap::new();
            for n in (0..events).take_while(|&n| clock.time_of(n) < epoch) {
                *expected.entry(seed_state_value(seed, keys, n)).or_default() += 1;
            }
            assert_eq!(
                state, expected,
                "state in snapshot {epoch} on {workers} workers"
            );
        }
    }
}

#[test]
fn snapshot_commands_list_verify_and_inspect() {
    let root = tempfile::tempdir().expect("temp dir");
    let job = crashed_job(root.path());
    let dir = job.snapshots.to_str().expect("utf-8 path");
    let newest = *job.complete_epochs().last().expect("a snapshot");

    let ls = weir().args(["snapshot", "ls", dir]).output().expect("ls");
    assert!(ls.status.success());
    let listing = String::from_utf8_lossy(&ls.stdout);
    assert!(listing.contains(&newest.to_string()) && listing.contains("complete"));

    let verify = weir()
        .args(["snapshot", "verify", dir])
        .output()
        .expect("verify");
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );

    let inspect = weir()
        .args(["snapshot", "inspect", dir, &newest.to_string()])
        .output()
        .expect("inspect");
    assert!(inspect.status.success());
    let shown = String::from_utf8_lossy(&inspect.stdout);
    for expected in [
        "seed-state",
        "\"counts\"",
        "key groups",
        "\"generate\"",
        "\"output\"",
    ] {
        assert!(
            shown.contains(expected),
            "inspect lacks {expected}: {shown}"
        );
    }

    let part = newest_state_part(&job);
    let mut bytes = std::fs::read(&part).expect("read part");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&part, bytes).expect("damage part");
    let verify = weir()
        .args(["snapshot", "verify", dir])
        .output()
        .expect("verify");
    assert_eq!(verify.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&verify.stdout).contains("DAMAGED"));

    for args in [
        vec!["snapshot", "verify", "/nonexistent/weir-snapshots"],
        vec!["snapshot", "inspect", dir, "12345"],
        vec!["snapshot", "inspect", dir, "soon"],
    ] {
        common::run_error(&args);
    }
}

/// The NEXMark crash tests' command line: 100,000 events at 4,000 per second of event time.
fn nexmark_run(pipeline: &str) -> [&str; 8] {
    nexmark_run_of(pipeline, "100k")
}

/// [`nexmark_run`] with `events` events.
fn nexmark_run_of<'a>(pipeline: &'a str, events: &'a str) -> [&'a str; 8] {
    [
        "run",
        pipeline,
        "--events",
        events,
        "--event-rate",
        "4k",
        "--seed",
        "5",
    ]
}

/// Every stateful NEXMark query (joins, windows, sessions, top-k, closing auctions,
/// changelogs) crashes twice —
/// after a commit on two workers, then while writing a snapshot on three — and finishes on
/// one: the published output is the fault-free output exactly.
#[test]
fn nexmark_queries_survive_crashes_and_rescaling() {
    let root = tempfile::tempdir().expect("temp dir");
    // The queries whose state holds every pair or bid ever seen (q18-q20) snapshot all of it
    // at every epoch: fewer events keep them as quick as the rest.
    let queries = [3, 4, 5, 6, 7, 8, 9, 11, 15, 16, 17].map(|q| (q, "100k"));
    for (query, events) in queries.into_iter().chain([18, 19, 20].map(|q| (q, "60k"))) {
        let pipeline = format!("nexmark-q{query}");
        let args = nexmark_run_of(&pipeline, events);
        let expected = reference(root.path(), &args);
        let job = Job::new(root.path(), &args);
        assert_killed(
            &job.run(&["-w", "2"], Some("after-manifest:40")),
            &format!("{pipeline} first run"),
        );
        assert_killed(
            &job.run(&["-w", "3", "--restore", "latest"], Some("part-written:30")),
            &format!("{pipeline} restored on 3 workers"),
        );
        let published = job.restore_to_end(&["-w", "1"]);
        assert_same_multiset(&published, &expected, &format!("{pipeline} after crashes"));
    }
}

/// q1's steps and output run inside its generator (a chain) unless the job snapshots; in a
/// job that does, its lines are staged and published once like any output: a crash after
/// a commit on two workers, restored on three, publishes the fault-free output exactly.
#[test]
fn a_chained_query_publishes_exactly_once_across_a_crash() {
    let root = tempfile::tempdir().expect("temp dir");
    let args = nexmark_run("nexmark-q1");
    let expected = reference(root.path(), &args);
    let job = Job::new(root.path(), &args);
    assert_killed(
        &job.run(&["-w", "2"], Some("after-manifest:40")),
        "nexmark-q1 first run",
    );
    let published = job.restore_to_end(&["-w", "3"]);
    assert_same_multiset(&published, &expected, "nexmark-q1 after a crash");
}

/// The publication log is rewritten at every publish, so it must stay as short as the
/// snapshots kept, however many epochs the job committed, and a crash and restore at the
/// end still publishes exactly the fault-free output.
#[test]
fn the_publication_log_stays_as_short_as_the_snapshots_kept() {
    let root = tempfile::tempdir().expect("temp dir");
    let expected = reference(root.path(), SEED_STATE);
    let job = Job::new(root.path(), SEED_STATE).every("5ms");
    assert_killed(&job.run(&["-w", "2"], Some("after-publish:30")), "-w 2");
    let published = job.restore_to_end(&["-w", "1"]);
    assert_same_multiset(&published, &expected, "restored after 30 publishes");
    let log = std::fs::read_to_string(job.snapshots.join("published.jsonl")).expect("log");
    // JSON lines and the checksum line: at most the 3 kept snapshots, the entry before
    // them and the final one.
    let entries = log.lines().count() - 1;
    assert!(
        (1..=5).contains(&entries),
        "{entries} entries after 30+ publishes:\n{log}"
    );
}
