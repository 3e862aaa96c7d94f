//! Writing records as JSON lines.

use serde::Serialize;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::StreamVec;

use crate::control::{Counters, JobControl};
use crate::sinks::OutputTarget;
use crate::time::Time;

/// Bytes a worker gathers before handing them to the shared target.
const FLUSH_BYTES: usize = 1 << 16;

/// Extension trait for JSON-lines output.
pub trait WriteJsonLines<'scope, D> {
    /// Writes every record as one line of JSON (struct fields in declaration order) to
    /// `target`. Write errors are reported to `control`, which stops the job; a closed pipe on
    /// standard output stops it quietly, as `head` expects.
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
    fn write_json_lines(self, target: OutputTarget, control: JobControl);
}

impl<'scope, D: Serialize + 'static> WriteJsonLines<'scope, D> for StreamVec<'scope, Time, D> {
    fn write_json_lines(self, target: OutputTarget, control: JobControl) {
        let mut lines: Vec<u8> = Vec::with_capacity(FLUSH_BYTES * 2);
        let mut closed = false;
        self.sink(Pipeline, "WriteJsonLines", move |(input, frontier)| {
            let mut written = 0u64;
            input.for_each(|_, container| {
                if closed {
                    container.clear();
                    return;
                }
                for record in container.drain(..) {
                    if let Err(error) = serde_json::to_writer(&mut lines, &record) {
                        control.fail(
                            anyhow::Error::new(error).context("cannot encode an output record"),
                        );
                        closed = true;
                        return;
                    }
                    lines.push(b'\n');
                    written += 1;
                }
            });
            Counters::add(&control.counters().records_out, written);
            let done = frontier.frontier().is_empty();
            if !closed
                && !lines.is_empty()
                && (done || target.is_eager() || lines.len() >= FLUSH_BYTES)
            {
                if let Err(error) = target.write_batch(&lines) {
                    closed = true;
                    if error.kind() == std::io::ErrorKind::BrokenPipe {
                        control.stop();
                    } else {
                        control.fail(anyhow::Error::new(error).context("cannot write output"));
                    }
                }
                lines.clear();
            }
        });
    }
}
