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
//! every sink in [`SnapshotSettings`](crate::snapshot::SnapshotSettings) (the runtime makes
//! one per `--output` destination, [`OutputSpec::committing_sinks`]), which picks out its
//! own parts (those of its participant id). Several sinks may publish the same staged
//! parts: `--output a.jsonl --output b/` stages each line once and publishes it twice.
//!
//! [`OutputSpec::committing_sinks`]: crate::sinks::OutputSpec::committing_sinks
//!
//! A sink that publishes each committed epoch's staged bytes to an in-memory topic, at most
//! once per epoch however often a crash makes it publish again:
//!
//! ```
//! use std::collections::BTreeMap;
//! use std::sync::Mutex;
//! use weir::identity::JobIdentity;
//! use weir::snapshot::{
//!     staged_parts, CommittingSink, Manifest, Part, PartFile, PartKind, SnapshotStore,
//!     FORMAT_VERSION,
//! };
//!
//! #[derive(Debug)]
//! struct Topic {
//!     store: SnapshotStore,
//!     published: Mutex<BTreeMap<u64, Vec<u8>>>,
//! }
//!
//! impl CommittingSink for Topic {
//!     fn participant(&self) -> &str {
//!         "topic"
//!     }
//!     fn describe(&self) -> String {
//!         "memory:topic".into()
//!     }
//!     fn has_published(&self) -> anyhow::Result<bool> {
//!         Ok(!self.published.lock().unwrap().is_empty())
//!     }
//!     fn publish(&self, manifest: &Manifest) -> anyhow::Result<()> {
//!         let mut published = self.published.lock().unwrap();
//!         if published.contains_key(&manifest.epoch) {
//!             return Ok(()); // published before a crash: never twice
//!         }
//!         let mut bytes = Vec::new();
//!         for file in staged_parts(manifest, self.participant()) {
//!             bytes.extend(self.store.read_part(manifest.epoch, file)?);
//!         }
//!         published.insert(manifest.epoch, bytes);
//!         Ok(())
//!     }
//!     fn recover(&self, epoch: Option<u64>) -> anyhow::Result<Vec<String>> {
//!         // What was published for epochs after the restored one is withdrawn.
//!         let mut published = self.published.lock().unwrap();
//!         published.retain(|&e, _| epoch.is_some_and(|restored| e <= restored));
//!         Ok(Vec::new())
//!     }
//! }
//!
//! let root = tempfile::tempdir().unwrap();
//! let store = SnapshotStore::new(root.path());
//! // What the writer thread does for the sink: stage epoch 1000's bytes durably.
//! let mut part = store.create_part(1000, "topic-w0").unwrap();
//! part.write(b"{\"n\":1}\n").unwrap();
//! part.finish().unwrap();
//! let file = PartFile { name: "topic-w0".into(), bytes: 8, crc32: crc32fast::hash(b"{\"n\":1}\n") };
//! let identity = JobIdentity {
//!     pipeline: "example".into(), events: 1, event_rate: 1.0, seed: 0, keys: 1,
//!     input: None, skip_bad_input: false, out_of_orderness: 0, key_groups: 1,
//!     state: weir::state::StateKind::Hash, side_input: None,
//! };
//! let manifest = Manifest {
//!     format: FORMAT_VERSION, epoch: 1000, is_final: false,
//!     fingerprint: identity.fingerprint(), identity, key_groups: 1, workers: 1,
//!     processes: 1, operators: vec!["topic".into()], committed_unix_ms: 0, savepoint: false,
//!     parts: vec![Part { operator: "topic".into(), kind: PartKind::Output, worker: 0,
//!                        file: Some(file), inline: None }],
//! };
//! store.commit(&manifest).unwrap();
//!
//! let topic = Topic { store, published: Mutex::new(BTreeMap::new()) };
//! topic.publish(&manifest).unwrap();
//! topic.publish(&manifest).unwrap(); // a restore publishes again: nothing doubles
//! assert_eq!(topic.published.lock().unwrap()[&1000], b"{\"n\":1}\n");
//! topic.recover(None).unwrap(); // restored from the beginning: nothing stays published
//! assert!(!topic.has_published().unwrap());
//! ```

use anyhow::Context;

use crate::snapshot::manifest::{epoch_label, Manifest, PartFile};
use crate::snapshot::store::SnapshotStore;
use crate::time::Time;

/// A sink that publishes staged output when the snapshot holding it commits.
pub trait CommittingSink: Send + Sync + std::fmt::Debug {
    /// The participant id its staged parts carry in manifests (e.g. `output`).
    fn participant(&self) -> &str;

    /// Where it publishes, for messages: a path or a URL.
    fn describe(&self) -> String;

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
        .filter(|p| p.kind.is_staged() && p.operator == participant)
        .filter_map(|p| p.file.as_ref().map(|file| (p.worker, file)))
        .collect();
    parts.sort_by_key(|(worker, _)| *worker);
    parts.into_iter().map(|(_, file)| file).collect()
}

/// Before a sink publishes a committed epoch that a crash left unpublished: checks every
/// part of `manifest` (its staged bytes were last checked when written, before the crash)
/// and tells the person running the job.
pub fn check_unpublished(
    store: &SnapshotStore,
    manifest: &Manifest,
    messages: &mut Vec<String>,
) -> anyhow::Result<()> {
    let epoch = epoch_label(manifest.epoch);
    store
        .verify(manifest)
        .with_context(|| format!("cannot publish the output of committed snapshot {epoch}"))?;
    messages.push(format!(
        "publishing the output of committed snapshot {epoch} left unpublished by a crash"
    ));
    Ok(())
}
