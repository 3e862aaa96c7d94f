//! The snapshot store: a directory per epoch holding part files and, written last, the
//! manifest. What sinks publish, and their logs of it, are theirs (`snapshot::commit`).
//!
//! ```text
//! DIR/epoch-00000000000000003000/p00-counts-w0.part      parts, one per participant and worker
//! DIR/epoch-00000000000000003000/MANIFEST                written last: temp, fsync, rename, fsync dir
//! ```

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use crate::job::JobIdentity;
use crate::snapshot::fault::fault_point;
use crate::snapshot::manifest::{epoch_label, Manifest, PartFile, PartKind};
use crate::snapshot::part::read_header;
use crate::time::Time;

const MANIFEST: &str = "MANIFEST";
const EPOCH_PREFIX: &str = "epoch-";

/// Which snapshot to restore.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RestoreFrom {
    /// The newest usable snapshot, falling back past damaged or incomplete ones.
    Latest,
    /// Exactly this epoch.
    Epoch(Time),
}

/// The state of one epoch directory.
#[derive(Clone, Debug)]
pub enum EpochStatus {
    /// A manifest whose own checksum is right (parts not yet checked).
    Complete(Box<Manifest>),
    /// No manifest: the snapshot was never committed.
    Incomplete,
    /// A manifest that cannot be read or fails its checksum.
    Damaged(String),
}

/// One epoch directory of a store.
#[derive(Clone, Debug)]
pub struct EpochEntry {
    /// The epoch.
    pub epoch: Time,
    /// Its directory.
    pub dir: PathBuf,
    /// Whether it is complete.
    pub status: EpochStatus,
}

/// A snapshot directory.
#[derive(Clone, Debug)]
pub struct SnapshotStore {
    dir: PathBuf,
}

impl SnapshotStore {
    /// The store in `dir` (created when first written).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        SnapshotStore { dir: dir.into() }
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of the file `name` in the directory of `epoch`.
    pub fn part_path(&self, epoch: Time, name: &str) -> PathBuf {
        self.epoch_dir(epoch).join(name)
    }

    /// The directory of `epoch`.
    pub fn epoch_dir(&self, epoch: Time) -> PathBuf {
        self.dir.join(format!("{EPOCH_PREFIX}{epoch:020}"))
    }

    /// Every epoch directory, oldest first.
    pub fn list(&self) -> anyhow::Result<Vec<EpochEntry>> {
        let mut entries = Vec::new();
        let listing = match fs::read_dir(&self.dir) {
            Ok(listing) => listing,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(entries),
            Err(e) => {
                return Err(e).with_context(|| {
                    format!("cannot read snapshot directory {}", self.dir.display())
                })
            }
        };
        for item in listing {
            let item = item?;
            let name = item.file_name().to_string_lossy().to_string();
            let Some(epoch) = name
                .strip_prefix(EPOCH_PREFIX)
                .and_then(|e| e.parse::<Time>().ok())
            else {
                continue;
            };
            let dir = item.path();
            let manifest = dir.join(MANIFEST);
            let status = if !manifest.exists() {
                EpochStatus::Incomplete
            } else {
                match Manifest::read(&manifest) {
                    Ok(m) if m.epoch == epoch => EpochStatus::Complete(Box::new(m)),
                    Ok(m) => EpochStatus::Damaged(format!("its manifest is for epoch {}", m.epoch)),
                    Err(e) => EpochStatus::Damaged(format!("{e:#}")),
                }
            };
            entries.push(EpochEntry { epoch, dir, status });
        }
        entries.sort_by_key(|e| e.epoch);
        Ok(entries)
    }

