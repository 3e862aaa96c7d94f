//! What the later queries derive from a bid's fields: its day, hour and minute (q14-q17), its
//! price rank (q15-q17), its channel id (q21) and its URL's directories (q22). Pure
//! functions, each as docs/nexmark.md defines it.

use std::ops::Range;

use crate::time::Time;

/// Milliseconds in a day: q15-q17 group by the UTC day of `date_time`.
pub const DAY_MS: Time = 86_400_000;

const HOUR_MS: Time = 3_600_000;
const MINUTE_MS: Time = 60_000;

/// The UTC date of `date_time` (milliseconds since 1970-01-01T00:00:00Z) as `"YYYY-MM-DD"`.
///
/// ```
/// use weir::nexmark::fields::day;
///
/// assert_eq!(day(0), "1970-01-01");
/// assert_eq!(day(86_399_999), "1970-01-01");
/// assert_eq!(day(86_400_000), "1970-01-02");
/// assert_eq!(day(951_782_400_000), "2000-02-29");
/// ```
pub fn day(date_time: Time) -> String {
    let (year, month, day) = civil_date(date_time / DAY_MS);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The hour of the day of `date_time`, 0 to 23 (UTC).
///
/// ```
/// assert_eq!(weir::nexmark::fields::hour(3_600_000 * 25 + 5), 1);
/// ```
pub fn hour(date_time: Time) -> u64 {
    (date_time / HOUR_MS) % 24
}

/// The time of day of `date_time` as `"HH:mm"` (UTC).
///
/// ```
/// assert_eq!(weir::nexmark::fields::hour_minute(3_600_000 * 13 + 60_000 * 7 + 59_999), "13:07");
/// ```
pub fn hour_minute(date_time: Time) -> String {
    format!("{:02}:{:02}", hour(date_time), (date_time / MINUTE_MS) % 60)
}

/// The year, month and day of the `days`-th day after 1970-01-01, by the proleptic Gregorian
/// calendar: eras of 400 years starting on March 1, so that leap days end a year.
fn civil_date(days: u64) -> (u64, u64, u64) {
    // Days since 0000-03-01: 1970-01-01 is day 719,468 of that count.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // Months from March: 0 is March, 11 is February.
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

/// A bid's price rank, as q15-q17 count them: 0 for `price < 10,000`, 1 below 1,000,000,
/// 2 from 1,000,000 on.
///
/// ```
/// use weir::nexmark::fields::price_rank;
/// assert_eq!([price_rank(9_999), price_rank(10_000), price_rank(1_000_000)], [0, 1, 2]);
/// ```
pub fn price_rank(price: u64) -> usize {
    match price {
        0..10_000 => 0,
        10_000..1_000_000 => 1,
        _ => 2,
    }
}

/// Where q21's channel id of a bid comes from: its channel's name, or a stretch of its URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelId {
    /// A hot channel's id.
    Named(&'static str),
    /// The byte range of the `channel_id` parameter's value in the URL.
    InUrl(Range<usize>),
}

impl ChannelId {
    /// The id as text, for the bid whose URL is `url`.
    pub fn text<'a>(&self, url: &'a str) -> &'a str {
        match self {
            ChannelId::Named(id) => id,
            ChannelId::InUrl(range) => url.get(range.clone()).unwrap_or_default(),
        }
    }
}

/// q21's channel id of a bid: `"0"` to `"3"` for Apple, Google, Facebook and Baidu (any
/// case), else the value of the first `channel_id=` parameter of the URL that starts it or
/// follows an `&` (an empty value is kept), else none; given as where it lies, so that a
/// line can write it from the URL it holds.
///
/// ```
/// use weir::nexmark::fields::{channel_id_in, ChannelId};
///
/// assert_eq!(channel_id_in("GOOGLE", "https://x/y"), Some(ChannelId::Named("1")));
/// let url = "https://x/?query=1&channel_id=42&b=1";
/// assert_eq!(channel_id_in("channel-7", url).map(|id| id.text(url)), Some("42"));
/// assert_eq!(channel_id_in("c", "?a=1&channel_id="), Some(ChannelId::InUrl(16..16)));
/// assert_eq!(channel_id_in("c", "?a=1&xchannel_id=42"), None);
/// assert_eq!(channel_id_in("c", "channel_id=9"), Some(ChannelId::InUrl(11..12)));
/// ```
pub fn channel_id_in(channel: &str, url: &str) -> Option<ChannelId> {
    const NAMED: [(&str, &str); 4] = [
        ("apple", "0"),
        ("google", "1"),
        ("facebook", "2"),
        ("baidu", "3"),
    ];
    if let Some((_, id)) = NAMED
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(channel))
    {
        return Some(ChannelId::Named(id));
    }
    const PARAMETER: &str = "channel_id=";
    url.match_indices(PARAMETER).find_map(|(at, _)| {
        let starts = at == 0 || url.as_bytes()[at - 1] == b'&';
        starts.then(|| {
            let value = at + PARAMETER.len();
            let end = url[value..]
                .find('&')
                .map_or(url.len(), |length| value + length);
            ChannelId::InUrl(value..end)
        })
    })
}

/// q22's directories of a URL: where its parts 3, 4 and 5 lie when split at `/` (0-based;
/// empty parts count), as byte ranges, each `None` where the URL has fewer parts; so that a
/// line can write them from the URL it holds, without a string of their own.
///
/// ```
/// use weir::nexmark::fields::url_directory_ranges;
///
/// let url = "https://www.nexmark.com/abcde/f_ghi/jklmn/item.htm?query=1";
/// let dirs = url_directory_ranges(url).map(|dir| dir.map(|range| &url[range]));
/// assert_eq!(dirs, [Some("abcde"), Some("f_ghi"), Some("jklmn")]);
/// assert_eq!(url_directory_ranges("https://host//a"), [Some(13..13), Some(14..15), None]);
/// ```
pub fn url_directory_ranges(url: &str) -> [Option<Range<usize>>; 3] {
    let mut ranges = [None, None, None];
    let ends = url.match_indices('/').map(|(at, _)| at).chain([url.len()]);
    let mut start = 0;
    for (part, end) in ends.enumerate().take(6) {
        if let Some(range) = part.checked_sub(3).and_then(|dir| ranges.get_mut(dir)) {
            *range = Some(start..end);
        }
        start = end + 1;
    }
    ranges
}
