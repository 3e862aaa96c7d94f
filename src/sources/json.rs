//! The one JSON parser of weir's inputs: every JSON line a source reads (files, standard input,
//! side tables) is parsed here, with sonic-rs, a SIMD parser, into records whose strings may
//! borrow from the line.
//!
//! sonic-rs was chosen over serde_json and simd-json by `benches/json_reader.rs`
//! (docs/measurements.md, "Reading JSON lines"). A parse error names the column where the line
//! went wrong and what was wrong; the source that read the line adds its name and number.
//!
//! A reader that knows the exact bytes its producer writes (weir's own NEXMark events) can read
//! them with [`ExactShape`] first: literal keys compared in place, strings found with memchr,
//! no escapes, no whitespace. Any line that differs in the least goes to sonic-rs, which reads
//! it or says what is wrong with it, so the shortcut never changes what is accepted.

use std::fmt;

use serde::de::DeserializeSeed;
use serde::Deserialize;

/// A line that is not the JSON its reader expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedJson {
    /// The column (from 1) where the parser stopped.
    pub column: usize,
    /// What was wrong.
    pub message: String,
}

impl fmt::Display for MalformedJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "malformed JSON at column {}: {}",
            self.column, self.message
        )
    }
}

impl std::error::Error for MalformedJson {}

/// Parses one line (without its line ending) into a `T` that may borrow from it.
///
/// ```
/// let point: (u64, &str) = weir::sources::parse_json_line(br#"[7, "seven"]"#).unwrap();
/// assert_eq!(point, (7, "seven"));
/// let error = weir::sources::parse_json_line::<(u64, u64)>(b"[7, x]").unwrap_err();
/// assert_eq!(error.column, 5);
/// ```
pub fn parse_json_line<'line, T: Deserialize<'line>>(
    line: &'line [u8],
) -> Result<T, MalformedJson> {
    parse_json_line_seed(line, std::marker::PhantomData::<T>)
}

/// Parses one line with a [`DeserializeSeed`], which can carry what the reader needs (such as
/// the fields a pipeline reads).
pub fn parse_json_line_seed<'line, S: DeserializeSeed<'line>>(
    line: &'line [u8],
    seed: S,
) -> Result<S::Value, MalformedJson> {
    // The whole line is checked once, so that strings borrowed from it are valid UTF-8
    // whichever way the parser reads them.
    let text = simdutf8::compat::from_utf8(line).map_err(|error| MalformedJson {
        column: error.valid_up_to() + 1,
        message: "invalid UTF-8".to_string(),
    })?;
    let mut deserializer = sonic_rs::Deserializer::from_str(text);
    let value = seed
        .deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value))
        .map_err(|error| describe(line, error))?;
    Ok(value)
}

/// sonic-rs's message, without the position and excerpt it appends: the column is reported
/// on its own, and the source names the line.
fn describe(line: &[u8], error: sonic_rs::Error) -> MalformedJson {
    let message = error.to_string();
    let message = match message.find(" at line ") {
        Some(end) => message[..end].to_string(),
        None => message,
    };
    let column = error.column().clamp(1, line.len().max(1));
    MalformedJson { column, message }
}

/// A cursor over a line in the exact shape its writer produces. Each step returns `None` where
/// the line is not that shape, and the caller then reads the line with the general parser.
pub(crate) struct ExactShape<'line> {
    rest: &'line str,
}

impl<'line> ExactShape<'line> {
    /// A cursor at the start of `line`, already checked to be UTF-8.
    pub(crate) fn new(line: &'line str) -> Self {
        ExactShape { rest: line }
    }

    /// Steps over `expected`, which must come next.
    #[inline]
    pub(crate) fn literal(&mut self, expected: &str) -> Option<()> {
        self.rest = self.rest.strip_prefix(expected)?;
        Some(())
    }

    /// A non-negative integer without sign, fraction or exponent, as JSON writes it: no
    /// leading zeros, at most 19 digits (so it cannot overflow).
    #[inline]
    pub(crate) fn number(&mut self) -> Option<u64> {
        let bytes = self.rest.as_bytes();
        let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || digits > 19 || (digits > 1 && bytes[0] == b'0') {
            return None;
        }
        let value = bytes[..digits]
            .iter()
            .fold(0u64, |value, digit| value * 10 + u64::from(digit - b'0'));
        self.rest = &self.rest[digits..];
        Some(value)
    }

