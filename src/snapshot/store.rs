//! The snapshot store: a directory per epoch holding part files and, written last, the
//! manifest; plus the log of what output has been published.
//!
//! ```text
//! DIR/epoch-00000000000000003000/p00-counts-w0.part      parts, one per participant and worker
//! DIR/epoch-00000000000000003000/MANIFEST                written last: temp, fsync, rename, fsync dir
//! DIR/published.jsonl                                     {"epoch":T,"output":FILE,"bytes":N} per publish,
//!                                                         then `crc32 XXXXXXXX`; FILE relative to DIR
//! ```

use std::fs::{self, File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use crate::job::JobIdentity;
use crate::snapshot::fault::fault_point;
use crate::snapshot::manifest::{epoch_label, Manifest, PartFile, PartKind};
use crate::snapshot::part::read_header;
use crate::snapshot::sealed::{seal, unseal};
use crate::time::Time;

const MANIFEST: &str = "MANIFEST";
const PUBLISHED: &str = "published.jsonl";
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

/// One line of the publication log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    /// The epoch whose output was published.
    pub epoch: Time,
    /// The output file, relative to the snapshot directory: a snapshot directory moved
    /// together with its output (or mounted elsewhere on another host) still matches.
    pub output: String,
    /// The output file's length after publishing.
    pub bytes: u64,
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

    /// The publication log. A log that fails its checksum is an error, never trusted: what
    /// it says decides which output bytes are kept.
    pub fn published(&self) -> anyhow::Result<Vec<Published>> {
        let path = self.dir.join(PUBLISHED);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let what = format!("the publication log {}", path.display());
        let body = unseal(&text, &what)?;
        body.lines()
            .map(|line| {
                serde_json::from_str::<Published>(line)
                    .with_context(|| format!("{what} has a line that is not a publication: {line}"))
            })
            .collect()
    }

    /// `output` as the publication log names it: relative to the snapshot directory.
    fn log_name(&self, output: &Path) -> anyhow::Result<String> {
        let dir = absolute(&self.dir)?;
        let output = absolute(output)?;
        let relative = pathdiff::diff_paths(&output, &dir).unwrap_or(output);
        Ok(relative.display().to_string())
    }

    /// The output file a log entry names, as a path from the current directory.
    fn logged_output(&self, entry: &Published) -> anyhow::Result<PathBuf> {
        absolute(&self.dir.join(&entry.output))
    }

    fn write_published(&self, log: &[Published]) -> anyhow::Result<()> {
        let path = self.dir.join(PUBLISHED);
        let temp = self.dir.join(format!("{PUBLISHED}.tmp"));
        let mut body = String::new();
        for entry in log {
            body.push_str(&serde_json::to_string(entry)?);
            body.push('\n');
        }
        let text = seal(&body);
        let write = || -> std::io::Result<()> {
            let mut file = File::create(&temp)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            fs::rename(&temp, &path)
        };
        write().with_context(|| format!("cannot write {}", path.display()))?;
        sync_dir(&self.dir)
    }

    /// Appends the output staged in a committed snapshot to `output`, then logs it.
    /// Idempotent with [`SnapshotStore::reconcile_output`]: a crash before the log line is
    /// written is undone by truncating to the last logged length.
    pub fn publish(&self, manifest: &Manifest, output: &Path) -> anyhow::Result<()> {
        // Not opened for appending: the kernel copies into a file only at an explicit offset.
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(output)
            .with_context(|| format!("cannot open output file {}", output.display()))?;
        file.seek(SeekFrom::End(0))
            .with_context(|| format!("cannot write output file {}", output.display()))?;
        let mut parts: Vec<_> = manifest
            .parts
            .iter()
            .filter(|p| p.kind == PartKind::Output)
            .filter_map(|p| p.file.as_ref().map(|f| (p.worker, &p.operator, f)))
            .collect();
        parts.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        for (index, (_, _, part)) in parts.iter().enumerate() {
            // Copied by the kernel (copy_file_range where it can), not read and rewritten:
            // publishing is on the path of every output byte. The size is checked here;
            // checksums were checked when the part was written, and are again when a
            // restore publishes what a crash left unpublished.
            let path = self.epoch_dir(manifest.epoch).join(&part.name);
            let mut staged = File::open(&path)
                .with_context(|| format!("cannot read part {}", path.display()))?;
            let length = staged.metadata()?.len();
            if length != part.bytes {
                bail!(
                    "part {} has {length} bytes, the manifest says {} (truncated or damaged)",
                    path.display(),
                    part.bytes
                );
            }
            std::io::copy(&mut staged, &mut file)
                .with_context(|| format!("cannot write output file {}", output.display()))?;
            if index == 0 {
                fault_point("mid-publish");
            }
        }
        file.sync_all()?;
        let bytes = file.metadata()?.len();
        drop(file);
        let mut log = self.published()?;
        log.push(Published {
            epoch: manifest.epoch,
            output: self.log_name(output)?,
            bytes,
        });
        self.write_published(&log)
    }

    /// Makes `output` hold exactly the output of the epochs up to `epoch` (`None`: nothing),
    /// before a restored job writes more: truncates to what was published by then and
    /// publishes committed epochs that a crash left unpublished.
    pub fn reconcile_output(
        &self,
        epoch: Option<Time>,
        output: &Path,
    ) -> anyhow::Result<Vec<String>> {
        let mut messages = Vec::new();
        let mut log = self.published()?;
        let wanted = absolute(output)?;
        for entry in &log {
            let logged = self.logged_output(entry)?;
            if logged != wanted {
                bail!(
                    "the snapshots in {} publish to {}; restore with --output {}",
                    self.dir.display(),
                    logged.display(),
                    logged.display()
                );
            }
        }
        log.retain(|p| epoch.is_some_and(|e| p.epoch <= e));
        let length = log.last().map_or(0, |p| p.bytes);
        let last_published = log.last().map(|p| p.epoch);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(output)
            .with_context(|| format!("cannot open output file {}", output.display()))?;
        let current = file.metadata()?.len();
        if current < length {
            bail!(
                "output file {} has {current} bytes, fewer than the {length} already published: it was changed outside weir",
                output.display()
            );
        }
        if current > length {
            messages.push(format!(
                "removing {} bytes of output from {} that no committed snapshot covers",
                current - length,
                output.display()
            ));
        }
        file.set_len(length)?;
        file.sync_all()?;
        drop(file);
        self.write_published(&log)?;
        if let Some(epoch) = epoch {
            for entry in self.list()? {
                if let EpochStatus::Complete(manifest) = entry.status {
                    let pending =
                        entry.epoch <= epoch && last_published.is_none_or(|p| entry.epoch > p);
                    if pending {
                        self.verify(&manifest).with_context(|| {
                            format!(
                                "cannot publish the output of committed snapshot {}",
                                epoch_label(entry.epoch)
                            )
                        })?;
                        messages.push(format!(
                            "publishing the output of committed snapshot {} left unpublished by a crash",
                            epoch_label(entry.epoch)
                        ));
                        self.publish(&manifest, output)?;
                    }
                }
            }
        }
        Ok(messages)
    }
}

