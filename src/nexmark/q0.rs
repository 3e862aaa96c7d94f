//! q0, pass-through: every bid, as `{"auction":..,"bidder":..,"price":..,"date_time":..}`.

use serde::Serialize;

use crate::job::Job;
use crate::job::Pipeline;
use crate::nexmark::{bids, pipeline, EventFields};

/// `nexmark-q0`.
pub const Q0: Pipeline = pipeline("nexmark-q0", "NEXMark q0: every bid passed through", q0);

/// An output line of q0 and q1.
#[derive(Serialize)]
pub struct BidLine {
    /// The auction.
    pub auction: u64,
    /// The bidder.
    pub bidder: u64,
    /// The price.
    pub price: u64,
    /// The bid's time.
    pub date_time: u64,
}

fn q0(job: &mut Job<'_>) -> anyhow::Result<()> {
    let lines = bids(job, EventFields::NUMBERS)?.map(|bid| BidLine {
        auction: bid.auction,
        bidder: bid.bidder,
        price: bid.price,
        date_time: bid.date_time,
    });
    job.output(lines);
    Ok(())
}
