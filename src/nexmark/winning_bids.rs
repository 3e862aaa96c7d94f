//! The winning bid of every auction, when it closes: the operator q4 and q6 build on.
//!
//! An auction's winning bid is the highest-priced of its bids with
//! `auction.date_time <= bid.date_time <= auction.expires`; ties go to the earliest bid,
//! then the smallest bidder; the reserve is not checked (docs/nexmark.md). The auction closes
//! once every bid up to `expires` has been applied, and its winner carries the time
//! `expires`; an auction without a valid bid has no winner.
//!
//! Keyed by auction through [`ProcessKeyed`]: the auction and its best bid so far are the
//! key's state and `expires + 1` its deadline. Input is applied in timestamp order, so a bid
//! that finds no auction can only be valid if its auction arrives at the same millisecond;
//! such bids wait until that millisecond is over, and are dropped if no auction came.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use timely::dataflow::operators::vec::Map;
use timely::dataflow::StreamVec;
use timely::ExchangeData;

use crate::nexmark::{Auction, Bid, Event};
use crate::operators::{KeyedProcess, ProcessKeyed, Side};
use crate::sources::Chain;
use crate::time::Time;

/// An auction's winning bid, at the time the auction closed: what q4 and q6 need of it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Winner {
    /// The auction.
    pub auction: u64,
    /// Its seller.
    pub seller: u64,
    /// Its category.
    pub category: u64,
    /// When it closed (its `expires`).
    pub closed: Time,
    /// The winning bidder.
    pub bidder: u64,
    /// The winning price.
    pub price: u64,
}

/// An auction and its winning bid, every field of both (q9).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WinnerInFull {
    /// The auction.
    pub auction: Auction,
    /// Its winning bid.
    pub bid: Bid,
}

/// What the operator keeps of an auction: its times, and `details` for the result.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct OpenAuction<A> {
    opened: Time,
    expires: Time,
    details: A,
}

/// What the operator keeps of a bid: what decides the winner, and `details` for the result.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct BidOffer<B> {
    price: u64,
    date_time: Time,
    bidder: u64,
    details: B,
}

impl<B> BidOffer<B> {
    /// Whether this bid beats `other`: higher price, then earlier, then smaller bidder.
    fn beats(&self, other: &BidOffer<B>) -> bool {
        (self.price, other.date_time, other.bidder) > (other.price, self.date_time, self.bidder)
    }
}

/// The state of one auction id.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuctionState<A, B> {
    auction: Option<OpenAuction<A>>,
    best: Option<BidOffer<B>>,
    /// Bids that came before their auction, all of one millisecond.
    early: Vec<BidOffer<B>>,
}

impl<A, B> Default for AuctionState<A, B> {
    fn default() -> Self {
        AuctionState {
            auction: None,
            best: None,
            early: Vec::new(),
        }
    }
}

impl<A, B> AuctionState<A, B> {
    fn offer(&mut self, bid: BidOffer<B>) {
        let Some(auction) = &self.auction else { return };
        if auction.opened <= bid.date_time
            && bid.date_time <= auction.expires
            && self.best.as_ref().is_none_or(|best| bid.beats(best))
        {
            self.best = Some(bid);
        }
    }
}

/// A closed auction's kept details and its winning bid.
type Closed<A, B> = (u64, OpenAuction<A>, BidOffer<B>);

struct CloseAuctions<A, B>(std::marker::PhantomData<fn(A, B)>);

impl<A, B> KeyedProcess<u64, Side<OpenAuction<A>, BidOffer<B>>> for CloseAuctions<A, B>
where
    A: Clone + Serialize + DeserializeOwned + Send + 'static,
    B: Clone + Serialize + DeserializeOwned + Send + 'static,
{
    type State = AuctionState<A, B>;
    type Output = Closed<A, B>;

    fn on_record(
        &mut self,
        _auction: &u64,
        state: &mut AuctionState<A, B>,
        record: Side<OpenAuction<A>, BidOffer<B>>,
        _time: Time,
        _output: &mut Vec<Closed<A, B>>,
    ) {
        match record {
            // A second auction with the same id (only in a bad input file) is ignored.
            Side::Left(auction) if state.auction.is_none() => {
                state.auction = Some(auction);
                for bid in std::mem::take(&mut state.early) {
                    state.offer(bid);
                }
            }
            Side::Left(_) => {}
            Side::Right(bid) if state.auction.is_some() => state.offer(bid),
            Side::Right(bid) => {
                // Only bids of the latest millisecond can still meet their auction.
                state.early.retain(|early| early.date_time == bid.date_time);
                state.early.push(bid);
            }
        }
    }

    fn deadline(&self, state: &AuctionState<A, B>) -> Option<Time> {
        match (&state.auction, state.early.first()) {
            (Some(auction), _) => Some(auction.expires.saturating_add(1)),
            (None, Some(early)) => Some(early.date_time.saturating_add(1)),
            (None, None) => None,
        }
    }

    fn on_deadline(
        &mut self,
        auction: &u64,
        state: &mut AuctionState<A, B>,
        _deadline: Time,
        output: &mut Vec<Closed<A, B>>,
    ) -> bool {
        if let (Some(open), Some(best)) = (state.auction.take(), state.best.take()) {
            output.push((*auction, open, best));
        }
        false
    }
}

