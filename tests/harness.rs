//! The experiment harness: open-loop latency that cannot hide a delay or a backlog, result
//! files merged over workers and processes, sweeps, and the figures `weir plot` draws.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use timely::dataflow::operators::vec::Map;
use weir::harness::{bench, BenchResult, BenchSpec};
use weir::job::Job;
use weir::pipelines::{self, InputFormat, Pipeline};
use weir::runtime::Workers;

use rand::Rng;

use common::{run, run_cluster, run_error, shapes_rng, unique};

/// Every record waits this long in a `map`: the injected delay.
const DELAY: Duration = Duration::from_millis(3);

static DELAYED: Pipeline = Pipeline {
    name: "delayed",
    about: "generated numbers, each held up by DELAY",
    default_events: 1_000,
    default_event_rate: 1_000.0,
    input: InputFormat::None,
    states: weir::job::HASH_STATE,
    side_input: false,
    build: delayed,
};

fn delayed(job: &mut Job<'_>) -> anyhow::Result<()> {
    let slow = job.generate(|n| n).map(|n| {
        std::thread::sleep(DELAY);
        n
    });
    job.output(slow);
    Ok(())
}

fn spec(pipeline: &str, rate: f64, workers: usize, duration_ms: u64) -> BenchSpec {
    BenchSpec {
        workers: Workers::threads(workers),
        warmup: Duration::from_millis(200),
        cooldown: Duration::from_millis(300),
        ..BenchSpec::new(pipeline, rate, Duration::from_millis(duration_ms))
    }
}

/// Benchmarks in this file run one at a time: two at once on a small CI machine would
/// measure each other.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn bench_one(pipeline: &'static Pipeline, spec: &BenchSpec) -> BenchResult {
    let _serial = serial();
    bench(pipeline, spec)
        .expect("the benchmark runs")
        .expect("one process is process 0")
}

#[test]
fn a_delay_in_the_pipeline_shows_in_every_latency() {
    // 100 records per second, one every 10 ms: the worker keeps up despite the delay.
    let result = bench_one(&DELAYED, &spec("delayed", 100.0, 1, 1000));
    let latency = result.summary.latency;
    assert_eq!(result.summary.timestamps, 100, "one timestamp per record");
    assert!(
        latency.min_ns >= DELAY.as_nanos() as u64,
        "every latency includes the {DELAY:?} delay: {latency:?}"
    );
    assert_eq!(result.summary.unfinished, 0);
}

#[test]
fn an_overloaded_run_falls_behind_and_its_latency_grows() {
    let seed_state = pipelines::find("seed-state").expect("registered");
    // Far above what one worker can do (about 15M records/s on a fast core); short
    // intervals, as only the first few percent of the schedule completes.
    let overloaded = BenchSpec {
        interval: Duration::from_millis(10),
        ..spec("seed-state", 100e6, 1, 1500)
    };
    let result = bench_one(seed_state, &overloaded);
    let summary = &result.summary;
    assert!(
        summary.achieved_rate < 0.5 * summary.offered_rate,
        "achieved {} of offered {}",
        summary.achieved_rate,
        summary.offered_rate
    );
    assert!(!result.verdict.sustainable && !result.verdict.rate_kept);
    assert!(
        summary.unfinished > 0,
        "the backlog is reported, not dropped"
    );
    // Completed timestamps wait longer the later they were scheduled.
    let p50s: Vec<u64> = result
        .timeline
        .iter()
        .filter(|point| point.latency.count > 0)
        .map(|point| point.latency.p50_ns)
        .collect();
    assert!(p50s.len() >= 3, "timeline {:?}", result.timeline);
    let half = p50s.len() / 2;
    let median = |values: &[u64]| {
        let mut values = values.to_vec();
        values.sort_unstable();
        values[values.len() / 2]
    };
    assert!(
        median(&p50s[half..]) > median(&p50s[..half]) && p50s[p50s.len() - 1] > 3 * p50s[0],
        "latency grows over the run: {p50s:?}"
    );
}

