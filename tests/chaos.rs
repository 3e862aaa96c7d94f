//! `weir chaos`: a short campaign passes and reports what it did; bad flags are refused.

mod common;

use common::{run, run_error};

#[test]
fn a_short_campaign_kills_restores_and_finds_nothing_lost_or_doubled() {
    let root = tempfile::tempdir().expect("temp dir");
    let dir = root.path().join("chaos");
    let dir = dir.to_str().expect("utf-8 path");
    let output = run(&[
        "chaos",
        "seed-state",
        "--kills",
        "6",
        "--seed",
        "3",
        "--dir",
        dir,
        "--",
        "--events",
        "60k",
        "--rate",
        "100k",
        "--keys",
        "300",
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("seed 3"), "{stderr}");
    let total = stdout
        .lines()
        .find(|line| line.trim_start().starts_with("total"))
        .unwrap_or_else(|| panic!("no total row: {stdout}"));
    let columns: Vec<&str> = total.split_whitespace().collect();
    // total, kills, moments, faults, restores, shapes..., lines, lost, doubled
    assert_eq!(columns[1], "6", "{total}");
    assert_eq!(columns[4], "6", "{total}");
    let n = columns.len();
    assert_eq!(&columns[n - 2..], ["0", "0"], "{total}");
    let rounds = stdout.lines().count() - 4;
    let lines: u64 = columns[n - 3].parse().expect("lines");
    assert_eq!(lines, 60_000 * rounds as u64, "{stdout}");
    assert!(stdout.contains("passed"), "{stdout}");
}

#[test]
fn chaos_refuses_flags_it_sets_itself_and_unknown_pipelines() {
    let message = run_error(&["chaos", "seed-state", "--", "--events", "1k", "-w", "2"]);
    assert!(message.contains("sets -w itself"), "{message}");
    let message = run_error(&["chaos", "no-such-pipeline"]);
    assert!(message.contains("no-such-pipeline"), "{message}");
    let message = run_error(&["chaos", "seed-state", "--fault-share", "2"]);
    assert!(message.contains("--fault-share"), "{message}");
    let message = run_error(&["chaos", "seed-state", "--min-processes", "3"]);
    assert!(message.contains("above --max-processes 2"), "{message}");
}
