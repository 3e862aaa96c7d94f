//! q21, add channel id: each bid with the id of its channel, from the channel's name for the
//! four hot ones and from the URL's `channel_id` parameter for the rest; bids with neither
//! are dropped.

use serde::Serialize;

use crate::job::Job;
use crate::job::Pipeline;
use crate::nexmark::fields::channel_id;
use crate::nexmark::{bids, pipeline};

/// `nexmark-q21`.
pub const Q21: Pipeline = pipeline(
    "nexmark-q21",
    "NEXMark q21: bids with the id of their channel",
    q21,
);

/// An output line of q21.
#[derive(Serialize)]
pub struct ChannelBid {
    /// The auction.
    pub auction: u64,
    /// The bidder.
    pub bidder: u64,
    /// The price.
    pub price: u64,
    /// The channel.
    pub channel: String,
    /// The channel's id.
    pub channel_id: String,
}

fn q21(job: &mut Job<'_>) -> anyhow::Result<()> {
    let lines = bids(job)?.filter_map(|bid| {
        let id = channel_id(&bid.channel, &bid.url)?.to_string();
        Some(ChannelBid {
            auction: bid.auction,
            bidder: bid.bidder,
            price: bid.price,
            channel: bid.channel,
            channel_id: id,
        })
    });
    job.output(lines);
    Ok(())
}
