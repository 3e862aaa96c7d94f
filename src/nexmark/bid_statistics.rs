//! Bid statistics per group, as q15 (per day) and q16 (per channel and day) report them: bids,
//! distinct bidders and distinct auctions, in all and per price rank, and the latest bid time.
//! One [`Aggregator`], so the windowed `aggregate` folds partials on every worker and merges
//! them at the group's owner.

use serde::{Deserialize, Serialize};

use crate::nexmark::fields::price_rank;
use crate::nexmark::Bid;
use crate::operators::{Aggregator, CountDistinct, DistinctValues};
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

/// The partial statistics of a group: per price rank, its bids and the sets of bidders and
/// auctions (the totals' sets are their unions, made once at the result).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PartialStatistics {
    bids: [u64; 3],
    bidders: [DistinctValues<u64>; 3],
    auctions: [DistinctValues<u64>; 3],
    latest: Time,
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
        let rank = usize::from(bid.rank);
        acc.bids[rank] += 1;
        acc.bidders[rank].insert(bid.bidder);
        acc.auctions[rank].insert(bid.auction);
        acc.latest = acc.latest.max(bid.date_time);
    }

    fn merge(&self, acc: &mut PartialStatistics, other: &PartialStatistics) {
        let distinct = CountDistinct::<u64>::new();
        for rank in 0..3 {
            acc.bids[rank] += other.bids[rank];
            distinct.merge(&mut acc.bidders[rank], &other.bidders[rank]);
            distinct.merge(&mut acc.auctions[rank], &other.auctions[rank]);
        }
        acc.latest = acc.latest.max(other.latest);
    }

    fn result(&self, acc: &PartialStatistics) -> Statistics {
        let with_total = |sets: &[DistinctValues<u64>; 3]| {
            let all: DistinctValues<u64> = sets.iter().flatten().copied().collect();
            [all.len(), sets[0].len(), sets[1].len(), sets[2].len()].map(|n| n as u64)
        };
        let [r1, r2, r3] = acc.bids;
        let [b0, b1, b2, b3] = with_total(&acc.bidders);
        let [a0, a1, a2, a3] = with_total(&acc.auctions);
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
