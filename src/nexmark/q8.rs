//! q8, monitor new users: persons who registered and opened an auction in the same 10 s
//! tumbling window, once per person and window.

use serde::Serialize;

use crate::job::Job;
use crate::nexmark::{events, pipeline, split_events, Event};
use crate::operators::{Side, WindowJoin};
use crate::pipelines::Pipeline;
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
    pub window_start: u64,
}

fn q8(job: &mut Job<'_>) -> anyhow::Result<()> {
    let (persons, sellers) = split_events(events(job)?.stream(), |event| match event {
        Event::Person(p) => Some(Side::Left((p.id, p.name))),
        Event::Auction(a) => Some(Side::Right((a.seller, ()))),
        Event::Bid(_) => None,
    });
    let new_sellers = persons.window_cogroup(
        "new sellers",
        sellers,
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
