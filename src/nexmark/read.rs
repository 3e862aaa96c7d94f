//! Reading NEXMark events from JSON lines at memory speed: the string fields a query does not
//! read ([`EventFields`]) are checked but neither copied nor allocated, and the event type is
//! dispatched on the first key.
//!
//! A line in exactly the shape `weir nexmark generate` writes (the contract's key order, no
//! whitespace, no escapes) is read in place by [`ExactShape`]; any other line goes to the
//! general parser: first with the type dispatched on the first key, and, where `"type"` is not
//! the first key (JSON does not require it), the general way. So any valid event is accepted,
//! and a malformed line gets the general parser's message.

use std::fmt;

use serde::de::{DeserializeSeed, Error as _, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;

use crate::nexmark::{Auction, Bid, Event, Person};
use crate::sources::json::{is_not_on_fast_path, not_on_fast_path, ExactShape, SkippedString};
use crate::sources::{parse_json_line, parse_json_line_seed, MalformedJson};

/// The string fields of events a query reads. Numbers are always read; a string field not
/// named is checked to be a string and left empty, so a query that reads no strings of a bid
/// (q0, q1, q5, ...) allocates nothing for it.
///
/// ```
/// use weir::nexmark::{read_event, Event, EventFields};
///
/// let line = br#"{"type":"bid","auction":1,"bidder":2,"price":3,"channel":"Google","url":"u","date_time":4,"extra":"xx"}"#;
/// let Ok(Event::Bid(bid)) = read_event(line, EventFields::BID_CHANNEL) else { panic!() };
/// assert_eq!((bid.price, bid.channel.as_str(), bid.extra.as_str()), (3, "Google", ""));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EventFields(u16);

impl EventFields {
    /// No string field: ids, prices and times only.
    pub const NUMBERS: EventFields = EventFields(0);
    /// Every field.
    pub const ALL: EventFields = EventFields(u16::MAX);
    /// A person's `name`.
    pub const PERSON_NAME: EventFields = EventFields(1);
    /// A person's `email_address`.
    pub const PERSON_EMAIL_ADDRESS: EventFields = EventFields(1 << 1);
    /// A person's `credit_card`.
    pub const PERSON_CREDIT_CARD: EventFields = EventFields(1 << 2);
    /// A person's `city`.
    pub const PERSON_CITY: EventFields = EventFields(1 << 3);
    /// A person's `state`.
    pub const PERSON_STATE: EventFields = EventFields(1 << 4);
    /// A person's `extra`.
    pub const PERSON_EXTRA: EventFields = EventFields(1 << 5);
    /// An auction's `item_name`.
    pub const AUCTION_ITEM_NAME: EventFields = EventFields(1 << 6);
    /// An auction's `description`.
    pub const AUCTION_DESCRIPTION: EventFields = EventFields(1 << 7);
    /// An auction's `extra`.
    pub const AUCTION_EXTRA: EventFields = EventFields(1 << 8);
    /// A bid's `channel`.
    pub const BID_CHANNEL: EventFields = EventFields(1 << 9);
    /// A bid's `url`.
    pub const BID_URL: EventFields = EventFields(1 << 10);
    /// A bid's `extra`.
    pub const BID_EXTRA: EventFields = EventFields(1 << 11);

    /// These fields and `other`'s.
    pub const fn and(self, other: EventFields) -> EventFields {
        EventFields(self.0 | other.0)
    }

    /// Whether every field of `other` is among these.
    pub const fn contains(self, other: EventFields) -> bool {
        self.0 & other.0 == other.0
    }
}

/// Reads one event from a JSON line, keeping the string fields in `fields`.
pub fn read_event(line: &[u8], fields: EventFields) -> Result<Event, MalformedJson> {
    if let Some(event) = simdutf8::basic::from_utf8(line)
        .ok()
        .and_then(|line| scan_event(ExactShape::new(line), fields))
    {
        return Ok(event);
    }
    match parse_json_line_seed(line, EventSeed(fields)) {
        Err(error) if is_not_on_fast_path(&error) => parse_json_line::<Event>(line),
        result => result,
    }
}

/// Reads an [`Event`] with the string fields in `.0`, from any serde deserializer whose
/// input starts with the `"type"` key; otherwise it fails with an error that
/// [`read_event`] answers by reading the line the general way.
#[derive(Clone, Copy, Debug)]
pub struct EventSeed(pub EventFields);

impl<'de> DeserializeSeed<'de> for EventSeed {
    type Value = Event;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Event, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EventSeed {
    type Value = Event;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a NEXMark event")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Event, A::Error> {
        if map.next_key::<FirstKey>()? != Some(FirstKey::Type) {
            return Err(not_on_fast_path());
        }
        let fields = self.0;
        match map.next_value::<EventType>()? {
            EventType::Person => read_person(&mut map, fields).map(Event::Person),
            EventType::Auction => read_auction(&mut map, fields).map(Event::Auction),
            EventType::Bid => read_bid(&mut map, fields).map(Event::Bid),
        }
    }
}

/// An event in exactly the shape weir writes it, or `None`.
#[inline]
fn scan_event(mut line: ExactShape<'_>, fields: EventFields) -> Option<Event> {
    line.literal(r#"{"type":""#)?;
    let event = if line.literal(r#"bid""#).is_some() {
        Event::Bid(scan_bid(&mut line, fields)?)
    } else if line.literal(r#"auction""#).is_some() {
        Event::Auction(scan_auction(&mut line, fields)?)
    } else {
        line.literal(r#"person""#)?;
        Event::Person(scan_person(&mut line, fields)?)
    };
    line.literal("}")?;
    line.end()?;
    Some(event)
}

#[derive(Deserialize, PartialEq, Eq)]
#[serde(field_identifier, rename_all = "lowercase")]
enum FirstKey {
    Type,
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum EventType {
    Person,
    Auction,
    Bid,
}

/// Defines `$read`, which reads the rest of an event's map into a `$event`: numbers always,
/// each string field only if its flag is among the fields wanted. Like serde's derive, it
/// ignores unknown keys and names a missing or repeated field. And `$scan`, which reads the
/// rest of the event where it is in exactly the contract's shape, with the fields in the
/// order listed.
macro_rules! event_reader {
    ($read:ident, $scan:ident, $event:ident, $key:ident { $($field:ident: $kind:ident $(($flag:ident))?),* $(,)? }) => {
        #[inline]
        fn $scan(line: &mut ExactShape<'_>, fields: EventFields) -> Option<$event> {
            let _ = fields;
            Some($event {
                $($field: {
                    line.literal(concat!(",\"", stringify!($field), "\":"))?;
                    event_reader!(@scan line, fields, $kind $(($flag))?)
                },)*
            })
        }

        #[derive(Deserialize)]
        #[serde(field_identifier)]
        #[allow(non_camel_case_types)]
        enum $key {
            $($field,)*
            #[serde(other)]
            Other,
        }

        fn $read<'de, A: MapAccess<'de>>(map: &mut A, fields: EventFields) -> Result<$event, A::Error> {
            let _ = fields;
            $(let mut $field = None;)*
            while let Some(key) = map.next_key::<$key>()? {
                match key {
                    $($key::$field => {
                        if $field.is_some() {
                            return Err(A::Error::duplicate_field(stringify!($field)));
                        }
                        $field = Some(event_reader!(@value map, fields, $kind $(($flag))?));
                    })*
                    $key::Other => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok($event {
                $($field: $field.ok_or_else(|| A::Error::missing_field(stringify!($field)))?,)*
            })
        }
    };
    (@scan $line:ident, $fields:ident, number) => {
        $line.number()?
    };
    (@scan $line:ident, $fields:ident, string($flag:ident)) => {{
        let text = $line.string()?;
        if $fields.contains(EventFields::$flag) {
            text.to_owned()
        } else {
            String::new()
        }
    }};
    (@value $map:ident, $fields:ident, number) => {
        $map.next_value::<u64>()?
    };
    (@value $map:ident, $fields:ident, string($flag:ident)) => {
        if $fields.contains(EventFields::$flag) {
            $map.next_value::<String>()?
        } else {
            $map.next_value::<SkippedString>()?;
            String::new()
        }
    };
}

event_reader!(
    read_person,
    scan_person,
    Person,
    PersonKey {
        id: number,
        name: string(PERSON_NAME),
        email_address: string(PERSON_EMAIL_ADDRESS),
        credit_card: string(PERSON_CREDIT_CARD),
        city: string(PERSON_CITY),
        state: string(PERSON_STATE),
        date_time: number,
        extra: string(PERSON_EXTRA),
    }
);

event_reader!(
    read_auction,
    scan_auction,
    Auction,
    AuctionKey {
        id: number,
        item_name: string(AUCTION_ITEM_NAME),
        description: string(AUCTION_DESCRIPTION),
        initial_bid: number,
        reserve: number,
        date_time: number,
        expires: number,
        seller: number,
        category: number,
        extra: string(AUCTION_EXTRA),
    }
);

event_reader!(
    read_bid,
    scan_bid,
    Bid,
    BidKey {
        auction: number,
        bidder: number,
        price: number,
        channel: string(BID_CHANNEL),
        url: string(BID_URL),
        date_time: number,
        extra: string(BID_EXTRA),
    }
);

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};

    use super::*;
    use crate::nexmark::NexmarkGenerator;

    #[test]
    fn every_generated_event_reads_back_as_written_with_all_fields() {
        let mut generator = NexmarkGenerator::new(3, 10_000.0);
        for n in 0..5_000 {
            let event = generator.event(n);
            let line = serde_json::to_vec(&event).expect("serializes");
            assert_eq!(read_event(&line, EventFields::ALL), Ok(event));
        }
    }

    #[test]
    fn the_exact_shape_and_the_general_parser_read_every_event_alike() {
        let mut generator = NexmarkGenerator::new(5, 10_000.0);
        for n in 0..5_000 {
            let line = serde_json::to_string(&generator.event(n)).expect("serializes");
            for fields in [
                EventFields::ALL,
                EventFields::NUMBERS,
                EventFields::BID_EXTRA,
            ] {
                let exact = scan_event(ExactShape::new(&line), fields);
                let general = parse_json_line_seed(line.as_bytes(), EventSeed(fields));
                assert_eq!(exact, Some(general.expect("valid")), "{line}");
            }
        }
    }

    #[test]
    fn any_change_to_the_shape_is_left_to_the_general_parser() {
        let line = r#"{"type":"bid","auction":1,"bidder":2,"price":3,"channel":"c","url":"u","date_time":4,"extra":"e"}"#;
        let seed = crate::test_seed();
        let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
        let inserts = [" ", "\\", "\"", "0", "-", ".", "e", "}", "x", "\n"];
        for _ in 0..20_000 {
            let mut changed = line.to_string();
            let at = rng.gen_range(0..=changed.len());
            let insert = inserts[rng.gen_range(0..inserts.len())];
            changed.insert_str(at, insert);
            let exact = scan_event(ExactShape::new(&changed), EventFields::ALL);
            let general = parse_json_line_seed(changed.as_bytes(), EventSeed(EventFields::ALL));
            if let Some(exact) = exact {
                assert_eq!(Ok(exact), general, "seed {seed}: {changed}");
            }
        }
    }

    #[test]
    fn fields_not_read_are_empty_and_the_rest_as_written() {
        let mut generator = NexmarkGenerator::new(4, 10_000.0);
        let fields = EventFields::PERSON_CITY.and(EventFields::BID_URL);
        for n in 0..2_000 {
            let mut event = generator.event(n);
            let line = serde_json::to_vec(&event).expect("serializes");
            match &mut event {
                Event::Person(p) => {
                    for s in [&mut p.name, &mut p.email_address, &mut p.credit_card] {
                        s.clear();
                    }
                    p.state.clear();
                    p.extra.clear();
                }
                Event::Auction(a) => {
                    a.item_name.clear();
                    a.description.clear();
                    a.extra.clear();
                }
                Event::Bid(b) => {
                    b.channel.clear();
                    b.extra.clear();
                }
            }
            assert_eq!(read_event(&line, fields), Ok(event));
        }
    }

    #[test]
    fn any_key_order_and_unknown_keys_are_read_like_the_contract_order() {
        let ordered = br#"{"type":"bid","auction":1,"bidder":2,"price":3,"channel":"c","url":"u","date_time":4,"extra":"e"}"#;
        let shuffled = br#"{"price":3,"auction":1,"more":[1,{"a":2}],"type":"bid","bidder":2,"extra":"e","channel":"c","date_time":4,"url":"u"}"#;
        let unknown = br#"{"type":"bid","auction":1,"bidder":2,"price":3,"channel":"c","url":"u","date_time":4,"extra":"e","x":null}"#;
        let expected = read_event(ordered, EventFields::ALL).expect("reads");
        assert_eq!(read_event(shuffled, EventFields::ALL), Ok(expected.clone()));
        assert_eq!(read_event(unknown, EventFields::ALL), Ok(expected));
    }

    #[test]
    fn malformed_events_say_what_is_wrong_even_in_fields_not_read() {
        let cases: [(&[u8], &str); 7] = [
            (br#"{"type":"bid","auction":1,"bidder":2,"price":3,"channel":"c","url":"u","date_time":4}"#, "missing field `extra`"),
            (br#"{"type":"bid","auction":1,"bidder":2,"price":3,"channel":"c","url":"u","date_time":4,"extra":7}"#, "invalid type"),
            (br#"{"type":"bid","auction":1,"auction":1}"#, "duplicate field `auction`"),
            (br#"{"type":"boat","id":1}"#, "unknown variant `boat`"),
            (br#"{"type":"bid","auction":"#, "EOF"),
            (br#"{"type":"bid","auction":-1}"#, "invalid"),
            (br#"[1,2]"#, "invalid type"),
        ];
        for (line, expected) in cases {
            let error = read_event(line, EventFields::NUMBERS).expect_err("malformed");
            assert!(
                error.message.contains(expected),
                "{}: {error}",
                String::from_utf8_lossy(line)
            );
        }
    }
}
