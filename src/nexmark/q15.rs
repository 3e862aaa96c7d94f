//! q15, bidding statistics report: per day, the bids, distinct bidders and distinct
//! auctions, in all and per price rank ([`BidStatistics`]), once the day is over.

use serde::Serialize;
use timely::dataflow::operators::vec::Map;

use crate::job::Job;
use crate::job::Pipeline;
use crate::nexmark::bid_statistics::{BidStatistics, RankCounts, RankedBid};
use crate::nexmark::fields::{day, DAY_MS};
use crate::nexmark::{bids, pipeline, EventFields};
use crate::operators::Aggregate;
use crate::time::Window;

/// `nexmark-q15`.
pub const Q15: Pipeline = pipeline(
    "nexmark-q15",
    "NEXMark q15: bids, bidders and auctions per day, in all and per price rank",
    q15,
);

/// An output line of q15.
#[derive(Serialize)]
pub struct DailyStatistics {
    /// The day, `YYYY-MM-DD`.
    pub day: String,
    /// Its bids, bidders and auctions.
    #[serde(flatten)]
    pub counts: RankCounts,
}

fn q15(job: &mut Job<'_>) -> anyhow::Result<()> {
    let days = bids(job, EventFields::NUMBERS)?
        .map(|bid| ((), RankedBid::of(&bid)))
        .timed_stream()
        .aggregate(
            "statistics per day",
            Window::tumbling(DAY_MS),
            BidStatistics,
        )
        .map(|daily| DailyStatistics {
            day: day(daily.window.first_time()),
            counts: daily.value.counts,
        });
    job.output(days);
    Ok(())
}
