//! Event time.
//!
//! A record's timely timestamp is its event time in milliseconds, and a stream's frontier is
//! its watermark (docs/architecture.md, principle 2). Sources that have no clock of their own — generators
//! and plain text — give record number `n` the event time `n * 1000 / event_rate`, so that the
//! same record has the same time on any number of workers.

use serde::{Deserialize, Serialize};
use timely::progress::frontier::MutableAntichain;

/// Event time in milliseconds: the timestamp of every weir stream.
pub type Time = u64;

/// Maps record numbers to event times at a fixed rate of records per second of event time.
///
/// ```
/// use weir::time::EventClock;
///
/// let clock = EventClock::new(1_000.0); // one record per millisecond
/// assert_eq!(clock.time_of(0), 0);
/// assert_eq!(clock.time_of(2_500), 2_500);
/// // The first record at or after a time, for resuming a source at a snapshot epoch.
/// assert_eq!(clock.first_record_at(2_500), 2_500);
/// let slow = EventClock::new(10.0);
/// assert_eq!(slow.time_of(25), 2_500);
/// assert_eq!(slow.first_record_at(2_450), 25);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventClock {
    /// Records per second of event time.
    per_second: f64,
}

impl EventClock {
    /// A clock advancing `per_second` records per second of event time (at least 1e-3).
    pub fn new(per_second: f64) -> Self {
        let per_second = if per_second.is_finite() {
            per_second.max(1e-3)
        } else {
            1e-3
        };
        EventClock { per_second }
    }

    /// Records per second of event time.
    pub fn per_second(&self) -> f64 {
        self.per_second
    }

    /// The event time of record `n`.
    #[inline]
    pub fn time_of(&self, n: u64) -> Time {
        (n as f64 * 1000.0 / self.per_second) as Time
    }

    /// The smallest record number whose event time is at least `time`.
    pub fn first_record_at(&self, time: Time) -> u64 {
        // Start from the floating-point estimate and correct for rounding either way.
        let mut n = (time as f64 * self.per_second / 1000.0).floor() as u64;
        while n > 0 && self.time_of(n - 1) >= time {
            n -= 1;
        }
        while self.time_of(n) < time {
            n += 1;
        }
        n
    }
}

/// A record that carries its own event time, in a stream whose messages may each hold records
/// of many times under the earliest of them.
///
/// Progress tracking costs work per message and per timestamp, on every worker, whatever a
/// message holds. An event-time source sends a message per millisecond; at NEXMark's ten
/// events per millisecond split over the workers, that cost outweighs the records' own
/// processing. With the time in the record, a source sends a whole batch under its earliest
/// time: the message's timestamp is then a lower bound, as a watermark is, and the frontier
/// still promises that no record earlier than it will come. Keyed operators that take `Timed`
/// records (such as [`ProcessKeyed`](crate::operators::ProcessKeyed)) apply each at its own
/// time; [`Chain::timed_stream`](crate::sources::Chain::timed_stream) makes them.
///
/// A record whose time is earlier than its message's counts as at the message's time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timed<D> {
    /// The record's event time: at or after its message's timestamp.
    pub time: Time,
    /// The record.
    pub record: D,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_record_at_inverts_time_of() {
        for rate in [1.0, 3.0, 7.5, 1000.0, 10_000.0, 1_000_000.0, 333_333.0] {
            let clock = EventClock::new(rate);
            for time in (0..5_000u64).step_by(37) {
                let n = clock.first_record_at(time);
                assert!(clock.time_of(n) >= time);
                assert!(n == 0 || clock.time_of(n - 1) < time);
            }
        }
    }
}

/// How a keyed aggregation divides event time into windows.
///
/// A window `[start, end)` holds the records with `start <= time < end`; its result is final
/// when the frontier reaches `end`, and carries the timestamp `end - 1` (docs/nexmark.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Window {
    /// One window over all of time: results come when the input ends.
    Global,
    /// Windows of `size` starting at multiples of `size`.
    Tumbling {
        /// Window length in milliseconds.
        size: Time,
    },
    /// Windows of `size` starting at multiples of `slide`; each record is in `size / slide`
    /// of them. `size` must be a multiple of `slide`.
    Hopping {
        /// Window length in milliseconds.
        size: Time,
        /// Distance between window starts in milliseconds.
        slide: Time,
    },
}

/// The bounds `[start, end)` of one window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct WindowBounds {
    /// First time in the window. Signed: the first hopping windows start before time 0
    /// (an event at 0 lies in `[-8000, 2000)` of 10 s windows sliding by 2 s), and report
    /// it as Flink's HOP does.
    pub start: i64,
    /// First time after the window (`Time::MAX` for the global window).
    pub end: Time,
}

impl WindowBounds {
    /// The first time in the window that a timestamp can have (0 for windows that start
    /// before time 0).
    pub fn first_time(&self) -> Time {
        Time::try_from(self.start).unwrap_or(0)
    }
}

impl Window {
    /// A tumbling window of `size` milliseconds.
    pub fn tumbling(size: Time) -> Self {
        Window::Tumbling { size }
    }

    /// A hopping window of `size` milliseconds every `slide` milliseconds.
    pub fn hopping(size: Time, slide: Time) -> Self {
        Window::Hopping { size, slide }
    }

    /// Checks the window's parameters, naming what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            Window::Global => Ok(()),
            Window::Tumbling { size: 0 } => Err("a tumbling window needs a size above 0".into()),
            Window::Hopping { size, slide } if slide == 0 || size == 0 || size % slide != 0 => {
                Err(format!(
                    "a hopping window needs a slide above 0 that divides its size (size {size} ms, slide {slide} ms)"
                ))
            }
            _ => Ok(()),
        }
    }

    /// The length of a pane: the largest interval that no window boundary cuts.
    pub(crate) fn pane(&self) -> Time {
        match *self {
            Window::Global => Time::MAX,
            Window::Tumbling { size } => size.max(1),
            Window::Hopping { slide, .. } => slide.max(1),
        }
    }

    /// The length of a window (`Time::MAX` for the global window).
    pub(crate) fn size(&self) -> Time {
        match *self {
            Window::Global => Time::MAX,
            Window::Tumbling { size } | Window::Hopping { size, .. } => size.max(1),
        }
    }

    /// The start of the pane holding `time`.
    #[inline]
    pub(crate) fn pane_of(&self, time: Time) -> Time {
        match *self {
            Window::Global => 0,
            _ => time - time % self.pane(),
        }
    }

    /// The bounds of the window ending at `end`.
    pub(crate) fn ending_at(&self, end: Time) -> WindowBounds {
        match *self {
            Window::Global => WindowBounds {
                start: 0,
                end: Time::MAX,
            },
            _ => WindowBounds {
                start: i64::try_from(end).unwrap_or(i64::MAX)
                    - i64::try_from(self.size()).unwrap_or(i64::MAX),
                end,
            },
        }
    }

    /// The ends of the windows that contain the pane starting at `pane`.
    pub(crate) fn window_ends_of_pane(&self, pane: Time) -> impl Iterator<Item = Time> {
        let (first, count, step) = match *self {
            Window::Global => (Time::MAX, 1, 0),
            _ => {
                let step = self.pane();
                let count = self.size() / step;
                (pane.saturating_add(step), count, step)
            }
        };
        (0..count).map(move |i| first.saturating_add(i * step))
    }
}

/// The earliest time that may still arrive at an input, or `None` once the input is complete.
#[inline]
pub(crate) fn frontier_time(frontier: &MutableAntichain<Time>) -> Option<Time> {
    frontier.frontier().first().copied()
}
