//! q14, calculation: bids with a converted price between 1,000,000 and 50,000,000 (as
//! nexmark-flink's `0.908 * price`, compared exactly), labelled by the time of day they came
//! and with the `c`s of their `extra` counted.

use serde::Serialize;

use crate::job::Job;
use crate::job::Pipeline;
use crate::nexmark::fields::hour;
use crate::nexmark::{bids, pipeline, EventFields};

/// `nexmark-q14`.
pub const Q14: Pipeline = pipeline(
    "nexmark-q14",
    "NEXMark q14: mid-priced bids converted, with their time of day and c count",
    q14,
);

/// An output line of q14.
#[derive(Serialize)]
pub struct ConvertedBid {
    /// The auction.
    pub auction: u64,
    /// The bidder.
    pub bidder: u64,
    /// `price * 908 / 1000`.
    pub price: u64,
    /// `dayTime` (hours 8-18), `nightTime` (0-6 and 20-23) or `otherTime`.
    pub bid_time_type: &'static str,
    /// The bid's time.
    pub date_time: u64,
    /// The bid's padding.
    pub extra: String,
    /// The lower-case `c`s in `extra`.
    pub c_counts: usize,
}

/// The label of a bid's hour of day.
fn time_type(hour: u64) -> &'static str {
    match hour {
        8..=18 => "dayTime",
        0..=6 | 20..=23 => "nightTime",
        _ => "otherTime",
    }
}

fn q14(job: &mut Job<'_>) -> anyhow::Result<()> {
    let lines = bids(job, EventFields::BID_EXTRA)?.filter_map(|bid| {
        // `0.908 * price` between 1e6 and 5e7, in integers: prices stop at 10^8, so the
        // product fits in a u64.
        let product = bid.price.saturating_mul(908);
        (1_000_000_000 < product && product < 50_000_000_000).then(|| ConvertedBid {
            auction: bid.auction,
            bidder: bid.bidder,
            price: product / 1000,
            bid_time_type: time_type(hour(bid.date_time)),
            date_time: bid.date_time,
            c_counts: bid.extra.bytes().filter(|&b| b == b'c').count(),
            extra: bid.extra,
        })
    });
    job.output(lines);
    Ok(())
}
