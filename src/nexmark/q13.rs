//! q13, bounded side input join: every bid joined with the rows of a side table under
//! `auction % 10000`, by lookup ([`LookupJoin`]).
//!
//! The table is `--side-input FILE` (JSON lines `{"key":..,"value":".."}`), or by default one
//! row per key 0 to 9999 with value `"side-<key>"`, so that every bid joins once. A key listed
//! twice joins once per row; bids whose key has no row are dropped.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::job::Job;
use crate::job::Pipeline;
use crate::nexmark::{bids, Bid, EventFields};
use crate::operators::LookupJoin;
use crate::sources::SideTable;

/// `nexmark-q13`.
pub const Q13: Pipeline = Pipeline {
    side_input: true,
    ..crate::nexmark::pipeline(
        "nexmark-q13",
        "NEXMark q13: bids joined with a side table (--side-input) on auction % 10000",
        q13,
    )
};

/// Bids are joined on `auction % KEYS`; the default table has a row for each key.
const KEYS: u64 = 10_000;

/// A row of the side table file.
#[derive(Deserialize)]
struct SideRow {
    key: u64,
    value: String,
}

/// An output line of q13.
#[derive(Serialize)]
pub struct BidWithSide {
    /// The auction.
    pub auction: u64,
    /// The bidder.
    pub bidder: u64,
    /// The price.
    pub price: u64,
    /// The bid's time.
    pub date_time: u64,
    /// The side table's value for `auction % 10000`, shared with the table.
    pub value: Arc<str>,
}

fn q13(job: &mut Job<'_>) -> anyhow::Result<()> {
    let table = match &job.config().side_input {
        Some(path) => {
            SideTable::read_json_lines(path, |row: SideRow| (row.key, Arc::from(row.value)))?
        }
        None => SideTable::from_rows((0..KEYS).map(|key| (key, Arc::from(format!("side-{key}"))))),
    };
    let lines = bids(job, EventFields::NUMBERS)?.stream().lookup_join(
        table,
        |bid: &Bid| bid.auction % KEYS,
        |bid, value: &Arc<str>| BidWithSide {
            auction: bid.auction,
            bidder: bid.bidder,
            price: bid.price,
            date_time: bid.date_time,
            value: value.clone(),
        },
    );
    job.output(lines);
    Ok(())
}
