//! Writing records as JSON lines.

use serde::Serialize;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::StreamVec;

use crate::control::{Counters, JobControl};
use crate::sinks::target::WRITE_BUFFER;
use crate::sinks::{encode_json, OutputTarget};
use crate::time::Time;

/// Bytes a worker gathers before handing them to the shared target: enough that the target
/// writes them without copying them into its own buffer.
const FLUSH_BYTES: usize = WRITE_BUFFER;

/// Extension trait for JSON-lines output.
pub trait WriteJsonLines<'scope, D> {
    /// Writes every record as one line of JSON (struct fields in declaration order) to
    /// `target`. Write errors are reported to `control`, which stops the job; a closed pipe on
    /// standard output stops it quietly, as `head` expects.
    ///
    /// Returns a stream without records whose frontier is the writer's: times before it have
    /// been written. A probe on it sees the output complete without standing between the
    /// records and the writer.
    ///
    /// ```
    /// use serde::Serialize;
    /// use timely::dataflow::operators::ToStream;
    /// use weir::control::JobControl;
    /// use weir::sinks::{OutputTarget, WriteJsonLines};
    ///
    /// #[derive(Serialize)]
    /// struct Value { value: u64 }
    ///
    /// let path = std::env::temp_dir().join(format!("weir-doc-sink-{}.jsonl", std::process::id()));
    /// let target = OutputTarget::new(Box::new(std::fs::File::create(&path).unwrap()), false);
    /// let written = target.clone();
    /// timely::example(move |scope| {
    ///     (1..=2).map(|value| Value { value })
    ///         .to_stream(scope)
    ///         .container::<Vec<_>>()
    ///         .write_json_lines(target, JobControl::new());
    /// });
    /// written.flush().unwrap();
    /// assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"value\":1}\n{\"value\":2}\n");
    /// std::fs::remove_file(path).unwrap();
    /// ```
    fn write_json_lines(
        self,
        target: OutputTarget,
        control: JobControl,
    ) -> StreamVec<'scope, Time, ()>;
}

impl<'scope, D: Serialize + 'static> WriteJsonLines<'scope, D> for StreamVec<'scope, Time, D> {
    fn write_json_lines(
        self,
        target: OutputTarget,
        control: JobControl,
    ) -> StreamVec<'scope, Time, ()> {
        let mut writer = JsonLineWriter::new(target, control);
        // It holds no capability: its output's frontier is its input's.
        self.unary_frontier::<CapacityContainerBuilder<Vec<()>>, _, _, _>(
            Pipeline,
            "WriteJsonLines",
            move |_, _| {
                move |(input, frontier), _output| {
                    input.for_each(|_, container| {
                        for record in container.drain(..) {
                            writer.write(&record);
                        }
                    });
                    writer.end_batch(frontier.frontier().is_empty());
                }
            },
        )
    }
}

/// One worker's JSON-lines output: lines gather in a buffer that goes to the shared target
/// whole. Shared by the sink operator and by sources that write their output themselves
/// ([`Chain`](crate::sources::Chain)).
pub(crate) struct JsonLineWriter {
    lines: Vec<u8>,
    written: u64,
    closed: bool,
    target: OutputTarget,
    control: JobControl,
}

impl JsonLineWriter {
    pub(crate) fn new(target: OutputTarget, control: JobControl) -> Self {
        JsonLineWriter {
            lines: Vec::with_capacity(FLUSH_BYTES * 2),
            written: 0,
            closed: false,
            target,
            control,
        }
    }

    /// Adds `record` as a line. After an error nothing more is written: the job is stopping.
    #[inline]
    pub(crate) fn write<D: Serialize>(&mut self, record: &D) {
        if self.closed {
            return;
        }
        if let Err(error) = encode_json(&mut self.lines, record) {
            self.control
                .fail(anyhow::Error::new(error).context("cannot encode an output record"));
            self.closed = true;
            return;
        }
        self.lines.push(b'\n');
        self.written += 1;
    }

    /// Counts the lines written since the last call, and hands the buffer to the target when
    /// it is full, when the target wants every batch, or when `done`.
    pub(crate) fn end_batch(&mut self, done: bool) {
        Counters::add(
            &self.control.counters().records_out,
            std::mem::take(&mut self.written),
        );
        let due = done || self.target.is_eager() || self.lines.len() >= FLUSH_BYTES;
        if self.closed || self.lines.is_empty() || !due {
            return;
        }
        if let Err(error) = self.target.write_batch(&self.lines) {
            self.closed = true;
            if error.kind() == std::io::ErrorKind::BrokenPipe {
                self.control.stop();
            } else {
                self.control
                    .fail(anyhow::Error::new(error).context("cannot write output"));
            }
        }
        self.lines.clear();
    }
}
