//! NEXMark, the benchmark stream processors compare themselves on: its events, the
//! generator, and queries q0–q8 as `../shared/NEXMARK.md` (the contract) specifies them.
//!
//! Each query is a short file that reads like the query; the work is done by weir's general
//! operators (windows, top-k, joins, [`process_keyed`](crate::operators::ProcessKeyed)) and
//! by [`winning_bids`], the one NEXMark-specific operator (q4 and q6 build on it).

mod event;
mod generator;
pub mod generator_only;
pub mod winning_bids;

pub mod q0;
pub mod q1;
pub mod q2;
pub mod q3;
pub mod q4;
pub mod q5;
pub mod q6;
pub mod q7;
pub mod q8;

pub use event::{Auction, Bid, Event, Person};
pub use generator::NexmarkGenerator;

use timely::dataflow::operators::vec::{Map, Partition};
use timely::dataflow::StreamVec;

use crate::job::Job;
use crate::operators::Side;
use crate::pipelines::{InputFormat, Pipeline};
use crate::sources::Chain;
use crate::time::Time;

/// Events per second of event time when `--event-rate` is not given (NEXMARK.md).
pub const DEFAULT_EVENT_RATE: f64 = 10_000.0;

/// The NEXMark events of a job: generated, or read from `--input` JSON lines. Generated, the
/// steps a query chains onto them run inside the generator.
pub fn events<'scope>(
    job: &Job<'scope>,
) -> anyhow::Result<Chain<'scope, Event, impl FnMut(u64) -> Option<Event> + 'static>> {
    match job.input() {
        Some(_) => Ok(Chain::from(job.json_lines(Event::date_time)?)),
        None => {
            let mut generator = NexmarkGenerator::new(job.config().seed, job.config().event_rate);
            Ok(job.generate_chain(move |n| generator.event(n)))
        }
    }
}

/// The bids among a job's events.
pub fn bids<'scope>(
    job: &Job<'scope>,
) -> anyhow::Result<Chain<'scope, Bid, impl FnMut(u64) -> Option<Bid> + 'static>> {
    Ok(events(job)?.filter_map(|event| match event {
        Event::Bid(bid) => Some(bid),
        _ => None,
    }))
}

/// Splits events in two by `pick` (events it maps to `None` are dropped) without copying
/// any: the two sides of a join.
pub fn split_events<'scope, A: 'static, B: 'static>(
    events: StreamVec<'scope, Time, Event>,
    pick: impl Fn(Event) -> Option<Side<A, B>> + 'static,
) -> (StreamVec<'scope, Time, A>, StreamVec<'scope, Time, B>) {
    let mut parts = events
        .partition(2, move |event| match pick(event) {
            Some(Side::Left(a)) => (0, Some(Side::Left(a))),
            other => (1, other),
        })
        .into_iter();
    let (Some(lefts), Some(rights)) = (parts.next(), parts.next()) else {
        unreachable!("partition makes the number of parts asked for")
    };
    let lefts = lefts.flat_map(|side| match side {
        Some(Side::Left(a)) => Some(a),
        _ => None,
    });
    let rights = rights.flat_map(|side| match side {
        Some(Side::Right(b)) => Some(b),
        _ => None,
    });
    (lefts, rights)
}

/// A registered NEXMark pipeline.
pub(crate) const fn pipeline(
    name: &'static str,
    about: &'static str,
    build: for<'scope> fn(&mut Job<'scope>) -> anyhow::Result<()>,
) -> Pipeline {
    Pipeline {
        name,
        about,
        default_events: 1_000_000,
        default_event_rate: DEFAULT_EVENT_RATE,
        input: InputFormat::JsonLines,
        build,
    }
}
