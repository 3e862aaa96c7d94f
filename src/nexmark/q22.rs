//! q22, get URL directories: each bid with the first three directories of its URL.

use serde::Serialize;

use crate::job::Job;
use crate::job::Pipeline;
use crate::nexmark::fields::url_directories;
use crate::nexmark::{bids, pipeline};

/// `nexmark-q22`.
pub const Q22: Pipeline = pipeline(
    "nexmark-q22",
    "NEXMark q22: bids with the directories of their URL",
    q22,
);

/// An output line of q22.
#[derive(Serialize)]
pub struct UrlBid {
    /// The auction.
    pub auction: u64,
    /// The bidder.
    pub bidder: u64,
    /// The price.
    pub price: u64,
    /// The channel.
    pub channel: String,
    /// The URL's parts 3, 4 and 5 split at `/` (`null` where it has fewer).
    pub dir1: Option<String>,
    /// See `dir1`.
    pub dir2: Option<String>,
    /// See `dir1`.
    pub dir3: Option<String>,
}

fn q22(job: &mut Job<'_>) -> anyhow::Result<()> {
    let lines = bids(job)?.map(|bid| {
        let [dir1, dir2, dir3] = url_directories(&bid.url).map(|dir| dir.map(str::to_string));
        UrlBid {
            auction: bid.auction,
            bidder: bid.bidder,
            price: bid.price,
            channel: bid.channel,
            dir1,
            dir2,
            dir3,
        }
    });
    job.output(lines);
    Ok(())
}
