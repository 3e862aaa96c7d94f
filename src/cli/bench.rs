//! `weir bench PIPELINE`: an open-loop benchmark run, or a sweep of them.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{ArgAction, Args};
use serde::Serialize;

use weir::harness::{self, AttemptSpec, BenchResult, BenchSpec, Faults};
use weir::job::JobConfig;
use weir::lifecycle::{instant_of_micros, signals};
use weir::pipelines;
use weir::runtime::{Shape, Workers};
use weir::snapshot::RestoreFrom;
use weir::supervisor::{RestartPolicy, ATTEMPT_VARIABLE};

use super::args::{parse_duration, parse_rate, parse_restore};
use super::cluster::{parse_kill_plan, parse_plan, KillPlan, RescalePlan};
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

    /// Read the pipeline's input from a Kafka topic that weir loads with NEXMark events on
    /// the schedule (NEXMark pipelines), e.g. --input kafka://localhost:9092/bench: the
    /// latency then includes the brokers' round trip.
    #[arg(long, value_name = "kafka://HOST:PORT/TOPIC")]
    input: Option<String>,

    /// Write the result as JSON to FILE (`-` for standard output), e.g. --json q5.json.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,

    #[command(flatten)]
    generated: GeneratedArgs,

    #[command(flatten)]
    workers: WorkerArgs,

    #[command(flatten)]
    snapshots: SnapshotArgs,

    /// Kill a process with SIGKILL at these times since the start, e.g. 5s (the last
    /// process) or 3s:0,8s:1: the job runs under a supervisor that restarts it from its
    /// newest snapshot, and the timeline marks the kill and the recovery. Needs
    /// --snapshot-dir; -n and -w are the first shape.
    #[arg(long, value_name = "WHEN[:I],...", value_parser = parse_kill_plan, conflicts_with_all = ["sweep", "find_max"])]
    kill_at: Option<KillPlan>,

    /// Rescale at these times since the start, e.g. 10s:2x1 (processes x workers): a stop
    /// with a savepoint and a start on the new shape, under a supervisor as with --kill-at.
    #[arg(long, value_name = "WHEN:PxW,...", value_parser = parse_plan, conflicts_with_all = ["sweep", "find_max"])]
    rescale_at: Option<RescalePlan>,

    /// With --kill-at or --rescale-at: write the supervisor's events to FILE as JSON lines.
    #[arg(long, value_name = "FILE")]
    events_log: Option<PathBuf>,

    /// One start of a supervised benchmark: the schedule's start, µs since the Unix epoch.
    #[arg(long, value_name = "US", hide = true, requires = "timeline_dir")]
    schedule_origin_us: Option<u64>,

    /// One start of a supervised benchmark: where its workers write their measurements.
    #[arg(long, value_name = "DIR", hide = true, requires = "schedule_origin_us")]
    timeline_dir: Option<PathBuf>,

    /// One start of a supervised benchmark: the snapshot to resume from.
    #[arg(long, value_name = "latest|EPOCH", value_parser = parse_restore, hide = true, requires = "timeline_dir")]
    restore: Option<RestoreFrom>,

    /// One start of a supervised benchmark: where process 0 logs its progress.
    #[arg(long, value_name = "FILE", hide = true, requires = "timeline_dir")]
    progress_log: Option<PathBuf>,

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

With --kill-at or --rescale-at the job runs under the supervisor of `weir cluster` (and needs
--snapshot-dir): it is killed or rescaled on schedule while the input keeps coming, and the
result marks each failure, rescale and recovery on the timeline.

Examples:
  weir bench seed-state --rate 1M --duration 10s -w 2 --json seed-state.json
  weir bench nexmark-q5 --rate 500k --duration 20s -n 2 --snapshot-dir snaps \\
      --kill-at 6s --rescale-at 14s:1x2 --json q5-faults.json
  weir bench nexmark-q5 --sweep 250k,500k,1M,2M -w 2 --json q5-sweep.json
  weir bench nexmark-q1 --rate 250k --find-max -w 2 --json q1-max.json
  weir plot seed-state.json q5-sweep.json --out figures";