    /// A string without escapes or control characters, borrowed from the line.
    #[inline]
    pub(crate) fn string(&mut self) -> Option<&'line str> {
        let body = self.rest.strip_prefix('"')?;
        let end = memchr::memchr2(b'"', b'\\', body.as_bytes())?;
        let (text, rest) = body.split_at(end);
        // Not `any`, which stops early and so is not vectorized: strings are short.
        let control = text.bytes().fold(false, |seen, byte| seen | (byte < 0x20));
        if rest.as_bytes()[0] != b'"' || control {
            return None;
        }
        self.rest = &rest[1..];
        Some(text)
    }

    /// Whether the line ends here.
    #[inline]
    pub(crate) fn end(self) -> Option<()> {
        self.rest.is_empty().then_some(())
    }
}

/// A JSON string that is checked but not kept: for fields a reader skips without copying.
pub(crate) struct SkippedString;

impl<'de> Deserialize<'de> for SkippedString {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = SkippedString;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<SkippedString, E> {
                Ok(SkippedString)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// The error a reader's visitor returns for a line it cannot read on its fast path, so that
/// the caller reads it again the general way.
pub(crate) fn not_on_fast_path<E: serde::de::Error>() -> E {
    E::custom(NOT_ON_FAST_PATH)
}

/// Whether `error` is [`not_on_fast_path`]'s.
pub(crate) fn is_not_on_fast_path(error: &MalformedJson) -> bool {
    error.message == NOT_ON_FAST_PATH
}

const NOT_ON_FAST_PATH: &str = "not on the fast path";

#[cfg(test)]
mod tests {
    use serde::de::Error as _;

    use super::*;

    #[test]
    fn errors_name_the_column_and_what_was_wrong() {
        let error = parse_json_line::<u64>(b"\"seven\"").unwrap_err();
        assert!(error.message.contains("invalid type"), "{error}");
        let error = parse_json_line::<u64>(b"7 8").unwrap_err();
        assert!(error.message.contains("trailing"), "{error}");
        let error = parse_json_line::<String>(b"\"a\xffb\"").unwrap_err();
        assert_eq!((error.column, error.message.as_str()), (3, "invalid UTF-8"));
        let error = parse_json_line::<Vec<u64>>(b"[1, 2").unwrap_err();
        assert!(error.column >= 1 && error.column <= 5, "{error}");
    }

    #[test]
    fn a_skipped_string_is_still_checked_to_be_a_string() {
        assert!(parse_json_line::<SkippedString>(b"\"x\"").is_ok());
        assert!(parse_json_line::<SkippedString>(b"\"x\\ny\"").is_ok());
        assert!(parse_json_line::<SkippedString>(b"5").is_err());
    }

    #[test]
    fn an_exact_shape_reads_only_what_json_would_read_the_same_way() {
        let mut shape = ExactShape::new(r#"{"a":120,"b":"x y","c":0}"#);
        assert_eq!(shape.literal(r#"{"a":"#), Some(()));
        assert_eq!(shape.number(), Some(120));
        assert_eq!(shape.literal(r#","b":"#), Some(()));
        assert_eq!(shape.string(), Some("x y"));
        assert_eq!(shape.literal(r#","c":"#), Some(()));
        assert_eq!(shape.number(), Some(0));
        assert_eq!(shape.literal("}"), Some(()));
        assert_eq!(shape.end(), Some(()));
        for number in ["", "01", "-1", "12345678901234567890", "x"] {
            assert_eq!(ExactShape::new(number).number(), None, "{number}");
        }
        assert_eq!(ExactShape::new("18446744073709551615").number(), None);
        assert_eq!(
            ExactShape::new("1234567890123456789").number(),
            Some(1234567890123456789)
        );
        for string in [r#""a\"b""#, "\"a\tb\"", r#""open"#, "x"] {
            assert_eq!(ExactShape::new(string).string(), None, "{string}");
        }
        assert_eq!(ExactShape::new(r#""é""#).string(), Some("é"));
        assert_eq!(ExactShape::new(" ").end(), None);
    }

    #[test]
    fn the_fast_path_marker_is_recognised() {
        let marker = MalformedJson {
            column: 1,
            message: not_on_fast_path::<sonic_rs::Error>().to_string(),
        };
        let marker = describe(b"{}", sonic_rs::Error::custom(marker.message));
        assert!(is_not_on_fast_path(&marker), "{marker:?}");
    }
}
