//! q7, highest bid: per 10 s tumbling window, the bid(s) with the highest price.

use serde::Serialize;
use timely::dataflow::operators::vec::Map;

use crate::job::Job;
use crate::job::Pipeline;
use crate::nexmark::{bids, pipeline, EventFields};
use crate::operators::{Aggregate, TopK};
use crate::time::Window;

/// `nexmark-q7`.
pub const Q7: Pipeline = pipeline(
    "nexmark-q7",
    "NEXMark q7: the highest bid(s) per 10 s window",
    q7,
);

/// An output line of q7.
#[derive(Serialize)]
pub struct HighestBid {
    /// The window's start.
    pub window_start: i64,
    /// The window's end.
    pub window_end: u64,
    /// The bid's auction.
    pub auction: u64,
    /// The bidder.
    pub bidder: u64,
    /// The highest price.
    pub price: u64,
    /// The bid's time.
    pub date_time: u64,
}

fn q7(job: &mut Job<'_>) -> anyhow::Result<()> {
    let highest = bids(job, EventFields::NUMBERS)?
        .map(|bid| ((), (bid.price, bid.auction, bid.bidder, bid.date_time)))
        .timed_stream()
        .aggregate(
            "highest bid",
            Window::tumbling(10_000),
            TopK::new(1, |bid: &(u64, u64, u64, u64)| bid.0),
        )
        .flat_map(|best| {
            let window = best.window;
            best.value
                .into_iter()
                .map(move |(price, auction, bidder, date_time)| HighestBid {
                    window_start: window.start,
                    window_end: window.end,
                    auction,
                    bidder,
                    price,
                    date_time,
                })
        });
    job.output(highest);
    Ok(())
}
