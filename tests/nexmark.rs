//! NEXMark q0–q8 against the sequential reference in `common/nexmark_reference.rs`: 200,000
//! events, on 1, 2 and 3 workers and two processes, generated and read back from the file
//! `weir nexmark generate` writes; and the errors of bad input files.

mod common;

use std::path::Path;

use common::nexmark_reference::query;
use common::{assert_same_multiset, read_lines, run, run_cluster_lines, run_error, run_lines};
use weir::nexmark::Event;

/// 200,000 events at 1,000 per second of event time: 200 s, so 20 tumbling and 100 hopping
/// windows, and auctions that close throughout.
const EVENTS: &[&str] = &["--events", "200k", "--event-rate", "1k", "--seed", "3"];

fn generate(dir: &Path) -> (String, Vec<Event>) {
    let file = dir.join("events.jsonl");
    let path = file.to_str().expect("utf-8 path").to_string();
    let mut args = vec!["nexmark", "generate", "--output", &path];
    args.extend(&EVENTS[..EVENTS.len()]);
    let output = run(&args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let events: Vec<Event> = read_lines(&file)
        .iter()
        .map(|line| serde_json::from_str(line).expect("generated lines parse"))
        .collect();
    (path, events)
}

fn check_query(q: usize) {
    check_query_with(q, &[]);
}

/// [`check_query`] with `extra` flags on every run.
fn check_query_with(q: usize, extra: &[&str]) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (file, events) = generate(dir.path());
    assert_eq!(events.len(), 200_000);
    let expected = query(q, &events);
    assert!(!expected.is_empty(), "q{q} has output on this input");
    let pipeline = format!("nexmark-q{q}");
    for workers in ["1", "2", "3"] {
        let mut args = vec!["run", &pipeline, "-w", workers];
        args.extend(EVENTS);
        args.extend(extra);
        let lines = run_lines(dir.path(), &args);
        assert_same_multiset(&lines, &expected, &format!("{pipeline} -w {workers}"));
    }
    let mut args = vec!["run", &pipeline];
    args.extend(EVENTS);
    args.extend(extra);
    let lines = run_cluster_lines(dir.path(), 2, 1, &args);
    assert_same_multiset(&lines, &expected, &format!("{pipeline} on two processes"));
    let mut args = vec!["run", &pipeline, "-w", "2", "--input", &file];
    args.extend(extra);
    let lines = run_lines(dir.path(), &args);
    assert_same_multiset(&lines, &expected, &format!("{pipeline} --input"));
}

#[test]
fn q0_passes_every_bid_through() {
    check_query(0);
}

#[test]
fn q1_converts_every_price() {
    check_query(1);
}

#[test]
fn q2_selects_bids_by_auction() {
    check_query(2);
}

#[test]
fn q3_joins_local_sellers_with_their_auctions() {
    check_query(3);
}

#[test]
fn q3_on_arrangements_joins_exactly_as_on_hash_maps() {
    check_query_with(3, &["--state", "arranged"]);
}

#[test]
fn q4_averages_winning_prices_per_category() {
    check_query(4);
}

#[test]
fn q5_finds_the_hottest_auctions_per_hopping_window() {
    check_query(5);
}

#[test]
fn q6_averages_each_sellers_last_ten_auctions() {
    check_query(6);
}

#[test]
fn q7_finds_the_highest_bids_per_window() {
    check_query(7);
}

#[test]
fn q8_finds_persons_who_sell_in_their_first_window() {
    check_query(8);
}

#[test]
fn generated_events_follow_the_contract() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (file, events) = generate(dir.path());
    let lines = read_lines(Path::new(&file));
    // Key order of docs/nexmark.md, and proportions 1 : 3 : 46.
    assert!(
        lines[0].starts_with(r#"{"type":"person","id":"#),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with(r#"{"type":"auction","id":"#),
        "{}",
        lines[1]
    );
    assert!(
        lines[4].starts_with(r#"{"type":"bid","auction":"#),
        "{}",
        lines[4]
    );
    let persons = events
        .iter()
        .filter(|e| matches!(e, Event::Person(_)))
        .count();
    let auctions = events
        .iter()
        .filter(|e| matches!(e, Event::Auction(_)))
        .count();
    assert_eq!((persons, auctions), (4_000, 12_000));
    // Event time is non-decreasing at the event rate, from base time 0.
    assert!(events
        .windows(2)
        .all(|w| w[0].date_time() <= w[1].date_time()));
    assert_eq!(events[0].date_time(), 0);
    assert_eq!(events[199_999].date_time(), 199_999);
    // The same parameters give the same events; another seed gives others.
    let (_, again) = generate(dir.path());
    assert_eq!(again, events);
    let other = run(&["nexmark", "generate", "--events", "10", "--seed", "4"]);
    let other: Vec<Event> = String::from_utf8_lossy(&other.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("parses"))
        .collect();
    assert_ne!(other[..], events[..10]);
}

#[test]
fn a_malformed_event_is_an_error_naming_its_line_or_is_counted_and_skipped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (file, events) = generate(dir.path());
    let mut lines = read_lines(Path::new(&file));
    lines.truncate(20_000);
    lines[10] = r#"{"type":"bid","auction":"#.to_string();
    lines[1_000] = r#"{"type":"boat","id":1}"#.to_string();
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, lines.join("\n") + "\n").expect("write");
    let bad = bad.to_str().expect("utf-8 path");
    let message = run_error(&["run", "nexmark-q0", "--input", bad, "--output", "/dev/null"]);
    assert!(message.contains("line 11"), "{message}");

    let output = run(&["run", "nexmark-q0", "--input", bad, "--skip-bad-input"]);
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("2 malformed"), "{stderr}");
    let good: Vec<Event> = events[..20_000]
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 10 && *i != 1_000)
        .map(|(_, e)| e.clone())
        .collect();
    let seen: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_same_multiset(&seen, &query(0, &good), "q0 past skipped lines");

    let missing = run_error(&["run", "nexmark-q5", "--input", "/no/such/events.jsonl"]);
    assert!(missing.contains("/no/such/events.jsonl"), "{missing}");
}
