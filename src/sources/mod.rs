//! Sources: where records enter a dataflow, each with its event time.
//!
//! Generators and text lines split their input over workers by record number (record `n`
//! belongs to worker `n % workers`), so the same record gets the same time on any number of
//! workers and a resume position is one number. JSON-lines files, whose records carry their
//! times, are split by byte ranges instead, so that workers read the file once between them;
//! a resume position is a byte offset. Each source advances its capability — the watermark —
//! to the least time it may still emit, and yields after a bounded batch so downstream
//! operators keep pace. Stateless steps after a generator or a JSON-lines input run inside
//! the source ([`Chain`]).

pub(crate) mod chain;
mod epochs;
mod generator;
mod input_files;
pub(crate) mod json;
pub(crate) mod json_lines;
mod kafka;
mod line_feeds;
pub(crate) mod lines;
mod mapped_file;
pub(crate) mod prepared;
mod side_table;
mod text;
mod timed;

pub use crate::identity::LineInput;
pub use chain::{Chain, IntoChain};
pub use generator::{random_of, Generate, GeneratorSpec};
pub use json::{parse_json_line, parse_json_line_seed, MalformedJson};
pub use json_lines::{JsonLines, JsonLinesSpec};
pub use side_table::{SideTable, SideTableError};
pub use text::TextLines;
pub use timed::ToTimedStream;

/// Records a source emits per activation before yielding to the rest of the dataflow.
pub(crate) const BATCH: u64 = 8192;
