//! Output to a Kafka topic: each line a record's value.
//!
//! Without snapshots lines are sent as they are written ([`KafkaLineWriter`]). In a job
//! that snapshots, [`PublishedKafka`] publishes each epoch's staged lines after the epoch's
//! manifest commits, so nothing of an epoch that did not commit ever reaches the topic.
//! Every record carries its epoch in a `weir-epoch` header, and the last epoch published is
//! recorded beside the snapshots once the brokers have confirmed it: a restored job
//! publishes the committed epochs after it and none before. A crash after the brokers
//! confirmed an epoch and before that record was written publishes the epoch again
//! (at-least-once; a reader drops records of an epoch it has seen by the header). With
//! `transactional=ID` each epoch is one Kafka transaction (fenced by the next run's
//! producer), so a `read_committed` reader sees an epoch whole or not at all on brokers
//! that implement transactions (docs/kafka.md says which do).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;
use rdkafka::message::{Header, OwnedHeaders};

use crate::kafka::{KafkaUri, LineProducer};
use crate::snapshot::{
    check_unpublished, fault_point, staged_parts, sync_dir, CommittingSink, EpochStatus, Manifest,
    SnapshotStore,
};
use crate::time::Time;

/// The header that carries a record's epoch.
pub const EPOCH_HEADER: &str = "weir-epoch";

/// Sends every complete line written to it as one record.
pub struct KafkaLineWriter {
    producer: LineProducer,
    partial: Vec<u8>,
}

impl KafkaLineWriter {
    /// A writer to `uri`'s topic.
    pub fn new(uri: &KafkaUri) -> anyhow::Result<Self> {
        Ok(KafkaLineWriter {
            producer: LineProducer::new(uri)?,
            partial: Vec::new(),
        })
    }
}

impl Write for KafkaLineWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let mut rest = bytes;
        while let Some(end) = memchr::memchr(b'\n', rest) {
            let line = if self.partial.is_empty() {
                &rest[..end]
            } else {
                self.partial.extend_from_slice(&rest[..end]);
                &self.partial[..]
            };
            self.producer.send(line, None).map_err(io::Error::other)?;
            self.partial.clear();
            rest = &rest[end + 1..];
        }
        self.partial.extend_from_slice(rest);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.producer.flush().map_err(io::Error::other)
    }
}

/// Publishes committed epochs' staged lines to a Kafka topic, as the module says.
pub struct PublishedKafka {
    store: SnapshotStore,
    uri: KafkaUri,
    participant: String,
    /// The last epoch published, beside the snapshots.
    log: PathBuf,
    producer: Mutex<Option<LineProducer>>,
}

impl std::fmt::Debug for PublishedKafka {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublishedKafka")
            .field("uri", &self.uri.to_string())
            .field("log", &self.log)
            .finish()
    }
}

impl PublishedKafka {
    /// A sink publishing `participant`'s staged parts in `store` to `uri`, recording what it
    /// published in `log_dir`.
    pub fn new(store: SnapshotStore, log_dir: &Path, uri: KafkaUri, participant: &str) -> Self {
        let name = format!(
            "kafka-{:08x}.published",
            crc32fast::hash(format!("{}/{}", uri.brokers, uri.topic).as_bytes())
        );
        PublishedKafka {
            store,
            log: log_dir.join(name),
            uri,
            participant: participant.to_string(),
            producer: Mutex::new(None),
        }
    }

    /// The last epoch published, if any.
    fn last_published(&self) -> anyhow::Result<Option<Time>> {
        match fs::read_to_string(&self.log) {
            Ok(text) => text.trim().parse().map(Some).with_context(|| {
                format!(
                    "the record of what was published to {} ({}) is damaged",
                    self.uri,
                    self.log.display()
                )
            }),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error).with_context(|| format!("cannot read {}", self.log.display())),
        }
    }

    fn record_published(&self, epoch: Option<Time>) -> anyhow::Result<()> {
        let Some(epoch) = epoch else {
            return match fs::remove_file(&self.log) {
                Err(error) if error.kind() != io::ErrorKind::NotFound => {
                    Err(error).with_context(|| format!("cannot remove {}", self.log.display()))
                }
                _ => Ok(()),
            };
        };
        let temporary = self.log.with_extension("tmp");
        let mut file = fs::File::create(&temporary)
            .with_context(|| format!("cannot write {}", temporary.display()))?;
        writeln!(file, "{epoch}")?;
        file.sync_all()?;
        fs::rename(&temporary, &self.log)
            .with_context(|| format!("cannot write {}", self.log.display()))?;
        if let Some(dir) = self.log.parent() {
            sync_dir(dir)?;
        }
        Ok(())
    }

    /// Sends the epoch's staged lines (one transaction where transactional) and records it.
    fn send_epoch(&self, manifest: &Manifest) -> anyhow::Result<()> {
        let mut producer = self.producer.lock().unwrap_or_else(|e| e.into_inner());
        if producer.is_none() {
            let made = LineProducer::new(&self.uri)?;
            if self.uri.transactional_id.is_some() {
                made.init_transactions()?;
            }
            *producer = Some(made);
        }
        let producer = producer.as_ref().expect("made above");
        let epoch = manifest.epoch.to_string();
        let headers = OwnedHeaders::new().insert(Header {
            key: EPOCH_HEADER,
            value: Some(epoch.as_bytes()),
        });
        producer.in_transaction(|producer| {
            for (index, part) in staged_parts(manifest, &self.participant)
                .into_iter()
                .enumerate()
            {
                let bytes = self.store.read_part(manifest.epoch, part)?;
                for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                    producer.send(line, Some(&headers))?;
                }
                if index == 0 {
                    fault_point("mid-publish");
                }
            }
            Ok(())
        })?;
        self.record_published(Some(manifest.epoch))
    }
}

impl CommittingSink for PublishedKafka {
    fn participant(&self) -> &str {
        &self.participant
    }

    fn describe(&self) -> String {
        format!("kafka://{}/{}", self.uri.brokers, self.uri.topic)
    }

    fn has_published(&self) -> anyhow::Result<bool> {
        Ok(self.last_published()?.is_some())
    }

    fn publish(&self, manifest: &Manifest) -> anyhow::Result<()> {
        if self
            .last_published()?
            .is_some_and(|last| manifest.epoch <= last)
        {
            return Ok(());
        }
        self.send_epoch(manifest)
    }

    fn recover(&self, epoch: Option<Time>) -> anyhow::Result<Vec<String>> {
        let mut messages = Vec::new();
        let last = self.last_published()?;
        if let Some(last) = last.filter(|last| epoch.is_none_or(|restored| *last > restored)) {
            anyhow::bail!(
                "{} has records of epochs up to {last} published, after the epoch restored, and a topic cannot take records back: restore the latest snapshot, or publish to a new topic",
                self.describe()
            );
        }
        let Some(epoch) = epoch else {
            return Ok(messages);
        };
        for entry in self.store.list()? {
            let EpochStatus::Complete(manifest) = entry.status else {
                continue;
            };
            if entry.epoch > epoch || last.is_some_and(|last| entry.epoch <= last) {
                continue;
            }
            check_unpublished(&self.store, &manifest, &mut messages)?;
            self.send_epoch(&manifest)?;
        }
        Ok(messages)
    }
}
