//! The Kafka clients weir makes, and the broker's answers turned into errors that say what
//! to do: a consumer that weir assigns partitions to (no group rebalancing inside a job), a
//! producer that reports every failed delivery, and a topic's partition count read with a
//! bounded wait.

use std::sync::Mutex;
use std::time::Duration;

use anyhow::{bail, Context};
use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;

use crate::kafka::uri::KafkaUri;

/// A consumer of `uri`'s cluster with no partitions yet: weir assigns them.
pub(crate) fn consumer(uri: &KafkaUri) -> anyhow::Result<BaseConsumer> {
    ClientConfig::new()
        .set("bootstrap.servers", &uri.brokers)
        // `assign` needs a group id; with no `subscribe` it joins no group.
        .set("group.id", uri.group_id())
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        // A fetch that finds nothing new waits at most this long (librdkafka's default, 500
        // ms, is what a stream's latency would be on a broker that waits it out).
        .set("fetch.wait.max.ms", "10")
        .set(
            "socket.connection.setup.timeout.ms",
            uri.timeout_ms.max(1000).to_string(),
        )
        .create()
        .with_context(|| format!("cannot make a Kafka consumer for {uri}"))
}

/// How many partitions `uri`'s topic has, asked of its brokers with `uri`'s bounded wait:
/// an error names an unreachable cluster or a missing topic.
pub(crate) fn partitions(consumer: &BaseConsumer, uri: &KafkaUri) -> anyhow::Result<i32> {
    match existing_partitions(consumer, uri)? {
        Some(count) => Ok(count),
        None => bail!(
            "Kafka topic {} does not exist on {} (create it, e.g. with `weir kafka produce-nexmark --topic {} --partitions N`)",
            uri.topic,
            uri.brokers,
            uri.topic
        ),
    }
}

/// How many partitions `uri`'s topic has, or `None` if it does not exist.
fn existing_partitions(consumer: &BaseConsumer, uri: &KafkaUri) -> anyhow::Result<Option<i32>> {
    // A consumer asks without creating the topic (producers would create it).
    let metadata = consumer
        .fetch_metadata(Some(&uri.topic), uri.timeout())
        .map_err(|error| unreachable(uri, error))?;
    Ok(metadata
        .topics()
        .iter()
        .find(|t| t.name() == uri.topic && t.error().is_none() && !t.partitions().is_empty())
        .map(|t| t.partitions().len() as i32))
}

/// Makes sure an output topic exists: one that does not is created with one partition.
pub fn ensure_output_topic(uri: &KafkaUri) -> anyhow::Result<()> {
    if existing_partitions(&consumer(uri)?, uri)?.is_none() {
        create_topic(uri, 1)?;
    }
    Ok(())
}

/// The error for a cluster that did not answer.
pub(crate) fn unreachable(uri: &KafkaUri, error: KafkaError) -> anyhow::Error {
    anyhow::Error::new(error).context(format!(
        "cannot reach the Kafka brokers {} within {} (is the broker running, and the address right?)",
        uri.brokers,
        humantime::format_duration(uri.timeout())
    ))
}

/// Counts deliveries that failed, keeping the first failure's reason.
#[derive(Default)]
pub(crate) struct DeliveryReport {
    failure: Mutex<Option<(u64, String)>>,
}

impl ClientContext for DeliveryReport {}

impl ProducerContext for DeliveryReport {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((error, _)) = result {
            let mut failure = self.failure.lock().unwrap_or_else(|e| e.into_inner());
            match failure.as_mut() {
                Some((count, _)) => *count += 1,
                None => *failure = Some((1, error.to_string())),
            }
        }
    }
}

/// A producer to `uri`'s cluster: idempotent (a retried send is not written twice), every
/// delivery confirmed or reported by [`LineProducer::flush`].
pub struct LineProducer {
    producer: BaseProducer<DeliveryReport>,
    uri: KafkaUri,
}

impl LineProducer {
    /// A producer for `uri`, transactional where `uri` names a transactional id.
    pub fn new(uri: &KafkaUri) -> anyhow::Result<Self> {
        Self::with_linger(uri, Duration::from_millis(5))
    }

