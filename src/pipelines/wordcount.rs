//! `wordcount`: the final count of every word, from `--input` text or from generated
//! Zipf-distributed words.

use rand::rngs::SmallRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Zipf};
use serde::Serialize;
use timely::dataflow::operators::vec::Map;

use crate::job::Job;
use crate::job::{InputFormat, Pipeline, HASH_STATE};
use crate::operators::{Aggregate, Count};
use crate::sources::random_of;
use crate::time::Window;

/// `{"word":w,"count":n}` per word, with its count at the end of the input.
pub const WORDCOUNT: Pipeline = Pipeline {
    name: "wordcount",
    about:
        "final count per word of --input text, or of generated Zipf words: {\"word\":w,\"count\":n}",
    default_events: 1_000_000,
    default_event_rate: 1_000_000.0,
    input: InputFormat::Text,
    states: HASH_STATE,
    side_input: false,
    build: wordcount,
};

/// An output line of `wordcount`.
#[derive(Serialize)]
pub struct WordCount {
    /// The word.
    pub word: String,
    /// How often it occurred in the whole input.
    pub count: u64,
}

/// Generated words: a vocabulary of `keys` words drawn with Zipf's law (exponent 1), the
/// word of record `n` depending only on the seed and `n`.
#[derive(Clone)]
pub struct ZipfWords {
    seed: u64,
    ranks: Zipf<f64>,
}

impl ZipfWords {
    /// A vocabulary of `keys` words.
    pub fn new(seed: u64, keys: u64) -> Self {
        // `Zipf::new` fails only for a vocabulary of 0 words or a negative exponent.
        let ranks = Zipf::new(keys.max(1), 1.0).unwrap_or_else(|_| unreachable!());
        ZipfWords { seed, ranks }
    }

    /// The word of record `n`.
    pub fn word(&self, n: u64) -> String {
        let mut rng = SmallRng::seed_from_u64(random_of(self.seed, n));
        word_of_rank(self.ranks.sample(&mut rng) as u64)
    }
}

/// A pronounceable word for a rank (1 is the most frequent), distinct for distinct ranks.
pub fn word_of_rank(rank: u64) -> String {
    const SYLLABLES: [&str; 16] = [
        "ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ba", "de", "fu", "go", "hi", "jo", "pe",
        "zu",
    ];
    let mut word = String::new();
    let mut rest = rank;
    loop {
        word.push_str(SYLLABLES[(rest % 16) as usize]);
        rest /= 16;
        if rest == 0 {
            return word;
        }
    }
}

fn wordcount(job: &mut Job<'_>) -> anyhow::Result<()> {
    let words = match job.input() {
        Some(_) => job.text_lines()?.flat_map(|line| {
            line.split_whitespace()
                .map(|word| (word.to_string(), ()))
                .collect::<Vec<_>>()
        }),
        None => {
            let vocabulary = ZipfWords::new(job.config().seed, job.config().keys);
            job.generate(move |n| (vocabulary.word(n), ()))
        }
    };
    let counts = words
        .aggregate("word counts", Window::Global, Count)
        .map(|result| WordCount {
            word: result.key,
            count: result.value,
        });
    job.output(counts);
    Ok(())
}
