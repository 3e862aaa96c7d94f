//! Exactly-once output in every shape: jobs drawn at random — pipeline, event count (ending
//! on an epoch boundary or not), event rate, keys, `--snapshot-every` from 1 ms to longer
//! than the whole input, paced or not, one to three workers, one or two processes, with or
//! without a crash at a random fault point and a restore onto another random shape, output
//! staged to disk after 64 bytes to 1 MiB of an epoch's lines, published to a file, a
//! directory of segments or both — each publish exactly the multiset of lines of the same
//! job run without snapshots, to every output.
//!
//! The shapes come from a seed printed at the start and in every failure;
//! `WEIR_SHAPES_SEED=N cargo test --profile release-thin --test exactly_once` draws the same
//! shapes again. Hand-picked shapes once hid lost output: every input in the older tests
//! ended on an epoch boundary.

mod common;

use rand::rngs::SmallRng;
use rand::Rng;

use common::snapshot_job::{reference, stderr, Job, KILLED};
use common::{assert_same_multiset, shapes_rng};
use weir::snapshot::FAULT_POINTS;

/// The pipelines whose output depends on state, and stateless chains whose sources stage
/// their output themselves (q0, q2, q14, q22), with the largest event count drawn for each
/// (small inputs: every shape runs in well under a second).
const PIPELINES: &[(&str, u64)] = &[
    ("nexmark-q0", 30_000),
    ("nexmark-q2", 60_000),
    ("nexmark-q14", 60_000),
    ("nexmark-q22", 30_000),
    ("seed-state", 300_000),
    ("wordcount", 200_000),
    ("nexmark-q3", 60_000),
    ("nexmark-q4", 60_000),
    ("nexmark-q5", 60_000),
    ("nexmark-q6", 60_000),
    ("nexmark-q7", 60_000),
    ("nexmark-q8", 60_000),
    ("nexmark-q9", 60_000),
    ("nexmark-q11", 60_000),
    ("nexmark-q18", 60_000),
    ("nexmark-q19", 60_000),
    ("nexmark-q20", 60_000),
    ("graph-reach", 30_000),
];

/// How a job is run: workers per process and processes.
#[derive(Clone, Copy, Debug)]
struct Layout {
    workers: usize,
    processes: usize,
}

/// A crash: the fault point, the visit it strikes at, and the layout restored onto.
#[derive(Clone, Debug)]
struct Crash {
    fault: String,
    restore: Layout,
}

/// One job drawn at random.
#[derive(Clone, Debug)]
struct Shape {
    pipeline: &'static str,
    events: u64,
    event_rate: u64,
    keys: Option<u64>,
    /// `--state`, for the pipelines that keep state both ways.
    state: Option<&'static str>,
    every_ms: u64,
    paced: Option<u64>,
    stage_bytes: Option<usize>,
    /// Where it publishes: a file, a directory of segments, or both.
    outputs: &'static [&'static str],
    layout: Layout,
    crash: Option<Crash>,
}

/// A number drawn log-uniformly from `[low, high]`.
fn log_uniform(rng: &mut SmallRng, low: u64, high: u64) -> u64 {
    let (low, high) = ((low.max(1)) as f64, (high.max(low.max(1))) as f64);
    let drawn = (rng.gen_range(0.0..1.0) * (high.ln() - low.ln()) + low.ln()).exp();
    (drawn.round() as u64).clamp(low as u64, high as u64)
}

fn draw_layout(rng: &mut SmallRng) -> Layout {
    Layout {
        workers: rng.gen_range(1..=3),
        processes: if rng.gen_bool(0.25) { 2 } else { 1 },
    }
}

