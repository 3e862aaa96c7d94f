//! q17, auction statistics report: per auction and day, its bids in all and per price rank,
//! and the least, greatest, average and total price.

use serde::{Deserialize, Serialize};
use timely::dataflow::operators::vec::Map;

use crate::job::Job;
use crate::job::Pipeline;
use crate::nexmark::fields::{day, price_rank, DAY_MS};
use crate::nexmark::{bids, pipeline, EventFields};
use crate::operators::{Aggregate, Aggregator};
use crate::time::Window;

/// `nexmark-q17`.
pub const Q17: Pipeline = pipeline(
    "nexmark-q17",
    "NEXMark q17: bids and prices per auction and day",
    q17,
);

/// An output line of q17.
#[derive(Serialize)]
pub struct AuctionStatistics {
    /// The auction.
    pub auction: u64,
    /// The day, `YYYY-MM-DD`.
    pub day: String,
    /// Bids.
    pub total_bids: u64,
    /// Bids below 10,000.
    pub rank1_bids: u64,
    /// Bids from 10,000 to below 1,000,000.
    pub rank2_bids: u64,
    /// Bids from 1,000,000 on.
    pub rank3_bids: u64,
    /// The least price.
    pub min_price: u64,
    /// The greatest price.
    pub max_price: u64,
    /// `sum_price / total_bids`.
    pub avg_price: u64,
    /// The sum of prices.
    pub sum_price: u64,
}

/// Bids per rank and the least, greatest and total price of a group.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Prices {
    bids: [u64; 3],
    min: u64,
    max: u64,
    sum: u64,
}

impl Default for Prices {
    fn default() -> Self {
        Prices {
            bids: [0; 3],
            min: u64::MAX,
            max: 0,
            sum: 0,
        }
    }
}

#[derive(Clone, Copy)]
struct PriceStatistics;

impl Aggregator<u64> for PriceStatistics {
    type Acc = Prices;
    type Output = Prices;

    fn add(&self, acc: &mut Prices, price: u64) {
        acc.bids[price_rank(price)] += 1;
        acc.min = acc.min.min(price);
        acc.max = acc.max.max(price);
        acc.sum += price;
    }

    fn merge(&self, acc: &mut Prices, other: &Prices) {
        for rank in 0..3 {
            acc.bids[rank] += other.bids[rank];
        }
        acc.min = acc.min.min(other.min);
        acc.max = acc.max.max(other.max);
        acc.sum += other.sum;
    }

    fn result(&self, acc: &Prices) -> Prices {
        acc.clone()
    }
}

fn q17(job: &mut Job<'_>) -> anyhow::Result<()> {
    let auctions = bids(job, EventFields::NUMBERS)?
        .map(|bid| (bid.auction, bid.price))
        .timed_stream()
        .aggregate(
            "prices per auction and day",
            Window::tumbling(DAY_MS),
            PriceStatistics,
        )
        .map(|daily| {
            let prices = daily.value;
            let total: u64 = prices.bids.iter().sum();
            AuctionStatistics {
                auction: daily.key,
                day: day(daily.window.first_time()),
                total_bids: total,
                rank1_bids: prices.bids[0],
                rank2_bids: prices.bids[1],
                rank3_bids: prices.bids[2],
                min_price: prices.min,
                max_price: prices.max,
                avg_price: prices.sum / total.max(1),
                sum_price: prices.sum,
            }
        });
    job.output(auctions);
    Ok(())
}
