//! The NEXMark suite against the sequential reference in `common/nexmark_reference*.rs`:
//! 200,000 events, on 1, 2 and 3 workers and two processes, generated and read back from the
//! file `weir nexmark generate` writes; q13's side tables; and the errors of bad input.

mod common;

use std::path::Path;

use rand::Rng;

use common::nexmark_reference::query;
use common::{assert_same_multiset, read_lines, run, run_cluster_lines, run_error, run_lines};
use weir::nexmark::Event;

/// 200,000 events at 1,000 per second of event time: 200 s, so 20 tumbling and 100 hopping
/// windows, and auctions that close throughout.
const EVENTS: &[&str] = &["--events", "200k", "--event-rate", "1k", "--seed", "3"];

/// 200,000 events at 2 per second of event time: 28 hours, so every hour of the day and two
/// days, for the queries that group by them (q14-q17).
const DAYS: &[&str] = &["--events", "200k", "--event-rate", "2", "--seed", "4"];

fn generate(dir: &Path) -> (String, Vec<Event>) {
    generate_of(dir, EVENTS)
}

/// The events of `events` (flags as [`EVENTS`]), written to a file and read back.
fn generate_of(dir: &Path, events: &[&str]) -> (String, Vec<Event>) {
    let file = dir.join(format!("events-{}.jsonl", common::unique()));
    let path = file.to_str().expect("utf-8 path").to_string();
    let mut args = vec!["nexmark", "generate", "--output", &path];
    args.extend(events);
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
    check_query_on(q, EVENTS, extra);
}

/// [`check_query`] on the events of `events` (flags as [`EVENTS`]), with `extra` flags on
/// every run.
fn check_query_on(q: usize, events_flags: &[&str], extra: &[&str]) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (file, events) = generate_of(dir.path(), events_flags);
    assert_eq!(events.len(), 200_000);
    let expected = query(q, &events);
    assert!(!expected.is_empty(), "q{q} has output on this input");
    let pipeline = format!("nexmark-q{q}");
    for workers in ["1", "2", "3"] {
        let mut args = vec!["run", &pipeline, "-w", workers];
        args.extend(events_flags);
        args.extend(extra);
        let lines = run_lines(dir.path(), &args);
        assert_same_multiset(&lines, &expected, &format!("{pipeline} -w {workers}"));
    }
    let mut args = vec!["run", &pipeline];
    args.extend(events_flags);
    args.extend(extra);
    let lines = run_cluster_lines(dir.path(), 2, 1, &args);
    assert_same_multiset(&lines, &expected, &format!("{pipeline} on two processes"));
    let mut args = vec!["run", &pipeline, "-w", "2", "--input", &file];
    args.extend(extra);
    let lines = run_lines(dir.path(), &args);
    assert_same_multiset(&lines, &expected, &format!("{pipeline} --input"));
    // The same events as a directory of 1-4 files, cut at random lines, on 1-3 workers.
    let (_, mut rng) = common::shapes_rng(&format!("{pipeline} --input DIR"));
    let parts = common::split_into_files(Path::new(&file), dir.path(), &mut rng);
    let parts = parts.to_str().expect("utf-8 path");
    let workers = rng.gen_range(1..=3).to_string();
    let mut args = vec!["run", &pipeline, "-w", &workers, "--input", parts];
    args.extend(extra);
    let lines = run_lines(dir.path(), &args);
    let what = format!("{pipeline} -w {workers} --input {parts}");
    assert_same_multiset(&lines, &expected, &what);
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
fn q9_reports_every_winning_bid_in_full() {
    check_query(9);
}

#[test]
fn q11_counts_bids_per_bidder_session() {
    check_query(11);
}

#[test]
fn q13_joins_every_bid_with_the_default_side_table() {
    check_query(13);
}

#[test]
fn q14_converts_mid_priced_bids_and_labels_their_hour() {
    check_query_on(14, DAYS, &[]);
}

#[test]
fn q15_reports_bid_statistics_per_day() {
    check_query_on(15, DAYS, &[]);
}

#[test]
fn q16_reports_bid_statistics_per_channel_and_day() {
    check_query_on(16, DAYS, &[]);
}