impl Shape {
    fn draw(rng: &mut SmallRng) -> Shape {
        let (pipeline, most) = PIPELINES[rng.gen_range(0..PIPELINES.len())];
        let event_rate = [1_000, 10_000, 100_000, 1_000_000][rng.gen_range(0..4)];
        // Half the inputs are small, half within a factor of ten of the largest.
        let least = if rng.gen_bool(0.5) { 1 } else { most / 10 };
        let mut events = log_uniform(rng, least, most);
        // The input's length in event time; snapshots come every 1 ms up to twice that,
        // with at most a few hundred epochs (each one syncs files).
        let duration_ms = (events * 1000).div_ceil(event_rate).max(1);
        let every_ms = log_uniform(rng, (duration_ms / 300).max(1), 2 * duration_ms + 1);
        // A third of the inputs end exactly on an epoch boundary.
        let per_epoch = event_rate * every_ms / 1000;
        if rng.gen_bool(1.0 / 3.0) && per_epoch > 0 && per_epoch <= most {
            events = per_epoch * rng.gen_range(1..=(most / per_epoch).clamp(1, 8));
        }
        let keys = matches!(pipeline, "seed-state" | "wordcount" | "graph-reach")
            .then(|| log_uniform(rng, 1, 100_000));
        let state = ["nexmark-q3", "nexmark-q20"]
            .contains(&pipeline)
            .then(|| ["hash", "arranged"][rng.gen_range(0..2)]);
        // Paced runs take at most about a third of a second.
        let paced = rng.gen_bool(0.25).then(|| (events * 3).max(1_000));
        // Most sinks stage to disk after a few hundred bytes to a few KiB of an epoch's
        // lines, so that small inputs take the path a large epoch takes.
        let stage_bytes = rng
            .gen_bool(0.75)
            .then(|| log_uniform(rng, 64, 16_384) as usize);
        let outputs: &[&str] = match rng.gen_range(0..4) {
            0 | 1 => &["out.jsonl"],
            2 => &["out/"],
            _ => &["out/", "out.jsonl"],
        };
        let layout = draw_layout(rng);
        let crash = rng.gen_bool(0.4).then(|| {
            let point = FAULT_POINTS[rng.gen_range(0..FAULT_POINTS.len())];
            let epochs = (duration_ms / every_ms).clamp(1, 40);
            Crash {
                fault: format!("{point}:{}", rng.gen_range(1..=epochs)),
                restore: draw_layout(rng),
            }
        });
        Shape {
            pipeline,
            events,
            event_rate,
            keys,
            state,
            every_ms,
            paced,
            stage_bytes,
            outputs,
            layout,
            crash,
        }
    }

    /// The job's flags, without layout, snapshots or output.
    fn args(&self, seed: u64) -> Vec<String> {
        let mut args: Vec<String> = vec![
            "run".into(),
            self.pipeline.into(),
            "--events".into(),
            self.events.to_string(),
            "--event-rate".into(),
            self.event_rate.to_string(),
            "--seed".into(),
            seed.to_string(),
        ];
        if let Some(keys) = self.keys {
            args.extend(["--keys".into(), keys.to_string()]);
        }
        if let Some(state) = self.state {
            args.extend(["--state".into(), state.into()]);
        }
        args
    }
}

/// Runs `job` in `layout` to its end or its fault; returns whether it was killed.
fn run_in(job: &Job, layout: Layout, extra: &[&str], fault: Option<&str>, what: &str) -> bool {
    let workers = layout.workers.to_string();
    if layout.processes == 1 {
        let mut args = vec!["-w", &workers];
        args.extend(extra);
        let output = job.run(&args, fault);
        match output.status.code() {
            Some(0) => false,
            Some(KILLED) if fault.is_some() => true,
            _ => panic!("{what}: weir failed: {}", stderr(&output)),
        }
    } else {
        let outputs = job.run_cluster(layout.processes, layout.workers, extra, fault);
        for output in &outputs {
            assert!(
                !stderr(output).contains("panicked"),
                "{what}: a process panicked: {}",
                stderr(output)
            );
        }
        match outputs[0].status.code() {
            Some(0) => {
                for (process, output) in outputs.iter().enumerate() {
                    assert!(
                        output.status.success(),
                        "{what}: process {process} failed: {}",
                        stderr(output)
                    );
                }
                false
            }
            Some(KILLED) if fault.is_some() => true,
            _ => panic!("{what}: process 0 failed: {}", stderr(&outputs[0])),
        }
    }
}

