//! The snapshot store: what the snapshot layer asks of its storage, and its decisions.
//!
//! The bytes go through [`SnapshotStorage`] (a local directory unless given another); the
//! decisions — what a listing says about each epoch, which snapshot to restore, which to
//! prune — are pure functions over a listing ([`entries_of`], [`choose_snapshot`],
//! [`stale_epochs`]), tested without a disk. What sinks publish, and their logs of it, are
//! theirs (`snapshot::commit`).

use std::io::Seek;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use crate::identity::JobIdentity;
use crate::snapshot::manifest::{epoch_label, Manifest, PartFile, PartKind};
use crate::snapshot::part::read_header;
use crate::snapshot::storage::{LocalDirectory, PartWriter, SnapshotStorage, StoredEpoch};
use crate::time::Time;

/// Which snapshot to restore.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RestoreFrom {
    /// The newest usable snapshot, falling back past damaged or incomplete ones.
    Latest,
    /// Exactly this epoch.
    Epoch(Time),
}

/// The state of one epoch of a store.
#[derive(Clone, Debug)]
pub enum EpochStatus {
    /// A manifest whose own checksum is right (parts not yet checked).
    Complete(Box<Manifest>),
    /// No manifest: the snapshot was never committed.
    Incomplete,
    /// A manifest that cannot be read or fails its checksum.
    Damaged(String),
}

/// One epoch of a store.
#[derive(Clone, Debug)]
pub struct EpochEntry {
    /// The epoch.
    pub epoch: Time,
    /// Where it is kept, for messages.
    pub location: String,
    /// Whether it is complete.
    pub status: EpochStatus,
}

/// A job's snapshots, wherever they are kept.
#[derive(Clone, Debug)]
pub struct SnapshotStore {
    storage: Arc<dyn SnapshotStorage>,
}

