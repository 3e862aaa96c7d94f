//! The NEXMark generator: event `n` made from `n` and the seed alone, fast enough that a
//! query, not the generator, is what a NEXMark run measures.
//!
//! weir first used the `nexmark` crate's generator; measured, it made about 1.0M events/s
//! per core (re-seeding a general-purpose RNG per event, building strings a character at a
//! time), which capped pass-through queries below the throughput goal. This generator keeps
//! the benchmark's shape and is written for the hot path: one counter-based hash per event
//! (SplitMix64 over `seed` and `n`, [`random_of`]), names and places drawn from fixed tables, padding
//! filled eight letters per random word.
//!
//! The shape (see docs/nexmark.md for why each choice):
//!
//! - Events come in cycles of 50: event `50c` is person `1000 + c`, events `50c + 1..=3` are
//!   auctions `1000 + 3c + 0..=2`, the other 46 are bids (person : auction : bid =
//!   1 : 3 : 46).
//! - `date_time` is weir's [`EventClock`]: `floor(n * 1000 / rate)` ms.
//! - An auction stays open for 2,000 to 6,000 events of event time after its own; its seller
//!   is one of the 1,000 newest persons, or (one in four) a hot seller.
//! - A bid goes to one of the 100 newest auctions, or (one in two) to the hot auction, the
//!   newest auction whose id is a multiple of 100; its bidder is one of the 1,000 newest
//!   persons, or (one in four) a hot bidder.
//! - Prices (and initial bids) are log-uniform over [100, 10^8] cents,
//!   `round(100 * 10^(6u))`; categories are 10..=14; states are drawn from ten western US
//!   states (three of them match q3).
//! - Half of the bids come from the four hot channels (Google, Facebook, Baidu, Apple), the
//!   others from `channel-N`, N uniform in 0..10,000; every channel has one fixed URL,
//!   `https://www.nexmark.com/<a>/<b>/<c>/item.htm?query=1`, and nine in ten `channel-N`
//!   URLs end in `&channel_id=<id>` (q21, q22). A channel's URL is made from its number
//!   alone ([`channel`]), for every bid.
//! - `extra` pads persons and auctions to NEXMark's intended sizes, about 200 and 500 bytes
//!   as JSON lines; a bid's fields alone make about 190 bytes (NEXMark's 100 is a binary
//!   size), so bids get only a few letters.

use std::fmt::Write as _;

use crate::nexmark::{Auction, Bid, Event, Person};
use crate::sources::random_of;
use crate::time::EventClock;

/// Events per cycle: 1 person, 3 auctions, 46 bids.
const CYCLE: u64 = 50;
const AUCTIONS_PER_CYCLE: u64 = 3;
/// The first person id and the first auction id.
const FIRST_ID: u64 = 1000;
/// Bids and sellers pick among this many newest persons.
const ACTIVE_PERSONS: u64 = 1000;
/// Bids pick among this many newest auctions.
const ACTIVE_AUCTIONS: u64 = 100;
/// The hot auction is the newest auction whose id is a multiple of this.
const HOT_AUCTION_EVERY: u64 = 100;
/// Hot sellers and bidders are the newest persons whose ids are multiples of this.
const HOT_PERSON_EVERY: u64 = 10;
/// An auction is open for `[MIN_AUCTION_EVENTS, 3 * MIN_AUCTION_EVENTS)` events.
const MIN_AUCTION_EVENTS: u64 = 2000;
const CATEGORIES: u64 = 5;
const FIRST_CATEGORY: u64 = 10;

