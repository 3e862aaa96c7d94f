//! q6, average selling price by seller: the average winning price of each seller's last 10
//! closed auctions, reported whenever auctions of the seller close.

use serde::Serialize;
use timely::dataflow::operators::vec::Map;

use crate::job::Job;
use crate::job::Pipeline;
use crate::nexmark::winning_bids::WinningBids;
use crate::nexmark::{events, pipeline, EventFields};
use crate::operators::FoldPerTime;
use crate::time::Time;

/// `nexmark-q6`.
pub const Q6: Pipeline = pipeline(
    "nexmark-q6",
    "NEXMark q6: average winning price of each seller's last 10 closed auctions",
    q6,
);

/// Closed auctions averaged per seller.
const LAST: usize = 10;

/// An output line of q6.
#[derive(Serialize)]
pub struct SellerAverage {
    /// The seller.
    pub seller: u64,
    /// `sum / count`.
    pub avg: u64,
    /// Sum of the winning prices averaged.
    pub sum: u64,
    /// Auctions averaged (at most 10).
    pub count: u64,
    /// The close time this line reports.
    pub date_time: Time,
}

fn q6(job: &mut Job<'_>) -> anyhow::Result<()> {
    let averages = events(job, EventFields::NUMBERS)?
        .winning_bids("winning bids")
        .map(|winner| (winner.seller, (winner.closed, winner.auction, winner.price)))
        .fold_per_time(
            "average per seller",
            |_, closed: &mut Vec<(Time, u64, u64)>, close| closed.push(close),
            |seller, closed, time| {
                // Closes of one time arrive in any order: order by close time, then auction.
                closed.sort_unstable();
                let excess = closed.len().saturating_sub(LAST);
                closed.drain(..excess);
                let sum: u64 = closed.iter().map(|(_, _, price)| price).sum();
                let count = closed.len() as u64;
                Some(SellerAverage {
                    seller: *seller,
                    avg: sum / count.max(1),
                    sum,
                    count,
                    date_time: time,
                })
            },
        );
    job.output(averages);
    Ok(())
}