impl SnapshotStore {
    /// The store in the local directory `dir` (created when first written).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        SnapshotStore::with_storage(Arc::new(LocalDirectory::new(dir)))
    }

    /// The store kept in `storage`.
    pub fn with_storage(storage: Arc<dyn SnapshotStorage>) -> Self {
        SnapshotStore { storage }
    }

    /// Where the store is, for messages.
    pub fn describe(&self) -> String {
        self.storage.describe(None)
    }

    /// Starts part `name` of `epoch`.
    pub fn create_part(&self, epoch: Time, name: &str) -> anyhow::Result<Box<dyn PartWriter>> {
        Ok(self.storage.create_part(epoch, name)?)
    }

    /// Appends part `file` of `epoch` to `output`, checking its size; on a wrong size the
    /// output is cut back to where it was.
    pub fn copy_part_to(
        &self,
        epoch: Time,
        file: &PartFile,
        output: &mut std::fs::File,
    ) -> anyhow::Result<()> {
        let at = || format!("{}/{}", self.storage.describe(Some(epoch)), file.name);
        let start = output.stream_position()?;
        let copied = self.storage.copy_part_to(epoch, &file.name, output)?;
        if copied != file.bytes {
            output.set_len(start)?;
            bail!(
                "part {} has {copied} bytes, the manifest says {} (truncated or damaged)",
                at(),
                file.bytes
            );
        }
        Ok(())
    }

    /// Makes part `file` of `epoch` the file `to` outside the store (complete or absent),
    /// checking its size; durable once the directory of `to` is synced.
    pub fn export_part(&self, epoch: Time, file: &PartFile, to: &Path) -> anyhow::Result<()> {
        self.storage.export_part(epoch, &file.name, to)?;
        let bytes = std::fs::metadata(to)
            .with_context(|| format!("cannot read {}", to.display()))?
            .len();
        if bytes != file.bytes {
            let _ = std::fs::remove_file(to);
            bail!(
                "part {}/{} has {bytes} bytes, the manifest says {} (truncated or damaged)",
                self.storage.describe(Some(epoch)),
                file.name,
                file.bytes
            );
        }
        Ok(())
    }

    /// Makes part `name` of `from` also part `as_name` of `to`.
    pub fn link_part(&self, from: Time, name: &str, to: Time, as_name: &str) -> anyhow::Result<()> {
        Ok(self.storage.link_part(from, name, to, as_name)?)
    }

    /// Every epoch, oldest first.
    pub fn list(&self) -> anyhow::Result<Vec<EpochEntry>> {
        let stored = self
            .storage
            .list()
            .with_context(|| format!("cannot list the snapshots in {}", self.describe()))?;
        Ok(entries_of(stored, |epoch| {
            self.storage.describe(Some(epoch))
        }))
    }

    /// Reads a part file of `epoch`, checking its size and checksum.
    pub fn read_part(&self, epoch: Time, file: &PartFile) -> anyhow::Result<Vec<u8>> {
        let at = || format!("{}/{}", self.storage.describe(Some(epoch)), file.name);
        let bytes = self
            .storage
            .read_part(epoch, &file.name)
            .with_context(|| format!("cannot read part {}", at()))?;
        if bytes.len() as u64 != file.bytes {
            bail!(
                "part {} has {} bytes, the manifest says {} (truncated or damaged)",
                at(),
                bytes.len(),
                file.bytes
            );
        }
        if crc32fast::hash(&bytes) != file.crc32 {
            bail!("part {} fails its checksum (damaged)", at());
        }
        Ok(bytes)
    }

    /// Checks every part of a snapshot: size, checksum, and for state parts a header that
    /// matches the manifest. The error names the first bad part.
    pub fn verify(&self, manifest: &Manifest) -> anyhow::Result<()> {
        for part in &manifest.parts {
            let Some(file) = &part.file else { continue };
            let bytes = self.read_part(manifest.epoch, file)?;
            if part.kind != PartKind::State {
                continue;
            }
            let (header, _) =
                read_header(&bytes).with_context(|| format!("part {} is damaged", file.name))?;
            let fits = header.fingerprint == manifest.fingerprint
                && header.operator == part.operator
                && header.worker == part.worker
                && header.workers == manifest.workers
                && header.key_groups == manifest.key_groups
                && header.epoch <= manifest.epoch;
            if !fits {
                bail!(
                    "part {} was written by {} (worker {} of {}, epoch {}), not the snapshot that lists it",
                    file.name,
                    header.operator,
                    header.worker,
                    header.workers,
                    epoch_label(header.epoch)
                );
            }
        }
        Ok(())
    }

    /// Whether the store holds any epoch at all.
    pub fn is_empty(&self) -> anyhow::Result<bool> {
        Ok(self.list()?.is_empty())
    }

    /// Chooses the snapshot to restore for a job with `identity`. Skipped snapshots are
    /// described in `messages`. `Ok(None)` means no snapshot was ever completed: the job
    /// starts from the beginning. An error means snapshots exist but none can be used.
    pub fn select(
        &self,
        restore: RestoreFrom,
        identity: &JobIdentity,
        messages: &mut Vec<String>,
    ) -> anyhow::Result<Option<Manifest>> {
        let entries = self.list()?;
        choose_snapshot(
            &entries,
            &self.describe(),
            restore,
            identity,
            |manifest| self.verify(manifest),
            messages,
        )
    }

    /// Writes `manifest`, committing its snapshot.
    pub fn commit(&self, manifest: &Manifest) -> anyhow::Result<()> {
        self.storage
            .commit_manifest(manifest.epoch, &manifest.to_text()?)
            .with_context(|| format!("cannot commit snapshot {}", epoch_label(manifest.epoch)))
    }

    /// Deletes all but the newest `keep` complete snapshots, and every incomplete or damaged
    /// epoch older than the newest complete one.
    pub fn prune(&self, keep: usize) -> anyhow::Result<()> {
        for epoch in stale_epochs(&self.list()?, keep) {
            self.storage.delete_epoch(epoch)?;
        }
        Ok(())
    }

    /// Deletes every epoch after `epoch` (all with `None`): a restored job writes those
    /// again.
    pub fn remove_after(&self, epoch: Option<Time>) -> anyhow::Result<()> {
        for entry in self.list()? {
            if epoch.is_none_or(|e| entry.epoch > e) {
                self.storage.delete_epoch(entry.epoch)?;
            }
        }
        Ok(())
    }
}

/// What a listing says about each epoch: complete (its manifest checks out and is for that
/// epoch), incomplete (no manifest) or damaged. `location` names an epoch in messages.
pub fn entries_of(stored: Vec<StoredEpoch>, location: impl Fn(Time) -> String) -> Vec<EpochEntry> {
    let mut entries: Vec<EpochEntry> = stored
        .into_iter()
        .map(|StoredEpoch { epoch, manifest }| {
            let status = match manifest.as_deref().map(Manifest::from_text) {
                None => EpochStatus::Incomplete,
                Some(Ok(m)) if m.epoch == epoch => EpochStatus::Complete(Box::new(m)),
                Some(Ok(m)) => {
                    EpochStatus::Damaged(format!("its manifest is for epoch {}", m.epoch))
                }
                Some(Err(e)) => EpochStatus::Damaged(format!("{e:#}")),
            };
            EpochEntry {
                epoch,
                location: location(epoch),
                status,
            }
        })
        .collect();
    entries.sort_by_key(|e| e.epoch);
    entries
}

