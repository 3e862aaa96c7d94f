//! q19, auction top-k: the ten highest bids of every auction, as a changelog
//! ([`ChangelogPerTime`]): a bid that enters an auction's top ten is added, and the one it
//! pushes out removed, at the bid's millisecond.
//!
//! "Highest" is the greatest `price`, ties by the least `date_time`, then the least `bidder`,
//! `extra`, `channel` and `url`; identical bids are separate rows. Only the auction id of a
//! bid is needed, not its auction event.

use std::cmp::Reverse;
use std::sync::Arc;

use crate::job::Job;
use crate::job::Pipeline;
use crate::nexmark::{bids, pipeline, Bid, EventFields};
use crate::operators::ChangelogPerTime;

/// `nexmark-q19`.
pub const Q19: Pipeline = pipeline(
    "nexmark-q19",
    "NEXMark q19: the ten highest bids of every auction, as a changelog",
    q19,
);

/// Bids kept per auction.
const TOP: usize = 10;

/// The order of the ranking: the least key is the highest bid.
fn rank(row: &Bid) -> (Reverse<u64>, u64, u64, &str, &str, &str) {
    (
        Reverse(row.price),
        row.date_time,
        row.bidder,
        &row.extra,
        &row.channel,
        &row.url,
    )
}

fn q19(job: &mut Job<'_>) -> anyhow::Result<()> {
    let changes = bids(
        job,
        EventFields::BID_CHANNEL
            .and(EventFields::BID_URL)
            .and(EventFields::BID_EXTRA),
    )?
    .map(|bid| (bid.auction, Arc::new(bid)))
    .timed_stream()
    .changelog_per_time("top bids per auction", |_, top: &mut Vec<Arc<Bid>>, bid| {
        // Kept in rank order: the new bid goes after every row ranked at least as high.
        let at = top.partition_point(|row| rank(row) <= rank(&bid));
        if at < TOP {
            if top.len() == top.capacity() {
                // Room for exactly the rows kept, not the doubling of the default growth.
                top.reserve_exact((2 * top.len()).clamp(1, TOP + 1) - top.len());
            }
            top.insert(at, bid);
            top.truncate(TOP);
        }
    });
    job.output(changes);
    Ok(())
}