    /// As [`new`](Self::new), batching records for at most `linger` before sending them
    /// (a latency benchmark's producer sends at once).
    pub fn with_linger(uri: &KafkaUri, linger: Duration) -> anyhow::Result<Self> {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &uri.brokers)
            .set("enable.idempotence", "true")
            .set("linger.ms", linger.as_millis().to_string())
            // A delivery that cannot complete fails after the bounded wait, not in 5 min.
            .set("message.timeout.ms", uri.timeout_ms.max(1000).to_string());
        if let Some(id) = &uri.transactional_id {
            config
                .set("transactional.id", id)
                .set("transaction.timeout.ms", "60000");
        }
        let producer: BaseProducer<DeliveryReport> = config
            .create_with_context(DeliveryReport::default())
            .with_context(|| format!("cannot make a Kafka producer for {uri}"))?;
        Ok(LineProducer {
            producer,
            uri: uri.clone(),
        })
    }

    /// The producer's transactional id, fenced: a producer of an earlier run with the same
    /// id can commit nothing more, and its open transaction is aborted.
    pub fn init_transactions(&self) -> anyhow::Result<()> {
        self.producer
            .init_transactions(self.uri.timeout())
            .map_err(|error| unreachable(&self.uri, error))
    }

    /// Runs `send` inside a transaction (committed when it returns `Ok`, aborted otherwise)
    /// if the producer is transactional, plainly otherwise; then waits for every delivery.
    pub fn in_transaction(
        &self,
        send: impl FnOnce(&Self) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        if self.uri.transactional_id.is_none() {
            send(self)?;
            return self.flush();
        }
        self.producer
            .begin_transaction()
            .context("cannot begin a Kafka transaction")?;
        let sent = send(self).and_then(|()| self.flush());
        match sent {
            Ok(()) => self
                .producer
                .commit_transaction(self.uri.timeout())
                .context("cannot commit a Kafka transaction"),
            Err(error) => {
                let _ = self.producer.abort_transaction(self.uri.timeout());
                Err(error)
            }
        }
    }

    /// Sends one record's value (and headers), waiting while the local queue is full.
    pub fn send(
        &self,
        value: &[u8],
        headers: Option<&rdkafka::message::OwnedHeaders>,
    ) -> anyhow::Result<()> {
        let mut record = BaseRecord::<(), [u8]>::to(&self.uri.topic).payload(value);
        if let Some(headers) = headers {
            record = record.headers(headers.clone());
        }
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    self.producer.poll(Duration::from_millis(10));
                }
                Err((error, _)) => {
                    return Err(anyhow::Error::new(error)
                        .context(format!("cannot send a record to {}", self.uri)))
                }
            }
        }
    }

    /// Waits until every record sent is delivered; an error names what failed.
    pub fn flush(&self) -> anyhow::Result<()> {
        let flushed = self.producer.flush(self.uri.timeout());
        let failure = self
            .producer
            .context()
            .failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some((count, first)) = failure {
            bail!(
                "{count} record(s) could not be delivered to {}: {first}",
                self.uri
            );
        }
        flushed.map_err(|error| unreachable(&self.uri, error))
    }
}

/// Creates `uri`'s topic with `partitions` partitions; a topic that exists already with as
/// many is fine, one with another count an error.
pub fn create_topic(uri: &KafkaUri, partitions: i32) -> anyhow::Result<()> {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &uri.brokers)
        .create()
        .with_context(|| format!("cannot make a Kafka admin client for {uri}"))?;
    let topic = NewTopic::new(&uri.topic, partitions, TopicReplication::Fixed(1));
    let options = AdminOptions::new().operation_timeout(Some(uri.timeout()));
    let results = futures_executor::block_on(admin.create_topics([&topic], &options))
        .map_err(|error| unreachable(uri, error))?;
    for result in results {
        match result {
            Ok(_) => {}
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {
                let existing = partitions_of_topic(uri)?;
                anyhow::ensure!(
                    existing == partitions,
                    "Kafka topic {} exists already with {existing} partition(s), not {partitions}",
                    uri.topic
                );
            }
            Err((_, code)) => {
                bail!(
                    "cannot create Kafka topic {} on {}: {code}",
                    uri.topic,
                    uri.brokers
                )
            }
        }
    }
    Ok(())
}

/// How many partitions `uri`'s topic has, through a consumer of its own.
pub fn partitions_of_topic(uri: &KafkaUri) -> anyhow::Result<i32> {
    partitions(&consumer(uri)?, uri)
}