#[test]
fn a_run_within_capacity_keeps_its_rate_and_finishes_everything() {
    let seed_map = pipelines::find("seed-map").expect("registered");
    let result = bench_one(seed_map, &spec("seed-map", 20_000.0, 2, 1000));
    assert!(result.verdict.rate_kept && result.verdict.all_finished);
    assert_eq!(result.summary.unfinished, 0);
    // Every measured millisecond, seen by each of the two workers' probes.
    assert_eq!(result.summary.timestamps, 2 * 1000);
    // A timestamp completes only after its last record was due: at its end or later.
    assert!(result.summary.latency.min_ns >= 900_000);
    let sent: u64 = result.timeline.iter().map(|p| p.sent).sum();
    assert!(
        (29_000..=31_000).contains(&sent),
        "1.5 s at 20k records/s, sent {sent}"
    );
}

/// Runs `weir plot RESULT --out DIR/figures`, checks it succeeded, and returns the folder.
fn plot(result: &Path, dir: &Path) -> PathBuf {
    let figures = dir.join("figures");
    let output = run(&[
        "plot",
        result.to_str().expect("utf-8"),
        "--out",
        figures.to_str().expect("utf-8"),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    figures
}

/// `weir bench PIPELINE_AND_RATE... --json RESULT` with the short windows these tests use:
/// 200 ms warm-up, 1 s measured, 300 ms cool-down.
fn bench_args<'a>(pipeline_and_rate: &[&'a str], result: &'a Path) -> Vec<&'a str> {
    let mut args = vec!["bench"];
    args.extend_from_slice(pipeline_and_rate);
    args.extend([
        "--duration",
        "1s",
        "--warmup",
        "200ms",
        "--cooldown",
        "300ms",
        "--json",
        result.to_str().expect("utf-8"),
    ]);
    args
}

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("the result file exists");
    serde_json::from_str(&text).expect("the result file is JSON")
}