/// The winners of `events`, keeping `auction_details` of each auction and `bid_details` of
/// each bid: keyed inside the source, as events are large and most of each is not needed.
fn close_auctions<'scope, M, A, B>(
    events: Chain<'scope, Event, M>,
    name: &str,
    auction_details: fn(Auction) -> A,
    bid_details: fn(Bid) -> B,
) -> StreamVec<'scope, Time, Closed<A, B>>
where
    M: FnMut(u64) -> Option<Event> + 'static,
    A: ExchangeData + Clone + Serialize + DeserializeOwned + Send,
    B: ExchangeData + Clone + Serialize + DeserializeOwned + Send,
{
    events
        .filter_map(move |event| match event {
            Event::Auction(a) => Some((
                a.id,
                Side::Left(OpenAuction {
                    opened: a.date_time,
                    expires: a.expires,
                    details: auction_details(a),
                }),
            )),
            Event::Bid(b) => Some((
                b.auction,
                Side::Right(BidOffer {
                    price: b.price,
                    date_time: b.date_time,
                    bidder: b.bidder,
                    details: bid_details(b),
                }),
            )),
            Event::Person(_) => None,
        })
        .timed_stream()
        .process_keyed(name, CloseAuctions(std::marker::PhantomData))
}

/// Extension trait for closing auctions.
pub trait WinningBids<'scope> {
    /// The winner of every auction among the events, at the time it closes. `name` is the
    /// operator's stable id.
    ///
    /// ```
    /// use timely::dataflow::operators::Capture;
    /// use timely::dataflow::operators::capture::Extract;
    /// use weir::nexmark::winning_bids::WinningBids;
    /// use weir::nexmark::{Auction, Bid, Event};
    /// use weir::sources::ToTimedStream;
    ///
    /// let auction = |id, date_time, expires| Event::Auction(Auction {
    ///     id, item_name: String::new(), description: String::new(), initial_bid: 1, reserve: 1,
    ///     date_time, expires, seller: 7, category: 10, extra: String::new(),
    /// });
    /// let bid = |auction, bidder, price, date_time| Event::Bid(Bid {
    ///     auction, bidder, price, channel: String::new(), url: String::new(), date_time,
    ///     extra: String::new(),
    /// });
    /// let events = vec![
    ///     auction(1, 10, 20),
    ///     bid(1, 100, 5, 9),  // before the auction opened
    ///     bid(1, 101, 8, 12),
    ///     bid(1, 102, 8, 15), // a tie, but later
    ///     bid(1, 103, 50, 21), // after it closed
    /// ];
    /// let captured = timely::example(move |scope| {
    ///     events
    ///         .into_iter()
    ///         .map(|e| (e.date_time(), e))
    ///         .to_timed_stream(scope)
    ///         .winning_bids("winners")
    ///         .capture()
    /// });
    /// let winners = captured.extract();
    /// assert_eq!(winners.len(), 1);
    /// let (time, winner) = (winners[0].0, &winners[0].1[0]);
    /// assert_eq!((time, winner.bidder, winner.price), (20, 101, 8));
    /// ```
    fn winning_bids(self, name: &str) -> StreamVec<'scope, Time, Winner>;

    /// The winner of every auction with every field of the auction and of its winning bid,
    /// at the time it closes (q9). `name` is the operator's stable id.
    fn winning_bids_in_full(self, name: &str) -> StreamVec<'scope, Time, WinnerInFull>;
}

impl<'scope, M> WinningBids<'scope> for Chain<'scope, Event, M>
where
    M: FnMut(u64) -> Option<Event> + 'static,
{
    fn winning_bids(self, name: &str) -> StreamVec<'scope, Time, Winner> {
        close_auctions(self, name, |a| (a.seller, a.category), |_| ()).map(
            |(auction, open, best)| Winner {
                auction,
                seller: open.details.0,
                category: open.details.1,
                closed: open.expires,
                bidder: best.bidder,
                price: best.price,
            },
        )
    }

    fn winning_bids_in_full(self, name: &str) -> StreamVec<'scope, Time, WinnerInFull> {
        close_auctions(self, name, |a| a, |b| b).map(|(_, open, best)| WinnerInFull {
            auction: open.details,
            bid: best.details,
        })
    }
}

impl<'scope> WinningBids<'scope> for StreamVec<'scope, Time, Event> {
    fn winning_bids(self, name: &str) -> StreamVec<'scope, Time, Winner> {
        Chain::<'scope, Event, fn(u64) -> Option<Event>>::from(self).winning_bids(name)
    }

    fn winning_bids_in_full(self, name: &str) -> StreamVec<'scope, Time, WinnerInFull> {
        Chain::<'scope, Event, fn(u64) -> Option<Event>>::from(self).winning_bids_in_full(name)
    }
}
