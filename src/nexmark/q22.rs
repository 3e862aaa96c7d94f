//! q22, get URL directories: each bid with the first three directories of its URL.

use std::ops::Range;

use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;

use crate::job::Job;
use crate::job::Pipeline;
use crate::nexmark::fields::url_directory_ranges;
use crate::nexmark::{bids, pipeline, EventFields};

/// `nexmark-q22`.
pub const Q22: Pipeline = pipeline(
    "nexmark-q22",
    "NEXMark q22: bids with the directories of their URL",
    q22,
);

/// An output line of q22: the bid's URL is kept whole and its directories written from it,
/// so a line costs no string of its own.
pub struct UrlBid {
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
    /// Where its parts 3, 4 and 5 split at `/` lie (`None` where it has fewer).
    pub directories: [Option<Range<usize>>; 3],
}

impl Serialize for UrlBid {
    /// `{"auction":..,"bidder":..,"price":..,"channel":"..","dir1":"..","dir2":"..","dir3":".."}`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let dir = |i: usize| {
            self.directories[i]
                .clone()
                .and_then(|range| self.url.get(range))
        };
        let mut line = serializer.serialize_struct("UrlBid", 7)?;
        line.serialize_field("auction", &self.auction)?;
        line.serialize_field("bidder", &self.bidder)?;
        line.serialize_field("price", &self.price)?;
        line.serialize_field("channel", &self.channel)?;
        line.serialize_field("dir1", &dir(0))?;
        line.serialize_field("dir2", &dir(1))?;
        line.serialize_field("dir3", &dir(2))?;
        line.end()
    }
}

fn q22(job: &mut Job<'_>) -> anyhow::Result<()> {
    let lines = bids(job, EventFields::BID_CHANNEL.and(EventFields::BID_URL))?.map(|bid| UrlBid {
        auction: bid.auction,
        bidder: bid.bidder,
        price: bid.price,
        channel: bid.channel,
        directories: url_directory_ranges(&bid.url),
        url: bid.url,
    });
    job.output(lines);
    Ok(())
}