#[test]
fn bench_writes_a_complete_result_file_and_plot_draws_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let result = dir.path().join("seed-map.json");
    let serial = serial();
    let output = run(&bench_args(
        &["seed-map", "--rate", "20k", "-w", "2"],
        &result,
    ));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("offered 20000 records/s") && stderr.contains("p99.9"),
        "{stderr}"
    );

    let value = json(&result);
    assert_eq!(value["schema"], "weir-bench/1");
    assert_eq!(value["config"]["workers"], 2);
    assert_eq!(value["config"]["rate"], 20_000.0);
    assert_eq!(value["config"]["job"]["pipeline"], "seed-map");
    assert!(value["build"]["git_commit"]
        .as_str()
        .is_some_and(|c| !c.is_empty()));
    assert!(value["machine"]["cores"].as_u64().is_some_and(|c| c >= 1));
    assert_eq!(value["summary"]["timestamps"], 2000);
    assert_eq!(value["timeline"].as_array().map(Vec::len), Some(6));
    let counted: u64 = value["histogram"]
        .as_array()
        .expect("histogram buckets")
        .iter()
        .map(|bucket| bucket[1].as_u64().expect("a count"))
        .sum();
    assert_eq!(
        counted, 2000,
        "the histogram holds every measured timestamp"
    );

    drop(serial);
    let figures = plot(&result, dir.path());
    let png = std::fs::read(figures.join("latency-ccdf.png")).expect("the CCDF as PNG");
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
    let svg = std::fs::read_to_string(figures.join("latency-ccdf.svg")).expect("the CCDF as SVG");
    assert!(svg.contains("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains("latency (ms)") && svg.contains("seed-map @ 20k records/s, 2 worker(s)"));
    let timeline = std::fs::read(figures.join("timeline-01-seed-map-20k-w2.png"))
        .expect("the timeline as PNG");
    assert!(timeline.starts_with(b"\x89PNG") && timeline.len() > 10_000);
}

#[test]
fn two_processes_merge_into_one_result() {
    let dir = tempfile::tempdir().expect("temp dir");
    let result = dir.path().join(format!("two-{}.json", unique()));
    let args = bench_args(&["seed-state", "--rate", "20k", "--quiet"], &result);
    let serial = serial();
    run_cluster(dir.path(), 2, 1, &args);
    drop(serial);
    let value = json(&result);
    assert_eq!(value["config"]["processes"], 2);
    assert_eq!(value["config"]["workers"], 2);
    // Both processes' workers measured every millisecond.
    assert_eq!(value["summary"]["timestamps"], 2000);
    // Records sent are summed over the processes.
    let sent: u64 = value["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .map(|point| point["sent"].as_u64().expect("sent"))
        .sum();
    assert!((29_000..=31_000).contains(&sent), "sent {sent}");
}

#[test]
fn a_sweep_reports_the_highest_sustainable_rate_by_its_rule() {
    let dir = tempfile::tempdir().expect("temp dir");
    let result = dir.path().join("sweep.json");
    let serial = serial();
    let output = run(&bench_args(
        &["seed-map", "--sweep", "5k,10k", "--quiet"],
        &result,
    ));
    drop(serial);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let value = json(&result);
    assert_eq!(value["schema"], "weir-sweep/1");
    let runs = value["runs"].as_array().expect("runs");
    let rates: Vec<f64> = runs
        .iter()
        .map(|r| r["config"]["rate"].as_f64().expect("rate"))
        .collect();
    assert_eq!(rates, [5_000.0, 10_000.0]);
    let highest = runs
        .iter()
        .filter(|r| r["verdict"]["sustainable"] == true)
        .map(|r| r["config"]["rate"].as_f64().expect("rate"))
        .reduce(f64::max);
    assert_eq!(value["sustainable_rate"].as_f64(), highest);

    let figures = plot(&result, dir.path());
    let svg =
        std::fs::read_to_string(figures.join("latency-vs-rate.svg")).expect("the rate figure");
    assert!(svg.contains("offered rate (records/s)") && svg.contains("seed-map, 1 worker(s) p99"));
}

/// The result's supervisor events of one kind.
fn events<'a>(value: &'a Value, kind: &str) -> Vec<&'a Value> {
    value["supervision"]["events"]
        .as_array()
        .expect("supervisor events")
        .iter()
        .filter(|event| event["event"] == kind)
        .collect()
}

