//! q3, local item suggestion: sellers in Oregon, Idaho or California joined with their
//! auctions in category 10, each pair once, whichever arrives first.
//!
//! With `--state hash` (the default) the join keeps both sides in hash maps per seller
//! ([`JoinSides`]); with `--state arranged` each side is a differential arrangement kept as
//! weir state ([`ArrangeState`](crate::operators::ArrangeState)), joined with differential's `join_core`. Both emit the same
//! pairs at the same times.

use serde::Serialize;
use timely::dataflow::operators::vec::Map;
use timely::dataflow::StreamVec;

use crate::job::Job;
use crate::job::Pipeline;
use crate::nexmark::{events, Event, EventFields};
use crate::operators::{ArrangeSides, JoinSides, LeaveCollection, Side};
use crate::state::StateKind;
use crate::time::Time;

/// `nexmark-q3`.
pub const Q3: Pipeline = Pipeline {
    states: &[StateKind::Hash, StateKind::Arranged],
    ..crate::nexmark::pipeline(
        "nexmark-q3",
        "NEXMark q3: persons in OR, ID or CA joined with their auctions in category 10",
        q3,
    )
};

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

/// A seller's name, city and state.
type Seller = (String, String, String);

fn q3(job: &mut Job<'_>) -> anyhow::Result<()> {
    let sellers_and_auctions = events(
        job,
        EventFields::PERSON_NAME
            .and(EventFields::PERSON_CITY)
            .and(EventFields::PERSON_STATE),
    )?
    .filter_map(|event| match event {
        Event::Person(p) if ["or", "id", "ca"].contains(&p.state.to_ascii_lowercase().as_str()) => {
            Some((p.id, Side::Left((p.name, p.city, p.state))))
        }
        Event::Auction(a) if a.category == 10 => Some((a.seller, Side::Right(a.id))),
        _ => None,
    })
    .stream();
    let items = match job.config().state {
        StateKind::Hash => sellers_and_auctions
            .join_sides("sellers and auctions", |_, seller: &Seller, auction| {
                local_item(seller.clone(), *auction)
            }),
        StateKind::Arranged => arranged_join(sellers_and_auctions),
    };
    job.output(items);
    Ok(())
}

/// The join on arrangements: each side arranged by seller as state, joined incrementally.
fn arranged_join<'scope>(
    sellers_and_auctions: StreamVec<'scope, Time, (u64, Side<Seller, u64>)>,
) -> StreamVec<'scope, Time, LocalItem> {
    let (sellers, auctions) = sellers_and_auctions.arrange_sides("sellers", "auctions");
    sellers
        .join_core(auctions, |_, seller, auction| {
            Some((seller.clone(), *auction))
        })
        .records()
        .map(|(seller, auction)| local_item(seller, auction))
}

fn local_item((name, city, state): Seller, auction: u64) -> LocalItem {
    LocalItem {
        name,
        city,
        state,
        auction,
    }
}
