//! q16, channel statistics report: q15's statistics per channel and day, with the latest
//! minute of the day at which the channel had a bid.

use serde::Serialize;
use timely::dataflow::operators::vec::Map;

use crate::job::Job;
use crate::job::Pipeline;
use crate::nexmark::bid_statistics::{BidStatistics, RankCounts, RankedBid};
use crate::nexmark::fields::{day, hour_minute, DAY_MS};
use crate::nexmark::{bids, pipeline, EventFields};
use crate::operators::Aggregate;
use crate::time::Window;

/// `nexmark-q16`.
pub const Q16: Pipeline = pipeline(
    "nexmark-q16",
    "NEXMark q16: bids, bidders and auctions per channel and day, per price rank",
    q16,
);

/// An output line of q16.
#[derive(Serialize)]
pub struct ChannelStatistics {
    /// The channel.
    pub channel: String,
    /// The day, `YYYY-MM-DD`.
    pub day: String,
    /// The latest `HH:mm` among the channel's bids of the day.
    pub minute: String,
    /// Its bids, bidders and auctions.
    #[serde(flatten)]
    pub counts: RankCounts,
}

fn q16(job: &mut Job<'_>) -> anyhow::Result<()> {
    let channels = bids(job, EventFields::BID_CHANNEL)?
        .map(|bid| {
            let ranked = RankedBid::of(&bid);
            (bid.channel, ranked)
        })
        .timed_stream()
        .aggregate(
            "statistics per channel and day",
            Window::tumbling(DAY_MS),
            BidStatistics,
        )
        .map(|daily| ChannelStatistics {
            channel: daily.key,
            day: day(daily.window.first_time()),
            minute: hour_minute(daily.value.latest),
            counts: daily.value.counts,
        });
    job.output(channels);
    Ok(())
}
