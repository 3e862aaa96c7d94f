//! weir: a stream processing engine on [timely dataflow](timely).
//!
//! Pipelines are timely dataflows whose timestamps are event times in milliseconds and whose
//! frontiers are watermarks. weir adds what stream processing needs on top: sources that
//! split input over workers by record number, keyed operators whose state lives in key
//! groups and is applied in timestamp order (so results do not depend on the number of
//! workers), sinks, and a runtime that runs a pipeline over threads and processes.
//!
//! Operators are extension traits on timely streams, so weir, timely and differential
//! operators mix in one dataflow:
//!
//! ```
//! use timely::dataflow::operators::{Inspect, ToStream};
//! use weir::prelude::*;
//!
//! timely::example(|scope| {
//!     vec!["a", "b", "a"]
//!         .into_iter()
//!         .map(String::from)
//!         .to_stream(scope)
//!         .container::<Vec<_>>()
//!         .key_by(|word| word.clone())
//!         .update_state("counts", |_word, count: &mut u64, _| {
//!             *count += 1;
//!             Some(*count)
//!         })
//!         .inspect(|count| println!("seen {count} times"));
//! });
//! ```
//!
//! The `weir` command runs the registered [`pipelines`]; see the README for a tour.

#![warn(missing_docs)]

pub mod arrangement;
pub mod changelog;
pub mod chaos;
pub mod control;
pub mod experiment;
pub mod harness;
pub mod identity;
pub mod job;
pub mod kafka;
pub mod lifecycle;
pub mod migration;
pub mod nexmark;
pub mod operators;
pub mod pipelines;
pub mod plot;
pub mod runtime;
pub mod sinks;
pub mod snapshot;
pub mod sources;
pub mod state;
pub mod supervisor;
pub mod time;
pub mod units;

/// The traits and types most pipelines use.
pub mod prelude {
    pub use crate::changelog::Change;
    pub use crate::job::{Job, JobConfig};
    pub use crate::operators::{
        Aggregate, Aggregator, ArrangeState, Count, EnterChanges, EnterCollection, KeyBy,
        LeaveCollection, Max, Reduce, Sum, UpdateState, Windowed,
    };
    pub use crate::sources::{Generate, GeneratorSpec, JsonLines, LineInput, TextLines};
    pub use crate::time::{EventClock, Time, Window, WindowBounds};
}

/// A seed for a unit test's random shapes: `WEIR_TEST_SEED` where set, else drawn from the
/// clock, and printed either way so that a failure can be drawn again.
#[cfg(test)]
pub(crate) fn test_seed() -> u64 {
    let seed = std::env::var("WEIR_TEST_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(|| {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
            now.map_or(0, |since| since.as_nanos() as u64)
        });
    eprintln!("seed {seed} (WEIR_TEST_SEED={seed} draws it again)");
    seed
}
