//! `kafka://` addresses, as `--input` and `--output` take them: plain data, parsed and
//! printed here, used by the Kafka source and sink and recorded in a job's identity.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::time::Time;

/// Where a partition is first read from, when no snapshot says where.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum StartAt {
    /// The oldest record the broker keeps.
    #[default]
    Earliest,
    /// The end of the partition when the job starts: only records produced from then on.
    Latest,
}

/// Where a record's event time comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimeFrom {
    /// The field the pipeline reads from the record's JSON (`date_time` for NEXMark).
    #[default]
    Record,
    /// The Kafka record's timestamp (create or log-append time), in milliseconds.
    Kafka,
}

/// A Kafka topic on a cluster, with how to read it:
/// `kafka://HOST:PORT[,HOST:PORT...]/TOPIC[?group=G&from=earliest|latest&to=end&time=record|kafka&idle=D]`.
///
/// ```
/// use weir::kafka::{KafkaUri, StartAt, TimeFrom};
///
/// let uri: KafkaUri = "kafka://localhost:9092/bids?from=latest&idle=500ms".parse().unwrap();
/// assert_eq!(uri.brokers, "localhost:9092");
/// assert_eq!(uri.topic, "bids");
/// assert_eq!(uri.from, StartAt::Latest);
/// assert_eq!(uri.idle_ms, 500);
/// assert_eq!(uri.time, TimeFrom::Record);
/// assert_eq!(uri.to_string(), "kafka://localhost:9092/bids?from=latest&idle=500ms");
/// assert!("kafka://localhost:9092/".parse::<KafkaUri>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KafkaUri {
    /// The bootstrap servers, comma-separated `HOST:PORT`.
    pub brokers: String,
    /// The topic.
    pub topic: String,
    /// The consumer group id weir's clients give (partitions are assigned by weir, so the
    /// group only names the job to the broker).
    pub group: Option<String>,
    /// Where partitions are first read from.
    pub from: StartAt,
    /// Read only up to the end offsets the broker reports when the job starts.
    pub to_end: bool,
    /// Where event times come from.
    pub time: TimeFrom,
    /// How long (ms of wall-clock time) a partition may deliver nothing before the
    /// watermark stops waiting for it.
    pub idle_ms: Time,
    /// Publish each epoch in a Kafka transaction with this id (output only).
    pub transactional_id: Option<String>,
    /// How long (ms) to wait for the brokers before a clear error.
    pub timeout_ms: u64,
}

/// The idle-partition timeout unless `idle=` says otherwise.
pub const DEFAULT_IDLE_MS: Time = 1000;

/// The wait for brokers unless `timeout=` says otherwise.
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;

/// Why a `kafka://` address could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{address} is not a Kafka address: {why} (expected kafka://HOST:PORT/TOPIC[?group=G&from=earliest|latest&to=end&time=record|kafka&idle=D&timeout=D&transactional=ID])")]
pub struct KafkaUriError {
    address: String,
    why: String,
}

impl KafkaUri {
    /// Whether `target` names Kafka rather than a file.
    pub fn is_kafka(target: &str) -> bool {
        target.starts_with("kafka://")
    }

    /// How long to wait for the brokers.
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.timeout_ms)
    }

    /// The consumer group id: `group=`, or `weir`.
    pub fn group_id(&self) -> &str {
        self.group.as_deref().unwrap_or("weir")
    }
}

impl FromStr for KafkaUri {
    type Err = KafkaUriError;