/// Draws `count` shapes from `seed` and checks each.
fn check_shapes(name: &str, count: usize) {
    let (seed, mut rng) = shapes_rng(name);
    let root = tempfile::tempdir().expect("temp dir");
    for index in 0..count {
        let shape = Shape::draw(&mut rng);
        let input_seed = rng.gen_range(0..1000);
        let what = format!("{name} shape {index} of WEIR_SHAPES_SEED={seed}: {shape:?}");
        let args = shape.args(input_seed);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let expected = reference(root.path(), &args);
        let every = format!("{}ms", shape.every_ms);
        let job = Job::new(root.path(), &args)
            .every(&every)
            .stage_bytes(shape.stage_bytes)
            .outputs(shape.outputs);
        let rate = shape.paced.map(|r| r.to_string());
        let mut extra: Vec<&str> = Vec::new();
        if let Some(rate) = &rate {
            extra.extend(["--rate", rate]);
        }
        let fault = shape.crash.as_ref().map(|c| c.fault.as_str());
        let killed = run_in(&job, shape.layout, &extra, fault, &what);
        if killed {
            let restore = shape.crash.as_ref().map_or(shape.layout, |c| c.restore);
            extra.extend(["--restore", "latest"]);
            run_in(&job, restore, &extra, None, &format!("{what}, restored"));
        }
        eprintln!(
            "  shape {index}: {} lines, {}{what}",
            expected.len(),
            if killed { "killed and restored, " } else { "" }
        );
        for (output, published) in job.published_each() {
            assert_same_multiset(&published, &expected, &format!("{what}, {output:?}"));
        }
    }
}

#[test]
fn stateful_pipelines_publish_exactly_once_in_random_shapes_a() {
    check_shapes("a", 16);
}

#[test]
fn stateful_pipelines_publish_exactly_once_in_random_shapes_b() {
    check_shapes("b", 16);
}

#[test]
fn stateful_pipelines_publish_exactly_once_in_random_shapes_c() {
    check_shapes("c", 16);
}

#[test]
fn stateful_pipelines_publish_exactly_once_in_random_shapes_d() {
    check_shapes("d", 16);
}

/// The runs that first showed lost output (inputs that end mid-epoch, with more than the
/// default 1 MiB of an epoch's lines staged to disk), at their full size: each publishes
/// every line of its run without snapshots.
#[test]
fn runs_ending_mid_epoch_publish_every_line() {
    let root = tempfile::tempdir().expect("temp dir");
    let runs: [(&[&str], &str, &str); 4] = [
        (
            &["--events", "600k", "--keys", "5000", "--seed", "11"],
            "1",
            "1s",
        ),
        (
            &["--events", "600k", "--keys", "5000", "--seed", "11"],
            "2",
            "100ms",
        ),
        (
            &[
                "--events",
                "600k",
                "--keys",
                "5000",
                "--event-rate",
                "200k",
                "--seed",
                "11",
            ],
            "1",
            "200ms",
        ),
        (
            &["--events", "2M", "--keys", "50000", "--seed", "5"],
            "3",
            "7s",
        ),
    ];
    for (flags, workers, every) in runs {
        let args: Vec<&str> = [&["run", "seed-state"], flags].concat();
        let expected = reference(root.path(), &args);
        let job = Job::new(root.path(), &args).every(every);
        let output = job.run(&["-w", workers], None);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        assert_same_multiset(
            &job.published(),
            &expected,
            &format!("{args:?} -w {workers} --snapshot-every {every}"),
        );
    }
}

/// A directory of segments publishes each committed part by a hard link: the segment is the
/// very file the writer thread synced into the snapshot, so no output byte is written twice.
#[test]
fn a_directory_output_links_committed_parts_instead_of_copying_them() {
    use std::os::unix::fs::MetadataExt;
    let root = tempfile::tempdir().expect("temp dir");
    let args = [
        "run",
        "seed-state",
        "--events",
        "80k",
        "--keys",
        "300",
        "--seed",
        "3",
    ];
    let expected = reference(root.path(), &args);
    let job = Job::new(root.path(), &args)
        .every("20ms")
        .outputs(&["out/"]);
    // Paced, so that every epoch commits output of its own: unpaced, the input can end
    // before the kept snapshots stage any, and the final epoch carries it all.
    let output = job.run(&["-w", "2", "--rate", "400k"], None);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_same_multiset(&job.published(), &expected, "seed-state to out/");
    let segments = weir::sinks::segments_of(&job.output).expect("segments");
    assert!(segments.len() >= 4, "{segments:?}");
    let mut linked = 0;
    for epoch in job.complete_epochs() {
        for part in std::fs::read_dir(job.epoch_dir(epoch)).expect("epoch dir") {
            let part = part.expect("entry").path();
            let name = part
                .file_name()
                .expect("name")
                .to_string_lossy()
                .to_string();
            if !name.contains("-output-") {
                continue;
            }
            let segment = job.output.join(format!("{epoch:020}-{name}"));
            let (part, segment) = (
                std::fs::metadata(&part).expect("part"),
                std::fs::metadata(&segment).expect("its segment"),
            );
            assert_eq!(part.ino(), segment.ino(), "{name} of {epoch} was copied");
            linked += 1;
        }
    }
    assert!(linked > 0, "no kept snapshot had output parts");
}