/// Runs the benchmark and reports it.
pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let pipeline = pipelines::find(&args.pipeline)?;
    let workers = args.workers.workers()?;
    let mut config = JobConfig::new(pipeline.name);
    args.generated.apply(&mut config, pipeline)?;
    if let Some(address) = &args.input {
        let uri: weir::kafka::KafkaUri = address.parse()?;
        weir::kafka::ensure_output_topic(&uri)?;
        config.input = Some(weir::sources::LineInput::Kafka(uri));
    }
    let json_to_stdout = args.json.as_deref().is_some_and(|p| p.as_os_str() == "-");
    let total = args.warmup + args.duration + args.cooldown;
    let spec =
        BenchSpec {
            config,
            workers: workers.clone(),
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
            attempt: args.timeline_dir.as_ref().zip(args.schedule_origin_us).map(
                |(dir, origin_us)| AttemptSpec {
                    timeline_dir: dir.clone(),
                    number: std::env::var(ATTEMPT_VARIABLE)
                        .ok()
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(0),
                    origin: instant_of_micros(origin_us),
                    restore: args.restore,
                    progress: args.progress_log.clone(),
                },
            ),
        };
    let quiet = args.quiet;
    let report = move |result: &BenchResult| {
        if !quiet {
            eprintln!("weir: {}", result.describe().replace('\n', "\nweir: "));
        }
    };
    if args.kill_at.is_some() || args.rescale_at.is_some() {
        let faults = Faults {
            binary: std::env::current_exe().context("cannot find the weir executable")?,
            shape: Shape {
                processes: workers.processes(),
                workers: workers.threads,
            },
            kills: args.kill_at.map(|plan| plan.0).unwrap_or_default(),
            rescales: args.rescale_at.map(|plan| plan.0).unwrap_or_default(),
            policy: RestartPolicy {
                max_restarts: 5,
                backoff: Duration::from_millis(200),
                max_backoff: Duration::from_secs(30),
            },
            events_log: args.events_log.clone(),
        };
        let supervised = BenchSpec {
            workers: Workers::threads(workers.threads),
            ..spec
        };
        let (sender, asked) = std::sync::mpsc::channel();
        signals::on_signals(move |signal| {
            let _ = sender.send(signal);
        })?;
        let argv: Vec<String> = std::env::args().collect();
        let result =
            harness::bench_supervised(pipeline, &supervised, &faults, &start_args(&argv), &asked)?;
        report(&result);
        write_json(args.json.as_ref(), &result)?;
        return Ok(ExitCode::SUCCESS);
    }
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

/// Writes `value` as pretty JSON to `path` (`-` is standard output), if given: the result
/// file of `weir bench` and `weir run --json`.
pub(super) fn write_json(path: Option<&PathBuf>, value: &impl Serialize) -> anyhow::Result<()> {
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

/// The command line of one start of a supervised benchmark: this one's from `bench` on,
/// without what only the supervising process uses (the plan, the result file) and the
/// layout that the supervisor sets on each start.
fn start_args(argv: &[String]) -> Vec<String> {
    const WITH_VALUE: &[&str] = &[
        "--kill-at",
        "--rescale-at",
        "--events-log",
        "--json",
        "-n",
        "--processes",
        "-w",
        "--workers",
    ];
    const ALONE: &[&str] = &["-q", "--quiet"];
    let from = argv.iter().position(|a| a == "bench").unwrap_or(argv.len());
    let mut kept = Vec::new();
    let mut args = argv[from..].iter();
    while let Some(arg) = args.next() {
        let name = arg.split_once('=').map_or(arg.as_str(), |(name, _)| name);
        let short_joined = ["-n", "-w"]
            .iter()
            .any(|short| arg.len() > 2 && arg.starts_with(short) && !arg.starts_with("--"));
        if ALONE.contains(&arg.as_str()) || short_joined {
            continue;
        }
        if WITH_VALUE.contains(&name) {
            if !arg.contains('=') {
                args.next();
            }
            continue;
        }
        kept.push(arg.clone());
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::start_args;

    #[test]
    fn a_start_keeps_the_job_and_leaves_the_plan_and_layout_to_the_supervisor() {
        let argv: Vec<String> = "weir bench seed-state --rate 1k -n 2 -w2 --kill-at 3s --rescale-at=5s:1x2 --json out.json -q --snapshot-dir s --events-log e"
            .split_whitespace()
            .map(str::to_string)
            .collect();
        assert_eq!(
            start_args(&argv),
            ["bench", "seed-state", "--rate", "1k", "--snapshot-dir", "s"]
        );
    }
}
