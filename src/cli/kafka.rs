//! `weir kafka produce-nexmark`: loads generated NEXMark events into a Kafka topic, so that
//! a pipeline can read them with `--input kafka://...` as RisingWave's and nexmark-flink's
//! Kafka modes do.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};

use weir::kafka::{self, KafkaUri};
use weir::nexmark::NexmarkGenerator;

use super::args::parse_rate;
use super::nexmark::EventArgs;

pub const LONG_ABOUT: &str = "\
Kafka tools. `weir kafka produce-nexmark` writes the events `weir nexmark generate` writes, one
JSON value per Kafka record, into a topic (created with --partitions when given); a NEXMark
pipeline reading that topic produces what it produces from the same events generated.

Examples:
  weir kafka produce-nexmark --brokers localhost:9092 --topic events --partitions 4 --events 1M
  weir run nexmark-q5 --input kafka://localhost:9092/events --events 1M";

#[derive(Args, Debug)]
pub struct KafkaArgs {
    #[command(subcommand)]
    command: KafkaCommand,
}

#[derive(Subcommand, Debug)]
enum KafkaCommand {
    /// Write NEXMark events into a topic, e.g. `--topic events --events 1M`.
    ProduceNexmark(ProduceArgs),
}

#[derive(Args, Debug)]
struct ProduceArgs {
    /// The brokers, HOST:PORT[,HOST:PORT...].
    #[arg(long, value_name = "HOST:PORT", default_value = "localhost:9092")]
    brokers: String,

    /// The topic.
    #[arg(long, value_name = "T")]
    topic: String,

    /// Create the topic with N partitions first (an existing one must have N).
    #[arg(long, value_name = "N")]
    partitions: Option<i32>,

    #[command(flatten)]
    nexmark: EventArgs,

    /// Produce at most R events per second of wall-clock time [default: as fast as possible].
    #[arg(long, value_name = "R", value_parser = parse_rate)]
    rate: Option<f64>,

    /// How long to wait for the brokers before an error, e.g. 30s.
    #[arg(long, value_name = "D", value_parser = humantime::parse_duration, default_value = "10s")]
    timeout: Duration,
}

pub fn run(args: KafkaArgs) -> anyhow::Result<ExitCode> {
    let KafkaCommand::ProduceNexmark(args) = args.command;
    let address = format!(
        "kafka://{}/{}?timeout={}",
        args.brokers,
        args.topic,
        humantime::format_duration(args.timeout)
    );
    let uri: KafkaUri = address.parse()?;
    let started = Instant::now();
    let produced = produce_nexmark(
        &uri,
        args.partitions,
        args.nexmark.events,
        args.rate,
        &mut args.nexmark.generator(),
    )?;
    let seconds = started.elapsed().as_secs_f64().max(1e-9);
    eprintln!(
        "weir: produced {produced} NEXMark events to {uri} in {seconds:.3} s ({:.0} events/s)",
        produced as f64 / seconds
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes events `0..events` of `generator` to `uri`'s topic, one JSON value per record
/// (the lines of `weir nexmark generate`), at most `rate` per second; creates the topic with
/// `partitions` partitions first where given. Returns the events written, every one
/// confirmed by the brokers.
fn produce_nexmark(
    uri: &KafkaUri,
    partitions: Option<i32>,
    events: u64,
    rate: Option<f64>,
    generator: &mut NexmarkGenerator,
) -> anyhow::Result<u64> {
    if let Some(partitions) = partitions {
        anyhow::ensure!(partitions > 0, "--partitions must be at least 1");
        kafka::create_topic(uri, partitions)?;
    }
    let producer = kafka::LineProducer::new(uri)?;
    let started = std::time::Instant::now();
    let mut value = Vec::with_capacity(512);
    for n in 0..events {
        if let Some(rate) = rate.filter(|_| n % 256 == 0) {
            let due = std::time::Duration::from_secs_f64(n as f64 / rate);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        value.clear();
        serde_json::to_writer(&mut value, &generator.event(n))?;
        producer.send(&value, None)?;
    }
    producer.flush()?;
    Ok(events)
}
