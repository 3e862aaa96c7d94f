//! The two examples of the original brief: `seed-map` (a source doubled by `map`) and
//! `seed-state` (a counter per value, kept with `update_state`).

use serde::Serialize;
use timely::dataflow::operators::vec::Map;

use crate::job::Job;
use crate::job::{InputFormat, Pipeline, HASH_STATE};
use crate::operators::{KeyBy, UpdateState};
use crate::sources::random_of;

/// `{"value":2x}` for every generated integer `x` in `0..N`.
pub const SEED_MAP: Pipeline = Pipeline {
    name: "seed-map",
    about: "integers 0..N doubled by map: {\"value\":2x}",
    default_events: 1_000_000,
    default_event_rate: 1_000_000.0,
    input: InputFormat::None,
    states: HASH_STATE,
    side_input: false,
    build: seed_map,
};

/// `{"value":v,"count":c}` for the c-th occurrence of each generated value `v`.
pub const SEED_STATE: Pipeline = Pipeline {
    name: "seed-state",
    about:
        "a counter per value (--keys K distinct) kept with update_state: {\"value\":v,\"count\":c}",
    default_events: 1_000_000,
    default_event_rate: 1_000_000.0,
    input: InputFormat::None,
    states: HASH_STATE,
    side_input: false,
    build: seed_state,
};

/// An output line of `seed-map`.
#[derive(Serialize)]
pub struct Doubled {
    /// Twice the input.
    pub value: u64,
}

/// An output line of `seed-state`.
#[derive(Serialize)]
pub struct Occurrence {
    /// The value.
    pub value: u64,
    /// How many times it has occurred, this record included.
    pub count: u64,
}

fn seed_map(job: &mut Job<'_>) -> anyhow::Result<()> {
    let doubled = job.generate(|x| x).map(|x| Doubled { value: 2 * x });
    job.output(doubled);
    Ok(())
}

/// The value of record `n` in a seed-state run: uniform over `0..keys`.
pub fn seed_state_value(seed: u64, keys: u64, n: u64) -> u64 {
    random_of(seed, n) % keys.max(1)
}

fn seed_state(job: &mut Job<'_>) -> anyhow::Result<()> {
    let (seed, keys) = (job.config().seed, job.config().keys);
    let occurrences = job
        .generate(move |n| seed_state_value(seed, keys, n))
        .key_by(|value| *value)
        .update_state("counts", |value, count: &mut u64, _| {
            *count += 1;
            Some(Occurrence {
                value: *value,
                count: *count,
            })
        });
    job.output(occurrences);
    Ok(())
}
