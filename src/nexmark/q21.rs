//! q21, add channel id: each bid with the id of its channel, from the channel's name for the
//! four hot ones and from the URL's `channel_id` parameter for the rest; bids with neither
//! are dropped.

use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;

use crate::job::Job;
use crate::job::Pipeline;
use crate::nexmark::fields::{channel_id_in, ChannelId};
use crate::nexmark::{bids, pipeline, EventFields};

/// `nexmark-q21`.
pub const Q21: Pipeline = pipeline(
    "nexmark-q21",
    "NEXMark q21: bids with the id of their channel",
    q21,
);

/// An output line of q21: the bid's URL is kept whole and the id written from it, so a
/// line costs no string of its own.
pub struct ChannelBid {
    /// The auction.
    pub auction: u64,
    /// The bidder.
    pub bidder: u64,
    /// The price.
    pub price: u64,
    /// The channel.
    pub channel: String,
    /// The bid's URL.
    pub url: String,
    /// Where the channel's id comes from.
    pub channel_id: ChannelId,
}

impl Serialize for ChannelBid {
    /// `{"auction":..,"bidder":..,"price":..,"channel":"..","channel_id":".."}`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let id = self.channel_id.text(&self.url);
        let mut line = serializer.serialize_struct("ChannelBid", 5)?;
        line.serialize_field("auction", &self.auction)?;
        line.serialize_field("bidder", &self.bidder)?;
        line.serialize_field("price", &self.price)?;
        line.serialize_field("channel", &self.channel)?;
        line.serialize_field("channel_id", id)?;
        line.end()
    }
}

fn q21(job: &mut Job<'_>) -> anyhow::Result<()> {
    let lines = bids(job, EventFields::BID_CHANNEL.and(EventFields::BID_URL))?.filter_map(|bid| {
        let channel_id = channel_id_in(&bid.channel, &bid.url)?;
        Some(ChannelBid {
            auction: bid.auction,
            bidder: bid.bidder,
            price: bid.price,
            channel: bid.channel,
            url: bid.url,
            channel_id,
        })
    });
    job.output(lines);
    Ok(())
}
