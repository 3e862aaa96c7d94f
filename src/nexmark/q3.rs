//! q3, local item suggestion: sellers in Oregon, Idaho or California joined with their
//! auctions in category 10, each pair once, whichever arrives first.

use serde::Serialize;

use crate::job::Job;
use crate::job::Pipeline;
use crate::nexmark::{events, pipeline, Event};
use crate::operators::{JoinSides, Side};

/// `nexmark-q3`.
pub const Q3: Pipeline = pipeline(
    "nexmark-q3",
    "NEXMark q3: persons in OR, ID or CA joined with their auctions in category 10",
    q3,
);

/// An output line of q3.
#[derive(Serialize)]
pub struct LocalItem {
    /// The seller's name.
    pub name: String,
    /// The seller's city.
    pub city: String,
    /// The seller's state.
    pub state: String,
    /// The auction.
    pub auction: u64,
}

fn q3(job: &mut Job<'_>) -> anyhow::Result<()> {
    let sellers_and_auctions = events(job)?
        .filter_map(|event| match event {
            Event::Person(p)
                if ["or", "id", "ca"].contains(&p.state.to_ascii_lowercase().as_str()) =>
            {
                Some((p.id, Side::Left((p.name, p.city, p.state))))
            }
            Event::Auction(a) if a.category == 10 => Some((a.seller, Side::Right(a.id))),
            _ => None,
        })
        .stream();
    let items = sellers_and_auctions.join_sides("sellers and auctions", |_, seller, auction| {
        let (name, city, state) = seller.clone();
        LocalItem {
            name,
            city,
            state,
            auction: *auction,
        }
    });
    job.output(items);
    Ok(())
}
