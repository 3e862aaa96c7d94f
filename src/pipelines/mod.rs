//! The registry of named pipelines that `weir run`, `weir bench` and the tests refer to.
//!
//! A pipeline is a function that builds a dataflow from a [`Job`](crate::job::Job); each lives in its own
//! file and reads like what it computes.

pub mod graph_reach;
pub mod seed;
pub mod wordcount;

use anyhow::bail;

pub use crate::job::{InputFormat, Pipeline};

/// Every registered pipeline.
pub static PIPELINES: &[Pipeline] = &[
    seed::SEED_MAP,
    seed::SEED_STATE,
    wordcount::WORDCOUNT,
    graph_reach::GRAPH_REACH,
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
    crate::nexmark::q9::Q9,
    crate::nexmark::q11::Q11,
    crate::nexmark::q13::Q13,
    crate::nexmark::q14::Q14,
    crate::nexmark::q15::Q15,
    crate::nexmark::q16::Q16,
    crate::nexmark::q17::Q17,
    crate::nexmark::q18::Q18,
    crate::nexmark::q19::Q19,
    crate::nexmark::q20::Q20,
    crate::nexmark::q21::Q21,
    crate::nexmark::q22::Q22,
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