/// The snapshot to restore from `entries` (oldest first): the one named, or the newest
/// whose identity is `identity` and that `check` (the parts intact) passes. Skipped
/// snapshots are described in `messages`; `store` names the store in errors. `Ok(None)`:
/// none was ever completed.
pub fn choose_snapshot(
    entries: &[EpochEntry],
    store: &str,
    restore: RestoreFrom,
    identity: &JobIdentity,
    mut check: impl FnMut(&Manifest) -> anyhow::Result<()>,
    messages: &mut Vec<String>,
) -> anyhow::Result<Option<Manifest>> {
    let mut usable = |manifest: &Manifest| -> anyhow::Result<()> {
        if manifest.identity != *identity {
            bail!(
                "it belongs to another job ({}; this job is {})",
                manifest.identity.describe(),
                identity.describe()
            );
        }
        check(manifest)
    };
    if let RestoreFrom::Epoch(epoch) = restore {
        let Some(entry) = entries.iter().find(|e| e.epoch == epoch) else {
            bail!("there is no snapshot of epoch {epoch} in {store}");
        };
        return match &entry.status {
            EpochStatus::Complete(manifest) => {
                usable(manifest)
                    .with_context(|| format!("snapshot {} cannot be restored", entry.location))?;
                Ok(Some((**manifest).clone()))
            }
            EpochStatus::Incomplete => bail!(
                "snapshot {} is incomplete: it has no manifest",
                entry.location
            ),
            EpochStatus::Damaged(why) => bail!("snapshot {} is damaged: {why}", entry.location),
        };
    }
    let mut any_complete = false;
    let mut incomplete = Vec::new();
    let mut chosen = None;
    for entry in entries.iter().rev() {
        match &entry.status {
            EpochStatus::Incomplete => incomplete.push(epoch_label(entry.epoch)),
            EpochStatus::Damaged(why) => {
                any_complete = true;
                messages.push(format!("skipping snapshot {}: {why}", entry.location));
            }
            EpochStatus::Complete(manifest) => {
                any_complete = true;
                match usable(manifest) {
                    Ok(()) => {
                        chosen = Some((**manifest).clone());
                        break;
                    }
                    Err(why) => {
                        messages.push(format!("skipping snapshot {}: {why:#}", entry.location))
                    }
                }
            }
        }
    }
    if !incomplete.is_empty() {
        incomplete.reverse();
        messages.insert(
            0,
            format!(
                "skipping {} incomplete snapshot(s) without a manifest (epochs {}): a crash came before they committed",
                incomplete.len(),
                incomplete.join(", ")
            ),
        );
    }
    if chosen.is_some() {
        return Ok(chosen);
    }
    if any_complete {
        bail!(
            "no usable snapshot in {store} (every snapshot there is damaged or belongs to another job)"
        );
    }
    Ok(None)
}

