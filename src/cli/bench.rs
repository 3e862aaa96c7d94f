//! `weir bench PIPELINE`: an open-loop benchmark run, or a sweep of them.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{ArgAction, Args};
use serde::Serialize;

use weir::harness::{self, BenchResult, BenchSpec};
use weir::job::JobConfig;
use weir::pipelines;

use super::args::{parse_duration, parse_rate};
use super::flags::{GeneratedArgs, SnapshotArgs, WorkerArgs};

/// Arguments of `weir bench`. `-h` names the host file, as in `weir run`.
#[derive(Args, Debug)]
#[command(disable_help_flag = true)]
pub struct BenchArgs {
    /// The pipeline to measure (any registered one that generates its input).
    #[arg(value_name = "PIPELINE")]
    pipeline: String,

    /// Offered rate in records per second over all workers, e.g. 500k; with --find-max,
    /// the rate to start from.
    #[arg(long, value_name = "R", value_parser = parse_rate, required_unless_present = "sweep", conflicts_with = "sweep")]
    rate: Option<f64>,

    /// The measured window, e.g. 10s.
    #[arg(long, value_name = "D", value_parser = parse_duration, default_value = "10s")]
    duration: Duration,

    /// Run this long before the measured window, e.g. 2s.
    #[arg(long, value_name = "D", value_parser = parse_duration, default_value = "2s")]
    warmup: Duration,

    /// Run this long after it, so its last timestamps can complete, e.g. 1s.
    #[arg(long, value_name = "D", value_parser = parse_duration, default_value = "1s")]
    cooldown: Duration,

    /// Timeline interval, e.g. 250ms.
    #[arg(long, value_name = "D", value_parser = parse_duration, default_value = "250ms")]
    interval: Duration,

    /// Run each of these offered rates in turn and report the highest sustainable one,
    /// e.g. --sweep 100k,200k,400k.
    #[arg(long, value_name = "R1,R2,...", value_delimiter = ',', value_parser = parse_rate, conflicts_with = "find_max")]
    sweep: Option<Vec<f64>>,

    /// Search for the highest sustainable rate: double from --rate until a run does not
    /// keep up, then bisect STEPS times.
    #[arg(long, value_name = "STEPS", num_args = 0..=1, default_missing_value = "3")]
    find_max: Option<usize>,

    /// Write the result as JSON to FILE (`-` for standard output), e.g. --json q5.json.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,

    #[command(flatten)]
    generated: GeneratedArgs,

    #[command(flatten)]
    workers: WorkerArgs,

    #[command(flatten)]
    snapshots: SnapshotArgs,

    /// No progress bar and no summary (the JSON file is still written).
    #[arg(short, long)]
    quiet: bool,

    /// Print help.
    #[arg(long, action = ArgAction::HelpLong)]
    help: Option<bool>,
}

/// The long description of `weir bench`.
pub const LONG_ABOUT: &str = "\
Measure a pipeline open-loop: offer R records per second on a fixed schedule (never waiting
for output), and measure the latency of every millisecond timestamp from its scheduled
instant to the instant the output frontier passes it. Prints offered and achieved rates and
latency percentiles; --json writes everything (histogram, timeline, configuration, machine,
git commit) for `weir plot`. The schema and the sustainability rule: docs/harness.md.

Examples:
  weir bench seed-state --rate 1M --duration 10s -w 2 --json seed-state.json
  weir bench nexmark-q5 --sweep 250k,500k,1M,2M -w 2 --json q5-sweep.json
  weir bench nexmark-q1 --rate 250k --find-max -w 2 --json q1-max.json
  weir plot seed-state.json q5-sweep.json --out figures";

/// Runs the benchmark and reports it.
pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let pipeline = pipelines::find(&args.pipeline)?;
    let workers = args.workers.workers()?;
    let mut config = JobConfig::new(pipeline.name);
    args.generated.apply(&mut config, pipeline)?;
    let json_to_stdout = args.json.as_deref().is_some_and(|p| p.as_os_str() == "-");
    let total = args.warmup + args.duration + args.cooldown;
    let spec = BenchSpec {
        config,
        workers,
        rate: args
            .rate
            .or(args.sweep.as_ref().and_then(|r| r.first().copied()))
            .unwrap_or(1.0),
        duration: args.duration,
        warmup: args.warmup,
        cooldown: args.cooldown,
        interval: args.interval,
        snapshots: args.snapshots.options()?,
        progress: !args.quiet
            && !json_to_stdout
            && std::io::stderr().is_terminal()
            && total >= Duration::from_secs(3),
    };
    let quiet = args.quiet;
    let report = move |result: &BenchResult| {
        if !quiet {
            eprintln!("weir: {}", result.describe().replace('\n', "\nweir: "));
        }
    };
    match (&args.sweep, args.find_max) {
        (Some(rates), _) => {
            let sweep = harness::sweep(pipeline, &spec, rates, report)?;
            summarize_sweep(&sweep, quiet);
            write_json(args.json.as_ref(), &sweep)?;
        }
        (None, Some(steps)) => {
            let sweep = harness::find_max(pipeline, &spec, spec.rate, steps, report)?;
            summarize_sweep(&sweep, quiet);
            write_json(args.json.as_ref(), &sweep)?;
        }
        (None, None) => {
            if let Some(result) = harness::bench(pipeline, &spec)? {
                report(&result);
                write_json(args.json.as_ref(), &result)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn summarize_sweep(sweep: &harness::SweepResult, quiet: bool) {
    if quiet {
        return;
    }
    match sweep.sustainable_rate {
        Some(rate) => eprintln!("weir: highest sustainable rate: {rate:.0} records/s"),
        None => eprintln!("weir: no rate tried was sustainable"),
    }
}

fn write_json(path: Option<&PathBuf>, value: &impl Serialize) -> anyhow::Result<()> {
    let Some(path) = path else { return Ok(()) };
    let json = serde_json::to_string_pretty(value).context("cannot encode the result")?;
    if path.as_os_str() == "-" {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{json}").context("cannot write the result")?;
    } else {
        std::fs::write(path, json + "\n")
            .with_context(|| format!("cannot write the result to {}", path.display()))?;
    }
    Ok(())
}
