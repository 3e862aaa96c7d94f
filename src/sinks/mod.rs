//! Sinks: where results leave a dataflow.
//!
//! A sink writes into an [`OutputTarget`], which the runtime opens: standard output, a file,
//! a directory, several of them, or nothing. In a job that snapshots, output is staged
//! instead ([`StageJsonLines`]) and published by one committing sink per destination:
//! [`ExactlyOnceFile`] appends to a file, [`ExactlyOnceDirectory`] links segments into a
//! directory. Sinks buffer per worker and hand whole buffers to the shared target, so there
//! is one lock per batch, never per record.

mod exactly_once_directory;
mod exactly_once_file;
mod json_line;
mod json_lines;
mod kafka;
mod staged;
mod target;

pub use exactly_once_directory::{segments_of, ExactlyOnceDirectory};
pub use exactly_once_file::{ExactlyOnceFile, Published, OUTPUT_PARTICIPANT};
pub use json_line::encode_json;
pub(crate) use json_lines::JsonLineWriter;
pub use json_lines::WriteJsonLines;
pub use kafka::{KafkaLineWriter, PublishedKafka, EPOCH_HEADER};
pub use staged::StageJsonLines;
pub(crate) use staged::{StageWith, StagedLineWriter};
pub use target::{OutputSpec, OutputTarget};
