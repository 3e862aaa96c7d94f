//! `weir experiment`: an experiment file's runs start as `weir` processes, every result lands
//! in the results directory, and the tables and figures are computed from those files.
//! Shapes (events, workers) are drawn from a printed seed (`WEIR_SHAPES_SEED=N` repeats
//! them).

mod common;

use std::path::Path;

use rand::Rng;
use weir::experiment::Index;

use common::{shapes_rng, weir};

fn run_experiment(dir: &Path, file: &str, extra: &[&str]) -> std::process::Output {
    weir()
        .current_dir(dir)
        .args(["experiment", file])
        .args(extra)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("the weir binary runs")
}

fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
        .lines()
        .skip(1)
        .map(csv_cells)
        .collect()
}

/// One CSV line's cells, with RFC 4180 quoting (a cell holding a comma is quoted).
fn csv_cells(line: &str) -> Vec<String> {
    let (mut cells, mut cell, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => cells.push(std::mem::take(&mut cell)),
            c => cell.push(c),
        }
    }
    cells.push(cell);
    cells
}

#[test]
fn an_experiment_runs_every_shape_and_tabulates_its_result_files() {
    let (seed, mut rng) = shapes_rng("an_experiment_runs_every_shape");
    let events: u64 = rng.gen_range(1_000..60_000);
    let quick_events: u64 = rng.gen_range(1_000..20_000);
    let workers: u64 = rng.gen_range(1..=3);
    let what =
        format!("WEIR_SHAPES_SEED={seed}: {events} events ({quick_events} quick), -w {workers}");
    let worker_list = if workers == 1 {
        "1".to_string()
    } else {
        format!("1, {workers}")
    };
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("e.toml"),
        format!(
            r#"
            title = "a test"
            [[prepare]]
            args = ["nexmark", "generate", "--events", "{events}", "--output", "inputs/events.jsonl"]
            creates = "inputs/events.jsonl"

            [[group]]
            name = "generated"
            kind = "run"
            pipelines = ["nexmark-generator", "nexmark-q1"]
            workers = [{worker_list}]
            processes = [1, 2]
            repetitions = 2
            events = "{events}"
            [group.quick]
            events = "{quick_events}"
            repetitions = 1

            [[group]]
            name = "file"
            kind = "run"
            pipelines = ["nexmark-q2"]
            input = "inputs/events.jsonl"

            [[group]]
            name = "open"
            kind = "bench"
            pipelines = ["seed-map"]
            rate = "20k"
            warmup = "200ms"
            duration = "500ms"

            [[table]]
            name = "rates"
            kind = "throughput"
            groups = ["generated"]
            baseline = "nexmark-generator"

            [[table]]
            name = "from-file"
            kind = "throughput"
            groups = ["file"]

            [[table]]
            name = "latency"
            kind = "latency"

            [[figure]]
            name = "scaling"
            kind = "throughput-vs-workers"

            [[figure]]
            name = "latency"
            kind = "latency"
            "#
        ),
    )
    .expect("write the experiment");
    let out = run_experiment(dir.path(), "e.toml", &["--quick"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{what}: {stderr}");
    let results = dir.path().join("results/e");
    let index = Index::load(&results).expect("an index");
    // 2 pipelines x 2 worker counts x 2 process counts (one repetition, quick) + 1 + 1.
    let shapes = if workers == 1 { 1 } else { 2 };
    assert_eq!(index.runs.len(), 2 * shapes * 2 + 2, "{what}");
    assert!(
        index.quick && index.runs.iter().all(|run| run.ok),
        "{what}: {stderr}"
    );

    // Every process's result counts its own records; together they are the input.
    let generated: Vec<_> = index
        .runs
        .iter()
        .filter(|run| run.planned.group == "generated")
        .collect();
    for run in &generated {
        let records: u64 = run
            .planned
            .results
            .iter()
            .map(|path| {
                let text = std::fs::read_to_string(dir.path().join(path)).expect("a result");
                let result: weir::harness::RunResult = serde_json::from_str(&text).expect("JSON");
                assert_eq!(result.config.processes, run.planned.processes, "{what}");
                result.summary.records_in
            })
            .sum();
        assert_eq!(records, quick_events, "{what}: {}", run.planned.id);
    }

    let rates = csv_rows(&results.join("tables/rates.csv"));
    assert_eq!(rates.len(), 2 * shapes * 2, "{what}: {rates:?}");
    for row in &rates {
        let rate: f64 = row[3].parse().expect("a rate");
        assert!(rate > 0.0, "{what}: {row:?}");
        if row[0] == "nexmark-generator" {
            assert_eq!(row[4], "100%", "{what}: {row:?}");
        } else {
            assert!(row[4].ends_with('%') && row[4] != "-", "{what}: {row:?}");
        }
    }
    let from_file = csv_rows(&results.join("tables/from-file.csv"));
    assert_eq!(from_file.len(), 1, "{what}");
    assert_eq!(from_file[0][0], "nexmark-q2");
    let latency = csv_rows(&results.join("tables/latency.csv"));
    assert_eq!(latency.len(), 1, "{what}");
    assert_eq!(latency[0][1], "generated", "{what}: input {latency:?}");
    assert_eq!(latency[0][4], "20000", "{what}: offered rate {latency:?}");
    for figure in [
        "figures/scaling.png",
        "figures/scaling.svg",
        "figures/latency/latency-ccdf.png",
    ] {
        let bytes = std::fs::metadata(results.join(figure)).map_or(0, |m| m.len());
        assert!(bytes > 1000, "{what}: {figure} has {bytes} bytes");
    }

    // Tables are made of the files alone: drawn again, they are the same.
    let before = std::fs::read_to_string(results.join("tables/rates.md")).expect("a table");
    std::fs::remove_dir_all(results.join("tables")).expect("remove the tables");
    let out = run_experiment(dir.path(), "e.toml", &["--quick", "--render"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = std::fs::read_to_string(results.join("tables/rates.md")).expect("redrawn");
    assert_eq!(before, after, "{what}");
}

#[test]
fn a_failing_run_is_reported_with_its_log_and_the_rest_still_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("bad.toml"),
        r#"
        title = "one run cannot read its input"
        [[group]]
        name = "missing"
        kind = "run"
        pipelines = ["nexmark-q1"]
        input = "no-such-file.jsonl"
        [[group]]
        name = "fine"
        kind = "run"
        pipelines = ["nexmark-q1"]
        events = "1000"
        [[table]]
        name = "rates"
        kind = "throughput"
        "#,
    )
    .expect("write the experiment");
    let out = run_experiment(dir.path(), "bad.toml", &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("missing-nexmark-q1-p1x1-r1 failed"),
        "{stderr}"
    );
    assert!(
        stderr.contains("no-such-file.jsonl"),
        "the log's end: {stderr}"
    );
    assert!(stderr.contains("1 of 2 runs failed"), "{stderr}");
    let rows = csv_rows(&dir.path().join("results/bad/tables/rates.csv"));
    assert_eq!(rows.len(), 1, "the run that worked is tabulated: {rows:?}");
}

#[test]
fn a_mistaken_file_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("typo.toml"),
        "title = \"t\"\n[[group]]\nname = \"g\"\nkind = \"run\"\npipelines = [\"nexmark-q1\"]\nevnets = \"1k\"\n",
    )
    .expect("write the experiment");
    let out = run_experiment(dir.path(), "typo.toml", &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("evnets"), "{stderr}");
    assert!(!dir.path().join("results").exists(), "nothing ran");
    let out = run_experiment(dir.path(), "absent.toml", &[]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read absent.toml"));
}

