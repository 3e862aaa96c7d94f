//! A sequential reference for the rest of the NEXMark suite (q9, q11, q13-q22), written from
//! docs/nexmark.md alone, like `nexmark_reference.rs`: plain loops over all events, dates by
//! counting days through the calendar, q21's parameter by the contract's regular expression,
//! and the changelogs of q18 and q19 by recomputing each result before and after every
//! millisecond.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use weir::nexmark::{Bid, Event};

use super::nexmark_reference::{json, winners};

/// The output lines of `query` over `events` (whose bids are `bids`).
pub fn query(query: usize, events: &[Event], bids: &[&Bid]) -> Vec<String> {
    match query {
        9 => q9(events),
        11 => q11(bids),
        13 => q13(bids, &default_side_table()),
        14 => q14(bids),
        15 => q15(bids),
        16 => q16(bids),
        17 => q17(bids),
        18 => q18(bids),
        19 => q19(bids),
        20 => q20(events, bids),
        21 => q21(bids),
        22 => q22(bids),
        _ => panic!("no query {query}"),
    }
}

fn q9(events: &[Event]) -> Vec<String> {
    winners(events)
        .into_iter()
        .map(|(a, b)| {
            format!(
                r#"{{"id":{},"item_name":{},"description":{},"initial_bid":{},"reserve":{},"date_time":{},"expires":{},"seller":{},"category":{},"extra":{},"auction":{},"bidder":{},"price":{},"bid_date_time":{},"bid_extra":{}}}"#,
                a.id,
                json(&a.item_name),
                json(&a.description),
                a.initial_bid,
                a.reserve,
                a.date_time,
                a.expires,
                a.seller,
                a.category,
                json(&a.extra),
                b.auction,
                b.bidder,
                b.price,
                b.date_time,
                json(&b.extra)
            )
        })
        .collect()
}

fn q11(bids: &[&Bid]) -> Vec<String> {
    let mut times: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for b in bids {
        times.entry(b.bidder).or_default().push(b.date_time);
    }
    let mut lines = Vec::new();
    for (bidder, mut times) in times {
        times.sort();
        // Runs of bids at most 10 s apart.
        let mut start = 0;
        for i in 1..=times.len() {
            if i == times.len() || times[i] - times[i - 1] > 10_000 {
                lines.push(format!(
                    r#"{{"bidder":{bidder},"bid_count":{},"starttime":{},"endtime":{}}}"#,
                    i - start,
                    times[start],
                    times[i - 1] + 10_000
                ));
                start = i;
            }
        }
    }
    lines
}

/// q13's table when no `--side-input` is given: one row per key 0 to 9999.
pub fn default_side_table() -> Vec<(u64, String)> {
    (0..10_000).map(|k| (k, format!("side-{k}"))).collect()
}

/// q13 over the side table `rows`.
pub fn q13(bids: &[&Bid], rows: &[(u64, String)]) -> Vec<String> {
    let mut lines = Vec::new();
    for b in bids {
        for (key, value) in rows {
            if b.auction % 10_000 == *key {
                lines.push(format!(
                    r#"{{"auction":{},"bidder":{},"price":{},"date_time":{},"value":{}}}"#,
                    b.auction,
                    b.bidder,
                    b.price,
                    b.date_time,
                    json(value)
                ));
            }
        }
    }
    lines
}

/// The hour of the day of a bid.
fn hour(date_time: u64) -> u64 {
    date_time / 3_600_000 % 24
}

fn q14(bids: &[&Bid]) -> Vec<String> {
    bids.iter()
        .filter(|b| {
            // The exact product, as the contract says: no float rounding at the edges.
            let exact = u128::from(b.price) * 908;
            1_000_000_000 < exact && exact < 50_000_000_000
        })
        .map(|b| {
            let hour = hour(b.date_time);
            let kind = if (8..=18).contains(&hour) {
                "dayTime"
            } else if hour <= 6 || hour >= 20 {
                "nightTime"
            } else {
                "otherTime"
            };
            format!(
                r#"{{"auction":{},"bidder":{},"price":{},"bid_time_type":"{kind}","date_time":{},"extra":{},"c_counts":{}}}"#,
                b.auction,
                b.bidder,
                b.price * 908 / 1000,
                b.date_time,
                json(&b.extra),
                b.extra.matches('c').count()
            )
        })
        .collect()
}

