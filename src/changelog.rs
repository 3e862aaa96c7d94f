//! Changelog records: a row added to or removed from a result at a millisecond.
//!
//! A result that changes as input arrives (a reachable set, a join whose inputs retract, the
//! last bid per bidder) is written as its changelog: at every millisecond `t` at which it
//! changes, one line per row added (`"diff":1`) or removed (`"diff":-1`), with the row's own
//! fields after `diff` and `time`: `{"diff":1,"time":7,"node":3}`. Summing the diffs of
//! all lines gives the result. The same shape is read back as input, so one pipeline's
//! changelog is another's input.

use serde::de::Deserializer;
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

use crate::time::Time;

/// A row `record` added (`diff > 0`) or removed (`diff < 0`) at `time`, `|diff|` times.
///
/// In JSON (and any human-readable format) the row's fields follow `diff` and `time` in one
/// flat object; in binary formats (timely's exchange, snapshots) it is a plain tuple.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use weir::changelog::Change;
///
/// #[derive(Debug, PartialEq, Serialize, Deserialize)]
/// struct Edge { src: u32, dst: u32 }
///
/// let line = r#"{"diff":-1,"time":7,"src":1,"dst":2}"#;
/// let change: Change<Edge> = serde_json::from_str(line).unwrap();
/// assert_eq!(change, Change { diff: -1, time: 7, record: Edge { src: 1, dst: 2 } });
/// assert_eq!(serde_json::to_string(&change).unwrap(), line);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Change<D> {
    /// How many copies of the row are added (or removed, if negative).
    pub diff: isize,
    /// The millisecond of event time at which it changes.
    pub time: Time,
    /// The row.
    pub record: D,
}

/// The flat, human-readable form of a [`Change`].
#[derive(Serialize, Deserialize)]
struct Flat<D> {
    diff: isize,
    time: Time,
    #[serde(flatten)]
    record: D,
}

impl<D: Serialize> Serialize for Change<D> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            Flat {
                diff: self.diff,
                time: self.time,
                record: &self.record,
            }
            .serialize(serializer)
        } else {
            (self.diff, self.time, &self.record).serialize(serializer)
        }
    }
}

impl<'de, D: Deserialize<'de>> Deserialize<'de> for Change<D> {
    fn deserialize<De: Deserializer<'de>>(deserializer: De) -> Result<Self, De::Error> {
        if deserializer.is_human_readable() {
            let Flat { diff, time, record } = Flat::deserialize(deserializer)?;
            Ok(Change { diff, time, record })
        } else {
            let (diff, time, record) = <(isize, Time, D)>::deserialize(deserializer)?;
            Ok(Change { diff, time, record })
        }
    }
}
