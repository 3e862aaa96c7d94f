//! A Kafka-protocol broker for the tests (weir's `LocalBroker`: tansu on a free port of its
//! own), and reading a topic back.

use std::path::Path;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Headers;
use rdkafka::{Message, Offset, TopicPartitionList};
use weir::kafka::LocalBroker;

/// A tansu broker on a free port of its own, stopped when dropped.
pub struct Tansu {
    _broker: LocalBroker,
    pub brokers: String,
}

impl Tansu {
    /// Starts a broker with in-memory storage, and waits until it accepts connections.
    pub fn start() -> Tansu {
        let broker = LocalBroker::start(Path::new(env!("CARGO_MANIFEST_DIR")))
            .unwrap_or_else(|error| panic!("{error:#}"));
        Tansu {
            brokers: broker.address().to_string(),
            _broker: broker,
        }
    }
}

/// A record read back: its value and its `weir-epoch` header, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub value: String,
    pub epoch: Option<u64>,
}

/// Every record of `topic` on `brokers`, read to the end of each partition.
pub fn read_topic(brokers: &str, topic: &str) -> Vec<Record> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "weir-test-reader")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .create()
        .expect("a consumer");
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("metadata");
    let partitions = metadata.topics()[0].partitions().len() as i32;
    let mut assignment = TopicPartitionList::new();
    for p in 0..partitions {
        assignment
            .add_partition_offset(topic, p, Offset::Beginning)
            .expect("assign");
    }
    consumer.assign(&assignment).expect("assign");
    let mut at_end = vec![false; partitions as usize];
    let mut records = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while at_end.iter().any(|done| !done) {
        assert!(Instant::now() < deadline, "reading {topic} back timed out");
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(message)) => {
                at_end[message.partition() as usize] = false;
                let epoch = message.headers().and_then(|headers| {
                    headers
                        .iter()
                        .find(|h| h.key == "weir-epoch")
                        .and_then(|h| std::str::from_utf8(h.value?).ok()?.parse().ok())
                });
                records.push(Record {
                    value: String::from_utf8_lossy(message.payload().unwrap_or_default())
                        .into_owned(),
                    epoch,
                });
            }
            Some(Err(KafkaError::PartitionEOF(p))) => at_end[p as usize] = true,
            Some(Err(error)) => panic!("reading {topic}: {error}"),
            None => {}
        }
    }
    records
}

/// Produces `values` to `topic` (auto-created with the broker's default partitions, or
/// as it is), each confirmed.
pub fn produce(brokers: &str, topic: &str, values: &[&str]) {
    let address = format!("kafka://{brokers}/{topic}");
    let uri: weir::kafka::KafkaUri = address.parse().expect("address");
    let producer = weir::kafka::LineProducer::new(&uri).expect("producer");
    for value in values {
        producer.send(value.as_bytes(), None).expect("send");
    }
    producer.flush().expect("delivered");
}

/// Creates `topic` with `partitions` partitions.
pub fn create_topic(brokers: &str, topic: &str, partitions: i32) {
    let uri: weir::kafka::KafkaUri = format!("kafka://{brokers}/{topic}")
        .parse()
        .expect("address");
    weir::kafka::create_topic(&uri, partitions).expect("create topic");
}

/// Produces NEXMark events `range` (those of `weir nexmark generate`) to `topic`.
pub fn produce_events(brokers: &str, topic: &str, range: std::ops::Range<u64>) {
    let mut generator = weir::nexmark::NexmarkGenerator::new(0, weir::nexmark::DEFAULT_EVENT_RATE);
    let values: Vec<String> = range
        .map(|n| serde_json::to_string(&generator.event(n)).expect("encode"))
        .collect();
    let values: Vec<&str> = values.iter().map(String::as_str).collect();
    produce(brokers, topic, &values);
}
