//! Every registered pipeline against a sequential reference, on `-w 1`, `-w 2`, `-w 3` and
//! two processes, through the `weir` binary.

mod common;

use std::collections::{BTreeMap, HashMap};

use weir::pipelines::seed::seed_state_value;
use weir::pipelines::wordcount::ZipfWords;

use common::check_all_layouts;

/// Runs `args` on every layout and checks each output against `expected`.
fn check_all_shapes(args: &[&str], expected: &[String]) {
    check_all_layouts(args, expected, &format!("{args:?}"));
}

#[test]
fn seed_map_doubles_every_integer() {
    let expected: Vec<String> = (0..20_000u64)
        .map(|x| format!("{{\"value\":{}}}", 2 * x))
        .collect();
    check_all_shapes(&["run", "seed-map", "--events", "20000"], &expected);
}

#[test]
fn seed_state_counts_every_occurrence_of_every_value() {
    let (events, keys, seed) = (50_000u64, 300u64, 11u64);
    let mut counts: HashMap<u64, u64> = HashMap::new();
    let expected: Vec<String> = (0..events)
        .map(|n| {
            let value = seed_state_value(seed, keys, n);
            let count = counts.entry(value).or_insert(0);
            *count += 1;
            format!("{{\"value\":{value},\"count\":{count}}}")
        })
        .collect();
    check_all_shapes(
        &[
            "run",
            "seed-state",
            "--events",
            "50000",
            "--keys",
            "300",
            "--seed",
            "11",
        ],
        &expected,
    );
}

fn word_counts<'a>(words: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for word in words {
        *counts.entry(word).or_insert(0) += 1;
    }
    counts
        .into_iter()
        .map(|(word, count)| format!("{{\"word\":\"{word}\",\"count\":{count}}}"))
        .collect()
}

#[test]
fn wordcount_counts_generated_words() {
    let vocabulary = ZipfWords::new(5, 2_000);
    let words: Vec<String> = (0..60_000).map(|n| vocabulary.word(n)).collect();
    let expected = word_counts(words.iter().map(String::as_str));
    check_all_shapes(
        &[
            "run",
            "wordcount",
            "--events",
            "60000",
            "--keys",
            "2000",
            "--seed",
            "5",
        ],
        &expected,
    );
}

#[test]
fn wordcount_counts_the_words_of_a_text_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text: String = (0..3_000u64)
        .map(|i| {
            let words: Vec<String> = (0..(i % 7))
                .map(|j| format!("w{}", (i * 31 + j * 17) % 97))
                .collect();
            format!("  {}\t\n", words.join("  "))
        })
        .collect();
    let path = dir.path().join("book.txt");
    std::fs::write(&path, &text).expect("write input");
    let expected = word_counts(text.split_whitespace());
    check_all_shapes(
        &[
            "run",
            "wordcount",
            "--input",
            path.to_str().expect("utf-8 path"),
        ],
        &expected,
    );
}
