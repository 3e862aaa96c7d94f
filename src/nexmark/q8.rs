//! q8, monitor new users: persons who registered and opened an auction in the same 10 s
//! tumbling window, once per person and window.

use serde::Serialize;

use crate::job::Job;
use crate::job::Pipeline;
use crate::nexmark::{events, pipeline, Event, EventFields};
use crate::operators::{Side, WindowCogroupSides};
use crate::time::Window;

/// `nexmark-q8`.
pub const Q8: Pipeline = pipeline(
    "nexmark-q8",
    "NEXMark q8: persons who opened an auction in the 10 s window they registered in",
    q8,
);

/// An output line of q8.
#[derive(Serialize)]
pub struct NewSeller {
    /// The person.
    pub id: u64,
    /// Their name.
    pub name: String,
    /// The window's start.
    pub window_start: i64,
}

fn q8(job: &mut Job<'_>) -> anyhow::Result<()> {
    let persons_and_sellers = events(job, EventFields::PERSON_NAME)?
        .filter_map(|event| match event {
            Event::Person(p) => Some((p.id, Side::Left(p.name))),
            Event::Auction(a) => Some((a.seller, Side::Right(()))),
            Event::Bid(_) => None,
        })
        .stream();
    let new_sellers = persons_and_sellers.window_cogroup_sides(
        "new sellers",
        Window::tumbling(10_000),
        |id, window, names, auctions| {
            // Once per person and window, with the least name should an input repeat an id.
            let name = names.iter().min().filter(|_| !auctions.is_empty());
            name.map(|name| NewSeller {
                id: *id,
                name: name.clone(),
                window_start: window.start,
            })
        },
    );
    job.output(new_sellers);
    Ok(())
}
