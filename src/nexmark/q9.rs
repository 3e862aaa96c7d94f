//! q9, winning bids: every auction that closes with a valid bid, with every field of the
//! auction and of its winning bid (as q4 defines it), when it closes.

use serde::Serialize;
use timely::dataflow::operators::vec::Map;

use crate::job::Job;
use crate::job::Pipeline;
use crate::nexmark::winning_bids::WinningBids;
use crate::nexmark::{events, pipeline, EventFields};

/// `nexmark-q9`.
pub const Q9: Pipeline = pipeline(
    "nexmark-q9",
    "NEXMark q9: every closed auction with its winning bid, in full",
    q9,
);

/// An output line of q9: the auction's fields, then the bid's.
#[derive(Serialize)]
pub struct AuctionWinner {
    /// The auction's id.
    pub id: u64,
    /// Its item name.
    pub item_name: String,
    /// Its description.
    pub description: String,
    /// Its initial bid.
    pub initial_bid: u64,
    /// Its reserve.
    pub reserve: u64,
    /// When it opened.
    pub date_time: u64,
    /// When it closed.
    pub expires: u64,
    /// Its seller.
    pub seller: u64,
    /// Its category.
    pub category: u64,
    /// Its padding.
    pub extra: String,
    /// The winning bid's auction (the same id).
    pub auction: u64,
    /// The winning bidder.
    pub bidder: u64,
    /// The winning price.
    pub price: u64,
    /// When the winning bid came.
    pub bid_date_time: u64,
    /// The winning bid's padding.
    pub bid_extra: String,
}

fn q9(job: &mut Job<'_>) -> anyhow::Result<()> {
    let winners = events(
        job,
        EventFields::AUCTION_ITEM_NAME
            .and(EventFields::AUCTION_DESCRIPTION)
            .and(EventFields::AUCTION_EXTRA)
            .and(EventFields::BID_EXTRA),
    )?
    .winning_bids_in_full("winning bids")
    .map(|winner| {
        let (a, b) = (winner.auction, winner.bid);
        AuctionWinner {
            id: a.id,
            item_name: a.item_name,
            description: a.description,
            initial_bid: a.initial_bid,
            reserve: a.reserve,
            date_time: a.date_time,
            expires: a.expires,
            seller: a.seller,
            category: a.category,
            extra: a.extra,
            auction: b.auction,
            bidder: b.bidder,
            price: b.price,
            bid_date_time: b.date_time,
            bid_extra: b.extra,
        }
    });
    job.output(winners);
    Ok(())
}
