//! Committing sinks: how a sink takes part in a snapshot's commit.
//!
//! A sink stages what belongs to epoch `T` as its part of the snapshot (written and synced
//! by the writer thread, like any part); once the manifest of `T` has committed, the
//! coordinating process asks each committing sink to publish its parts; before a restored
//! job runs, each sink makes what it has published agree with the restored epoch. Publishing
//! must be idempotent with recovery: a crash between commit and publish, or in the middle
//! of publishing, neither loses nor doubles anything. This is Flink's two-phase-commit sink
//! (pre-commit = the staged part is durable, commit = publish) without a transaction
//! coordinator: the manifest is the commit record.
//!
//! The snapshot layer knows nothing of files or brokers: it hands a committed manifest to
//! every sink registered in [`SnapshotSettings`](crate::snapshot::SnapshotSettings), which
//! picks out its own parts (those of its participant id).

use crate::snapshot::manifest::{Manifest, PartFile, PartKind};
use crate::time::Time;

/// A sink that publishes staged output when the snapshot holding it commits.
pub trait CommittingSink: Send + Sync + std::fmt::Debug {
    /// The participant id its staged parts carry in manifests (e.g. `output`).
    fn participant(&self) -> &str;

    /// Whether it has published anything: a job that starts afresh refuses a snapshot
    /// directory whose sinks have.
    fn has_published(&self) -> anyhow::Result<bool>;

    /// Publishes this sink's parts of the committed `manifest`; called once per committed
    /// epoch, in epoch order, and again by [`recover`](Self::recover) after a crash.
    fn publish(&self, manifest: &Manifest) -> anyhow::Result<()>;

    /// Before a job restored at `epoch` (`None`: from the beginning) runs: withdraws what
    /// was published for later epochs and publishes committed epochs up to `epoch` that a
    /// crash left unpublished. Returns messages for the person running the job.
    fn recover(&self, epoch: Option<Time>) -> anyhow::Result<Vec<String>>;
}

/// The files of the staged output parts of `participant` in `manifest`, in worker order.
pub fn staged_parts<'a>(manifest: &'a Manifest, participant: &str) -> Vec<&'a PartFile> {
    let mut parts: Vec<(usize, &PartFile)> = manifest
        .parts
        .iter()
        .filter(|p| p.kind == PartKind::Output && p.operator == participant)
        .filter_map(|p| p.file.as_ref().map(|file| (p.worker, file)))
        .collect();
    parts.sort_by_key(|(worker, _)| *worker);
    parts.into_iter().map(|(_, file)| file).collect()
}