const FIRST_NAMES: [&str; 16] = [
    "Ada", "Bea", "Carl", "Dora", "Emil", "Fay", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lena",
    "Milo", "Nia", "Otto", "Pia",
];
const LAST_NAMES: [&str; 16] = [
    "Abbott", "Berg", "Chen", "Diaz", "Eklund", "Fox", "Garcia", "Holm", "Ito", "Jensen", "Kowal",
    "Lind", "Moreau", "Novak", "Okafor", "Park",
];
const DOMAINS: [&str; 4] = ["mail.com", "post.net", "inbox.org", "letters.io"];
const CITIES: [&str; 8] = [
    "Phoenix", "Portland", "Boise", "Fresno", "Seattle", "Cheyenne", "Reno", "Denver",
];
const STATES: [&str; 10] = ["az", "ca", "id", "or", "wa", "wy", "nv", "ut", "co", "nm"];
const ADJECTIVES: [&str; 8] = [
    "old", "shiny", "rare", "handmade", "vintage", "small", "large", "signed",
];
const NOUNS: [&str; 8] = [
    "lamp", "clock", "chair", "print", "vase", "guitar", "camera", "rug",
];
/// The hot channels: half of all bids, each with one fixed URL without a `channel_id`.
pub const HOT_CHANNELS: [&str; 4] = ["Google", "Facebook", "Baidu", "Apple"];
/// The other channels are `channel-N` for N in `0..OTHER_CHANNELS`.
pub const OTHER_CHANNELS: u64 = 10_000;
/// One in this many `channel-N` URLs has no `channel_id`.
const NO_CHANNEL_ID_EVERY: u64 = 10;
/// The letters of a URL's path parts.
const URL_LETTERS: &[u8; 27] = b"abcdefghijklmnopqrstuvwxyz_";
/// Keys of the channel table's random choices, apart from any event's.
const URL_KEY: u64 = 0x75726c;
const CHANNEL_ID_KEY: u64 = 0x63686964;

/// The fixed URL of channel `index` (the hot ones first, then `channel-0`, ...): made from
/// `index` alone each time, as a table of 10,004 URLs would be read at
/// random and miss the cache on every bid.
fn channel_url(index: u64) -> String {
    // `/aaaaa/bbbbb/ccccc`: fifteen letters of five bits each, from two random words,
    // written into a fixed buffer (small copies of unknown length would each call memmove).
    let words = [random_of(URL_KEY, index), random_of(URL_KEY ^ 1, index)];
    let mut path = *b"https://www.nexmark.com/aaaaa/bbbbb/ccccc/item.htm?query=1";
    for k in 0..15 {
        let bits = (words[k / 12] >> (5 * (k % 12))) & 31;
        path[24 + k + k / 5] = URL_LETTERS[((bits * URL_LETTERS.len() as u64) >> 5) as usize];
    }
    // 58 bytes, and up to 18 more for the channel id: one allocation.
    let mut url = Vec::with_capacity(80);
    url.extend_from_slice(&path);
    if let Some(n) = index.checked_sub(HOT_CHANNELS.len() as u64) {
        let id = random_of(CHANNEL_ID_KEY, n);
        if !id.is_multiple_of(NO_CHANNEL_ID_EVERY) {
            url.extend_from_slice(b"&channel_id=");
            url.extend_from_slice(itoa::Buffer::new().format((id >> 8) % 1_000_000).as_bytes());
        }
    }
    ascii(url)
}

/// `bytes` as text: only the generator's own ASCII letters, digits and punctuation reach
/// here.
fn ascii(bytes: Vec<u8>) -> String {
    debug_assert!(bytes.is_ascii());
    // SAFETY: every caller writes only ASCII bytes (from `URL_LETTERS`, `b'a'..=b'z'`,
    // itoa's digits or ASCII literals), and ASCII is UTF-8. Checking it again cost 7% of
    // the generator's time.
    unsafe { String::from_utf8_unchecked(bytes) }
}

/// The name and URL of bid channel `index` (the hot channels first, then `channel-N`).
///
/// ```
/// use weir::nexmark::{channel, HOT_CHANNELS};
///
/// let (name, url) = channel(0);
/// assert_eq!(name, HOT_CHANNELS[0]);
/// assert!(url.starts_with("https://www.nexmark.com/") && !url.contains("channel_id"));
/// assert_eq!(channel(4).0, "channel-0");
/// assert_eq!(channel(4), channel(4));
/// ```
pub fn channel(index: u64) -> (String, String) {
    let url = channel_url(index);
    let name = match HOT_CHANNELS.get(index as usize) {
        Some(hot) => (*hot).to_string(),
        None => {
            let mut name = String::with_capacity(14);
            name.push_str("channel-");
            name.push_str(itoa::Buffer::new().format(index - HOT_CHANNELS.len() as u64));
            name
        }
    };
    (name, url)
}