#[test]
fn a_benchmark_through_a_kill_and_a_rescale_marks_both_and_counts_every_timestamp_once() {
    let (seed, mut rng) = shapes_rng("supervised bench");
    let dir = tempfile::tempdir().expect("temp dir");
    let result = dir.path().join("faults.json");
    let snapshots = dir.path().join("snaps");
    // Two workers in every shape, so that each timestamp is measured twice in any start.
    let (first, then) = if rng.gen_bool(0.5) {
        ("2", "1x2")
    } else {
        ("1", "2x1")
    };
    let threads = if first == "2" { "1" } else { "2" };
    let kill_ms = rng.gen_range(700..1300);
    let rescale_ms = kill_ms + rng.gen_range(700..1000);
    let every = format!("{}ms", rng.gen_range(100..=300));
    let kill = format!("{kill_ms}ms");
    let rescale = format!("{rescale_ms}ms:{then}");
    let args = [
        "bench",
        "seed-state",
        "--rate",
        "20k",
        "--warmup",
        "300ms",
        "--duration",
        "2500ms",
        "--cooldown",
        "300ms",
        "-n",
        first,
        "-w",
        threads,
        "--snapshot-dir",
        snapshots.to_str().expect("utf-8"),
        "--snapshot-every",
        &every,
        "--kill-at",
        &kill,
        "--rescale-at",
        &rescale,
        "--json",
        result.to_str().expect("utf-8"),
    ];
    let what = format!("seed {seed}: {first} process(es), kill at {kill}, rescale at {rescale}, snapshots every {every}");
    let serial = serial();
    let output = run(&args);
    drop(serial);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{what}: {stderr}");

    let value = json(&result);
    assert_eq!(events(&value, "killed").len(), 1, "{what}: {stderr}");
    let recovered = events(&value, "recovered");
    assert_eq!(recovered.len(), 1, "{what}: {stderr}");
    let rescaled = events(&value, "rescaled");
    assert_eq!(rescaled.len(), 1, "{what}: {stderr}");
    assert_eq!(rescaled[0]["to"], then, "{what}");
    assert!(recovered[0]["detect_ms"].as_f64().is_some(), "{what}");
    let recovery_ms = recovered[0]["total_ms"].as_f64().expect("a recovery time");

    // Every measured timestamp counted once per worker of the start whose results count.
    let interval_ms = value["config"]["interval_ms"].as_u64().expect("interval");
    for point in value["timeline"].as_array().expect("timeline") {
        let (start, end) = (point["start_ms"].as_u64(), point["end_ms"].as_u64());
        let (Some(start), Some(end)) = (start, end) else {
            panic!("{what}: {point}")
        };
        if end - start == interval_ms {
            let counted = point["latency"]["count"].as_u64().unwrap_or(0)
                + point["unfinished"].as_u64().unwrap_or(0);
            assert_eq!(counted, 2 * interval_ms, "{what}: interval at {start} ms");
        }
    }
    assert_eq!(value["summary"]["timestamps"], 2 * 2500, "{what}");
    // The schedule went on while the job was down: what was scheduled just before the kill
    // completed only after the recovery.
    let max_ms = value["summary"]["latency"]["max_ns"].as_f64().expect("max") / 1e6;
    assert!(
        max_ms >= 0.9 * recovery_ms,
        "{what}: max latency {max_ms} ms, recovery {recovery_ms} ms"
    );

    let figures = plot(&result, dir.path());
    let svg = std::fs::read_to_string(figures.join("timeline-01-seed-state-20k-w2.svg"))
        .expect("the timeline as SVG");
    for label in ["process killed", "rescale asked", "results flow again"] {
        assert!(
            svg.contains(label),
            "{what}: the timeline has no {label:?} mark"
        );
    }
}

#[test]
fn bad_benchmarks_and_bad_result_files_are_clear_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let error = run_error(&["bench", "no-such-pipeline", "--rate", "1k"]);
    assert!(error.contains("no-such-pipeline"), "{error}");
    let error = run_error(&["bench", "seed-map", "--rate", "0"]);
    assert!(error.contains("rate"), "{error}");
    let error = run_error(&["bench", "seed-map", "--rate", "1k", "--sweep", "1k,2k"]);
    assert!(
        error.contains("--sweep") || error.contains("--rate"),
        "{error}"
    );

    let error = run_error(&["bench", "seed-map", "--rate", "1k", "--kill-at", "1s"]);
    assert!(error.contains("need --snapshot-dir"), "{error}");
    let error = run_error(&["bench", "seed-map", "--sweep", "1k,2k", "--kill-at", "1s"]);
    assert!(error.contains("--kill-at"), "{error}");
    let error = run_error(&["bench", "seed-map", "--rate", "1k", "--kill-at", "soon"]);
    assert!(error.contains("not a duration"), "{error}");

    let used = dir.path().join("used-snapshots");
    std::fs::create_dir_all(used.join("epoch-00000000000000001000")).expect("a used directory");
    let error = run_error(&[
        "bench",
        "seed-map",
        "--rate",
        "1k",
        "--snapshot-dir",
        used.to_str().expect("utf-8"),
    ]);
    assert!(error.contains("empty directory"), "{error}");

    let missing = dir.path().join("missing.json");
    let error = run_error(&["plot", missing.to_str().expect("utf-8"), "--out", "figures"]);
    assert!(
        error.contains("cannot read") && error.contains("missing.json"),
        "{error}"
    );
    let other = dir.path().join("other.json");
    std::fs::write(&other, r#"{"schema":"something-else/9"}"#).expect("write");
    let error = run_error(&["plot", other.to_str().expect("utf-8"), "--out", "figures"]);
    assert!(error.contains("something-else/9"), "{error}");
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, r#"{"schema":"weir-bench/1","summary":{}}"#).expect("write");
    let error = run_error(&["plot", broken.to_str().expect("utf-8"), "--out", "figures"]);
    assert!(error.contains("not a weir result file"), "{error}");
}

