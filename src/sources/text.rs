//! Text lines as records. Plain text has no clock, so line `n` gets the event time
//! `clock.time_of(n)`: the same on any number of workers.

use anyhow::Context;
use timely::dataflow::{Scope, StreamVec};

use crate::control::JobControl;
use crate::identity::LineInput;
use crate::sources::lines::{line_source, LineSourceSpec};
use crate::time::{EventClock, Time};

/// Extension trait for text-line sources.
pub trait TextLines<'scope> {
    /// One `String` per line of `input` (without its line ending), line `n` at event time
    /// `clock.time_of(n)`. A line that is not UTF-8 stops the job with an error naming it.
    ///
    /// ```
    /// use timely::dataflow::operators::Capture;
    /// use timely::dataflow::operators::capture::Extract;
    /// use weir::control::JobControl;
    /// use weir::sources::{LineInput, TextLines};
    /// use weir::time::EventClock;
    ///
    /// let path = std::env::temp_dir().join(format!("weir-doc-text-{}.txt", std::process::id()));
    /// std::fs::write(&path, "first line\nsecond line\n").unwrap();
    /// let input = LineInput::File(path.clone());
    /// let captured = timely::example(move |scope| {
    ///     scope
    ///         .text_lines(input, EventClock::new(1000.0), JobControl::new())
    ///         .expect("the file exists")
    ///         .capture()
    /// });
    /// let lines: Vec<String> = captured.extract().into_iter().flat_map(|(_, l)| l).collect();
    /// assert_eq!(lines, vec!["first line", "second line"]);
    /// std::fs::remove_file(path).unwrap();
    /// ```
    fn text_lines(
        &self,
        input: LineInput,
        clock: EventClock,
        control: JobControl,
    ) -> anyhow::Result<StreamVec<'scope, Time, String>>;
}

impl<'scope> TextLines<'scope> for Scope<'scope, Time> {
    fn text_lines(
        &self,
        input: LineInput,
        clock: EventClock,
        control: JobControl,
    ) -> anyhow::Result<StreamVec<'scope, Time, String>> {
        let spec = LineSourceSpec {
            input,
            control,
            out_of_orderness: 0,
            skip_bad_input: false,
            numbered: true,
            limit: u64::MAX,
        };
        line_source(*self, "TextLines", spec, move |number, line| {
            let text = std::str::from_utf8(line).context("not valid UTF-8")?;
            let number = number.context("text lines are numbered")?;
            Ok(Some((clock.time_of(number), text.to_owned())))
        })
    }
}
