//! The registry of named pipelines that `weir run`, `weir bench` and the tests refer to.
//!
//! A pipeline is a function that builds a dataflow from a [`Job`]; each lives in its own
//! file and reads like what it computes.

pub mod seed;
pub mod wordcount;

use anyhow::bail;

use crate::job::Job;

/// What kind of `--input` a pipeline reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputFormat {
    /// The pipeline only generates its input.
    None,
    /// Plain text lines.
    Text,
    /// JSON lines.
    JsonLines,
}

/// A registered pipeline.
pub struct Pipeline {
    /// The name `weir run` knows it by.
    pub name: &'static str,
    /// One line on what it computes and outputs.
    pub about: &'static str,
    /// Records generated when `--events` is not given.
    pub default_events: u64,
    /// Records per second of event time when `--event-rate` is not given.
    pub default_event_rate: f64,
    /// What `--input` it accepts.
    pub input: InputFormat,
    /// Builds the dataflow.
    pub build: for<'scope> fn(&mut Job<'scope>) -> anyhow::Result<()>,
}

/// Every registered pipeline.
pub static PIPELINES: &[Pipeline] = &[
    seed::SEED_MAP,
    seed::SEED_STATE,
    wordcount::WORDCOUNT,
    crate::nexmark::generator_only::GENERATOR,
    crate::nexmark::q0::Q0,
    crate::nexmark::q1::Q1,
    crate::nexmark::q2::Q2,
    crate::nexmark::q3::Q3,
    crate::nexmark::q4::Q4,
    crate::nexmark::q5::Q5,
    crate::nexmark::q6::Q6,
    crate::nexmark::q7::Q7,
    crate::nexmark::q8::Q8,
];

/// The pipeline called `name`, or an error listing the ones there are.
pub fn find(name: &str) -> anyhow::Result<&'static Pipeline> {
    match PIPELINES.iter().find(|p| p.name == name) {
        Some(pipeline) => Ok(pipeline),
        None => bail!(
            "no pipeline named {name:?}; the pipelines are: {}",
            names().join(", ")
        ),
    }
}

/// The names of all pipelines.
pub fn names() -> Vec<&'static str> {
    PIPELINES.iter().map(|p| p.name).collect()
}