/// `"YYYY-MM-DD"` of a time, by walking the calendar from 1970 a year and a month at a time.
fn day(date_time: u64) -> String {
    let mut days = date_time / 86_400_000;
    let leap = |y: u64| (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    let mut year = 1970;
    while days >= if leap(year) { 366 } else { 365 } {
        days -= if leap(year) { 366 } else { 365 };
        year += 1;
    }
    let lengths = [
        31,
        if leap(year) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let mut month = 0;
    while days >= lengths[month] {
        days -= lengths[month];
        month += 1;
    }
    format!("{year:04}-{:02}-{:02}", month + 1, days + 1)
}

fn rank(price: u64) -> usize {
    if price < 10_000 {
        1
    } else if price < 1_000_000 {
        2
    } else {
        3
    }
}

/// q15's counts of a group of bids, from `"total_bids"` on.
fn counts(group: &[&Bid]) -> String {
    let mut fields = Vec::new();
    for (what, of) in [("bids", 0), ("bidders", 1), ("auctions", 2)] {
        for (name, r) in [("total", 0), ("rank1", 1), ("rank2", 2), ("rank3", 3)] {
            let in_rank: Vec<&&Bid> = group
                .iter()
                .filter(|b| r == 0 || rank(b.price) == r)
                .collect();
            let n = match of {
                0 => in_rank.len(),
                1 => in_rank
                    .iter()
                    .map(|b| b.bidder)
                    .collect::<HashSet<_>>()
                    .len(),
                _ => in_rank
                    .iter()
                    .map(|b| b.auction)
                    .collect::<HashSet<_>>()
                    .len(),
            };
            fields.push(format!(r#""{name}_{what}":{n}"#));
        }
    }
    fields.join(",")
}

fn q15(bids: &[&Bid]) -> Vec<String> {
    let mut days: BTreeMap<String, Vec<&Bid>> = BTreeMap::new();
    for &b in bids {
        days.entry(day(b.date_time)).or_default().push(b);
    }
    days.into_iter()
        .map(|(day, group)| format!(r#"{{"day":"{day}",{}}}"#, counts(&group)))
        .collect()
}

fn q16(bids: &[&Bid]) -> Vec<String> {
    let mut groups: BTreeMap<(String, String), Vec<&Bid>> = BTreeMap::new();
    for &b in bids {
        groups
            .entry((b.channel.clone(), day(b.date_time)))
            .or_default()
            .push(b);
    }
    groups
        .into_iter()
        .map(|((channel, day), group)| {
            let minute = group
                .iter()
                .map(|b| format!("{:02}:{:02}", hour(b.date_time), b.date_time / 60_000 % 60))
                .max()
                .unwrap_or_default();
            format!(
                r#"{{"channel":{},"day":"{day}","minute":"{minute}",{}}}"#,
                json(&channel),
                counts(&group)
            )
        })
        .collect()
}

fn q17(bids: &[&Bid]) -> Vec<String> {
    let mut groups: BTreeMap<(u64, String), Vec<u64>> = BTreeMap::new();
    for b in bids {
        groups
            .entry((b.auction, day(b.date_time)))
            .or_default()
            .push(b.price);
    }
    groups
        .into_iter()
        .map(|((auction, day), prices)| {
            let per_rank = |r| prices.iter().filter(|&&p| rank(p) == r).count();
            let sum: u64 = prices.iter().sum();
            format!(
                r#"{{"auction":{auction},"day":"{day}","total_bids":{},"rank1_bids":{},"rank2_bids":{},"rank3_bids":{},"min_price":{},"max_price":{},"avg_price":{},"sum_price":{sum}}}"#,
                prices.len(),
                per_rank(1),
                per_rank(2),
                per_rank(3),
                prices.iter().min().unwrap_or(&0),
                prices.iter().max().unwrap_or(&0),
                sum / prices.len() as u64
            )
        })
        .collect()
}

/// A q18/q19 row.
fn row(b: &Bid) -> String {
    format!(
        r#""auction":{},"bidder":{},"price":{},"channel":{},"url":{},"date_time":{},"extra":{}}}"#,
        b.auction,
        b.bidder,
        b.price,
        json(&b.channel),
        json(&b.url),
        b.date_time,
        json(&b.extra)
    )
}

/// The changelog of a result per group: `result(bids)` is the group's rows given the bids so
/// far; at every time a group has bids, the rows before and after are compared as multisets.
fn changelog<'a, K: Ord>(
    bids: &[&'a Bid],
    group: impl Fn(&Bid) -> K,
    result: impl Fn(&[&'a Bid]) -> Vec<&'a Bid>,
) -> Vec<String> {
    let mut groups: BTreeMap<K, Vec<&Bid>> = BTreeMap::new();
    for &b in bids {
        groups.entry(group(b)).or_default().push(b);
    }
    let mut lines = Vec::new();
    for (_, mut group) in groups {
        group.sort_by_key(|b| b.date_time);
        let times: BTreeSet<u64> = group.iter().map(|b| b.date_time).collect();
        let mut before: HashMap<String, isize> = HashMap::new();
        for t in times {
            let upto: Vec<&Bid> = group.iter().copied().filter(|b| b.date_time <= t).collect();
            let mut after: HashMap<String, isize> = HashMap::new();
            for b in result(&upto) {
                *after.entry(row(b)).or_default() += 1;
            }
            for (row, &n) in &before {
                let left = after.get(row).copied().unwrap_or(0);
                for _ in left..n {
                    lines.push(format!(r#"{{"diff":-1,"time":{t},{row}"#));
                }
            }
            for (row, &n) in &after {
                let had = before.get(row).copied().unwrap_or(0);
                for _ in had..n {
                    lines.push(format!(r#"{{"diff":1,"time":{t},{row}"#));
                }
            }
            before = after;
        }
    }
    lines
}

fn q18(bids: &[&Bid]) -> Vec<String> {
    changelog(
        bids,
        |b| (b.bidder, b.auction),
        |upto| {
            let last = upto.iter().max_by(|x, y| {
                (x.date_time, x.price, &x.extra, &x.channel, &x.url).cmp(&(
                    y.date_time,
                    y.price,
                    &y.extra,
                    &y.channel,
                    &y.url,
                ))
            });
            last.into_iter().copied().collect()
        },
    )
}

fn q19(bids: &[&Bid]) -> Vec<String> {
    changelog(
        bids,
        |b| b.auction,
        |upto| {
            let mut ranked = upto.to_vec();
            ranked.sort_by(|x, y| {
                (y.price, x.date_time, x.bidder, &x.extra, &x.channel, &x.url).cmp(&(
                    x.price,
                    y.date_time,
                    y.bidder,
                    &y.extra,
                    &y.channel,
                    &y.url,
                ))
            });
            ranked.truncate(10);
            ranked
        },
    )
}

fn q20(events: &[Event], bids: &[&Bid]) -> Vec<String> {
    let mut lines = Vec::new();
    for event in events {
        let Event::Auction(a) = event else { continue };
        if a.category != 10 {
            continue;
        }
        for b in bids.iter().filter(|b| b.auction == a.id) {
            lines.push(format!(
                r#"{{"auction":{},"bidder":{},"price":{},"channel":{},"url":{},"date_time":{},"extra":{},"item_name":{},"description":{},"initial_bid":{},"reserve":{},"auction_date_time":{},"expires":{},"seller":{},"category":{},"auction_extra":{}}}"#,
                b.auction,
                b.bidder,
                b.price,
                json(&b.channel),
                json(&b.url),
                b.date_time,
                json(&b.extra),
                json(&a.item_name),
                json(&a.description),
                a.initial_bid,
                a.reserve,
                a.date_time,
                a.expires,
                a.seller,
                a.category,
                json(&a.extra)
            ));
        }
    }
    lines
}

fn q21(bids: &[&Bid]) -> Vec<String> {
    let parameter = regex::Regex::new("(&|^)channel_id=([^&]*)").expect("a valid expression");
    bids.iter()
        .filter_map(|b| {
            let id = match b.channel.to_lowercase().as_str() {
                "apple" => "0".to_string(),
                "google" => "1".to_string(),
                "facebook" => "2".to_string(),
                "baidu" => "3".to_string(),
                _ => parameter.captures(&b.url)?[2].to_string(),
            };
            Some(format!(
                r#"{{"auction":{},"bidder":{},"price":{},"channel":{},"channel_id":{}}}"#,
                b.auction,
                b.bidder,
                b.price,
                json(&b.channel),
                json(&id)
            ))
        })
        .collect()
}

fn q22(bids: &[&Bid]) -> Vec<String> {
    bids.iter()
        .map(|b| {
            let parts: Vec<&str> = b.url.split('/').collect();
            let dir = |i: usize| parts.get(i).map_or("null".to_string(), |p| json(p));
            format!(
                r#"{{"auction":{},"bidder":{},"price":{},"channel":{},"dir1":{},"dir2":{},"dir3":{}}}"#,
                b.auction,
                b.bidder,
                b.price,
                json(&b.channel),
                dir(3),
                dir(4),
                dir(5)
            )
        })
        .collect()
}
