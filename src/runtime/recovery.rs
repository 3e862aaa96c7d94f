//! Before a job that snapshots starts: choosing the snapshot to resume from, making the
//! output file agree with it, and clearing what a crash left half-done.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use crate::job::JobConfig;
use crate::sinks::{OutputSpec, OUTPUT_PARTICIPANT};
use crate::snapshot::{
    epoch_label, CommittingSink, EpochStatus, Manifest, RestoreFrom, SnapshotStore,
};
use crate::sources::LineInput;
use crate::time::Time;

/// How a job snapshots, as asked for on the command line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotOptions {
    /// The snapshot directory (shared storage when processes run on several hosts).
    pub dir: PathBuf,
    /// Epochs are the multiples of this much event time.
    pub every: Duration,
    /// Complete snapshots to keep.
    pub keep: usize,
    /// Resume from a snapshot instead of starting afresh.
    pub restore: Option<RestoreFrom>,
}

impl SnapshotOptions {
    /// Snapshots every `every_ms` milliseconds of event time into `dir`, keeping 3.
    pub fn new(dir: impl Into<PathBuf>, every_ms: Time) -> Self {
        SnapshotOptions {
            dir: dir.into(),
            every: Duration::from_millis(every_ms),
            keep: 3,
            restore: None,
        }
    }

    /// The epoch interval in milliseconds (at least 1).
    pub fn every_ms(&self) -> Time {
        (self.every.as_millis() as Time).max(1)
    }
}

/// What recovery decided.
pub(crate) struct Recovery {
    pub(crate) store: SnapshotStore,
    /// The sinks that publish committed output: one per `--output` destination.
    pub(crate) sinks: Vec<Arc<dyn CommittingSink>>,
    /// The snapshot to restore, if any.
    pub(crate) manifest: Option<Manifest>,
    /// What was skipped or repaired, for the user.
    pub(crate) messages: Vec<String>,
}

/// Checks that a job can snapshot at all.
pub(crate) fn check(config: &JobConfig) -> anyhow::Result<()> {
    if config.input == Some(LineInput::Stdin) {
        bail!(
            "snapshots need input that can be read again; standard input cannot (use --input FILE)"
        );
    }
    Ok(())
}

/// On process 0: chooses the snapshot to restore (or none), brings the output file in line
/// with it, and removes epochs after it. Other processes only read what process 0 chose.
pub(crate) fn prepare(
    options: &SnapshotOptions,
    config: &JobConfig,
    output: &OutputSpec,
) -> anyhow::Result<Recovery> {
    let store = SnapshotStore::new(&options.dir);
    let sinks = output.committing_sinks(&store, &options.dir, OUTPUT_PARTICIPANT)?;
    std::fs::create_dir_all(&options.dir)
        .with_context(|| format!("cannot create snapshot directory {}", options.dir.display()))?;
    let mut messages = Vec::new();
    let manifest = match options.restore {
        None => {
            if !store.is_empty()? {
                bail!(
                    "{} already holds snapshots of a job: pass --restore latest to resume it, or use an empty directory",
                    options.dir.display()
                );
            }
            for sink in &sinks {
                if sink.has_published()? {
                    bail!(
                        "{} already holds output that a job published as its snapshots committed: pass --restore latest to resume that job, or publish somewhere new",
                        sink.describe()
                    );
                }
            }
            None
        }
        Some(restore) => {
            let manifest = store.select(restore, &config.identity(), &mut messages)?;
            match &manifest {
                Some(m) => messages.push(format!(
                    "restoring snapshot {} ({} workers, {} bytes)",
                    epoch_label(m.epoch),
                    m.workers,
                    m.total_bytes()
                )),
                None => messages.push(format!(
                    "no snapshot in {} was ever completed: starting from the beginning (nothing was published, so nothing is doubled)",
                    options.dir.display()
                )),
            }
            manifest
        }
    };
    let epoch = manifest.as_ref().map(|m| m.epoch);
    store.remove_after(epoch)?;
    for sink in &sinks {
        messages.extend(sink.recover(epoch)?);
    }
    Ok(Recovery {
        store,
        sinks,
        manifest,
        messages,
    })
}

/// On the other processes: the snapshot process 0 chose.
pub(crate) fn follow(
    options: &SnapshotOptions,
    output: &OutputSpec,
    epoch: Option<Time>,
) -> anyhow::Result<Recovery> {
    let store = SnapshotStore::new(&options.dir);
    let manifest = match epoch {
        None => None,
        Some(epoch) => {
            let entry = store.list()?.into_iter().find(|e| e.epoch == epoch);
            match entry.map(|e| e.status) {
                Some(EpochStatus::Complete(manifest)) => Some(*manifest),
                _ => bail!(
                    "process 0 restores snapshot {} of {}, which this process cannot read (is the snapshot directory shared?)",
                    epoch_label(epoch),
                    options.dir.display()
                ),
            }
        }
    };
    Ok(Recovery {
        sinks: output.committing_sinks(&store, &options.dir, OUTPUT_PARTICIPANT)?,
        store,
        manifest,
        messages: Vec::new(),
    })
}
