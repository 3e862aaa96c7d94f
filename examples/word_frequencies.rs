//! Word frequencies with weir operators inside a plain timely program.
//!
//! Two workers each take every other line, `aggregate` counts words in two phases (partial
//! counts per worker, merged by the worker that owns the word's key group), and the final
//! counts are printed when the input ends.
//!
//!     cargo run --release --example word_frequencies

use timely::dataflow::operators::vec::Map;
use timely::dataflow::operators::{Inspect, ToStream};
use weir::prelude::*;

const TEXT: &str = "the quick brown fox jumps over the lazy dog
the dog barks and the fox runs
a quick end to a lazy day";

fn main() {
    timely::execute(timely::Config::process(2), |worker| {
        let (index, peers) = (worker.index(), worker.peers());
        worker.dataflow::<Time, _, _>(|scope| {
            // Line n is worker n % peers's, at event time n.
            TEXT.lines()
                .enumerate()
                .filter(move |(n, _)| n % peers == index)
                .map(|(_, line)| line.to_string())
                .to_stream(scope)
                .container::<Vec<_>>()
                .flat_map(|line| {
                    line.split_whitespace()
                        .map(|word| (word.to_string(), ()))
                        .collect::<Vec<_>>()
                })
                .aggregate("word counts", Window::Global, Count)
                .inspect(move |result| {
                    println!("worker {index}: {:>6} x{}", result.key, result.value)
                });
        });
    })
    .expect("timely starts");
}