#[test]
fn bench_marks_each_live_migration_with_its_span_and_latency() {
    let (seed, mut rng) = shapes_rng("bench migrations");
    let dir = tempfile::tempdir().expect("temp dir");
    let result = dir.path().join("migrations.json");
    // Two migrations of every group to the other worker, inside the 1.5 s schedule, the
    // second after the first's last step (fluid: 256 of them, a millisecond apart).
    let first = rng.gen_range(250..500u64);
    let second = first + rng.gen_range(300..500u64);
    let plan = format!("{first}ms:reverse,{second}ms:reverse");
    let (strategy, steps) = match rng.gen_range(0..3) {
        0 => ("all-at-once".to_string(), 1),
        1 => {
            let n = rng.gen_range(2..100usize);
            (format!("batched:{n}"), 256usize.div_ceil(n))
        }
        _ => ("fluid".to_string(), 256),
    };
    let what = format!("WEIR_SHAPES_SEED={seed}: --migrate-at {plan} --migration {strategy}");
    let serial = serial();
    let output = run(&bench_args(
        &[
            "seed-state",
            "--rate",
            "50k",
            "-w",
            "2",
            "--migrate-at",
            &plan,
            "--migration",
            &strategy,
        ],
        &result,
    ));
    drop(serial);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{what}: {stderr}");
    assert!(
        stderr.contains(&format!("migration {first}ms:reverse")),
        "{what}: {stderr}"
    );
    let value = json(&result);
    let marks = value["migrations"].as_array().expect("migrations marked");
    assert_eq!(marks.len(), 2, "{what}: {marks:?}");
    for (mark, at) in marks.iter().zip([first, second]) {
        assert_eq!(mark["at_ms"], at as f64, "{what}: {mark}");
        assert_eq!(mark["strategy"], strategy.as_str(), "{what}: {mark}");
        assert_eq!(mark["steps"], steps, "{what}: {mark}");
        let (began, ended) = (mark["began_ms"].as_f64(), mark["ended_ms"].as_f64());
        let (Some(began), Some(ended)) = (began, ended) else {
            panic!("{what}: {mark}");
        };
        // A migration at T begins once the frontier reaches T, on the schedule.
        assert!(began + 5.0 >= at as f64 && began <= ended, "{what}: {mark}");
        assert!(
            mark["latency"]["count"].as_u64() > Some(0),
            "{what}: {mark}"
        );
    }
    // The experiments' reconfiguration table has a row per migration, timed from its
    // planned instant to its end.
    let text = std::fs::read_to_string(&result).expect("the result file");
    let parsed: BenchResult = serde_json::from_str(&text).expect("a bench result");
    let rows = weir::experiment::tables::reconfigurations(&[&parsed]);
    assert_eq!(rows.len(), 2, "{what}: {rows:?}");
    for (row, mark) in rows.iter().zip(marks) {
        assert!(row.change.contains(&strategy), "{what}: {row:?}");
        let ended = mark["ended_ms"].as_f64().unwrap_or_default();
        let at = mark["at_ms"].as_f64().unwrap_or_default();
        assert_eq!(row.duration_ms, Some(ended - at), "{what}: {row:?}");
        assert!(
            row.max_ns >= row.worst_interval_p99_ns && row.max_ns > 0,
            "{what}: {row:?}"
        );
    }
}
