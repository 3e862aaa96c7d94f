//! q1, currency conversion: every bid with its price in euros, `price * 908 / 1000`.

use crate::job::Job;
use crate::job::Pipeline;
use crate::nexmark::q0::BidLine;
use crate::nexmark::{bids, pipeline, EventFields};

/// `nexmark-q1`.
pub const Q1: Pipeline = pipeline(
    "nexmark-q1",
    "NEXMark q1: every bid with its price converted (price * 908 / 1000)",
    q1,
);

fn q1(job: &mut Job<'_>) -> anyhow::Result<()> {
    let lines = bids(job, EventFields::NUMBERS)?.map(|bid| BidLine {
        auction: bid.auction,
        bidder: bid.bidder,
        price: bid.price * 908 / 1000,
        date_time: bid.date_time,
    });
    job.output(lines);
    Ok(())
}