/// Makes NEXMark event `n` for any `n`.
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
/// // The same event whatever came before, and another seed makes other events.
/// assert_eq!(NexmarkGenerator::new(0, 10_000.0).event(49), events[49]);
/// assert_ne!(NexmarkGenerator::new(1, 10_000.0).event(49), events[49]);
/// ```
#[derive(Clone, Debug)]
pub struct NexmarkGenerator {
    seed: u64,
    clock: EventClock,
}

impl NexmarkGenerator {
    /// The events of `seed` at `event_rate` events per second of event time.
    pub fn new(seed: u64, event_rate: f64) -> Self {
        NexmarkGenerator {
            seed,
            clock: EventClock::new(event_rate),
        }
    }

    /// Event number `n`.
    pub fn event(&mut self, n: u64) -> Event {
        let mut random = Random {
            stream: random_of(self.seed, n),
            drawn: 0,
        };
        let cycle = n / CYCLE;
        let date_time = self.clock.time_of(n);
        match n % CYCLE {
            0 => Event::Person(self.person(cycle, date_time, &mut random)),
            offset @ 1..=AUCTIONS_PER_CYCLE => {
                let id = FIRST_ID + cycle * AUCTIONS_PER_CYCLE + offset - 1;
                Event::Auction(self.auction(n, id, date_time, &mut random))
            }
            _ => Event::Bid(bid(cycle, date_time, &mut random)),
        }
    }

    fn person(&self, cycle: u64, date_time: u64, random: &mut Random) -> Person {
        let first = random.pick(&FIRST_NAMES);
        let last = random.pick(&LAST_NAMES);
        let mut name = String::with_capacity(first.len() + 1 + last.len());
        name.push_str(first);
        name.push(' ');
        name.push_str(last);
        let domain = random.pick(&DOMAINS);
        let mut email_address = String::with_capacity(name.len() + domain.len() + 4);
        email_address.extend(first.chars().map(|c| c.to_ascii_lowercase()));
        email_address.push('.');
        email_address.extend(last.chars().map(|c| c.to_ascii_lowercase()));
        email_address.push('@');
        email_address.push_str(domain);
        let mut credit_card = String::with_capacity(19);
        let digits = random.next();
        for group in 0..4 {
            if group > 0 {
                credit_card.push(' ');
            }
            let _ = write!(credit_card, "{:04}", (digits >> (16 * group)) % 10_000);
        }
        Person {
            id: FIRST_ID + cycle,
            name,
            email_address,
            credit_card,
            city: random.pick(&CITIES).to_string(),
            state: random.pick(&STATES).to_string(),
            date_time,
            extra: random.letters(40, 80),
        }
    }

    fn auction(&self, n: u64, id: u64, date_time: u64, random: &mut Random) -> Auction {
        let mut item_name = String::with_capacity(20);
        item_name.push_str(random.pick(&ADJECTIVES));
        item_name.push(' ');
        item_name.push_str(random.pick(&NOUNS));
        let mut description = String::with_capacity(40);
        description.push_str(random.pick(&ADJECTIVES));
        description.push_str(", ");
        description.push_str(random.pick(&ADJECTIVES));
        description.push_str(" and ");
        description.push_str(random.pick(&ADJECTIVES));
        let initial_bid = random.price();
        let open_for = MIN_AUCTION_EVENTS + random.below(2 * MIN_AUCTION_EVENTS);
        let seller = if random.below(4) == 0 {
            hot(newest_person(n / CYCLE), HOT_PERSON_EVERY)
        } else {
            recent(newest_person(n / CYCLE), ACTIVE_PERSONS, random)
        };
        Auction {
            id,
            item_name,
            description,
            initial_bid,
            reserve: initial_bid + random.below(initial_bid + 1),
            date_time,
            expires: self.clock.time_of(n + open_for),
            seller,
            category: FIRST_CATEGORY + random.below(CATEGORIES),
            extra: random.letters(300, 360),
        }
    }
}

