//! The NEXMark generator: the `nexmark` crate's events (risingwavelabs/nexmark-rs), at
//! weir's event times.
//!
//! Event `n` is the crate's event number `n`, with `base_time` 0, at the event time weir's
//! [`EventClock`] gives record `n` (the crate computes times in `f32`, which loses
//! milliseconds past a few million events; auctions keep the crate's length). So an event
//! depends only on `n`, the seed and the event rate, on any number of workers, and a
//! generator resuming at a snapshot epoch knows its first event.
//!
//! The crate seeds each event's randomness with its event id; `--seed S` starts the ids at
//! `S × 50 × 2^30` (a whole number of 50-event cycles), so seed 0 is the crate's own stream
//! and other seeds give other, non-overlapping streams with ids offset alike.

use nexmark::config::NexmarkConfig;
use nexmark::event as crate_event;
use nexmark::EventGenerator;

use crate::nexmark::{Auction, Bid, Event, Person};
use crate::time::EventClock;

/// Event ids of seed `S` start at `S * SEED_STRIDE`.
pub const SEED_STRIDE: u64 = 50 << 30;

/// Makes NEXMark event `n` for any `n`, cheapest when called with increasing `n`.
///
/// ```
/// use weir::nexmark::{Event, NexmarkGenerator};
///
/// let mut generator = NexmarkGenerator::new(0, 10_000.0);
/// let events: Vec<Event> = (0..50).map(|n| generator.event(n)).collect();
/// // Person : auction : bid = 1 : 3 : 46, at 10,000 events per second of event time.
/// assert!(matches!(events[0], Event::Person(_)));
/// assert!(events[1..4].iter().all(|e| matches!(e, Event::Auction(_))));
/// assert!(events[4..].iter().all(|e| matches!(e, Event::Bid(_))));
/// assert_eq!(events[49].date_time(), 4);
/// // The same event whatever came before.
/// assert_eq!(NexmarkGenerator::new(0, 10_000.0).event(49), events[49]);
/// ```
pub struct NexmarkGenerator {
    config: NexmarkConfig,
    generator: Option<EventGenerator>,
    clock: EventClock,
}

impl NexmarkGenerator {
    /// The events of `seed` at `event_rate` events per second of event time.
    pub fn new(seed: u64, event_rate: f64) -> Self {
        let clock = EventClock::new(event_rate);
        let rate = clock.per_second().round().max(1.0) as usize;
        let config = NexmarkConfig {
            base_time: 0,
            first_event_id: seed.saturating_mul(SEED_STRIDE) as usize,
            first_rate: rate,
            next_rate: rate,
            ..NexmarkConfig::default()
        };
        NexmarkGenerator {
            generator: Some(EventGenerator::new(config.clone())),
            config,
            clock,
        }
    }

    /// Event number `n`.
    pub fn event(&mut self, n: u64) -> Event {
        let generator = match self.generator.take() {
            Some(generator) => generator,
            None => EventGenerator::new(self.config.clone()),
        };
        // Seeking is setting the offset: every event is made from its number alone.
        let mut generator = generator.with_offset(n);
        let event = generator.next();
        self.generator = Some(generator);
        let time = self.clock.time_of(n);
        match event {
            Some(crate_event::Event::Person(p)) => Event::Person(Person {
                id: p.id as u64,
                name: p.name,
                email_address: p.email_address,
                credit_card: p.credit_card,
                city: p.city,
                state: p.state,
                date_time: time,
                extra: p.extra,
            }),
            Some(crate_event::Event::Auction(a)) => Event::Auction(Auction {
                id: a.id as u64,
                item_name: a.item_name,
                description: a.description,
                initial_bid: a.initial_bid as u64,
                reserve: a.reserve as u64,
                date_time: time,
                expires: time + a.expires.saturating_sub(a.date_time),
                seller: a.seller as u64,
                category: a.category as u64,
                extra: a.extra,
            }),
            Some(crate_event::Event::Bid(b)) => Event::Bid(Bid {
                auction: b.auction as u64,
                bidder: b.bidder as u64,
                price: b.price as u64,
                channel: b.channel,
                url: b.url,
                date_time: time,
                extra: b.extra,
            }),
            // The crate's generator never ends.
            None => unreachable!("the NEXMark generator is endless"),
        }
    }
}
