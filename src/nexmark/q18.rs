//! q18, find last bid: the last bid of every (bidder, auction), as a changelog
//! ([`ChangelogPerTime`]): when a newer bid replaces a pair's last one, the old row is
//! removed and the new one added, at the new bid's millisecond.
//!
//! "Last" is the greatest `date_time`, ties by the greatest `price`, then the greatest
//! `extra`, `channel` and `url`, so the result does not depend on arrival order.

use crate::job::Job;
use crate::job::Pipeline;
use crate::nexmark::{bids, pipeline, Bid, EventFields};
use crate::operators::ChangelogPerTime;

/// `nexmark-q18`.
pub const Q18: Pipeline = pipeline(
    "nexmark-q18",
    "NEXMark q18: the last bid of every bidder on every auction, as a changelog",
    q18,
);

/// The order of "last": the greater key is the later bid.
fn lateness(row: &Bid) -> (u64, u64, &str, &str, &str) {
    (row.date_time, row.price, &row.extra, &row.channel, &row.url)
}

fn q18(job: &mut Job<'_>) -> anyhow::Result<()> {
    let changes = bids(
        job,
        EventFields::BID_CHANNEL
            .and(EventFields::BID_URL)
            .and(EventFields::BID_EXTRA),
    )?
    .map(|bid| ((bid.bidder, bid.auction), bid))
    .timed_stream()
    .changelog_per_time(
        "last bid per bidder and auction",
        |_, last: &mut Vec<Bid>, bid| match last.first_mut() {
            Some(last) if lateness(&bid) <= lateness(last) => {}
            Some(last) => *last = bid,
            // Exactly one row: a first `push` would make room for four.
            None => *last = vec![bid],
        },
    );
    job.output(changes);
    Ok(())
}
