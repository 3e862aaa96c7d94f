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
    // The parameter starts the URL or follows an `&`: looking at each `&` (a byte search)
    // is several times cheaper on a URL of 60 bytes than a substring search for the name.
    const PARAMETER: &[u8] = b"channel_id=";
    let bytes = url.as_bytes();
    let starts = std::iter::once(0).chain(memchr::memchr_iter(b'&', bytes).map(|at| at + 1));
    starts
        .filter(|&at| bytes[at..].starts_with(PARAMETER))
        .map(|at| {
            let value = at + PARAMETER.len();
            let end =
                memchr::memchr(b'&', &bytes[value..]).map_or(url.len(), |length| value + length);
            ChannelId::InUrl(value..end)
        })
        .next()
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
    // The slashes of each eight bytes found at once as the high bits of a word, then one
    // step per slash: `str::match_indices('/')` compared each match as a slice (a third of
    // q22's own time), and a byte loop or `memchr` per slash cost a tenth on URLs of 60 bytes.
    let (mut part, mut start) = (0usize, 0);
    for (word_index, chunk) in url.as_bytes().chunks(8).enumerate() {
        let mut word = [0; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        let mut slashes = zero_bytes(u64::from_le_bytes(word) ^ (ONES * u64::from(b'/')));
        // Padding bytes are zeros, never slashes.
        while slashes != 0 {
            let at = word_index * 8 + slashes.trailing_zeros() as usize / 8;
            slashes &= slashes - 1;
            if let Some(range) = part.checked_sub(3).and_then(|dir| ranges.get_mut(dir)) {
                *range = Some(start..at);
            }
            part += 1;
            start = at + 1;
            if part == 6 {
                return ranges;
            }
        }
    }
    if let Some(range) = part.checked_sub(3).and_then(|dir| ranges.get_mut(dir)) {
        *range = Some(start..url.len());
    }
    ranges
}

/// A one in every byte of a word.
const ONES: u64 = 0x0101_0101_0101_0101;

/// The high bit of each byte of `x` that is zero, and no other bit: exact, as no carry
/// crosses a byte (the low seven bits of each are added alone).
fn zero_bytes(x: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    !(((x & LOW7) + LOW7) | x | LOW7)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// Drawn from the clock unless `WEIR_SHAPES_SEED=N` repeats a run.
    fn shapes_seed() -> u64 {
        let seed = std::env::var("WEIR_SHAPES_SEED")
            .ok()
            .and_then(|seed| seed.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |since| since.as_nanos() as u64)
            });
        eprintln!("WEIR_SHAPES_SEED={seed}");
        seed
    }

    /// `url_directory_ranges` as the contract words it: split at `/`, parts 3 to 5.
    fn directories_by_split(url: &str) -> [Option<&str>; 3] {
        let parts: Vec<&str> = url.split('/').collect();
        [3, 4, 5].map(|part| parts.get(part).copied())
    }

    #[test]
    fn directories_match_a_split_of_random_urls() {
        let seed = shapes_seed();
        let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
        // Slashes next to dots and ones at every offset of a word, short and long URLs.
        let alphabet = b"/./a.&=/";
        for _ in 0..20_000 {
            let len = rng.gen_range(0..90);
            let url: String = (0..len)
                .map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char)
                .collect();
            let found = url_directory_ranges(&url).map(|dir| dir.map(|range| &url[range]));
            assert_eq!(
                found,
                directories_by_split(&url),
                "url {url:?} (seed {seed})"
            );
        }
    }

    #[test]
    fn channel_ids_match_the_contracts_expression_on_random_urls() {
        let seed = shapes_seed();
        let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
        let parameter = regex::Regex::new("(&|^)channel_id=([^&]*)").expect("a valid expression");
        let pieces = ["channel_id=", "&", "x", "=", "7", "?q=1", "chan"];
        for _ in 0..20_000 {
            let url: String = (0..rng.gen_range(0..8))
                .map(|_| pieces[rng.gen_range(0..pieces.len())])
                .collect();
            let found = channel_id_in("channel-1", &url).map(|id| id.text(&url).to_string());
            let expected = parameter
                .captures(&url)
                .and_then(|captures| captures.get(2))
                .map(|value| value.as_str().to_string());
            assert_eq!(found, expected, "url {url:?} (WEIR_SHAPES_SEED={seed})");
        }
    }

    #[test]
    fn zero_bytes_marks_exactly_the_zero_bytes() {
        for word in [
            0u64,
            1,
            0x0100,
            0x8000_0000_0000_0001,
            u64::MAX,
            0x2e2f_002f_0101_0000,
        ] {
            let expected = (0..8)
                .filter(|byte| (word >> (8 * byte)) & 0xff == 0)
                .fold(0, |mask, byte| mask | 0x80 << (8 * byte));
            assert_eq!(zero_bytes(word), expected, "{word:#x}");
        }
    }
}