/// Two outputs of one job, a directory and a file, are each exactly-once across a crash in
/// the middle of publishing; a restore that names another output is refused.
#[test]
fn two_outputs_are_each_exactly_once_across_a_crash() {
    let root = tempfile::tempdir().expect("temp dir");
    // Paced, so that the 0.6 s of input commits many times even on a loaded machine: unpaced,
    // a slow writer lets one commit stand for many epochs, and a fault at the fourth
    // publication may never come.
    let args = [
        "run",
        "seed-state",
        "--events",
        "60k",
        "--event-rate",
        "100k",
        "--rate",
        "100k",
        "--keys",
        "2000",
        "--seed",
        "9",
    ];
    let expected = reference(root.path(), &args);
    for fault in ["mid-publish:3", "after-manifest:2", "after-publish:4"] {
        let job = Job::new(root.path(), &args)
            .every("20ms")
            .stage_bytes(Some(256))
            .outputs(&["out/", "out.jsonl"]);
        let crashed = job.run(&["-w", "2"], Some(fault));
        common::snapshot_job::assert_killed(&crashed, fault);
        let restored = job.run(&["-w", "3", "--restore", "latest"], None);
        assert!(restored.status.success(), "{fault}: {}", stderr(&restored));
        for (output, published) in job.published_each() {
            assert_same_multiset(&published, &expected, &format!("{fault}, {output:?}"));
        }
    }
    let job = Job::new(root.path(), &args).every("20ms");
    common::snapshot_job::assert_killed(&job.run(&[], Some("after-publish:2")), "crash");
    let elsewhere = Job {
        snapshots: job.snapshots.clone(),
        ..Job::new(root.path(), &args)
            .every("20ms")
            .outputs(&["other.jsonl"])
    };
    let message = elsewhere.restore_error(&[]);
    assert!(
        message.contains("restore with the --output flags"),
        "{message}"
    );
}

/// Output flags that cannot be exactly-once are refused before anything is written.
#[test]
fn outputs_that_cannot_be_exactly_once_are_refused_up_front() {
    let root = tempfile::tempdir().expect("temp dir");
    let snapshots = root.path().join("snaps");
    let snapshot_flags = ["--snapshot-dir", snapshots.to_str().expect("utf-8")];
    let run = |extra: &[&str]| -> String {
        let output = common::weir()
            .args(["run", "seed-state", "--events", "1k", "--quiet"])
            .args(snapshot_flags)
            .args(extra)
            .output()
            .expect("weir runs");
        let message = stderr(&output);
        assert!(!output.status.success(), "{extra:?} should fail");
        assert!(!message.contains("panicked"), "{message}");
        message
    };
    assert!(run(&[]).contains("needs --output FILE or --output DIR/"));
    assert!(run(&["--output", "-"]).contains("standard output cannot take back"));
    let file = root.path().join("o.jsonl");
    let file = file.to_str().expect("utf-8");
    assert!(run(&["--output", file, "--output", file]).contains("is given twice"));
    assert!(
        !snapshots.exists(),
        "a refused job created its snapshot directory"
    );
    // A directory that holds published segments belongs to another job.
    let taken = root.path().join("taken");
    std::fs::create_dir_all(&taken).expect("dir");
    std::fs::write(
        taken.join("00000000000000001000-p01-output-w0.jsonl"),
        "{}\n",
    )
    .expect("seg");
    let message = run(&["--output", taken.to_str().expect("utf-8")]);
    assert!(message.contains("already holds output"), "{message}");
}
