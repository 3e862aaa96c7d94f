//! The row of q18's and q19's changelogs: a bid's fields in the contract's order.

use serde::{Deserialize, Serialize};

use crate::nexmark::Bid;
use crate::time::Time;

/// A bid as a row of an updating result.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BidRow {
    /// The auction.
    pub auction: u64,
    /// The bidder.
    pub bidder: u64,
    /// The price.
    pub price: u64,
    /// The channel.
    pub channel: String,
    /// The URL.
    pub url: String,
    /// The bid's time.
    pub date_time: Time,
    /// The bid's padding.
    pub extra: String,
}

impl From<Bid> for BidRow {
    fn from(bid: Bid) -> Self {
        BidRow {
            auction: bid.auction,
            bidder: bid.bidder,
            price: bid.price,
            channel: bid.channel,
            url: bid.url,
            date_time: bid.date_time,
            extra: bid.extra,
        }
    }
}