/// `path` made absolute and free of `.` and `..`, without touching the file system (the
/// file may not exist yet).
fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    let path = std::path::absolute(path)
        .with_context(|| format!("cannot resolve the path {}", path.display()))?;
    let mut clean = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                clean.pop();
            }
            other => clean.push(other),
        }
    }
    Ok(clean)
}

/// Makes a directory's entries durable.
pub(crate) fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync directory {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(epoch: Time, bytes: u64) -> Published {
        Published {
            epoch,
            output: "../out.jsonl".to_string(),
            bytes,
        }
    }

    #[test]
    fn the_publication_log_names_outputs_relative_to_the_store() {
        let root = tempfile::tempdir().expect("temp dir");
        let store = SnapshotStore::new(root.path().join("snaps"));
        fs::create_dir_all(store.dir()).expect("create store");
        let output = root.path().join("results").join("out.jsonl");
        assert_eq!(store.log_name(&output).unwrap(), "../results/out.jsonl");
        let log = vec![Published {
            epoch: 1000,
            output: store.log_name(&output).unwrap(),
            bytes: 7,
        }];
        store.write_published(&log).unwrap();
        assert_eq!(store.published().unwrap(), log);
        assert_eq!(
            store.logged_output(&log[0]).unwrap(),
            absolute(&output).unwrap()
        );
        // The same file named another way is the same output.
        let roundabout = root
            .path()
            .join("snaps")
            .join("..")
            .join("results/./out.jsonl");
        assert_eq!(absolute(&roundabout).unwrap(), absolute(&output).unwrap());
    }

    #[test]
    fn a_damaged_publication_log_is_an_error() {
        let root = tempfile::tempdir().expect("temp dir");
        let store = SnapshotStore::new(root.path());
        store
            .write_published(&[entry(1000, 10), entry(2000, 25)])
            .unwrap();
        assert_eq!(store.published().unwrap().len(), 2);
        let path = root.path().join(PUBLISHED);
        let text = fs::read_to_string(&path).unwrap();
        // A changed length, a lost line, a torn end: each is reported, none believed.
        let damaged = [
            text.replace("\"bytes\":25", "\"bytes\":26"),
            text.lines()
                .skip(1)
                .map(|l| format!("{l}\n"))
                .collect::<String>(),
            text[..text.len() - 5].to_string(),
        ];
        for bad in damaged {
            fs::write(&path, &bad).unwrap();
            let error = format!("{:#}", store.published().unwrap_err());
            assert!(error.contains("publication log"), "{error}");
        }
    }
}