    fn from_str(address: &str) -> Result<Self, Self::Err> {
        let error = |why: &str| KafkaUriError {
            address: address.to_string(),
            why: why.to_string(),
        };
        let rest = address
            .strip_prefix("kafka://")
            .ok_or_else(|| error("it does not start with kafka://"))?;
        let (place, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (brokers, topic) = place
            .split_once('/')
            .ok_or_else(|| error("no /TOPIC after the brokers"))?;
        if brokers.is_empty()
            || brokers.split(',').any(|b| {
                b.rsplit_once(':')
                    .is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err())
            })
        {
            return Err(error("each broker must be HOST:PORT"));
        }
        let valid_topic = |t: &str| {
            !t.is_empty()
                && t.len() <= 249
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        };
        if !valid_topic(topic) {
            return Err(error(
                "the topic must be 1-249 characters of letters, digits, '.', '_' and '-'",
            ));
        }
        let mut uri = KafkaUri {
            brokers: brokers.to_string(),
            topic: topic.to_string(),
            group: None,
            from: StartAt::Earliest,
            to_end: false,
            time: TimeFrom::Record,
            idle_ms: DEFAULT_IDLE_MS,
            transactional_id: None,
            timeout_ms: DEFAULT_TIMEOUT_MS,
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match (key, value) {
                ("group", g) if !g.is_empty() => uri.group = Some(g.to_string()),
                ("from", "earliest") => uri.from = StartAt::Earliest,
                ("from", "latest") => uri.from = StartAt::Latest,
                ("to", "end") => uri.to_end = true,
                ("time", "record") => uri.time = TimeFrom::Record,
                ("time", "kafka") => uri.time = TimeFrom::Kafka,
                ("idle", d) => {
                    let idle = humantime::parse_duration(d)
                        .map_err(|e| error(&format!("idle={d}: {e}")))?;
                    uri.idle_ms = idle.as_millis() as Time;
                }
                ("timeout", d) => {
                    let timeout = humantime::parse_duration(d)
                        .map_err(|e| error(&format!("timeout={d}: {e}")))?;
                    uri.timeout_ms = (timeout.as_millis() as u64).max(1);
                }
                ("transactional", id) if !id.is_empty() => {
                    uri.transactional_id = Some(id.to_string())
                }
                _ => return Err(error(&format!("unknown option {pair}"))),
            }
        }
        Ok(uri)
    }
}

impl fmt::Display for KafkaUri {
    /// The address in its shortest form: defaults left out, options in a fixed order.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "kafka://{}/{}", self.brokers, self.topic)?;
        let mut options = Vec::new();
        if let Some(group) = &self.group {
            options.push(format!("group={group}"));
        }
        if self.from == StartAt::Latest {
            options.push("from=latest".into());
        }
        if self.to_end {
            options.push("to=end".into());
        }
        if self.time == TimeFrom::Kafka {
            options.push("time=kafka".into());
        }
        if self.idle_ms != DEFAULT_IDLE_MS {
            let idle = std::time::Duration::from_millis(self.idle_ms);
            options.push(format!("idle={}", humantime::format_duration(idle)));
        }
        if self.timeout_ms != DEFAULT_TIMEOUT_MS {
            let timeout = std::time::Duration::from_millis(self.timeout_ms);
            options.push(format!("timeout={}", humantime::format_duration(timeout)));
        }
        if let Some(id) = &self.transactional_id {
            options.push(format!("transactional={id}"));
        }
        if !options.is_empty() {
            write!(f, "?{}", options.join("&"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_reads_back_and_prints_the_same() {
        let address = "kafka://a:1,b:2/t.x-1?group=g&from=latest&to=end&time=kafka&idle=2s&timeout=3s&transactional=tx";
        let uri: KafkaUri = address.parse().expect("parses");
        assert_eq!(uri.brokers, "a:1,b:2");
        assert_eq!(uri.group_id(), "g");
        assert!(uri.to_end);
        assert_eq!(uri.time, TimeFrom::Kafka);
        assert_eq!(uri.idle_ms, 2000);
        assert_eq!(uri.timeout_ms, 3000);
        assert_eq!(uri.transactional_id.as_deref(), Some("tx"));
        assert_eq!(uri.to_string(), address);
        let plain: KafkaUri = "kafka://h:9092/t".parse().expect("parses");
        assert_eq!(plain.group_id(), "weir");
        assert_eq!(plain.from, StartAt::Earliest);
        assert_eq!(plain.to_string(), "kafka://h:9092/t");
    }

    #[test]
    fn malformed_addresses_say_what_is_wrong() {
        for (address, why) in [
            ("kafka:/h:1/t", "does not start with kafka://"),
            ("kafka://h:1", "no /TOPIC"),
            ("kafka://h/t", "HOST:PORT"),
            ("kafka://h:99999/t", "HOST:PORT"),
            ("kafka://h:1,/t", "HOST:PORT"),
            ("kafka://h:1/", "the topic must be"),
            ("kafka://h:1/a b", "the topic must be"),
            ("kafka://h:1/t?from=middle", "unknown option from=middle"),
            ("kafka://h:1/t?idle=soon", "idle=soon"),
        ] {
            let error = address.parse::<KafkaUri>().expect_err(address).to_string();
            assert!(error.contains(why), "{address}: {error}");
            assert!(error.contains("expected kafka://"), "{error}");
        }
    }
}