#[test]
fn q17_reports_prices_per_auction_and_day() {
    check_query_on(17, DAYS, &[]);
}

#[test]
fn q18_keeps_the_last_bid_of_every_pair_as_a_changelog() {
    check_query(18);
}

#[test]
fn q19_keeps_the_top_ten_bids_of_every_auction_as_a_changelog() {
    check_query(19);
}

#[test]
fn q20_joins_bids_with_their_category_ten_auctions() {
    check_query(20);
}

#[test]
fn q20_on_arrangements_joins_exactly_as_on_hash_maps() {
    check_query_with(20, &["--state", "arranged"]);
}

#[test]
fn q21_extracts_channel_ids() {
    check_query(21);
}

#[test]
fn q22_splits_urls_into_directories() {
    check_query(22);
}

/// A side table with keys listed twice, keys missing and keys that no bid has, drawn from a
/// printed seed; and the errors of a missing file, a malformed row and a pipeline without
/// a side table.
#[test]
fn q13_joins_once_per_side_row_and_drops_bids_without_one() {
    use rand::Rng;
    let (_, mut rng) = common::shapes_rng("q13 side table");
    let dir = tempfile::tempdir().expect("temp dir");
    let (_, events) = generate(dir.path());
    let mut rows: Vec<(u64, String)> = Vec::new();
    for key in 0..10_000u64 {
        for copy in 0..[0, 1, 1, 2][rng.gen_range(0..4)] {
            rows.push((key, format!("v{key}-{copy} \"quoted\"")));
        }
    }
    rows.push((123_456, "no bid has this key".into()));
    let table = dir.path().join("side.jsonl");
    let text: Vec<String> = rows
        .iter()
        .map(|(key, value)| {
            format!(
                r#"{{"key":{key},"value":{}}}"#,
                serde_json::to_string(value).expect("encodes")
            )
        })
        .collect();
    std::fs::write(&table, text.join("\n") + "\n").expect("write");
    let table = table.to_str().expect("utf-8 path");
    let bids: Vec<&weir::nexmark::Bid> = events
        .iter()
        .filter_map(|e| match e {
            Event::Bid(b) => Some(b),
            _ => None,
        })
        .collect();
    let expected = common::nexmark_reference_rest::q13(&bids, &rows);
    for workers in ["1", "3"] {
        let mut args = vec!["run", "nexmark-q13", "-w", workers, "--side-input", table];
        args.extend(EVENTS);
        let lines = run_lines(dir.path(), &args);
        assert_same_multiset(
            &lines,
            &expected,
            &format!("q13 -w {workers} with a side table"),
        );
    }

    let missing = run_error(&["run", "nexmark-q13", "--side-input", "/no/such/side.jsonl"]);
    assert!(missing.contains("/no/such/side.jsonl"), "{missing}");
    let bad = dir.path().join("bad-side.jsonl");
    std::fs::write(&bad, "{\"key\":1,\"value\":\"a\"}\n{\"key\":\"two\"}\n").expect("write");
    let bad = bad.to_str().expect("utf-8 path");
    let malformed = run_error(&["run", "nexmark-q13", "--side-input", bad]);
    assert!(malformed.contains("line 2"), "{malformed}");
    let refused = run_error(&["run", "nexmark-q5", "--side-input", table]);
    assert!(refused.contains("no --side-input"), "{refused}");
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

    // In a directory of files, the error names the file and the line in it.
    let parts = dir.path().join("parts");
    std::fs::create_dir(&parts).expect("mkdir");
    std::fs::write(parts.join("a.jsonl"), lines[..5].join("\n") + "\n").expect("write");
    std::fs::write(parts.join("b.jsonl"), lines[5..].join("\n") + "\n").expect("write");
    let parts = parts.to_str().expect("utf-8 path");
    let message = run_error(&["run", "nexmark-q0", "--input", parts, "-w", "2"]);
    assert!(message.contains("b.jsonl line 6"), "{message}");
    let pattern = format!("{parts}/*.csv");
    let message = run_error(&["run", "nexmark-q0", "--input", &pattern]);
    assert!(message.contains("no input file matches"), "{message}");
}
