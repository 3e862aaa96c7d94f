//! `nexmark-generator`: the NEXMark events generated and dropped, with no output — the
//! baseline that the queries' throughput is measured against (`experiments/nexmark-throughput.toml`).
//!
//! Generated, the events are dropped inside the generator, where a query's stateless steps
//! run too ([`Chain`](crate::sources::Chain), which makes every event in full): the baseline
//! is the cost of making the events and nothing else.

use crate::job::Job;
use crate::job::Pipeline;
use crate::nexmark::{events, pipeline, EventFields};

/// `nexmark-generator`.
pub const GENERATOR: Pipeline = pipeline(
    "nexmark-generator",
    "NEXMark events generated (or read) and dropped, no output: the measurement baseline",
    generator_only,
);

fn generator_only(job: &mut Job<'_>) -> anyhow::Result<()> {
    let nothing = events(job, EventFields::ALL)?.filter_map(|_| None::<()>);
    job.output(nothing);
    Ok(())
}
