//! The supervisor's decisions, as pure functions over data: what the job's command line is,
//! when to give up, how long to wait before a restart, when a planned rescale is due.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;

use crate::pipelines;
use crate::runtime::Shape;

/// Flags the supervisor sets on every process itself, so the job must not give them.
const OWNED_FLAGS: &[&str] = &[
    "-n",
    "--processes",
    "-p",
    "--process",
    "-h",
    "--hostfile",
    "-w",
    "--workers",
    "--progress-log",
];

/// The job a supervisor runs, as given after `--`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobCommand {
    /// `run` (or another subcommand that runs a job), the pipeline, and its flags without
    /// `--restore`.
    pub args: Vec<String>,
    /// The job's snapshot directory.
    pub snapshot_dir: PathBuf,
    /// `--restore` of the first start, if given.
    pub first_restore: Option<String>,
}

impl JobCommand {
    /// Checks the job's command line: `run PIPELINE FLAGS...` with `--snapshot-dir` and
    /// without the layout flags that the supervisor sets.
    pub fn parse(args: &[String]) -> anyhow::Result<JobCommand> {
        let usage = "give the job after --, e.g. weir cluster -n 2 -- run seed-state --snapshot-dir snaps --output out.jsonl";
        match args.first() {
            None => bail!("no job to supervise: {usage}"),
            Some(bench) if bench == "bench" => bail!(
                "weir cluster supervises `run` jobs; to measure a job through failures and rescales, give weir bench --kill-at or --rescale-at"
            ),
            Some(subcommand) if subcommand != "run" => {
                bail!("weir cluster supervises `run` jobs, not {subcommand:?}: {usage}")
            }
            Some(_) => Self::checked(args, usage),
        }
    }

    /// The command line of one start of a benchmark under a supervisor, `bench PIPELINE
    /// FLAGS...`, checked as [`parse`](Self::parse) checks a `run` job.
    pub fn bench(args: &[String]) -> anyhow::Result<JobCommand> {
        match args.first() {
            Some(bench) if bench == "bench" => Self::checked(args, "bench PIPELINE FLAGS..."),
            _ => bail!("a supervised benchmark runs `bench PIPELINE FLAGS...`"),
        }
    }

    fn checked(args: &[String], usage: &str) -> anyhow::Result<JobCommand> {
        let (subcommand, rest) = args.split_first().expect("the caller saw a subcommand");
        let Some(pipeline) = rest.first().filter(|p| !p.starts_with('-')) else {
            bail!("no pipeline after `{subcommand}`: {usage}");
        };
        pipelines::find(pipeline)?;
        let mut kept = vec![subcommand.clone(), pipeline.clone()];
        let (mut snapshot_dir, mut first_restore) = (None, None);
        let mut flags = rest[1..].iter();
        while let Some(flag) = flags.next() {
            let (name, inline) = match flag.split_once('=') {
                Some((name, value)) if name.starts_with("--") => (name, Some(value.to_string())),
                _ => (flag.as_str(), None),
            };
            if OWNED_FLAGS.contains(&name) {
                bail!(
                    "the job gives {name}, but weir cluster sets the layout of every process itself: give -n and -w to weir cluster, before --"
                );
            }
            let mut value = |what: &str| -> anyhow::Result<String> {
                match inline.clone().or_else(|| flags.next().cloned()) {
                    Some(value) => Ok(value),
                    None => bail!("{name} needs {what}"),
                }
            };
            match name {
                "--snapshot-dir" => {
                    let dir = value("a directory")?;
                    kept.extend(["--snapshot-dir".to_string(), dir.clone()]);
                    snapshot_dir = Some(PathBuf::from(dir));
                }
                "--restore" => first_restore = Some(value("latest or an epoch")?),
                _ => kept.push(flag.clone()),
            }
        }
        let Some(snapshot_dir) = snapshot_dir else {
            bail!(
                "the job has no --snapshot-dir: weir cluster restarts a failed job from its snapshots, so it needs them"
            );
        };
        Ok(JobCommand {
            args: kept,
            snapshot_dir,
            first_restore,
        })
    }
}

/// When to restart and when to give up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestartPolicy {
    /// Restarts in a row without progress (no snapshot committed) before giving up.
    pub max_restarts: usize,
    /// The wait before the second restart in a row without progress; it doubles with each
    /// further one. The first restart after progress is immediate.
    pub backoff: Duration,
    /// The longest wait.
    pub max_backoff: Duration,
}

impl RestartPolicy {
    /// What to do after a failure that follows `failures_in_a_row - 1` earlier ones without
    /// progress in between: `Some(wait)` to restart after `wait`, `None` to give up.
    pub fn after_failure(&self, failures_in_a_row: usize) -> Option<Duration> {
        if failures_in_a_row > self.max_restarts {
            return None;
        }
        let doublings = failures_in_a_row.saturating_sub(2).min(30) as u32;
        Some(match failures_in_a_row {
            0 | 1 => Duration::ZERO,
            _ => self
                .backoff
                .saturating_mul(1 << doublings)
                .min(self.max_backoff),
        })
    }
}

/// A planned rescale: at `after` since the supervisor started, change to `shape`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlannedRescale {
    /// Wall-clock time since the supervisor started.
    pub after: Duration,
    /// The new shape.
    pub shape: Shape,
}

