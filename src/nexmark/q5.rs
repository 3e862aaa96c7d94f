//! q5, hot items: per hopping window (10 s, every 2 s), the auction(s) with the most bids.

use serde::Serialize;
use timely::dataflow::operators::vec::Map;

use crate::job::Job;
use crate::job::Pipeline;
use crate::nexmark::{bids, pipeline, EventFields};
use crate::operators::{Aggregate, Count};
use crate::time::Window;

/// `nexmark-q5`.
pub const Q5: Pipeline = pipeline(
    "nexmark-q5",
    "NEXMark q5: the most-bid auctions per 10 s window, every 2 s",
    q5,
);

/// An output line of q5.
#[derive(Serialize)]
pub struct HotItem {
    /// The window's start.
    pub window_start: i64,
    /// The window's end.
    pub window_end: u64,
    /// A hottest auction.
    pub auction: u64,
    /// Its bids in the window.
    pub num: u64,
}

fn q5(job: &mut Job<'_>) -> anyhow::Result<()> {
    let hot = bids(job, EventFields::NUMBERS)?
        .map(|bid| (bid.auction, ()))
        .timed_stream()
        .aggregate_top_k(
            "bids per auction",
            Window::hopping(10_000, 2_000),
            Count,
            1,
            |_auction, bids| *bids,
        )
        .map(|hottest| HotItem {
            window_start: hottest.window.start,
            window_end: hottest.window.end,
            auction: hottest.key,
            num: hottest.value,
        });
    job.output(hot);
    Ok(())
}