fn bid(cycle: u64, date_time: u64, random: &mut Random) -> Bid {
    // Every auction of this cycle exists already: bids follow the cycle's auctions.
    let newest_auction = FIRST_ID + cycle * AUCTIONS_PER_CYCLE + AUCTIONS_PER_CYCLE - 1;
    let auction = if random.below(2) == 0 {
        hot(newest_auction, HOT_AUCTION_EVERY)
    } else {
        recent(newest_auction, ACTIVE_AUCTIONS, random)
    };
    let bidder = if random.below(4) == 0 {
        hot(newest_person(cycle), HOT_PERSON_EVERY)
    } else {
        recent(newest_person(cycle), ACTIVE_PERSONS, random)
    };
    let channel = if random.below(2) == 0 {
        random.below(HOT_CHANNELS.len() as u64)
    } else {
        HOT_CHANNELS.len() as u64 + random.below(OTHER_CHANNELS)
    };
    let (channel, url) = self::channel(channel);
    Bid {
        auction,
        bidder,
        price: random.price(),
        channel,
        url,
        date_time,
        extra: random.letters(0, 16),
    }
}

/// The newest person id at cycle `cycle` (its person event comes first in the cycle).
fn newest_person(cycle: u64) -> u64 {
    FIRST_ID + cycle
}

/// The newest id up to `newest` that is a multiple of `every`, but never before the first.
fn hot(newest: u64, every: u64) -> u64 {
    (newest / every * every).max(FIRST_ID)
}

/// One of the `among` newest ids up to `newest`.
fn recent(newest: u64, among: u64, random: &mut Random) -> u64 {
    newest - random.below((newest - FIRST_ID + 1).min(among))
}

/// The random numbers of one event: a stream of its own, keyed by the seed and event number.
struct Random {
    stream: u64,
    drawn: u64,
}

impl Random {
    fn next(&mut self) -> u64 {
        self.drawn += 1;
        random_of(self.stream, self.drawn)
    }

