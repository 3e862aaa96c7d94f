//! Flags that `weir run` and `weir bench` share: workers and processes, snapshots, and the
//! parameters of generated input.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;
use clap::Args;

use weir::job::{JobConfig, Pipeline};
use weir::migration::{MigrationSpec, Strategy};
use weir::runtime::{read_hostfile, ClusterSpec, SnapshotOptions, Workers};
use weir::state::StateKind;

use super::args::{parse_count, parse_duration};

/// `-w`, `-n`, `-p`, `-h`: who runs the job.
#[derive(Args, Debug)]
pub struct WorkerArgs {
    /// Worker threads per process, e.g. -w 4.
    #[arg(short = 'w', long = "workers", value_name = "W", default_value_t = 1)]
    workers: usize,

    /// Number of processes, e.g. -n 2 (each started with its own -p).
    #[arg(short = 'n', long = "processes", value_name = "P", default_value_t = 1)]
    processes: usize,

    /// This process's index among the -n processes, e.g. -p 0.
    #[arg(short = 'p', long = "process", value_name = "I", default_value_t = 0)]
    process: usize,

    /// File of host:port lines, one per process [default: localhost:2101, 2102, ...].
    #[arg(short = 'h', long = "hostfile", value_name = "FILE")]
    hostfile: Option<PathBuf>,

    /// Seconds to wait for the other processes to come up.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    connect_timeout: u64,
}

impl WorkerArgs {
    /// The workers these flags describe, checked.
    pub fn workers(&self) -> anyhow::Result<Workers> {
        if self.workers == 0 {
            bail!("-w must be at least 1");
        }
        if self.processes == 0 {
            bail!("-n must be at least 1");
        }
        if self.process >= self.processes {
            bail!(
                "-p {} is out of range: with -n {} it must be below {}",
                self.process,
                self.processes,
                self.processes
            );
        }
        let cluster = if self.processes > 1 {
            let hosts = match &self.hostfile {
                Some(path) => read_hostfile(path)?,
                None => (0..self.processes)
                    .map(|i| format!("localhost:{}", 2101 + i))
                    .collect(),
            };
            if hosts.len() != self.processes {
                bail!(
                    "-n {} processes, but the host file lists {}",
                    self.processes,
                    hosts.len()
                );
            }
            Some(ClusterSpec {
                hosts,
                process: self.process,
                threads: self.workers,
                connect_timeout: Duration::from_secs(self.connect_timeout),
            })
        } else {
            None
        };
        Ok(Workers {
            threads: self.workers,
            cluster,
        })
    }
}

/// `--snapshot-dir`, `--snapshot-every`, `--keep-snapshots`.
#[derive(Args, Debug)]
pub struct SnapshotArgs {
    /// Take frontier-aligned snapshots into DIR (shared storage across hosts); output is
    /// then published exactly once, to --output FILE, as snapshots commit.
    #[arg(long, value_name = "DIR")]
    pub snapshot_dir: Option<PathBuf>,

    /// Snapshot every D of event time, e.g. 500ms, 1s [default: 1s].
    #[arg(long, value_name = "D", value_parser = parse_duration, requires = "snapshot_dir")]
    snapshot_every: Option<Duration>,

    /// Complete snapshots to keep, e.g. 3.
    #[arg(long, value_name = "K", default_value_t = 3, requires = "snapshot_dir")]
    keep_snapshots: usize,
}

impl SnapshotArgs {
    /// The snapshot options, if snapshots were asked for (never restoring).
    pub fn options(&self) -> anyhow::Result<Option<SnapshotOptions>> {
        if self
            .snapshot_every
            .is_some_and(|every| every.as_millis() == 0)
        {
            bail!("--snapshot-every must be at least 1ms");
        }
        Ok(self.snapshot_dir.as_ref().map(|dir| SnapshotOptions {
            dir: dir.clone(),
            every: self.snapshot_every.unwrap_or(Duration::from_secs(1)),
            keep: self.keep_snapshots.max(1),
            restore: None,
        }))
    }
}

/// `--seed`, `--keys`, `--key-groups`: what generated input and keyed state look like.
#[derive(Args, Debug)]
pub struct GeneratedArgs {
    /// Seed of generated input, e.g. 42.
    #[arg(long, value_name = "S", default_value_t = 0)]
    seed: u64,

    /// Distinct keys of generated input (seed-state values, wordcount vocabulary), e.g. 10k.
    #[arg(long, value_name = "K", value_parser = parse_count, default_value = "1000")]
    keys: u64,

    /// Number of key groups G, fixed for the life of a job, e.g. 256.
    #[arg(long, value_name = "G", default_value_t = weir::state::DEFAULT_KEY_GROUPS)]
    key_groups: u32,

    /// How keyed state is kept: hash (maps per key) or arranged (differential-dataflow
    /// arrangements); the pipeline's own default when not given.
    #[arg(long, value_name = "KIND")]
    state: Option<StateKind>,

    /// The side table of a pipeline that joins with one (nexmark-q13), as JSON lines,
    /// e.g. --side-input side.jsonl [default: the pipeline's own].
    #[arg(long, value_name = "FILE")]
    side_input: Option<PathBuf>,

    /// Move key groups among the running workers at event times, without stopping:
    /// WHEN:PLAN[,WHEN:PLAN...], PLAN `reverse` (every group to the mirror worker) or moves
    /// `gA-gB>wN` joined by `+`, e.g. --migrate-at 5s:reverse,9s:g0-g63>w1.
    #[arg(long, value_name = "WHEN:PLAN")]
    migrate_at: Option<String>,

    /// How a migration's moves are spread: all-at-once, fluid (one group a step) or
    /// batched[:N] (N groups a step).
    #[arg(
        long,
        value_name = "S",
        default_value = "fluid",
        requires = "migrate_at"
    )]
    migration: Strategy,

    /// Event time between two steps of a fluid or batched migration, e.g. 1ms.
    #[arg(long, value_name = "D", value_parser = humantime::parse_duration, default_value = "1ms", requires = "migrate_at")]
    migration_step: std::time::Duration,
}

impl GeneratedArgs {
    /// Sets these parameters of a run of `pipeline` in `config`, checked.
    pub fn apply(&self, config: &mut JobConfig, pipeline: &Pipeline) -> anyhow::Result<()> {
        if self.key_groups == 0 {
            bail!("--key-groups must be at least 1");
        }
        let default = pipeline.states.first().copied().unwrap_or_default();
        let state = self.state.unwrap_or(default);
        if !pipeline.states.contains(&state) {
            let kinds: Vec<&str> = pipeline.states.iter().map(|k| k.name()).collect();
            bail!(
                "{} keeps its state only as {}; it has no --state {state}",
                pipeline.name,
                kinds.join(" or ")
            );
        }
        config.state = state;
        if self.side_input.is_some() && !pipeline.side_input {
            bail!(
                "{} joins with no side table; it takes no --side-input",
                pipeline.name
            );
        }
        config.side_input = self.side_input.clone();
        config.seed = self.seed;
        config.keys = self.keys.max(1);
        config.key_groups = self.key_groups;
        config.migration = match &self.migrate_at {
            Some(plan) => Some(
                MigrationSpec::new(plan, self.migration, self.migration_step.as_millis() as u64)
                    .map_err(|e| anyhow::anyhow!("--migrate-at: {e}"))?,
            ),
            None => None,
        };
        Ok(())
    }
}
