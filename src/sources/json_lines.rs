//! JSON lines as typed records, each at the event time it carries, parsed by weir's one JSON
//! parser ([`parse_json_line`](crate::sources::parse_json_line)).

use serde::de::DeserializeOwned;
use timely::dataflow::{Scope, StreamVec};

use crate::control::JobControl;
use crate::identity::LineInput;
use crate::sources::json::{parse_json_line, MalformedJson};
use crate::sources::lines::{line_source, LineSourceSpec, ParsedLine};
use crate::time::Time;

/// How to read a JSON-lines input.
#[derive(Clone)]
pub struct JsonLinesSpec {
    /// Where the lines come from.
    pub input: LineInput,
    /// How far a record's time may trail the newest time seen; records further behind are
    /// counted as late and dropped.
    pub out_of_orderness: Time,
    /// Count and skip malformed lines instead of stopping with an error.
    pub skip_bad_input: bool,
    /// Stop requests, error reports and counters.
    pub control: JobControl,
    /// An unbounded input (a Kafka topic) ends after this many records in all; a file
    /// ends at its end whatever this says. `u64::MAX`: no limit.
    pub limit: u64,
}

impl JsonLinesSpec {
    /// Reads `input` strictly: in time order, malformed lines are errors.
    pub fn new(input: LineInput) -> Self {
        JsonLinesSpec {
            input,
            out_of_orderness: 0,
            skip_bad_input: false,
            control: JobControl::new(),
            limit: u64::MAX,
        }
    }
}

/// Extension trait for JSON-lines sources.
pub trait JsonLines<'scope> {
    /// One `T` per non-blank line, at the event time `time_of(&record)`. The watermark
    /// trails the newest time seen by `spec.out_of_orderness`. A malformed line stops the job
    /// with an error naming its line number, or is counted and skipped with
    /// `spec.skip_bad_input`.
    ///
    /// ```
    /// use serde::Deserialize;
    /// use timely::dataflow::operators::Capture;
    /// use timely::dataflow::operators::capture::Extract;
    /// use weir::sources::{JsonLines, JsonLinesSpec, LineInput};
    ///
    /// #[derive(Deserialize, Debug, PartialEq, Eq, PartialOrd, Ord)]
    /// struct Reading { sensor: String, at: u64 }
    ///
    /// let path = std::env::temp_dir().join(format!("weir-doc-json-{}.jsonl", std::process::id()));
    /// std::fs::write(&path, "{\"sensor\":\"a\",\"at\":5}\n\n{\"sensor\":\"b\",\"at\":9}\n").unwrap();
    /// let spec = JsonLinesSpec::new(LineInput::File(path.clone()));
    /// let captured = timely::example(move |scope| {
    ///     scope.json_lines(spec, |r: &Reading| r.at).expect("the file exists").capture()
    /// });
    /// let times: Vec<u64> = captured.extract().into_iter().map(|(time, _)| time).collect();
    /// assert_eq!(times, vec![5, 9]);
    /// std::fs::remove_file(path).unwrap();
    /// ```
    fn json_lines<T, F>(
        &self,
        spec: JsonLinesSpec,
        time_of: F,
    ) -> anyhow::Result<StreamVec<'scope, Time, T>>
    where
        T: DeserializeOwned + 'static,
        F: Fn(&T) -> Time + 'static;

    /// As [`json_lines`](JsonLines::json_lines), with each non-blank line read by `parse`:
    /// for readers that know more than serde's derive (which fields a pipeline needs, the
    /// exact shape their writer produces), such as
    /// [`read_event`](crate::nexmark::read_event).
    ///
    /// ```
    /// use timely::dataflow::operators::Capture;
    /// use timely::dataflow::operators::capture::Extract;
    /// use weir::sources::{parse_json_line, JsonLines, JsonLinesSpec, LineInput};
    ///
    /// let path = std::env::temp_dir().join(format!("weir-doc-jsonp-{}.jsonl", std::process::id()));
    /// std::fs::write(&path, "[5, \"a\"]\n[9, \"b\"]\n").unwrap();
    /// let spec = JsonLinesSpec::new(LineInput::File(path.clone()));
    /// let captured = timely::example(move |scope| {
    ///     // The time of each pair is its first element; the string is not kept.
    ///     let parse = |line: &[u8]| parse_json_line::<(u64, &str)>(line).map(|(at, _)| at);
    ///     scope.json_lines_parsed(spec, parse, |at: &u64| *at).expect("the file exists").capture()
    /// });
    /// let times: Vec<u64> = captured.extract().into_iter().map(|(time, _)| time).collect();
    /// assert_eq!(times, vec![5, 9]);
    /// std::fs::remove_file(path).unwrap();
    /// ```
    fn json_lines_parsed<T, P, F>(
        &self,
        spec: JsonLinesSpec,
        parse: P,
        time_of: F,
    ) -> anyhow::Result<StreamVec<'scope, Time, T>>
    where
        T: 'static,
        P: FnMut(&[u8]) -> Result<T, MalformedJson> + 'static,
        F: Fn(&T) -> Time + 'static;
}

impl<'scope> JsonLines<'scope> for Scope<'scope, Time> {
    fn json_lines<T, F>(
        &self,
        spec: JsonLinesSpec,
        time_of: F,
    ) -> anyhow::Result<StreamVec<'scope, Time, T>>
    where
        T: DeserializeOwned + 'static,
        F: Fn(&T) -> Time + 'static,
    {
        self.json_lines_parsed(spec, |line| parse_json_line::<T>(line), time_of)
    }

    fn json_lines_parsed<T, P, F>(
        &self,
        spec: JsonLinesSpec,
        parse: P,
        time_of: F,
    ) -> anyhow::Result<StreamVec<'scope, Time, T>>
    where
        T: 'static,
        P: FnMut(&[u8]) -> Result<T, MalformedJson> + 'static,
        F: Fn(&T) -> Time + 'static,
    {
        line_source(
            *self,
            "JsonLines",
            spec.into(),
            read_json_line(parse, time_of),
        )
    }
}

impl From<JsonLinesSpec> for LineSourceSpec {
    fn from(spec: JsonLinesSpec) -> Self {
        LineSourceSpec {
            input: spec.input,
            control: spec.control,
            out_of_orderness: spec.out_of_orderness,
            skip_bad_input: spec.skip_bad_input,
            numbered: false,
            limit: spec.limit,
        }
    }
}

/// What a JSON-lines source makes of a line: nothing of a blank one, otherwise `parse`'s
/// record at the time `time_of` reads from it.
pub(crate) fn read_json_line<T, P, F>(
    mut parse: P,
    time_of: F,
) -> impl FnMut(Option<u64>, &[u8]) -> ParsedLine<T> + 'static
where
    P: FnMut(&[u8]) -> Result<T, MalformedJson> + 'static,
    F: Fn(&T) -> Time + 'static,
{
    move |_, line| {
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        let record = parse(line)?;
        Ok(Some((time_of(&record), record)))
    }
}
