//! `weir run PIPELINE`: run a registered pipeline to the end of its input.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use clap::{ArgAction, Args};

use weir::harness::{self, RunConfig, RunResult, RunSummary, SnapshotCost};
use weir::job::JobConfig;
use weir::kafka::KafkaUri;
use weir::lifecycle::{signals, ControlDirectory};
use weir::pipelines::{self, InputFormat};
use weir::runtime::{self, RunSpec, SnapshotOptions};
use weir::sinks::OutputSpec;
use weir::snapshot::{epoch_label, RestoreFrom};
use weir::sources::LineInput;

use super::args::{parse_count, parse_duration, parse_millis, parse_rate, parse_restore};
use super::flags::{GeneratedArgs, SnapshotArgs, WorkerArgs};

/// Arguments of `weir run`. `-h` names the host file, as in timely, so help is `--help`.
#[derive(Args, Debug)]
#[command(disable_help_flag = true)]
pub struct RunArgs {
    /// The pipeline to run (listed below).
    #[arg(value_name = "PIPELINE")]
    pipeline: String,

    /// Records to generate, e.g. 1000, 250k, 10M [default: the pipeline's, usually 1M].
    #[arg(long, value_name = "N", value_parser = parse_count)]
    events: Option<u64>,

    /// Generate for this long instead of a fixed count, e.g. 10s, 2m.
    #[arg(long, value_name = "D", value_parser = parse_duration, conflicts_with = "events")]
    duration: Option<Duration>,

    /// Pace generated input at R records per second over all workers, e.g. 250k, 1M
    /// [default: as fast as possible].
    #[arg(long, value_name = "R", value_parser = parse_rate)]
    rate: Option<f64>,

    /// Records per second of event time for generated input and text lines, e.g. 10k
    /// [default: --rate when given, else the pipeline's].
    #[arg(long, value_name = "R", value_parser = parse_rate)]
    event_rate: Option<f64>,

    /// Read input from FILE instead of generating it: a file, a directory of files or a
    /// quoted glob pattern (the files in name order, as one stream), `-` for standard
    /// input, or a Kafka topic (kafka://HOST:PORT/TOPIC[?from=earliest|latest&to=end&
    /// time=record|kafka&idle=1s&timeout=10s&group=G], read until stopped or for --events
    /// records); e.g. --input book.txt, --input 'events/*.jsonl', --input
    /// kafka://localhost:9092/events.
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,

    /// Count and skip malformed input lines instead of stopping with an error.
    #[arg(long)]
    skip_bad_input: bool,

    /// How far input event times may run behind the newest seen, e.g. 500ms.
    #[arg(long, value_name = "D", value_parser = parse_millis, default_value = "0ms")]
    out_of_orderness: u64,

    /// Write output lines to FILE instead of standard output, e.g. --output out.jsonl (with
    /// several processes and no snapshots, process I writes FILE.I); to a directory of
    /// segments with a trailing slash or an existing directory, e.g. --output out/ (in a job
    /// that snapshots, each committed epoch's output is linked in, written once); `-` is
    /// standard output; kafka://HOST:PORT/TOPIC[?transactional=ID] sends each line as a record
    /// (in a job that snapshots, each committed epoch once, with a weir-epoch header). Given
    /// several times, every line goes to each.
    #[arg(long, value_name = "FILE|DIR/|-|kafka://")]
    output: Vec<PathBuf>,

    #[command(flatten)]
    generated: GeneratedArgs,

    #[command(flatten)]
    workers: WorkerArgs,

    #[command(flatten)]
    snapshots: SnapshotArgs,

    /// Resume from the newest usable snapshot (`latest`) or a given epoch, e.g. latest, 3000.
    #[arg(long, value_name = "latest|EPOCH", value_parser = parse_restore, requires = "snapshot_dir")]
    restore: Option<RestoreFrom>,

    /// Log the job's progress as JSON lines to FILE (for `weir cluster`, which measures
    /// recovery from it).
    #[arg(long, value_name = "FILE", hide = true, requires = "snapshot_dir")]
    progress_log: Option<PathBuf>,

    /// Print no summary on standard error (recovery notes and warnings still are).
    #[arg(short, long)]
    quiet: bool,

    /// Also write this process's totals (rate, peak memory, build, machine) as JSON to
    /// FILE, for experiments and `weir plot`, e.g. --json q1.json.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,

    /// Print help.
    #[arg(long, action = ArgAction::HelpLong)]
    help: Option<bool>,
}

/// The long description of `weir run`.
pub const LONG_ABOUT: &str =
    "Run a registered pipeline to the end of its input, printing its output as JSON lines.

Examples:
  weir run wordcount
  weir run seed-state --events 10M -w 2 --output counts.jsonl
  weir run wordcount --input book.txt
  weir run wordcount --rate 100k --duration 10s
  weir run seed-map -n 2 -p 0 -h hosts.txt     (and -p 1 on the second host)";

/// The pipelines, for the end of `weir run --help`.
pub fn pipelines_help() -> String {
    let mut help = String::from("Pipelines:\n");
    for pipeline in pipelines::PIPELINES {
        help.push_str(&format!("  {:<12} {}\n", pipeline.name, pipeline.about));
    }
    help
}

