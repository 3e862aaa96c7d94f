//! `weir experiment experiments/NAME.toml`: run an experiment file's runs, keep every
//! result under `results/NAME/`, render its tables and figures.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use weir::experiment::{self, execute, plan, BrokerKind, Index};
use weir::kafka::LocalBroker;

/// Arguments of `weir experiment`.
#[derive(Args, Debug)]
pub struct ExperimentArgs {
    /// The experiment file, e.g. experiments/nexmark-throughput.toml.
    #[arg(value_name = "FILE.toml")]
    file: PathBuf,

    /// Apply each group's `[group.quick]` overrides: the same experiment on small inputs.
    #[arg(long)]
    quick: bool,

    /// Where its results go [default: results/NAME, NAME the file's stem].
    #[arg(long, value_name = "DIR")]
    results: Option<PathBuf>,

    /// Print the runs' command lines and run nothing.
    #[arg(long, conflicts_with = "render")]
    dry_run: bool,

    /// Run nothing: redraw the tables and figures from the results of the last run.
    #[arg(long)]
    render: bool,

    /// Kafka brokers for an experiment that reads topics, instead of the broker the file
    /// starts (`broker = "tansu"`), e.g. --brokers kafka1:9092.
    #[arg(long, value_name = "HOST:PORT")]
    brokers: Option<String>,
}

/// The long description of `weir experiment`.
pub const LONG_ABOUT: &str = "\
Run an experiment file: each group's pipelines on each shape and repetition, every run as
`weir run` or `weir bench` processes of its own. Every result JSON (commit, configuration,
machine), every log and the index `experiment.json` go to results/NAME/; then the tables
(CSV and Markdown, results/NAME/tables/) and figures (PNG and SVG, results/NAME/figures/)
the file asks for are rendered from those files. The format: docs/experiments.md.

Examples:
  weir experiment experiments/nexmark-throughput.toml --quick
  weir experiment experiments/q5-latency.toml --dry-run
  weir experiment experiments/q5-latency.toml --render";

pub fn run(args: ExperimentArgs) -> anyhow::Result<ExitCode> {
    let experiment = experiment::load(&args.file, args.quick)?;
    let dir = match &args.results {
        Some(dir) => dir.clone(),
        None => {
            let stem = args
                .file
                .file_stem()
                .context("the experiment file has no name")?;
            PathBuf::from("results").join(stem)
        }
    };
    if args.dry_run {
        let brokers = args.brokers.as_deref();
        for prepare in &experiment.prepares {
            let command: Vec<String> = prepare
                .args
                .iter()
                .map(|arg| experiment::plan::with_brokers(arg, brokers))
                .collect();
            match &prepare.creates {
                Some(creates) => {
                    println!("weir {}    (unless {creates} exists)", command.join(" "))
                }
                None => println!("weir {}", command.join(" ")),
            }
        }
        let runs = plan(&experiment, &dir, brokers);
        for run in &runs {
            for process in 0..run.started_processes() {
                let program = run.program.as_deref().unwrap_or("weir");
                println!("{program} {}", run.process_args(process, None).join(" "));
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.render {
        let index = Index::load(&dir)?;
        for path in experiment::render(&experiment, &index, &dir)? {
            println!("{}", path.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let binary = std::env::current_exe().context("cannot find the weir executable")?;
    // Kept until the runs are over: dropping it stops the broker.
    let (_started_broker, brokers) = brokers_of(&experiment, args.brokers)?;
    for made in experiment::prepare(&experiment, &binary, brokers.as_deref())? {
        eprintln!("weir: made {made}");
    }
    let runs = plan(&experiment, &dir, brokers.as_deref());
    let bar = ProgressBar::with_draw_target(
        Some(runs.len() as u64),
        if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
            .context("a valid progress template")?
            .progress_chars("=> "),
    );
    eprintln!(
        "weir: {} ({} runs{}) into {}",
        experiment.title,
        runs.len(),
        if args.quick { ", quick" } else { "" },
        dir.display()
    );
    let mut index = Index::new(&args.file, &experiment, args.quick);
    let mut failed = 0;
    for run in &runs {
        bar.set_message(run.id.clone());
        let outcome = execute(&binary, run, &dir);
        bar.suspend(|| match &outcome.error {
            None => eprintln!("weir: {} done in {:.1} s", run.id, outcome.seconds),
            Some(error) => eprintln!("weir: {} failed: {error}", run.id),
        });
        failed += usize::from(!outcome.ok);
        index.runs.push(outcome);
        // Saved after every run, so an interrupted experiment still renders what ran.
        index.save(&dir)?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    let written = experiment::render(&experiment, &index, &dir)?;
    print_lines(written.iter().map(|path| path.display().to_string()))?;
    if failed > 0 {
        eprintln!(
            "weir: {failed} of {} runs failed; their logs are in {}",
            runs.len(),
            dir.display()
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// The brokers the runs use: `given`, or the broker the file starts; none when no run
/// names any.
fn brokers_of(
    experiment: &weir::experiment::Experiment,
    given: Option<String>,
) -> anyhow::Result<(Option<LocalBroker>, Option<String>)> {
    if !experiment.uses_brokers() {
        return Ok((None, None));
    }
    match (given, experiment.broker) {
        (Some(brokers), _) => Ok((None, Some(brokers))),
        (None, Some(BrokerKind::Tansu)) => {
            let repository = std::env::current_dir().context("no working directory")?;
            let broker = LocalBroker::start(&repository).context(
                "cannot start the experiment's broker (run experiments from the repository)",
            )?;
            eprintln!("weir: started tansu on {}", broker.address());
            let address = broker.address().to_string();
            Ok((Some(broker), Some(address)))
        }
        (None, None) => anyhow::bail!(
            "the experiment reads Kafka topics on {}: give --brokers HOST:PORT",
            experiment::BROKERS
        ),
    }
}

/// Prints `lines` on standard output; a reader that stopped reading (`| head`) is no error.
fn print_lines(lines: impl IntoIterator<Item = String>) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    for line in lines {
        match writeln!(stdout, "{line}") {
            Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            written => written.context("cannot write to standard output")?,
        }
    }
    Ok(())
}
