//! Bid statistics per group, as q15 (per day) and q16 (per channel and day) report them: bids,
//! distinct bidders and distinct auctions, in all and per price rank, and the latest bid time.
//! One [`Aggregator`], so the windowed `aggregate` folds partials on every worker and merges
//! them at the group's owner.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::nexmark::fields::price_rank;
use crate::nexmark::Bid;
use crate::operators::Aggregator;
use crate::time::Time;

/// What the statistics need of a bid.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct RankedBid {
    bidder: u64,
    auction: u64,
    rank: u8,
    date_time: Time,
}

impl RankedBid {
    /// The fields of `bid` the statistics read.
    pub fn of(bid: &Bid) -> Self {
        RankedBid {
            bidder: bid.bidder,
            auction: bid.auction,
            rank: price_rank(bid.price) as u8,
            date_time: bid.date_time,
        }
    }
}

/// The partial statistics of a group: per price rank, its bids; the bidders and auctions
/// seen, each with the ranks it was seen in.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PartialStatistics {
    bids: [u64; 3],
    bidders: RanksSeen,
    auctions: RanksSeen,
    latest: Time,
}

/// Distinct values, each with a bit per price rank it was seen in: one table and one
/// lookup per bid for the total and the rank both (three sets per rank and a union for the
/// total took a lookup per set, and as many tables to grow).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RanksSeen(HashMap<u64, u8, foldhash::fast::RandomState>);

impl RanksSeen {
    #[inline]
    fn add(&mut self, value: u64, rank: u8) {
        *self.0.entry(value).or_default() |= 1 << rank;
    }

    fn merge(&mut self, other: &RanksSeen) {
        self.0.reserve(other.0.len());
        for (&value, &ranks) in &other.0 {
            *self.0.entry(value).or_default() |= ranks;
        }
    }

    /// The distinct values in all, and per rank.
    fn counts(&self) -> [u64; 4] {
        let mut counts = [self.0.len() as u64, 0, 0, 0];
        for ranks in self.0.values() {
            for (rank, count) in counts[1..].iter_mut().enumerate() {
                *count += u64::from(ranks >> rank & 1);
            }
        }
        counts
    }
}

/// A group's statistics: the counts q15 and q16 report, and the latest bid time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statistics {
    /// Bids, bidders and auctions, in all and per rank.
    pub counts: RankCounts,
    /// The latest bid time.
    pub latest: Time,
}

/// Bids, distinct bidders and distinct auctions, in all and per price rank, with the names
/// q15 and q16 give them in their lines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RankCounts {
    /// Bids.
    pub total_bids: u64,
    /// Bids below 10,000.
    pub rank1_bids: u64,
    /// Bids from 10,000 to below 1,000,000.
    pub rank2_bids: u64,
    /// Bids from 1,000,000 on.
    pub rank3_bids: u64,
    /// Distinct bidders.
    pub total_bidders: u64,
    /// Distinct bidders of rank 1 bids.
    pub rank1_bidders: u64,
    /// Of rank 2 bids.
    pub rank2_bidders: u64,
    /// Of rank 3 bids.
    pub rank3_bidders: u64,
    /// Distinct auctions.
    pub total_auctions: u64,
    /// Distinct auctions of rank 1 bids.
    pub rank1_auctions: u64,
    /// Of rank 2 bids.
    pub rank2_auctions: u64,
    /// Of rank 3 bids.
    pub rank3_auctions: u64,
}

/// The [`Aggregator`] of [`Statistics`].
///
/// ```
/// use weir::nexmark::bid_statistics::{BidStatistics, RankedBid};
/// use weir::nexmark::Bid;
/// use weir::operators::Aggregator;
///
/// let bid = |bidder, auction, price| RankedBid::of(&Bid {
///     auction, bidder, price, channel: String::new(), url: String::new(), date_time: 5,
///     extra: String::new(),
/// });
/// let mut acc = Default::default();
/// for b in [bid(1, 10, 500), bid(1, 11, 50_000), bid(2, 10, 600)] {
///     BidStatistics.add(&mut acc, b);
/// }
/// let counts = BidStatistics.result(&acc).counts;
/// assert_eq!((counts.total_bids, counts.rank1_bids, counts.rank2_bids), (3, 2, 1));
/// assert_eq!((counts.total_bidders, counts.rank1_bidders, counts.rank2_bidders), (2, 2, 1));
/// assert_eq!((counts.total_auctions, counts.rank1_auctions, counts.rank3_auctions), (2, 1, 0));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct BidStatistics;

impl Aggregator<RankedBid> for BidStatistics {
    type Acc = PartialStatistics;
    type Output = Statistics;

    fn add(&self, acc: &mut PartialStatistics, bid: RankedBid) {
        acc.bids[usize::from(bid.rank)] += 1;
        acc.bidders.add(bid.bidder, bid.rank);
        acc.auctions.add(bid.auction, bid.rank);
        acc.latest = acc.latest.max(bid.date_time);
    }

    fn merge(&self, acc: &mut PartialStatistics, other: &PartialStatistics) {
        for rank in 0..3 {
            acc.bids[rank] += other.bids[rank];
        }
        acc.bidders.merge(&other.bidders);
        acc.auctions.merge(&other.auctions);
        acc.latest = acc.latest.max(other.latest);
    }

    fn result(&self, acc: &PartialStatistics) -> Statistics {
        let [r1, r2, r3] = acc.bids;
        let [b0, b1, b2, b3] = acc.bidders.counts();
        let [a0, a1, a2, a3] = acc.auctions.counts();
        Statistics {
            counts: RankCounts {
                total_bids: r1 + r2 + r3,
                rank1_bids: r1,
                rank2_bids: r2,
                rank3_bids: r3,
                total_bidders: b0,
                rank1_bidders: b1,
                rank2_bidders: b2,
                rank3_bidders: b3,
                total_auctions: a0,
                rank1_auctions: a1,
                rank2_auctions: a2,
                rank3_auctions: a3,
            },
            latest: acc.latest,
        }
    }
}