#[test]
fn every_experiment_file_of_the_repository_is_valid_in_full_and_quick() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).expect("experiments/") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            for quick in [false, true] {
                let experiment = weir::experiment::load(&path, quick)
                    .unwrap_or_else(|e| panic!("{} (quick {quick}): {e:#}", path.display()));
                assert!(
                    !experiment.tables.is_empty() || !experiment.figures.is_empty(),
                    "{} makes nothing",
                    path.display()
                );
            }
            files += 1;
        }
    }
    assert!(files >= 7, "{files} experiment files");
}

/// A stand-in for `scripts/peers/run-peer`: it runs weir itself and reports a peer's result
/// with an output check, equal for q1 and one line short for q2, so that the side-by-side
/// table is checked without installing Flink.
const FAKE_PEER: &str = r#"#!/usr/bin/env bash
set -eu
engine=$1 pipeline=$2
shift 2
while [ $# -gt 0 ]; do
  case $1 in
    -w) w=$2 ;; --input) input=$2 ;; --json) json=$2 ;; --work) work=$2 ;;
  esac
  shift 2
done
mkdir -p "$work"
"$WEIR_BINARY" run "$pipeline" --input "$input" -w "$w" -q --output "$work/out.jsonl" --json "$json"
lines=$(wc -l < "$work/out.jsonl")
missing=0
if [ "$pipeline" = nexmark-q2 ]; then missing=1; fi
check="\"expected_lines\":$lines,\"lines\":$((lines - missing)),\"missing\":$missing,\"unexpected\":0"
sed -i '$ s/}$/,"peer":{"engine":"'"$engine"'","version":"fake 1","output_check":{'"$check"'}}}/' "$json"
"#;

