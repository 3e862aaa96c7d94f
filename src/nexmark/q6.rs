//! q6, average selling price by seller: the average winning price of each seller's last 10
//! closed auctions, reported whenever auctions of the seller close.

use serde::{Deserialize, Serialize};
use timely::dataflow::operators::vec::Map;

use crate::job::Job;
use crate::nexmark::winning_bids::WinningBids;
use crate::nexmark::{events, pipeline};
use crate::operators::{KeyedProcess, ProcessKeyed};
use crate::pipelines::Pipeline;
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

/// A seller's last closed auctions as `(closed, auction, price)`, and whether closes at
/// some time await reporting.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct LastClosed {
    closed: Vec<(Time, u64, u64)>,
    report_after: Option<Time>,
}

struct AveragePerSeller;

impl KeyedProcess<u64, (u64, u64)> for AveragePerSeller {
    type State = LastClosed;
    type Output = SellerAverage;

    fn on_record(
        &mut self,
        _: &u64,
        state: &mut LastClosed,
        (auction, price): (u64, u64),
        time: Time,
        _: &mut Vec<SellerAverage>,
    ) {
        state.closed.push((time, auction, price));
        state.report_after = Some(time + 1);
    }

    fn deadline(&self, state: &LastClosed) -> Option<Time> {
        state.report_after
    }

    fn on_deadline(
        &mut self,
        seller: &u64,
        state: &mut LastClosed,
        deadline: Time,
        output: &mut Vec<SellerAverage>,
    ) -> bool {
        state.report_after = None;
        // Closes of one time arrive in any order: order by close time, then auction id.
        state.closed.sort_unstable();
        let excess = state.closed.len().saturating_sub(LAST);
        state.closed.drain(..excess);
        let sum: u64 = state.closed.iter().map(|(_, _, price)| price).sum();
        let count = state.closed.len() as u64;
        output.push(SellerAverage {
            seller: *seller,
            avg: sum / count.max(1),
            sum,
            count,
            date_time: deadline - 1,
        });
        true
    }
}

fn q6(job: &mut Job<'_>) -> anyhow::Result<()> {
    let averages = events(job)?
        .winning_bids("winning bids")
        .map(|winner| (winner.seller, (winner.auction, winner.price)))
        .process_keyed("average per seller", AveragePerSeller);
    job.output(averages);
    Ok(())
}
