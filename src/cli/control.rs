//! `weir savepoint DIR`, `weir stop DIR`, `weir rescale DIR`: requests to a running job.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use clap::Args;

use weir::lifecycle::{Answer, ControlDirectory, RequestKind};
use weir::snapshot::epoch_label;

use super::args::parse_duration;

pub const SAVEPOINT_ABOUT: &str = "\
Ask the job running on snapshot directory DIR for a savepoint: the next snapshot it commits
is kept however many newer ones --keep-snapshots allows. Prints its epoch. SIGUSR1 to any
process of the job asks the same.

Examples:
  weir savepoint snaps
  weir run seed-state ... --snapshot-dir snaps --restore 3000    # later: resume there";

pub const STOP_ABOUT: &str = "\
Ask the job running on snapshot directory DIR to stop with a savepoint: it commits one more
snapshot, publishes its output, and ends without committing anything after it. Prints the
epoch to resume from (with --restore, on any number of workers and processes). SIGTERM to
any process of the job asks the same.

Example:
  weir stop snaps";

pub const RESCALE_ABOUT: &str = "\
Ask `weir cluster` supervising the job on snapshot directory DIR to rescale it: the job stops
with a savepoint and the supervisor restarts it from there on -n P processes of -w W workers.

Example:
  weir rescale snaps -n 2 -w 3";

/// Arguments of `weir savepoint` and `weir stop`.
#[derive(Args, Debug)]
pub struct RequestArgs {
    /// The job's snapshot directory.
    dir: PathBuf,

    /// How long to wait for the answer, e.g. 30s, 2m.
    #[arg(long, value_name = "D", value_parser = parse_duration, default_value = "60s")]
    timeout: Duration,
}

/// Arguments of `weir rescale`.
#[derive(Args, Debug)]
#[command(disable_help_flag = true)]
pub struct RescaleArgs {
    #[command(flatten)]
    request: RequestArgs,

    /// Processes of the new shape.
    #[arg(short = 'n', long = "processes", value_name = "P")]
    processes: usize,

    /// Workers per process of the new shape.
    #[arg(short = 'w', long = "workers", value_name = "W", default_value_t = 1)]
    workers: usize,

    /// Print help.
    #[arg(long, action = clap::ArgAction::HelpLong)]
    help: Option<bool>,
}

/// `weir savepoint DIR`.
pub fn savepoint(args: RequestArgs) -> anyhow::Result<ExitCode> {
    let answer = ask_job(&args, RequestKind::Savepoint)?;
    let epoch = answer.epoch.map_or("?".to_string(), epoch_label);
    println!("savepoint {epoch}");
    eprintln!(
        "weir: savepoint at epoch {epoch} in {}; resume there with --restore {epoch}",
        args.dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `weir stop DIR`.
pub fn stop(args: RequestArgs) -> anyhow::Result<ExitCode> {
    let answer = ask_job(&args, RequestKind::Stop)?;
    let epoch = answer.epoch.map_or("?".to_string(), epoch_label);
    println!("stopped {epoch}");
    eprintln!("weir: the job stopped after savepoint {epoch}; resume with --restore {epoch}");
    Ok(ExitCode::SUCCESS)
}

/// `weir rescale DIR -n P -w W`.
pub fn rescale(args: RescaleArgs) -> anyhow::Result<ExitCode> {
    if args.processes == 0 || args.workers == 0 {
        bail!("-n and -w must be at least 1");
    }
    let control = ControlDirectory::of(&args.request.dir);
    match control.supervisor() {
        Some(supervisor) if supervisor.is_alive() => {}
        Some(supervisor) => bail!(
            "the `weir cluster` that supervised {} (pid {}) is no longer running",
            args.request.dir.display(),
            supervisor.pid
        ),
        None => bail!(
            "no `weir cluster` supervises a job on {}: rescaling restarts the job, which only a supervisor does",
            args.request.dir.display()
        ),
    }
    let kind = RequestKind::Rescale {
        processes: args.processes,
        workers: args.workers,
    };
    let answer = wait(&control, &args.request.dir, kind, args.request.timeout)?;
    let epoch = answer.epoch.map_or("?".to_string(), epoch_label);
    println!("rescaled {}x{} {epoch}", args.processes, args.workers);
    eprintln!(
        "weir: the job runs on {} process(es) of {} worker(s), resumed from savepoint {epoch}",
        args.processes, args.workers
    );
    Ok(ExitCode::SUCCESS)
}

/// Files `kind` for the job running on `args.dir` and waits for its answer.
fn ask_job(args: &RequestArgs, kind: RequestKind) -> anyhow::Result<Answer> {
    let control = ControlDirectory::of(&args.dir);
    match control.running() {
        Some(running) if running.is_alive() => {}
        Some(running) => bail!(
            "the job that ran on {} (pid {}) is no longer running",
            args.dir.display(),
            running.pid
        ),
        None => bail!(
            "no job is running on {} (start one with --snapshot-dir {})",
            args.dir.display(),
            args.dir.display()
        ),
    }
    wait(&control, &args.dir, kind, args.timeout)
}

fn wait(
    control: &ControlDirectory,
    dir: &Path,
    kind: RequestKind,
    timeout: Duration,
) -> anyhow::Result<Answer> {
    let request = control.request(kind)?;
    match control.wait_answer(&request, timeout)? {
        None => bail!(
            "no answer from the job on {} within {} (a snapshot commits every --snapshot-every of event time; give a longer --timeout?)",
            dir.display(),
            humantime::format_duration(timeout)
        ),
        Some(Answer {
            error: Some(error), ..
        }) => bail!("the job could not do it: {error}"),
        Some(answer) => Ok(answer),
    }
}
