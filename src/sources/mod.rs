//! Sources: where records enter a dataflow, each with its event time.
//!
//! Every source splits its input over workers by record number (record `n` belongs to worker
//! `n % workers`), so the same record gets the same time on any number of workers and a
//! resume position is one number. Each advances its capability — the watermark — to the
//! least time it may still emit, and yields after a bounded batch so downstream operators
//! keep pace.

mod chain;
mod epochs;
mod generator;
pub(crate) mod json;
mod json_lines;
mod line_feeds;
mod lines;
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
