//! q4, average price per category: over all auctions closed so far with a winning bid, the
//! average winning price of each category, reported whenever auctions of it close.

use serde::Serialize;
use timely::dataflow::operators::vec::Map;

use crate::job::Job;
use crate::job::Pipeline;
use crate::nexmark::winning_bids::WinningBids;
use crate::nexmark::{events, pipeline, EventFields};
use crate::operators::FoldPerTime;
use crate::time::Time;

/// `nexmark-q4`.
pub const Q4: Pipeline = pipeline(
    "nexmark-q4",
    "NEXMark q4: average winning price per category of closed auctions",
    q4,
);

/// An output line of q4.
#[derive(Serialize)]
pub struct CategoryAverage {
    /// The category.
    pub category: u64,
    /// `sum / count`.
    pub avg: u64,
    /// Sum of winning prices.
    pub sum: u64,
    /// Closed auctions with a winning bid.
    pub count: u64,
    /// The close time this line reports.
    pub date_time: Time,
}

fn q4(job: &mut Job<'_>) -> anyhow::Result<()> {
    let averages = events(job, EventFields::NUMBERS)?
        .winning_bids("winning bids")
        .map(|winner| (winner.category, winner.price))
        .fold_per_time(
            "average per category",
            |_, (sum, count): &mut (u64, u64), price| {
                *sum += price;
                *count += 1;
            },
            |category, &mut (sum, count), closed| {
                Some(CategoryAverage {
                    category: *category,
                    avg: sum / count.max(1),
                    sum,
                    count,
                    date_time: closed,
                })
            },
        );
    job.output(averages);
    Ok(())
}
