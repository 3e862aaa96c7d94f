//! q11, user sessions: the bids of each bidder per session window with a gap of 10 s.
//!
//! The contract's sessions are Flink's: bids at most 10 s apart share a session (two exactly
//! 10 s apart too, as Flink merges touching session windows), which ends 10 s after its last
//! bid. weir's [`session_aggregate`](SessionWindows::session_aggregate) closes a session at
//! `last + gap`, before any record at that time, so q11 asks it for a gap of 10 s + 1 ms and
//! reports `end - 1`: the same sessions, final at the same time.

use serde::Serialize;
use timely::dataflow::operators::vec::Map;

use crate::job::Job;
use crate::job::Pipeline;
use crate::nexmark::{bids, pipeline, EventFields};
use crate::operators::{Count, SessionWindows};

/// `nexmark-q11`.
pub const Q11: Pipeline = pipeline(
    "nexmark-q11",
    "NEXMark q11: bids per bidder per session (gap 10 s)",
    q11,
);

/// The session gap: bids at most this far apart share a session.
const GAP_MS: u64 = 10_000;

/// An output line of q11.
#[derive(Serialize)]
pub struct BidderSession {
    /// The bidder.
    pub bidder: u64,
    /// Bids in the session.
    pub bid_count: u64,
    /// The session's first bid.
    pub starttime: i64,
    /// 10 s after its last bid.
    pub endtime: u64,
}

fn q11(job: &mut Job<'_>) -> anyhow::Result<()> {
    let sessions = bids(job, EventFields::NUMBERS)?
        .map(|bid| (bid.bidder, ()))
        .timed_stream()
        .session_aggregate("bidder sessions", GAP_MS + 1, Count)
        .map(|session| BidderSession {
            bidder: session.key,
            bid_count: session.value,
            starttime: session.window.start,
            endtime: session.window.end - 1,
        });
    job.output(sessions);
    Ok(())
}