/// Parses `WHEN:PxW[,WHEN:PxW...]`, e.g. `20s:3x2,40s:1x1`, in order of time.
pub fn parse_rescales(text: &str) -> Result<Vec<PlannedRescale>, String> {
    let mut plan = Vec::new();
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (when, shape) = item
            .split_once(':')
            .ok_or_else(|| format!("{item:?} is not WHEN:PxW, e.g. 20s:3x2"))?;
        let after = humantime::parse_duration(when.trim())
            .map_err(|e| format!("{when:?} in {item:?} is not a duration: {e}"))?;
        plan.push(PlannedRescale {
            after,
            shape: shape.parse()?,
        });
    }
    if plan.windows(2).any(|w| w[0].after >= w[1].after) {
        return Err(format!("the rescales in {text:?} are not in order of time"));
    }
    Ok(plan)
}

/// A planned failure: at `after` since the supervisor started, kill a process with
/// SIGKILL, as `kill -9` would.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlannedKill {
    /// Wall-clock time since the supervisor started.
    pub after: Duration,
    /// The process to kill; `None` is the job's last process at the time.
    pub process: Option<usize>,
}

/// Parses `WHEN[:PROCESS][,WHEN[:PROCESS]...]`, e.g. `5s` or `3s:0,8s:1`, in order of time.
pub fn parse_kills(text: &str) -> Result<Vec<PlannedKill>, String> {
    let mut plan = Vec::new();
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (when, process) = match item.split_once(':') {
            Some((when, process)) => {
                let process = process.trim().parse().map_err(|_| {
                    format!("{process:?} in {item:?} is not a process index, e.g. 5s:1")
                })?;
                (when, Some(process))
            }
            None => (item, None),
        };
        let after = humantime::parse_duration(when.trim())
            .map_err(|e| format!("{when:?} in {item:?} is not a duration: {e}"))?;
        plan.push(PlannedKill { after, process });
    }
    if plan.is_empty() {
        return Err("no kill given: WHEN[:PROCESS],..., e.g. 5s or 3s:0,8s:1".to_string());
    }
    if plan.windows(2).any(|w| w[0].after >= w[1].after) {
        return Err(format!("the kills in {text:?} are not in order of time"));
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn a_job_command_keeps_its_flags_and_gives_up_its_restore() {
        let job = JobCommand::parse(&args(
            "run seed-state --events 1M --snapshot-dir=snaps --restore latest --output o.jsonl",
        ))
        .unwrap();
        assert_eq!(
            job.args,
            args("run seed-state --events 1M --snapshot-dir snaps --output o.jsonl")
        );
        assert_eq!(job.snapshot_dir, PathBuf::from("snaps"));
        assert_eq!(job.first_restore.as_deref(), Some("latest"));
    }

    #[test]
    fn a_bad_job_command_says_what_is_wrong() {
        let error = |line: &str| format!("{:#}", JobCommand::parse(&args(line)).unwrap_err());
        assert!(error("").contains("after --"));
        assert!(error("bench seed-state").contains("--kill-at"));
        assert!(error("chaos seed-state").contains("`run` jobs"));
        assert!(error("run --events 5").contains("no pipeline"));
        assert!(error("run no-such --snapshot-dir s").contains("no pipeline named"));
        assert!(error("run seed-state --output o").contains("no --snapshot-dir"));
        assert!(error("run seed-state --snapshot-dir s -w 2").contains("give -n and -w"));
        assert!(error("run seed-state --snapshot-dir").contains("needs a directory"));
    }

    #[test]
    fn restarts_back_off_exponentially_and_give_up_after_the_limit() {
        let policy = RestartPolicy {
            max_restarts: 4,
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(250),
        };
        let waits: Vec<Option<u128>> = (1..=5)
            .map(|n| policy.after_failure(n).map(|d| d.as_millis()))
            .collect();
        assert_eq!(waits, vec![Some(0), Some(100), Some(200), Some(250), None]);
    }

    #[test]
    fn planned_rescales_parse_in_order() {
        let plan = parse_rescales("2s:2x1, 4500ms:1x3").unwrap();
        assert_eq!(plan[1].after, Duration::from_millis(4500));
        assert_eq!(
            plan[1].shape,
            Shape {
                processes: 1,
                workers: 3
            }
        );
        assert!(parse_rescales("4s:2x1,2s:1x1")
            .unwrap_err()
            .contains("order"));
        assert!(parse_rescales("2s").unwrap_err().contains("WHEN:PxW"));
        assert!(parse_rescales("2s:0x1")
            .unwrap_err()
            .contains("at least one"));
        assert!(parse_rescales("soon:1x1").unwrap_err().contains("duration"));
    }

    #[test]
    fn planned_kills_parse_with_and_without_a_process() {
        let plan = parse_kills("3s, 8s:1").unwrap();
        assert_eq!(
            plan,
            vec![
                PlannedKill {
                    after: Duration::from_secs(3),
                    process: None
                },
                PlannedKill {
                    after: Duration::from_secs(8),
                    process: Some(1)
                }
            ]
        );
        assert!(parse_kills("8s,3s").unwrap_err().contains("order"));
        assert!(parse_kills("3s:one").unwrap_err().contains("process index"));
        assert!(parse_kills("later").unwrap_err().contains("duration"));
        assert!(parse_kills("").unwrap_err().contains("no kill"));
    }

    #[test]
    fn a_benchmark_start_is_checked_like_a_job() {
        let job = JobCommand::bench(&args("bench seed-state --rate 1k --snapshot-dir s")).unwrap();
        assert_eq!(job.snapshot_dir, PathBuf::from("s"));
        assert!(JobCommand::bench(&args("run seed-state --snapshot-dir s")).is_err());
        assert!(JobCommand::bench(&args("bench seed-state --rate 1k")).is_err());
    }
}
