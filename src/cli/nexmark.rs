//! `weir nexmark generate`: NEXMark events as JSON lines, the interchange format of
//! docs/nexmark.md, for `--input` and for other engines.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};

use weir::nexmark::{NexmarkGenerator, DEFAULT_EVENT_RATE};

use super::args::{parse_count, parse_rate};

pub const LONG_ABOUT: &str = "\
NEXMark tools. `weir nexmark generate` writes the events every nexmark-q* pipeline
generates, as JSON lines (one event per line, keys in docs/nexmark.md's order); a pipeline given
that file with --input produces the same output as with the same --events/--seed/--event-rate.

Examples:
  weir nexmark generate --events 1M > events.jsonl
  weir run nexmark-q5 --input events.jsonl";

#[derive(Args, Debug)]
pub struct NexmarkArgs {
    #[command(subcommand)]
    command: NexmarkCommand,
}

#[derive(Subcommand, Debug)]
enum NexmarkCommand {
    /// Write NEXMark events as JSON lines, e.g. `weir nexmark generate --events 1M`.
    Generate(GenerateArgs),
}

/// Which NEXMark events: `weir nexmark generate` and `weir kafka produce-nexmark` alike.
#[derive(Args, Debug)]
pub struct EventArgs {
    /// Events to generate, e.g. 1000, 250k, 10M.
    #[arg(long, value_name = "N", value_parser = parse_count, default_value = "1M")]
    pub events: u64,

    /// Seed of the random choices, e.g. 42.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,

    /// Events per second of event time, e.g. 10k.
    #[arg(long, value_name = "R", value_parser = parse_rate, default_value_t = DEFAULT_EVENT_RATE)]
    pub event_rate: f64,
}

impl EventArgs {
    /// The generator of these events.
    pub fn generator(&self) -> NexmarkGenerator {
        NexmarkGenerator::new(self.seed, self.event_rate)
    }
}

#[derive(Args, Debug)]
struct GenerateArgs {
    #[command(flatten)]
    events: EventArgs,

    /// Write to FILE instead of standard output, e.g. --output events.jsonl.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
}

pub fn run(args: NexmarkArgs) -> anyhow::Result<ExitCode> {
    let NexmarkCommand::Generate(args) = args.command;
    let sink: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = BufWriter::with_capacity(1 << 20, sink);
    let mut generator = args.events.generator();
    let written = (|| -> std::io::Result<()> {
        for n in 0..args.events.events {
            serde_json::to_writer(&mut out, &generator.event(n))?;
            out.write_all(b"\n")?;
        }
        out.flush()
    })();
    match written {
        // A reader that stops early (`| head`) is not an error.
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(error) => Err(anyhow::Error::new(error).context(match &args.output {
            Some(path) => format!("cannot write {}", path.display()),
            None => "cannot write standard output".to_string(),
        })),
        Ok(()) => Ok(ExitCode::SUCCESS),
    }
}