    /// Reads a part file of `epoch`, checking its size and checksum.
    pub fn read_part(&self, epoch: Time, file: &PartFile) -> anyhow::Result<Vec<u8>> {
        let path = self.epoch_dir(epoch).join(&file.name);
        let bytes =
            fs::read(&path).with_context(|| format!("cannot read part {}", path.display()))?;
        if bytes.len() as u64 != file.bytes {
            bail!(
                "part {} has {} bytes, the manifest says {} (truncated or damaged)",
                path.display(),
                bytes.len(),
                file.bytes
            );
        }
        if crc32fast::hash(&bytes) != file.crc32 {
            bail!("part {} fails its checksum (damaged)", path.display());
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

    /// Whether the store holds any epoch directory at all.
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
        if let RestoreFrom::Epoch(epoch) = restore {
            let Some(entry) = entries.iter().find(|e| e.epoch == epoch) else {
                bail!(
                    "there is no snapshot of epoch {epoch} in {}",
                    self.dir.display()
                );
            };
            return match &entry.status {
                EpochStatus::Complete(manifest) => {
                    self.usable(manifest, identity).with_context(|| {
                        format!("snapshot {} cannot be restored", entry.dir.display())
                    })?;
                    Ok(Some((**manifest).clone()))
                }
                EpochStatus::Incomplete => bail!(
                    "snapshot {} is incomplete: it has no manifest",
                    entry.dir.display()
                ),
                EpochStatus::Damaged(why) => {
                    bail!("snapshot {} is damaged: {why}", entry.dir.display())
                }
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
                    messages.push(format!("skipping snapshot {}: {why}", entry.dir.display()));
                }
                EpochStatus::Complete(manifest) => {
                    any_complete = true;
                    match self.usable(manifest, identity) {
                        Ok(()) => {
                            chosen = Some((**manifest).clone());
                            break;
                        }
                        Err(why) => messages.push(format!(
                            "skipping snapshot {}: {why:#}",
                            entry.dir.display()
                        )),
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
                "no usable snapshot in {} (every snapshot there is damaged or belongs to another job)",
                self.dir.display()
            );
        }
        Ok(None)
    }

    /// Whether a complete snapshot fits this job and all its parts are intact.
    fn usable(&self, manifest: &Manifest, identity: &JobIdentity) -> anyhow::Result<()> {
        if manifest.identity != *identity {
            bail!(
                "it belongs to another job ({}; this job is {})",
                manifest.identity.describe(),
                identity.describe()
            );
        }
        self.verify(manifest)
    }

    /// Writes `manifest` into its epoch directory, committing the snapshot: the parts'
    /// directory entries are made durable first, then the manifest goes to a temporary file,
    /// is synced, renamed into place and its directory synced.
    pub fn commit(&self, manifest: &Manifest) -> anyhow::Result<()> {
        let dir = self.epoch_dir(manifest.epoch);
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        sync_dir(&dir)?;
        let temp = dir.join(format!("{MANIFEST}.tmp"));
        let mut file =
            File::create(&temp).with_context(|| format!("cannot create {}", temp.display()))?;
        file.write_all(manifest.to_text()?.as_bytes())?;
        file.sync_all()?;
        drop(file);
        fault_point("before-manifest-rename");
        fs::rename(&temp, dir.join(MANIFEST))
            .with_context(|| format!("cannot commit {}", dir.display()))?;
        sync_dir(&dir)?;
        sync_dir(&self.dir)?;
        Ok(())
    }

    /// Deletes all but the newest `keep` complete snapshots, and every incomplete or damaged
    /// epoch older than the newest complete one.
    pub fn prune(&self, keep: usize) -> anyhow::Result<()> {
        let entries = self.list()?;
        let complete: Vec<Time> = entries
            .iter()
            .filter(|e| matches!(e.status, EpochStatus::Complete(_)))
            .map(|e| e.epoch)
            .collect();
        let Some(&newest) = complete.last() else {
            return Ok(());
        };
        let keep_from = complete.len().saturating_sub(keep.max(1));
        let kept: Vec<Time> = complete[keep_from..].to_vec();
        for entry in entries {
            let stale = match entry.status {
                EpochStatus::Complete(_) => !kept.contains(&entry.epoch),
                _ => entry.epoch < newest,
            };
            if stale {
                fs::remove_dir_all(&entry.dir)
                    .with_context(|| format!("cannot remove {}", entry.dir.display()))?;
            }
        }
        Ok(())
    }

    /// Deletes every epoch after `epoch`: a restored job writes those again.
    pub fn remove_after(&self, epoch: Option<Time>) -> anyhow::Result<()> {
        for entry in self.list()? {
            if epoch.is_none_or(|e| entry.epoch > e) {
                fs::remove_dir_all(&entry.dir)
                    .with_context(|| format!("cannot remove {}", entry.dir.display()))?;
            }
        }
        Ok(())
    }
}

/// Makes a directory's entries durable.
pub fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync directory {}", dir.display()))
}