    /// Uniform in `0..bound` (`bound > 0`), by the multiply-shift reduction.
    fn below(&mut self, bound: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(bound)) >> 64) as u64
    }

    fn pick<T: Copy>(&mut self, table: &[T]) -> T {
        table[self.below(table.len() as u64) as usize]
    }

    /// Cents, log-uniform over [100, 10^8]: `round(100 * 10^(6u))`, `u` uniform in [0, 1).
    fn price(&mut self) -> u64 {
        let u = (self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
        (100.0 * (u * (6.0 * std::f64::consts::LN_10)).exp()).round() as u64
    }

    /// `min..max` random lower-case letters, eight per random word.
    fn letters(&mut self, min: u64, max: u64) -> String {
        let len = (min + self.below(max - min)) as usize;
        let mut bytes = Vec::with_capacity(len);
        // Whole words as one eight-byte copy each (a copy of constant length needs no
        // memmove call), then the last few letters one at a time.
        for _ in 0..len / 8 {
            bytes.extend_from_slice(&self.eight_letters());
        }
        if !len.is_multiple_of(8) {
            let letters = self.eight_letters();
            bytes.extend(letters.into_iter().take(len % 8));
        }
        ascii(bytes)
    }

    /// Each byte of a random word, scaled onto 26 letters by a multiply and shift.
    fn eight_letters(&mut self) -> [u8; 8] {
        self.next()
            .to_le_bytes()
            .map(|b| b'a' + ((u16::from(b) * 26) >> 8) as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(seed: u64, count: u64) -> Vec<Event> {
        let mut generator = NexmarkGenerator::new(seed, 10_000.0);
        (0..count).map(|n| generator.event(n)).collect()
    }

    #[test]
    fn bids_go_to_open_auctions_by_known_persons() {
        let events = events(7, 200_000);
        let mut auctions = std::collections::HashMap::new();
        let mut newest_person = 0;
        let (mut bids, mut open) = (0, 0);
        for event in &events {
            match event {
                Event::Person(p) => newest_person = p.id,
                Event::Auction(a) => {
                    assert!(a.seller <= newest_person && a.seller >= FIRST_ID);
                    assert!((FIRST_CATEGORY..FIRST_CATEGORY + CATEGORIES).contains(&a.category));
                    assert!(a.expires > a.date_time && a.reserve >= a.initial_bid);
                    auctions.insert(a.id, a.expires);
                }
                Event::Bid(b) => {
                    assert!(b.bidder <= newest_person && b.bidder >= FIRST_ID);
                    let expires = auctions.get(&b.auction).expect("a bid's auction exists");
                    bids += 1;
                    open += u64::from(b.date_time <= *expires);
                    assert!((100..=100_000_000).contains(&b.price));
                }
            }
        }
        assert_eq!(bids, 200_000 / 50 * 46);
        // The bidding window is shorter than the shortest auction: every bid is valid.
        assert_eq!(open, bids);
    }

    #[test]
    fn hot_auctions_draw_half_of_the_bids() {
        let hot = events(0, 100_000)
            .iter()
            .filter(|e| matches!(e, Event::Bid(b) if b.auction % HOT_AUCTION_EVERY == 0))
            .count();
        let bids = 100_000 / 50 * 46;
        // One in two goes to the hot auction, plus the hot ones among the random picks.
        assert!(hot > bids / 2 && hot < bids * 6 / 10, "{hot} of {bids}");
    }

    #[test]
    fn prices_and_channels_have_the_contract_shapes() {
        let bids: Vec<Bid> = events(3, 500_000)
            .into_iter()
            .filter_map(|e| match e {
                Event::Bid(b) => Some(b),
                _ => None,
            })
            .collect();
        let n = bids.len() as f64;
        let share = |f: &dyn Fn(&Bid) -> bool| bids.iter().filter(|b| f(b)).count() as f64 / n;
        // Log-uniform: a third in each of q15's ranks, the decades evenly.
        for (low, high) in [(0, 10_000), (10_000, 1_000_000), (1_000_000, u64::MAX)] {
            let third = share(&|b| (low..high).contains(&b.price));
            assert!((0.32..0.35).contains(&third), "[{low}, {high}): {third}");
        }
        let hot = share(&|b| HOT_CHANNELS.contains(&b.channel.as_str()));
        assert!((0.49..0.51).contains(&hot), "hot channels: {hot}");
        let with_id = share(&|b| b.url.contains("&channel_id="));
        assert!((0.43..0.47).contains(&with_id), "channel_id: {with_id}");
        // One URL per channel, of the contract's shape.
        let mut url_of = std::collections::HashMap::new();
        for bid in &bids {
            let url = url_of.entry(bid.channel.clone()).or_insert(bid.url.clone());
            assert_eq!(*url, bid.url, "{} has two URLs", bid.channel);
            let parts: Vec<&str> = bid.url.split('/').collect();
            assert_eq!(parts[..3], ["https:", "", "www.nexmark.com"], "{}", bid.url);
            assert!(parts[3..6]
                .iter()
                .all(|p| p.len() == 5 && p.bytes().all(|c| c.is_ascii_lowercase() || c == b'_')));
            assert!(parts[6].starts_with("item.htm?query=1"), "{}", bid.url);
            if HOT_CHANNELS.contains(&bid.channel.as_str()) {
                assert!(!bid.url.contains("channel_id"), "{}", bid.url);
            } else {
                let n: u64 = bid.channel["channel-".len()..].parse().expect("channel-N");
                assert!(n < OTHER_CHANNELS);
            }
        }
        assert!(url_of.len() > 9000, "{} channels seen", url_of.len());
    }

    #[test]
    fn events_have_the_intended_sizes() {
        let mut sizes = [(0usize, 0usize); 3];
        for event in events(1, 50_000) {
            let kind = match event {
                Event::Person(_) => 0,
                Event::Auction(_) => 1,
                Event::Bid(_) => 2,
            };
            sizes[kind].0 += serde_json::to_string(&event).map_or(0, |line| line.len());
            sizes[kind].1 += 1;
        }
        let mean = |(bytes, count): (usize, usize)| bytes / count;
        assert!(
            (180..=240).contains(&mean(sizes[0])),
            "person {}",
            mean(sizes[0])
        );
        assert!(
            (450..=550).contains(&mean(sizes[1])),
            "auction {}",
            mean(sizes[1])
        );
        assert!(
            (170..=210).contains(&mean(sizes[2])),
            "bid {}",
            mean(sizes[2])
        );
    }
}