/// Runs the pipeline and prints a summary on standard error.
pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let pipeline = pipelines::find(&args.pipeline)?;
    let workers = args.workers.workers()?;

    let input = match &args.input {
        None => None,
        Some(_) if pipeline.input == InputFormat::None => {
            bail!(
                "pipeline {} generates its own input and reads no --input",
                pipeline.name
            )
        }
        Some(path) if path.as_os_str() == "-" => Some(LineInput::Stdin),
        Some(path) if KafkaUri::is_kafka(&path.to_string_lossy()) => {
            Some(LineInput::Kafka(path.to_string_lossy().parse()?))
        }
        Some(path) => Some(LineInput::File(path.clone())),
    };
    let mut config = JobConfig::new(pipeline.name);
    config.events = match (args.events, args.duration, args.rate) {
        (Some(events), _, _) => events,
        (None, Some(duration), Some(rate)) => (duration.as_secs_f64() * rate) as u64,
        (None, Some(_), None) => u64::MAX,
        (None, None, _) => pipeline.default_events,
    };
    if let Some(LineInput::Kafka(uri)) = &input {
        // A topic has no end: it is read until stopped, or for --events records in all.
        config.events = args.events.unwrap_or(u64::MAX);
        if config.events != u64::MAX && workers.processes() > 1 {
            bail!(
                "--events counts the records of {uri} within one process: a job of several processes reads a bounded topic with ?to=end"
            );
        }
    }
    config.duration = args.duration;
    config.rate = args.rate;
    config.event_rate = args
        .event_rate
        .or(args.rate)
        .unwrap_or(pipeline.default_event_rate);
    args.generated.apply(&mut config, pipeline)?;
    config.input = input;
    config.skip_bad_input = args.skip_bad_input;
    config.out_of_orderness = args.out_of_orderness;

    let output = OutputSpec::of_targets(&args.output)?;

    let snapshots = args.snapshots.options()?.map(|options| SnapshotOptions {
        restore: args.restore,
        ..options
    });
    let total_workers = workers.total();
    let (process, processes) = (workers.process(), workers.processes());
    let spec = RunSpec {
        config,
        workers,
        output,
        snapshots,
        // Recovery notes are warnings: a skipped snapshot must never pass unnoticed.
        verbose: true,
        driver: None,
        progress: args.progress_log.clone(),
        schedule_origin: None,
    };
    let run_config = RunConfig {
        pipeline: pipeline.name.to_string(),
        workers: total_workers / processes.max(1),
        processes,
        process,
        events: spec.config.events,
        input: args.input.as_ref().map(|path| path.display().to_string()),
        snapshot_every_ms: spec
            .snapshots
            .as_ref()
            .map(|options| options.every.as_millis() as u64),
        keys: Some(spec.config.keys),
    };
    let started_at = harness::now_rfc3339();
    if let Some(snapshots) = &spec.snapshots {
        signals::forward_to_job(ControlDirectory::of(&snapshots.dir))?;
    }
    let spec_migration = spec.config.migration.clone();
    let report = runtime::run(pipeline, spec)?;
    if let Some(path) = &args.json {
        let seconds = report.elapsed.as_secs_f64().max(1e-9);
        let summary = RunSummary {
            records_in: report.records_in,
            records_out: report.records_out,
            elapsed_s: report.elapsed.as_secs_f64(),
            records_per_s: report.records_in as f64 / seconds,
            max_rss_bytes: harness::max_rss_bytes(),
            snapshots_committed: report.commits.len(),
            snapshot_cost: report.snapshot_timings().as_ref().map(SnapshotCost::from),
        };
        super::bench::write_json(Some(path), &RunResult::new(run_config, summary, started_at))?;
    }
    if let Some(epoch) = report.stopped_at {
        eprintln!(
            "weir: stopped after savepoint {} ({} records in): resume with --restore {epoch} (or --restore latest), on any shape",
            epoch_label(epoch),
            report.records_in
        );
        return Ok(ExitCode::SUCCESS);
    }
    if report.already_complete {
        eprintln!("weir: the job had already finished; its output is complete");
        return Ok(ExitCode::SUCCESS);
    }
    if report.skipped > 0 {
        eprintln!(
            "weir: skipped {} malformed input line(s) (--skip-bad-input)",
            report.skipped
        );
    }
    if report.late > 0 {
        eprintln!(
            "weir: dropped {} record(s) behind the watermark (raise --out-of-orderness to keep them)",
            report.late
        );
    }
    if let Some(migration) = &spec_migration {
        if report.groups_moved == 0 {
            eprintln!(
                "weir: --migrate-at {} moved no state: {} keeps its state where no live \
                 migration moves it (differential arrangements), so its key groups stayed put",
                migration.plan, pipeline.name
            );
        } else {
            eprintln!(
                "weir: handed {} key group(s) over between workers, counted per stateful \
                 operator (--migrate-at {}, {}){}",
                report.groups_moved,
                migration.plan,
                migration.strategy,
                if processes > 1 {
                    " in this process"
                } else {
                    ""
                }
            );
        }
    }
    if !args.quiet {
        let seconds = report.elapsed.as_secs_f64().max(1e-9);
        let process = if processes > 1 {
            format!(" (process {process} of {processes})")
        } else {
            String::new()
        };
        let restored = match report.restored {
            Some(epoch) => format!(", resumed at epoch {}", epoch_label(epoch)),
            None => String::new(),
        };
        let commits = if report.commits.is_empty() {
            String::new()
        } else {
            format!(", {} snapshot(s) committed", report.commits.len())
        };
        eprintln!(
            "weir: {} on {total_workers} worker(s){process}{restored}: {} records in, {} out, {:.3} s, {:.0} records/s{commits}",
            pipeline.name,
            report.records_in,
            report.records_out,
            seconds,
            report.records_in as f64 / seconds,
        );
        if let Some((entries, slowest)) = report.restore_summary() {
            eprintln!(
                "weir: restored {entries} state entries, {:.1} ms on the slowest worker",
                slowest.as_secs_f64() * 1e3
            );
        }
        if let Some(timings) = report.snapshot_timings() {
            eprintln!("weir: snapshots: {timings}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
