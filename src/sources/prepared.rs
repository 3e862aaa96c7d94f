//! An input opened for a worker and not yet built into a source: lines of files or
//! standard input, or a Kafka topic's records. Either is built the same way, with the
//! chain's steps inside it ([`Chain`](crate::sources::Chain)).

use timely::dataflow::{Scope, StreamVec};

use crate::identity::LineInput;
use crate::sources::generator::Deliver;
use crate::sources::kafka::PreparedKafka;
use crate::sources::lines::{LineSourceSpec, PreparedLines};
use crate::time::Time;

/// Lines or Kafka records, opened for this worker.
pub(crate) enum PreparedInput {
    /// Files or standard input.
    Lines(PreparedLines),
    /// A Kafka topic.
    Kafka(PreparedKafka),
}

impl PreparedInput {
    /// Registers the source for snapshots and opens this worker's share of the input.
    pub(crate) fn open(scope: Scope<'_, Time>, spec: LineSourceSpec) -> anyhow::Result<Self> {
        Ok(match spec.input {
            LineInput::Kafka(_) => PreparedInput::Kafka(PreparedKafka::open(scope, spec)?),
            _ => PreparedInput::Lines(PreparedLines::open(scope, spec)?),
        })
    }

    /// Builds the source, as [`PreparedLines::build`] describes.
    pub(crate) fn build<'scope, D, P, T, E>(
        self,
        scope: Scope<'scope, Time>,
        name: &str,
        parse: P,
        take: T,
        deliver: E,
    ) -> StreamVec<'scope, Time, E::Output>
    where
        D: 'static,
        P: FnMut(Option<u64>, &[u8]) -> anyhow::Result<Option<Time>> + 'static,
        T: FnMut() -> Option<D> + 'static,
        E: Deliver<D>,
    {
        match self {
            PreparedInput::Lines(lines) => lines.build(scope, name, parse, take, deliver),
            PreparedInput::Kafka(kafka) => kafka.build(scope, name, parse, take, deliver),
        }
    }
}