/// The epochs to delete so that the newest `keep` (at least one) complete snapshots stay,
/// and every savepoint besides: older complete ones, and incomplete or damaged ones older
/// than the newest complete one (newer ones may be a snapshot still being written).
pub fn stale_epochs(entries: &[EpochEntry], keep: usize) -> Vec<Time> {
    let regular: Vec<Time> = entries
        .iter()
        .filter(|e| matches!(&e.status, EpochStatus::Complete(m) if !m.savepoint))
        .map(|e| e.epoch)
        .collect();
    let Some(newest) = entries
        .iter()
        .filter(|e| matches!(e.status, EpochStatus::Complete(_)))
        .map(|e| e.epoch)
        .next_back()
    else {
        return Vec::new();
    };
    let kept = &regular[regular.len().saturating_sub(keep.max(1))..];
    entries
        .iter()
        .filter(|entry| match &entry.status {
            EpochStatus::Complete(manifest) => !manifest.savepoint && !kept.contains(&entry.epoch),
            _ => entry.epoch < newest,
        })
        .map(|entry| entry.epoch)
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::snapshot::manifest::{Part, FORMAT_VERSION};
    use crate::snapshot::storage::memory::MemoryStorage;

    fn identity(seed: u64) -> JobIdentity {
        JobIdentity {
            pipeline: "seed-state".to_string(),
            events: 1000,
            event_rate: 1000.0,
            seed,
            keys: 10,
            input: None,
            skip_bad_input: false,
            out_of_orderness: 0,
            key_groups: 8,
            state: crate::state::StateKind::Hash,
            side_input: None,
        }
    }

    fn manifest(epoch: Time, identity: &JobIdentity, parts: Vec<Part>) -> Manifest {
        Manifest {
            format: FORMAT_VERSION,
            epoch,
            is_final: false,
            fingerprint: identity.fingerprint(),
            identity: identity.clone(),
            key_groups: 8,
            workers: 1,
            processes: 1,
            operators: Vec::new(),
            parts,
            committed_unix_ms: 0,
            savepoint: false,
        }
    }

    fn stored(epoch: Time, manifest: Option<&Manifest>) -> StoredEpoch {
        StoredEpoch {
            epoch,
            manifest: manifest.map(|m| m.to_text().expect("manifest text")),
        }
    }

    fn entries(stored: Vec<StoredEpoch>) -> Vec<EpochEntry> {
        entries_of(stored, |epoch| format!("epoch-{epoch}"))
    }

    #[test]
    fn a_listing_tells_complete_incomplete_and_damaged_epochs_apart() {
        let ours = identity(1);
        let good = manifest(3000, &ours, Vec::new());
        let elsewhere = manifest(9000, &ours, Vec::new());
        let mut torn = stored(4000, Some(&manifest(4000, &ours, Vec::new())));
        torn.manifest.as_mut().expect("text").truncate(20);
        let listed = entries(vec![
            stored(5000, Some(&elsewhere)),
            torn,
            stored(2000, None),
            stored(3000, Some(&good)),
        ]);
        assert_eq!(
            listed.iter().map(|e| e.epoch).collect::<Vec<_>>(),
            vec![2000, 3000, 4000, 5000]
        );
        assert!(matches!(listed[0].status, EpochStatus::Incomplete));
        assert!(matches!(&listed[1].status, EpochStatus::Complete(m) if **m == good));
        assert!(matches!(listed[2].status, EpochStatus::Damaged(_)));
        // A manifest copied into the wrong epoch is damaged, not believed.
        assert!(
            matches!(&listed[3].status, EpochStatus::Damaged(why) if why.contains("epoch 9000"))
        );
    }

    #[test]
    fn restoring_takes_the_newest_usable_snapshot_and_says_what_it_skipped() {
        let (ours, theirs) = (identity(1), identity(2));
        let listed = entries(vec![
            stored(1000, Some(&manifest(1000, &ours, Vec::new()))),
            stored(2000, Some(&manifest(2000, &ours, Vec::new()))),
            stored(3000, Some(&manifest(3000, &theirs, Vec::new()))),
            stored(4000, Some(&manifest(4000, &ours, Vec::new()))),
            stored(5000, None),
        ]);
        let mut messages = Vec::new();
        // Epoch 4000's parts are damaged; 3000 belongs to another job.
        let check = |m: &Manifest| -> anyhow::Result<()> {
            if m.epoch == 4000 {
                bail!("part p fails its checksum");
            }
            Ok(())
        };
        let chosen = choose_snapshot(
            &listed,
            "S",
            RestoreFrom::Latest,
            &ours,
            check,
            &mut messages,
        )
        .expect("a snapshot");
        assert_eq!(chosen.map(|m| m.epoch), Some(2000));
        assert_eq!(messages.len(), 3, "{messages:?}");
        assert!(messages[0].contains("incomplete") && messages[0].contains("5000"));
        assert!(messages[1].contains("epoch-4000") && messages[1].contains("checksum"));
        assert!(messages[2].contains("epoch-3000") && messages[2].contains("another job"));

        // Named epochs: exactly that one, or an error saying why not.
        let named = |epoch| {
            choose_snapshot(
                &listed,
                "S",
                RestoreFrom::Epoch(epoch),
                &ours,
                check,
                &mut Vec::new(),
            )
        };
        assert_eq!(
            named(1000).expect("epoch 1000").map(|m| m.epoch),
            Some(1000)
        );
        for (epoch, why) in [
            (3000, "another job"),
            (4000, "checksum"),
            (5000, "incomplete"),
            (6000, "no snapshot of epoch 6000 in S"),
        ] {
            let error = format!("{:#}", named(epoch).expect_err("refused"));
            assert!(error.contains(why), "{epoch}: {error}");
        }

        // Nothing complete: start from the beginning. Only unusable ones: an error.
        let fresh = entries(vec![stored(1000, None)]);
        let none = choose_snapshot(
            &fresh,
            "S",
            RestoreFrom::Latest,
            &ours,
            check,
            &mut messages,
        );
        assert!(none.expect("nothing to restore").is_none());
        let foreign = entries(vec![stored(
            1000,
            Some(&manifest(1000, &theirs, Vec::new())),
        )]);
        let error = choose_snapshot(
            &foreign,
            "S",
            RestoreFrom::Latest,
            &ours,
            check,
            &mut messages,
        )
        .expect_err("no usable snapshot");
        assert!(format!("{error:#}").contains("no usable snapshot in S"));
    }

    #[test]
    fn pruning_keeps_the_newest_complete_snapshots_and_what_may_still_be_written() {
        let ours = identity(1);
        let complete = |e| stored(e, Some(&manifest(e, &ours, Vec::new())));
        let mut torn = complete(3500);
        torn.manifest = Some("damaged".to_string());
        let listed = entries(vec![
            complete(1000),
            stored(1500, None),
            complete(2000),
            complete(3000),
            torn,
            complete(4000),
            stored(5000, None),
        ]);
        assert_eq!(stale_epochs(&listed, 2), vec![1000, 1500, 2000, 3500]);
        // At least one complete snapshot always stays; newer incomplete ones are being written.
        assert_eq!(stale_epochs(&listed, 0), vec![1000, 1500, 2000, 3000, 3500]);
        assert_eq!(stale_epochs(&listed, 10), vec![1500, 3500]);
        assert!(stale_epochs(&entries(vec![stored(1000, None)]), 1).is_empty());
    }

    #[test]
    fn pruning_never_deletes_a_savepoint_nor_counts_it_among_the_kept() {
        let ours = identity(1);
        let complete = |e, savepoint| {
            let mut manifest = manifest(e, &ours, Vec::new());
            manifest.savepoint = savepoint;
            stored(e, Some(&manifest))
        };
        let listed = entries(vec![
            complete(1000, false),
            complete(2000, true),
            complete(3000, false),
            stored(3500, None),
            complete(4000, false),
            complete(5000, true),
        ]);
        assert_eq!(stale_epochs(&listed, 1), vec![1000, 3000, 3500]);
        assert_eq!(stale_epochs(&listed, 2), vec![1000, 3500]);
    }

    #[test]
    fn a_store_on_other_storage_commits_verifies_and_prunes_through_it() {
        let storage = MemoryStorage::default();
        let store = SnapshotStore::with_storage(Arc::new(storage.clone()));
        let ours = identity(1);
        for epoch in [1000, 2000, 3000] {
            let mut part = store.create_part(epoch, "p-w0").expect("create");
            part.write(&epoch.to_le_bytes()).expect("write");
            part.finish().expect("finish");
            let file = PartFile {
                name: "p-w0".to_string(),
                bytes: 8,
                crc32: crc32fast::hash(&epoch.to_le_bytes()),
            };
            let parts = vec![Part {
                operator: "p".to_string(),
                kind: PartKind::Source,
                worker: 0,
                file: Some(file),
                inline: None,
            }];
            store
                .commit(&manifest(epoch, &ours, parts))
                .expect("commit");
        }
        store.prune(2).expect("prune");
        let epochs: Vec<Time> = store
            .list()
            .expect("list")
            .iter()
            .map(|e| e.epoch)
            .collect();
        assert_eq!(epochs, vec![2000, 3000]);
        // A damaged part makes its snapshot unusable: restore falls back past it.
        storage.damage(3000, "p-w0", b"12345678");
        let mut messages = Vec::new();
        let chosen = store
            .select(RestoreFrom::Latest, &ours, &mut messages)
            .expect("select");
        assert_eq!(chosen.map(|m| m.epoch), Some(2000));
        assert!(messages[0].contains("memory:epoch-3000"), "{messages:?}");
        store.remove_after(Some(1000)).expect("remove after");
        assert!(store.is_empty().expect("list"));
    }
}
