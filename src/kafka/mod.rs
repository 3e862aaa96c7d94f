//! Kafka: a source that reads a topic's partitions with their offsets in every snapshot,
//! a sink that publishes committed epochs, and the clients and addresses both use.
//!
//! A topic is read by partition index: worker `w` of `W` reads partitions `p` with
//! `p % W == w`, so the assignment is a pure function of the job's shape and a restore onto
//! another shape reassigns partitions without the broker's group protocol. The source
//! lives with the other sources ([`sources`](crate::sources)), the sink with the other
//! sinks ([`sinks`](crate::sinks)); what they share is here. docs/kafka.md describes the
//! guarantees against each kind of broker.

pub(crate) mod client;
mod local_broker;
mod uri;

pub use client::{create_topic, ensure_output_topic, partitions_of_topic, LineProducer};
pub use local_broker::LocalBroker;
pub use uri::{KafkaUri, KafkaUriError, StartAt, TimeFrom, DEFAULT_IDLE_MS, DEFAULT_TIMEOUT_MS};

/// Which of `partitions` worker `worker` of `workers` reads.
///
/// ```
/// assert_eq!(weir::kafka::partitions_of(1, 3, 8), vec![1, 4, 7]);
/// assert_eq!(weir::kafka::partitions_of(3, 4, 2), Vec::<i32>::new());
/// ```
pub fn partitions_of(worker: usize, workers: usize, partitions: i32) -> Vec<i32> {
    (0..partitions)
        .filter(|p| *p as usize % workers.max(1) == worker)
        .collect()
}
