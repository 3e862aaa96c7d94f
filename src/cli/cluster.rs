//! `weir cluster -n P -w W -- run PIPELINE FLAGS...`: run a job under a supervisor.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{ArgAction, Args};

use weir::lifecycle::signals;
use weir::runtime::{read_hostfile, Shape};
use weir::supervisor::{
    self, parse_kills, parse_rescales, ClusterConfig, JobCommand, Placement, PlannedKill,
    PlannedRescale, RestartPolicy,
};

use super::args::parse_duration;

pub const LONG_ABOUT: &str = "\
Run a job under a supervisor that restarts it from its newest snapshot whenever a process
dies (a crash, kill -9, a lost peer), and rescales it on a plan or on request. The job is
`run PIPELINE FLAGS...` after `--`, with --snapshot-dir; the supervisor sets -n, -p, -h and -w
of every process itself. It prints one line per start, failure, recovery (timed phase by
phase), savepoint and rescale, and writes them as JSON lines with --events-log.

SIGUSR1 asks the job for a savepoint; SIGTERM stops it with one (and the supervisor exits 0);
`weir rescale DIR -n P -w W` restarts it on another shape from a savepoint.

Examples:
  weir cluster -n 2 -- run seed-state --events 50M --snapshot-dir snaps --output counts.jsonl
  weir cluster -n 1 -w 2 --rescale-at 10s:2x1,20s:1x1 -- run nexmark-q5 --rate 1M --duration 30s \\
      --snapshot-dir snaps --output q5/
  weir cluster -h hosts.txt -p 0 -w 4 -- run ...     (and -p 1 on the host of the second line)";

/// Arguments of `weir cluster`. `-h` names the host file, as in `weir run`.
#[derive(Args, Debug)]
#[command(disable_help_flag = true)]
pub struct ClusterArgs {
    /// Processes of the job, all on this machine on free loopback ports, e.g. -n 2.
    #[arg(short = 'n', long = "processes", value_name = "P", default_value_t = 1)]
    processes: usize,

    /// Worker threads per process, e.g. -w 2.
    #[arg(short = 'w', long = "workers", value_name = "W", default_value_t = 1)]
    workers: usize,

    /// Run one process of the job in this host file (one supervisor per host, sharing the
    /// snapshot directory), instead of all of them here.
    #[arg(
        short = 'h',
        long = "hostfile",
        value_name = "FILE",
        requires = "process"
    )]
    hostfile: Option<PathBuf>,

    /// With -h: the process of the host file this supervisor runs, e.g. -p 0.
    #[arg(short = 'p', long = "process", value_name = "I", requires = "hostfile")]
    process: Option<usize>,

    /// Give up after this many restarts in a row without a snapshot committed in between.
    #[arg(long, value_name = "K", default_value_t = 5)]
    max_restarts: usize,

    /// The wait before a second restart in a row without progress, doubling with each
    /// further one (the first restart is immediate), e.g. 500ms.
    #[arg(long, value_name = "D", value_parser = parse_duration, default_value = "200ms")]
    backoff: Duration,

    /// The longest wait between restarts, e.g. 30s.
    #[arg(long, value_name = "D", value_parser = parse_duration, default_value = "30s")]
    max_backoff: Duration,

    /// Rescale at these times since the start (wall clock), e.g. 20s:3x2 or 10s:2x1,20s:1x1
    /// (processes x workers): a stop with a savepoint, then a start on the new shape from it.
    #[arg(long, value_name = "WHEN:PxW,...", value_parser = parse_plan)]
    rescale_at: Option<RescalePlan>,

    /// Kill a process with SIGKILL at these times since the start (wall clock), e.g. 5s
    /// (the last process) or 3s:0,8s:1 (process indices): failures on schedule, to watch or
    /// measure recovery.
    #[arg(long, value_name = "WHEN[:I],...", value_parser = parse_kill_plan)]
    kill_at: Option<KillPlan>,

    /// Write every event (start, failure, recovery, savepoint, rescale, end) to FILE as
    /// JSON lines.
    #[arg(long, value_name = "FILE")]
    events_log: Option<PathBuf>,

    /// The job: `run PIPELINE FLAGS...`.
    #[arg(last = true, value_name = "JOB")]
    job: Vec<String>,

    /// Print help.
    #[arg(long, action = ArgAction::HelpLong)]
    help: Option<bool>,
}

/// Planned rescales, as one value for clap.
#[derive(Clone, Debug)]
pub(super) struct RescalePlan(pub Vec<PlannedRescale>);

pub(super) fn parse_plan(text: &str) -> Result<RescalePlan, String> {
    parse_rescales(text).map(RescalePlan)
}

/// Planned kills, as one value for clap.
#[derive(Clone, Debug)]
pub(super) struct KillPlan(pub Vec<PlannedKill>);

pub(super) fn parse_kill_plan(text: &str) -> Result<KillPlan, String> {
    parse_kills(text).map(KillPlan)
}

/// Runs the supervisor.
pub fn run(args: ClusterArgs) -> anyhow::Result<ExitCode> {
    if args.processes == 0 || args.workers == 0 {
        bail!("-n and -w must be at least 1");
    }
    let job = JobCommand::parse(&args.job)?;
    let placement = match (&args.hostfile, args.process) {
        (Some(path), Some(process)) => {
            let hosts = read_hostfile(path)?;
            if process >= hosts.len() {
                bail!(
                    "-p {process} is out of range: {} lists {} process(es)",
                    path.display(),
                    hosts.len()
                );
            }
            if args.rescale_at.is_some() {
                bail!(
                    "--rescale-at needs every process under one supervisor (-n P); with a host file, restart the job with a new one"
                );
            }
            if args.kill_at.is_some() {
                bail!("--kill-at needs every process under one supervisor (-n P)");
            }
            Placement::HostFile {
                path: path.clone(),
                hosts,
                process,
            }
        }
        _ => Placement::Local,
    };
    let processes = match &placement {
        Placement::HostFile { hosts, .. } => hosts.len(),
        Placement::Local => args.processes,
    };
    let config = ClusterConfig {
        binary: std::env::current_exe().context("cannot find the weir executable")?,
        job,
        shape: Shape {
            processes,
            workers: args.workers,
        },
        placement,
        policy: RestartPolicy {
            max_restarts: args.max_restarts,
            backoff: args.backoff,
            max_backoff: args.max_backoff.max(args.backoff),
        },
        rescales: args.rescale_at.map(|plan| plan.0).unwrap_or_default(),
        kills: args.kill_at.map(|plan| plan.0).unwrap_or_default(),
        events_log: args.events_log,
    };
    let (sender, asked) = std::sync::mpsc::channel();
    signals::on_signals(move |signal| {
        let _ = sender.send(signal);
    })?;
    let report = supervisor::supervise(&config, &asked)?;
    let recoveries: Vec<f64> = report.recoveries().filter_map(|r| r.total_ms).collect();
    if !recoveries.is_empty() {
        let mut sorted = recoveries.clone();
        sorted.sort_by(f64::total_cmp);
        eprintln!(
            "weir cluster: {} recovery(ies): median {:.0} ms, max {:.0} ms from failure to results flowing",
            sorted.len(),
            sorted[sorted.len() / 2],
            sorted[sorted.len() - 1]
        );
    }
    Ok(ExitCode::SUCCESS)
}
