//! NEXMark, the benchmark stream processors compare themselves on: its events, the
//! generator, and its queries (q0–q9, q11, q13–q22) as `docs/nexmark.md` specifies them.
//!
//! Each query is a short file that reads like the query; the work is done by weir's general
//! operators (windows, top-k, joins, [`process_keyed`](crate::operators::ProcessKeyed)) and
//! by [`winning_bids`], the one NEXMark-specific operator (q4 and q6 build on it).

pub mod bid_statistics;
mod event;
pub mod fields;
mod generator;
pub mod generator_only;
mod read;
pub mod winning_bids;

pub mod q0;
pub mod q1;
pub mod q11;
pub mod q13;
pub mod q14;
pub mod q15;
pub mod q16;
pub mod q17;
pub mod q18;
pub mod q19;
pub mod q2;
pub mod q20;
pub mod q21;
pub mod q22;
pub mod q3;
pub mod q4;
pub mod q5;
pub mod q6;
pub mod q7;
pub mod q8;
pub mod q9;

pub use event::{Auction, Bid, Event, Person};
pub use generator::{channel, NexmarkGenerator, HOT_CHANNELS, OTHER_CHANNELS};
pub use read::{read_event, EventFields, EventSeed};

use crate::job::Job;
use crate::job::{InputFormat, Pipeline};
use crate::sources::Chain;

/// Events per second of event time when `--event-rate` is not given (docs/nexmark.md).
pub const DEFAULT_EVENT_RATE: f64 = 10_000.0;

/// The NEXMark events of a job: generated, or read from `--input` JSON lines. Either way the
/// steps a query chains onto them run inside the source. Generated, every field is made;
/// read, only the string fields in `reads` are kept (the query's tests compare both ways).
pub fn events<'scope>(
    job: &Job<'scope>,
    reads: EventFields,
) -> anyhow::Result<Chain<'scope, Event, impl FnMut(u64) -> Option<Event> + 'static>> {
    let mut generator = NexmarkGenerator::new(job.config().seed, job.config().event_rate);
    job.generated_or_json_lines(
        move |n| generator.event(n),
        move |line| read_event(line, reads),
        Event::date_time,
    )
}

/// The bids among a job's events, with the string fields in `reads` where they are read.
pub fn bids<'scope>(
    job: &Job<'scope>,
    reads: EventFields,
) -> anyhow::Result<Chain<'scope, Bid, impl FnMut(u64) -> Option<Bid> + 'static>> {
    Ok(events(job, reads)?.filter_map(|event| match event {
        Event::Bid(bid) => Some(bid),
        _ => None,
    }))
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
        states: crate::job::HASH_STATE,
        side_input: false,
        build,
    }
}
