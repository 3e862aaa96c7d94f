//! NEXMark events as docs/nexmark.md specifies them: persons, auctions and bids, written and read
//! as JSON lines with the keys in the contract's order.

use serde::{Deserialize, Serialize};

use crate::time::Time;

/// One NEXMark event: `{"type":"person"|"auction"|"bid", ...}`.
///
/// ```
/// use weir::nexmark::{Bid, Event};
///
/// let bid = Event::Bid(Bid {
///     auction: 1000, bidder: 2001, price: 42, channel: "Google".into(),
///     url: "https://example.com".into(), date_time: 7, extra: String::new(),
/// });
/// let line = serde_json::to_string(&bid).unwrap();
/// assert!(line.starts_with(r#"{"type":"bid","auction":1000,"bidder":2001,"price":42,"#));
/// assert_eq!(serde_json::from_str::<Event>(&line).unwrap(), bid);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Event {
    /// A new person.
    Person(Person),
    /// A new auction.
    Auction(Auction),
    /// A bid on an auction.
    Bid(Bid),
}

impl Event {
    /// The event's time, `date_time`, in milliseconds.
    #[inline]
    pub fn date_time(&self) -> Time {
        match self {
            Event::Person(person) => person.date_time,
            Event::Auction(auction) => auction.date_time,
            Event::Bid(bid) => bid.date_time,
        }
    }
}

/// A person who sells and bids.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Person {
    /// Unique id.
    pub id: u64,
    /// Full name.
    pub name: String,
    /// Email address.
    pub email_address: String,
    /// Credit card number.
    pub credit_card: String,
    /// City.
    pub city: String,
    /// US state, two lower-case letters.
    pub state: String,
    /// Registration time in milliseconds.
    pub date_time: Time,
    /// Padding to the benchmark's event size.
    pub extra: String,
}

/// An item for auction.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Auction {
    /// Unique id.
    pub id: u64,
    /// Item name.
    pub item_name: String,
    /// Item description.
    pub description: String,
    /// Initial bid in cents.
    pub initial_bid: u64,
    /// Reserve price in cents (not checked by any query, as in nexmark-flink).
    pub reserve: u64,
    /// Opening time in milliseconds.
    pub date_time: Time,
    /// Closing time in milliseconds.
    pub expires: Time,
    /// The seller's person id.
    pub seller: u64,
    /// Category id.
    pub category: u64,
    /// Padding to the benchmark's event size.
    pub extra: String,
}

/// A bid on an auction.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Bid {
    /// The auction's id.
    pub auction: u64,
    /// The bidder's person id.
    pub bidder: u64,
    /// Price in cents.
    pub price: u64,
    /// Channel the bid came through.
    pub channel: String,
    /// URL of the bid.
    pub url: String,
    /// Bid time in milliseconds.
    pub date_time: Time,
    /// Padding to the benchmark's event size.
    pub extra: String,
}
