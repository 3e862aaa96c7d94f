//! q20, expand bid with auction: every bid joined with its auction when the auction is in
//! category 10, with no time condition; each pair once, whichever arrives first.
//!
//! A regular (unwindowed) join, as nexmark-flink's: both sides are kept for the life of the
//! job, so its state grows with the input. With `--state hash` (the default) the sides are
//! hash maps per auction ([`JoinSides`]); with `--state arranged` each side is a
//! differential arrangement kept as weir state ([`ArrangeState`](crate::operators::ArrangeState)), joined with
//! differential's `join_core`. Both emit the same pairs at the same times.

use serde::Serialize;
use timely::dataflow::operators::vec::Map;
use timely::dataflow::StreamVec;

use crate::job::Job;
use crate::job::Pipeline;
use crate::nexmark::{events, Auction, Bid, Event, EventFields};
use crate::operators::{ArrangeSides, JoinSides, LeaveCollection, Side};
use crate::state::StateKind;
use crate::time::Time;

/// `nexmark-q20`.
pub const Q20: Pipeline = Pipeline {
    states: &[StateKind::Hash, StateKind::Arranged],
    ..crate::nexmark::pipeline(
        "nexmark-q20",
        "NEXMark q20: bids joined with their auctions in category 10",
        q20,
    )
};

/// An output line of q20: the bid's fields, then its auction's.
#[derive(Serialize)]
pub struct BidWithAuction {
    /// The auction.
    pub auction: u64,
    /// The bidder.
    pub bidder: u64,
    /// The price.
    pub price: u64,
    /// The bid's channel.
    pub channel: String,
    /// The bid's URL.
    pub url: String,
    /// The bid's time.
    pub date_time: u64,
    /// The bid's padding.
    pub extra: String,
    /// The auction's item name.
    pub item_name: String,
    /// Its description.
    pub description: String,
    /// Its initial bid.
    pub initial_bid: u64,
    /// Its reserve.
    pub reserve: u64,
    /// When it opened.
    pub auction_date_time: u64,
    /// When it closes.
    pub expires: u64,
    /// Its seller.
    pub seller: u64,
    /// Its category.
    pub category: u64,
    /// Its padding.
    pub auction_extra: String,
}

fn q20(job: &mut Job<'_>) -> anyhow::Result<()> {
    let auctions_and_bids = events(
        job,
        EventFields::BID_CHANNEL
            .and(EventFields::BID_URL)
            .and(EventFields::BID_EXTRA)
            .and(EventFields::AUCTION_ITEM_NAME)
            .and(EventFields::AUCTION_DESCRIPTION)
            .and(EventFields::AUCTION_EXTRA),
    )?
    .filter_map(|event| match event {
        Event::Auction(a) if a.category == 10 => Some((a.id, Side::Left(a))),
        Event::Bid(b) => Some((b.auction, Side::Right(b))),
        _ => None,
    })
    .stream();
    let lines = match job.config().state {
        StateKind::Hash => auctions_and_bids
            .join_sides("auctions and bids", |_, auction: &Auction, bid: &Bid| {
                bid_with_auction(bid.clone(), auction.clone())
            }),
        StateKind::Arranged => arranged_join(auctions_and_bids),
    };
    job.output(lines);
    Ok(())
}

/// The join on arrangements: each side arranged by auction id as state, joined incrementally.
fn arranged_join<'scope>(
    auctions_and_bids: StreamVec<'scope, Time, (u64, Side<Auction, Bid>)>,
) -> StreamVec<'scope, Time, BidWithAuction> {
    let (auctions, bids) = auctions_and_bids.arrange_sides("auctions", "bids");
    auctions
        .join_core(bids, |_, auction, bid| Some((bid.clone(), auction.clone())))
        .records()
        .map(|(bid, auction)| bid_with_auction(bid, auction))
}

fn bid_with_auction(bid: Bid, auction: Auction) -> BidWithAuction {
    BidWithAuction {
        auction: bid.auction,
        bidder: bid.bidder,
        price: bid.price,
        channel: bid.channel,
        url: bid.url,
        date_time: bid.date_time,
        extra: bid.extra,
        item_name: auction.item_name,
        description: auction.description,
        initial_bid: auction.initial_bid,
        reserve: auction.reserve,
        auction_date_time: auction.date_time,
        expires: auction.expires,
        seller: auction.seller,
        category: auction.category,
        auction_extra: auction.extra,
    }
}