#[test]
fn peers_run_through_their_runner_and_sit_beside_weir_in_one_table() {
    use std::os::unix::fs::PermissionsExt;

    let (seed, mut rng) = shapes_rng("peers_run_through_their_runner");
    let events: u64 = rng.gen_range(2_000..40_000);
    let workers: usize = rng.gen_range(1..=3);
    let what = format!("WEIR_SHAPES_SEED={seed}: {events} events, -w {workers}");
    let dir = tempfile::tempdir().expect("temp dir");
    let runner = dir.path().join("scripts/peers/run-peer");
    std::fs::create_dir_all(runner.parent().expect("a parent")).expect("mkdir");
    std::fs::write(&runner, FAKE_PEER).expect("write the runner");
    std::fs::set_permissions(&runner, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let groups = |name: &str, kind: &str| {
        format!(
            r#"
            [[group]]
            name = "{name}"
            kind = "{kind}"
            {engine}
            pipelines = ["nexmark-q1", "nexmark-q2"]
            workers = [{workers}]
            input = "events.jsonl"
            "#,
            engine = if kind == "peer" {
                "engine = \"flink\""
            } else {
                ""
            },
        )
    };
    std::fs::write(
        dir.path().join("p.toml"),
        format!(
            "title = \"peers\"\n[[prepare]]\nargs = [\"nexmark\", \"generate\", \"--events\", \"{events}\", \"--output\", \"events.jsonl\"]\ncreates = \"events.jsonl\"\n{}{}\n[[table]]\nname = \"side\"\nkind = \"side-by-side\"\ngroups = [\"weir\", \"flink\"]\n[[figure]]\nname = \"bars\"\nkind = \"side-by-side\"\ngroups = [\"weir\", \"flink\"]\n",
            groups("weir", "run"),
            groups("flink", "peer"),
        ),
    )
    .expect("write the experiment");
    let out = run_experiment(dir.path(), "p.toml", &["--dry-run"]);
    let dry = String::from_utf8_lossy(&out.stdout);
    assert!(
        dry.contains("scripts/peers/run-peer flink nexmark-q2 --work"),
        "{what}: {dry}"
    );
    let out = run_experiment(dir.path(), "p.toml", &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{what}: {stderr}");
    let table =
        std::fs::read_to_string(dir.path().join("results/p/tables/side.csv")).expect("the table");
    let header = table.lines().next().expect("a header");
    assert_eq!(
        header, "pipeline,processes,workers,weir events/s,flink events/s,weir / flink,flink output",
        "{what}"
    );
    let rows = csv_rows(&dir.path().join("results/p/tables/side.csv"));
    assert_eq!(rows.len(), 2, "{what}: {rows:?}");
    let bids = std::fs::read_to_string(dir.path().join("events.jsonl"))
        .expect("the events")
        .lines()
        .filter(|line| line.contains("\"type\":\"bid\""))
        .count();
    for row in &rows {
        assert_eq!(row[2], workers.to_string(), "{what}: {row:?}");
        for rate in [&row[3], &row[4]] {
            assert!(
                rate.parse::<f64>().is_ok_and(|r| r > 0.0),
                "{what}: {row:?}"
            );
        }
        let ratio: f64 = row[5].trim_end_matches('x').parse().expect("a ratio");
        assert!(ratio > 0.0, "{what}: {row:?}");
    }
    // Every bid is a q1 line; q2's peer missed one of weir's.
    assert_eq!(rows[0][6], format!("equal ({bids} lines)"), "{what}");
    assert!(
        rows[1][6].starts_with("differs: 1 of ") && rows[1][6].ends_with(" missing, 0 unexpected"),
        "{what}: {:?}",
        rows[1]
    );
    for extension in ["png", "svg"] {
        let figure = dir
            .path()
            .join(format!("results/p/figures/bars.{extension}"));
        let size = std::fs::metadata(&figure).map_or(0, |m| m.len());
        assert!(size > 1000, "{what}: {} is {size} bytes", figure.display());
    }
    let svg = std::fs::read_to_string(dir.path().join("results/p/figures/bars.svg")).expect("svg");
    for label in [
        "nexmark-q1",
        "nexmark-q2",
        &format!("weir -w {workers}"),
        &format!("flink -w {workers}"),
    ] {
        assert!(svg.contains(label), "{what}: {label:?} not in the figure");
    }
}

#[test]
fn a_failover_experiment_tabulates_and_draws_every_recovery_phase() {
    let (seed, mut rng) = shapes_rng("a_failover_experiment_tabulates");
    let kill_ms: u64 = rng.gen_range(700..1_500);
    let rescale_ms: u64 = kill_ms + rng.gen_range(800..1_500);
    let what = format!("WEIR_SHAPES_SEED={seed}: kill at {kill_ms} ms, rescale at {rescale_ms} ms");
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("f.toml"),
        format!(
            r#"
            title = "failover"
            [[group]]
            name = "faults"
            kind = "bench"
            pipelines = ["seed-state"]
            rate = "20k"
            warmup = "200ms"
            duration = "{duration}ms"
            snapshot_every = "200ms"
            kill_at = "{kill_ms}ms"
            rescale_at = "{rescale_ms}ms:2x1"

            [[table]]
            name = "recovery"
            kind = "recovery"

            [[figure]]
            name = "recovery"
            kind = "recovery"
            "#,
            duration = rescale_ms + 1_000,
        ),
    )
    .expect("write the experiment");
    let out = run_experiment(dir.path(), "f.toml", &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{what}: {stderr}");
    let results = dir.path().join("results/f");
    let rows = csv_rows(&results.join("tables/recovery.csv"));
    assert_eq!(
        rows.len(),
        2,
        "{what}: one failure and one rescale, {rows:?}"
    );
    let phase = |row: &[String], at: usize| -> f64 {
        row[at]
            .parse()
            .unwrap_or_else(|_| panic!("{what}: column {at} of {row:?} is not a number"))
    };
    // Columns: pipeline, offered/s, change, detect, stop, backoff, savepoint, drain,
    // restart, restore, downtime.
    let failure = &rows[0];
    assert!(failure[2].starts_with("failure: "), "{what}: {failure:?}");
    assert_eq!(failure[6], "-", "{what}: a failure has no savepoint");
    for at in [9, 10] {
        assert!(phase(failure, at) > 0.0, "{what}: {failure:?}");
    }
    assert!(
        phase(failure, 10) >= phase(failure, 9),
        "{what}: {failure:?}"
    );
    let rescale = &rows[1];
    assert_eq!(rescale[2], "rescale 1x1 to 2x1", "{what}: {rescale:?}");
    assert_eq!(rescale[3], "-", "{what}: a rescale is not detected");
    for at in [6, 9, 10] {
        assert!(phase(rescale, at) > 0.0, "{what}: {rescale:?}");
    }
    let svg = std::fs::read_to_string(results.join("figures/recovery.svg")).expect("the figure");
    for label in ["1 failure", "2 rescale 1x1 to 2x1", "restore", "savepoint"] {
        assert!(svg.contains(label), "{what}: {label:?} not in the figure");
    }
}

#[test]
fn a_snapshot_cost_experiment_measures_every_key_count_and_draws_cost_against_state() {
    let (seed, mut rng) = shapes_rng("a_snapshot_cost_experiment");
    let small: u64 = rng.gen_range(200..2_000);
    let large: u64 = small * rng.gen_range(20..60);
    let every_ms: u64 = rng.gen_range(20..80);
    // seed-state's event time advances a millisecond per thousand records: at least eight
    // snapshot intervals of it (a run so short that its source ends before an operator
    // sees a frontier between has nothing to capture), and every key several times over.
    let events: u64 = (large * rng.gen_range(3..6)).max(every_ms * 1_000 * rng.gen_range(8..12));
    let workers: usize = rng.gen_range(1..=3);
    let what = format!(
        "WEIR_SHAPES_SEED={seed}: keys {small} and {large}, {events} events, a snapshot every {every_ms} ms, -w {workers}"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("s.toml"),
        format!(
            r#"
            title = "snapshot cost"
            [[group]]
            name = "state"
            kind = "run"
            pipelines = ["seed-state"]
            workers = [{workers}]
            keys = ["{large}", "{small}"]
            events = "{events}"
            snapshot_every = "{every_ms}ms"

            [[group]]
            name = "plain"
            kind = "run"
            pipelines = ["seed-state"]
            workers = [{workers}]
            keys = ["{small}"]
            events = "{events}"

            [[table]]
            name = "cost"
            kind = "snapshot-cost"

            [[figure]]
            name = "cost"
            kind = "snapshot-cost"
            "#
        ),
    )
    .expect("write the experiment");
    let out = run_experiment(dir.path(), "s.toml", &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{what}: {stderr}");
    let results = dir.path().join("results/s");
    let rows = csv_rows(&results.join("tables/cost.csv"));
    // Columns: pipeline, keys, processes, workers, snapshots, state MiB, capture ms,
    // capture max ms, encode ms, write+sync ms, events/s, without snapshots/s, runs. The
    // run without snapshots is no row but the rate beside its key count's.
    assert_eq!(rows.len(), 2, "{what}: a row per key count, {rows:?}");
    let number = |row: &[String], at: usize| -> f64 {
        row[at]
            .parse()
            .unwrap_or_else(|_| panic!("{what}: column {at} of {row:?} is not a number"))
    };
    assert_eq!(rows[0][1], large.to_string(), "{what}: in the order listed");
    assert_eq!(rows[1][1], small.to_string(), "{what}");
    for row in &rows {
        assert_eq!(row[3], workers.to_string(), "{what}: {row:?}");
        assert!(number(row, 4) >= 1.0, "{what}: snapshots taken, {row:?}");
        assert!(number(row, 5) > 0.0, "{what}: state measured, {row:?}");
        assert!(number(row, 10) > 0.0, "{what}: {row:?}");
    }
    // Every snapshot is full: more keys are more state.
    assert!(
        number(&rows[0], 5) > number(&rows[1], 5),
        "{what}: {large} keys hold more than {small}, {rows:?}"
    );
    assert_eq!(
        rows[0][11], "-",
        "{what}: {large} keys ran only with snapshots"
    );
    assert!(number(&rows[1], 11) > 0.0, "{what}: {rows:?}");
    let svg = std::fs::read_to_string(results.join("figures/cost.svg")).expect("the figure");
    for label in ["capture pause (mean)", "encode", "state per snapshot"] {
        assert!(svg.contains(label), "{what}: {label:?} not in the figure");
    }
}
