//! The offered load of `weir bench` on a Kafka input: NEXMark events produced to the topic
//! on the schedule, event `n` at `n / rate` after the schedule's start (its event time), so
//! that the latency of a time measures the way through the brokers and the job both.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::kafka::{KafkaUri, LineProducer};
use crate::nexmark::NexmarkGenerator;
use crate::time::Time;

/// A producer thread loading the topic on the schedule.
pub(crate) struct KafkaLoad {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<anyhow::Result<u64>>,
}

/// Starts producing NEXMark events of `seed` at `rate` per second to `uri` from `origin`,
/// for `total_ms` of the schedule.
pub(crate) fn start(
    uri: KafkaUri,
    seed: u64,
    rate: f64,
    origin: Instant,
    total_ms: Time,
) -> anyhow::Result<KafkaLoad> {
    let producer = LineProducer::with_linger(&uri, Duration::ZERO)?;
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    let thread = std::thread::Builder::new()
        .name("weir-kafka-load".into())
        .spawn(move || {
            let mut generator = NexmarkGenerator::new(seed, rate);
            let end = origin + Duration::from_millis(total_ms);
            let mut value = Vec::with_capacity(512);
            let mut n = 0u64;
            while !stopped.load(Ordering::Relaxed) {
                let due = origin + Duration::from_secs_f64(n as f64 / rate);
                if due >= end {
                    break;
                }
                let now = Instant::now();
                if due > now + Duration::from_micros(200) {
                    std::thread::sleep(due - now);
                }
                value.clear();
                serde_json::to_writer(&mut value, &generator.event(n))?;
                producer.send(&value, None)?;
                n += 1;
            }
            producer.flush()?;
            Ok(n)
        })
        .context("cannot start the Kafka producer thread")?;
    Ok(KafkaLoad { stop, thread })
}

impl KafkaLoad {
    /// Stops producing; an error if a record could not be delivered.
    pub(crate) fn finish(self) -> anyhow::Result<u64> {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.join() {
            Ok(result) => result.context("the benchmark's Kafka producer failed"),
            Err(_) => anyhow::bail!("the benchmark's Kafka producer thread panicked"),
        }
    }
}
