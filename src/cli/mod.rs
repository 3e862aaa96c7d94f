//! Command-line parsing and dispatch; the work itself lives in the library.

mod args;
mod bench;
mod chaos;
mod cluster;
mod control;
mod experiment;
mod flags;
mod kafka;
mod nexmark;
mod plot;
mod run;
mod snapshot;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// weir: stream processing on timely dataflow with keyed state, frontier-aligned snapshots
/// and honest measurement.
#[derive(Parser, Debug)]
#[command(
    name = "weir",
    version,
    about = "Stream processing on timely dataflow: keyed state, event time, many workers and processes.",
    after_help = "Start with:  weir run wordcount        (see `weir run --help` for the pipelines)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a registered pipeline to the end of its input.
    #[command(long_about = run::LONG_ABOUT)]
    Run(Box<run::RunArgs>),
    /// Measure a pipeline open-loop: latency and throughput at an offered rate.
    #[command(long_about = bench::LONG_ABOUT)]
    Bench(Box<bench::BenchArgs>),
    /// Run an experiment file: its runs, results, tables and figures.
    #[command(long_about = experiment::LONG_ABOUT)]
    Experiment(experiment::ExperimentArgs),
    /// Render figures (PNG and SVG) from `weir bench --json` result files.
    #[command(long_about = plot::LONG_ABOUT)]
    Plot(plot::PlotArgs),
    /// Look into a snapshot directory: list, verify, inspect.
    #[command(long_about = snapshot::LONG_ABOUT)]
    Snapshot(snapshot::SnapshotArgs),
    /// Kill a job at random, restore it onto random shapes, compare with the fault-free output.
    #[command(long_about = chaos::LONG_ABOUT)]
    Chaos(chaos::ChaosArgs),
    /// Run a job under a supervisor: restart it after failures, rescale it on demand.
    #[command(long_about = cluster::LONG_ABOUT)]
    Cluster(cluster::ClusterArgs),
    /// Ask a running job for a savepoint: the next snapshot is kept for good.
    #[command(long_about = control::SAVEPOINT_ABOUT)]
    Savepoint(control::RequestArgs),
    /// Ask a running job to stop with a savepoint.
    #[command(long_about = control::STOP_ABOUT)]
    Stop(control::RequestArgs),
    /// Ask `weir cluster` to restart its job on another shape from a savepoint.
    #[command(long_about = control::RESCALE_ABOUT)]
    Rescale(control::RescaleArgs),
    /// Kafka tools: load NEXMark events into a topic.
    #[command(long_about = kafka::LONG_ABOUT)]
    Kafka(kafka::KafkaArgs),
    /// NEXMark tools: generate the benchmark's events as JSON lines.
    #[command(long_about = nexmark::LONG_ABOUT)]
    Nexmark(nexmark::NexmarkArgs),
}

/// Parses the command line and runs the subcommand.
pub fn main() -> anyhow::Result<ExitCode> {
    let command = Cli::command()
        .mut_subcommand("run", |run| run.after_help(run::pipelines_help()))
        .mut_subcommand("bench", |bench| bench.after_help(run::pipelines_help()));
    let matches = command.get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    match cli.command {
        Command::Run(args) => run::run(*args),
        Command::Bench(args) => bench::run(*args),
        Command::Plot(args) => plot::run(args),
        Command::Experiment(args) => experiment::run(args),
        Command::Snapshot(args) => snapshot::run(args),
        Command::Nexmark(args) => nexmark::run(args),
        Command::Kafka(args) => kafka::run(args),
        Command::Chaos(args) => chaos::run(args),
        Command::Cluster(args) => cluster::run(args),
        Command::Savepoint(args) => control::savepoint(args),
        Command::Stop(args) => control::stop(args),
        Command::Rescale(args) => control::rescale(args),
    }
}
