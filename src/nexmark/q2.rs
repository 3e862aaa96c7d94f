//! q2, selection: the bids on auctions whose id is a multiple of 123.

use serde::Serialize;

use crate::job::Job;
use crate::job::Pipeline;
use crate::nexmark::{bids, pipeline, EventFields};

/// `nexmark-q2`.
pub const Q2: Pipeline = pipeline(
    "nexmark-q2",
    "NEXMark q2: bids on auctions with auction % 123 == 0",
    q2,
);

/// An output line of q2.
#[derive(Serialize)]
pub struct Selected {
    /// The auction.
    pub auction: u64,
    /// The price.
    pub price: u64,
}

fn q2(job: &mut Job<'_>) -> anyhow::Result<()> {
    let lines = bids(job, EventFields::NUMBERS)?.filter_map(|bid| {
        (bid.auction % 123 == 0).then_some(Selected {
            auction: bid.auction,
            price: bid.price,
        })
    });
    job.output(lines);
    Ok(())
}
