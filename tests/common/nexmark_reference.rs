//! A sequential reference for NEXMark q0–q8 (the rest of the suite is in
//! `nexmark_reference_rest.rs`), written from docs/nexmark.md alone: plain loops
//! over all events in a vector, no windows, no operators, no time order. The tests compare
//! weir's output with it as multisets of lines.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use weir::nexmark::{Auction, Bid, Event};

pub fn json(text: &str) -> String {
    serde_json::to_string(text).expect("strings encode")
}

/// The output lines of `query` (0 to 22, q10 and q12 aside) over `events`.
pub fn query(query: usize, events: &[Event]) -> Vec<String> {
    let bids: Vec<&Bid> = events
        .iter()
        .filter_map(|e| match e {
            Event::Bid(b) => Some(b),
            _ => None,
        })
        .collect();
    match query {
        0 => bids
            .iter()
            .map(|b| {
                format!(
                    r#"{{"auction":{},"bidder":{},"price":{},"date_time":{}}}"#,
                    b.auction, b.bidder, b.price, b.date_time
                )
            })
            .collect(),
        1 => bids
            .iter()
            .map(|b| {
                format!(
                    r#"{{"auction":{},"bidder":{},"price":{},"date_time":{}}}"#,
                    b.auction,
                    b.bidder,
                    b.price * 908 / 1000,
                    b.date_time
                )
            })
            .collect(),
        2 => bids
            .iter()
            .filter(|b| b.auction % 123 == 0)
            .map(|b| format!(r#"{{"auction":{},"price":{}}}"#, b.auction, b.price))
            .collect(),
        3 => q3(events),
        4 => q4(events),
        5 => q5(&bids),
        6 => q6(events),
        7 => q7(&bids),
        8 => q8(events),
        _ => super::nexmark_reference_rest::query(query, events, &bids),
    }
}

fn q3(events: &[Event]) -> Vec<String> {
    let mut lines = Vec::new();
    for person in events.iter().filter_map(|e| match e {
        Event::Person(p) => Some(p),
        _ => None,
    }) {
        let state = person.state.to_lowercase();
        if state != "or" && state != "id" && state != "ca" {
            continue;
        }
        for event in events {
            if let Event::Auction(a) = event
                && a.category == 10
                && a.seller == person.id
            {
                lines.push(format!(
                    r#"{{"name":{},"city":{},"state":{},"auction":{}}}"#,
                    json(&person.name),
                    json(&person.city),
                    json(&person.state),
                    a.id
                ));
            }
        }
    }
    lines
}

/// Every auction with its winning bid, for auctions that have one.
pub fn winners(events: &[Event]) -> Vec<(&Auction, &Bid)> {
    let mut bids_of: HashMap<u64, Vec<&Bid>> = HashMap::new();
    for event in events {
        if let Event::Bid(b) = event {
            bids_of.entry(b.auction).or_default().push(b);
        }
    }
    let mut winners = Vec::new();
    for event in events {
        let Event::Auction(a) = event else { continue };
        let mut best: Option<&Bid> = None;
        for &b in bids_of.get(&a.id).map(Vec::as_slice).unwrap_or(&[]) {
            if b.date_time < a.date_time || b.date_time > a.expires {
                continue;
            }
            let better = match best {
                None => true,
                Some(w) => {
                    b.price > w.price
                        || (b.price == w.price && b.date_time < w.date_time)
                        || (b.price == w.price && b.date_time == w.date_time && b.bidder < w.bidder)
                }
            };
            if better {
                best = Some(b);
            }
        }
        if let Some(b) = best {
            winners.push((a, b));
        }
    }
    winners
}

fn q4(events: &[Event]) -> Vec<String> {
    // Per category, its closes in time order; a line per distinct close time.
    let mut closes: BTreeMap<u64, BTreeMap<u64, Vec<u64>>> = BTreeMap::new();
    for (auction, bid) in winners(events) {
        closes
            .entry(auction.category)
            .or_default()
            .entry(auction.expires)
            .or_default()
            .push(bid.price);
    }
    let mut lines = Vec::new();
    for (category, by_time) in closes {
        let (mut sum, mut count) = (0u64, 0u64);
        for (time, prices) in by_time {
            sum += prices.iter().sum::<u64>();
            count += prices.len() as u64;
            lines.push(format!(
                r#"{{"category":{category},"avg":{},"sum":{sum},"count":{count},"date_time":{time}}}"#,
                sum / count
            ));
        }
    }
    lines
}

fn q5(bids: &[&Bid]) -> Vec<String> {
    // Window [end - 10 s, end) for every end that is a multiple of 2 s; the first ones start
    // before time 0 and say so (-8000, -6000, ...).
    let mut counts: BTreeMap<u64, HashMap<u64, u64>> = BTreeMap::new();
    for b in bids {
        let first_end = (b.date_time / 2_000 + 1) * 2_000;
        let mut end = first_end;
        while end <= b.date_time + 10_000 {
            *counts.entry(end).or_default().entry(b.auction).or_default() += 1;
            end += 2_000;
        }
    }
    let mut lines = Vec::new();
    for (end, per_auction) in counts {
        let most = per_auction.values().copied().max().unwrap_or(0);
        for (auction, num) in per_auction {
            if num == most {
                lines.push(format!(
                    r#"{{"window_start":{},"window_end":{end},"auction":{auction},"num":{num}}}"#,
                    end as i64 - 10_000
                ));
            }
        }
    }
    lines
}

fn q6(events: &[Event]) -> Vec<String> {
    let mut closes: BTreeMap<u64, Vec<(u64, u64, u64)>> = BTreeMap::new();
    for (auction, bid) in winners(events) {
        closes
            .entry(auction.seller)
            .or_default()
            .push((auction.expires, auction.id, bid.price));
    }
    let mut lines = Vec::new();
    for (seller, mut closed) in closes {
        closed.sort();
        let times: BTreeSet<u64> = closed.iter().map(|c| c.0).collect();
        for time in times {
            let upto: Vec<_> = closed.iter().filter(|c| c.0 <= time).collect();
            let last = &upto[upto.len().saturating_sub(10)..];
            let sum: u64 = last.iter().map(|c| c.2).sum();
            let count = last.len() as u64;
            lines.push(format!(
                r#"{{"seller":{seller},"avg":{},"sum":{sum},"count":{count},"date_time":{time}}}"#,
                sum / count
            ));
        }
    }
    lines
}

fn q7(bids: &[&Bid]) -> Vec<String> {
    let mut windows: BTreeMap<u64, Vec<&Bid>> = BTreeMap::new();
    for &b in bids {
        windows
            .entry(b.date_time / 10_000 * 10_000)
            .or_default()
            .push(b);
    }
    let mut lines = Vec::new();
    for (start, in_window) in windows {
        let highest = in_window.iter().map(|b| b.price).max().unwrap_or(0);
        for b in in_window.iter().filter(|b| b.price == highest) {
            lines.push(format!(
                r#"{{"window_start":{start},"window_end":{},"auction":{},"bidder":{},"price":{},"date_time":{}}}"#,
                start + 10_000,
                b.auction,
                b.bidder,
                b.price,
                b.date_time
            ));
        }
    }
    lines
}

fn q8(events: &[Event]) -> Vec<String> {
    let mut sellers: BTreeSet<(u64, u64)> = BTreeSet::new(); // (window start, seller)
    for event in events {
        if let Event::Auction(a) = event {
            sellers.insert((a.date_time / 10_000 * 10_000, a.seller));
        }
    }
    let mut lines = BTreeSet::new();
    for event in events {
        if let Event::Person(p) = event {
            let start = p.date_time / 10_000 * 10_000;
            if sellers.contains(&(start, p.id)) {
                lines.insert(format!(
                    r#"{{"id":{},"name":{},"window_start":{start}}}"#,
                    p.id,
                    json(&p.name)
                ));
            }
        }
    }
    lines.into_iter().collect()
}
