//! Exactly-once output to a directory of segments: `--output DIR/` in a job that snapshots.
//!
//! Each worker's staged output of a committed epoch becomes one segment of the directory,
//! `DIR/EEEEEEEEEEEEEEEEEEEE-NAME.jsonl` (the epoch, 20 digits, so that names sort in commit
//! order), by a hard link to the part the writer thread already wrote and synced: no output
//! byte is written twice, and publishing an epoch costs one directory sync. (Where the
//! snapshot directory is on another file system the part is copied instead.) The segments
//! themselves are the record of what was published, so this sink keeps no log: recovery
//! deletes the segments of epochs after the restored one and links what a crash left
//! unpublished. This is Flink's file sink, whose part files are committed by a checkpoint,
//! without its renames.
//!
//! Read the output with `cat DIR/*.jsonl`: the segments of one epoch hold its lines in
//! worker order, and the epochs follow each other.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::snapshot::{
    check_unpublished, fault_point, staged_parts, sync_dir, CommittingSink, EpochStatus, Manifest,
    PartFile, SnapshotStore,
};
use crate::time::Time;

/// Exactly-once output to a directory of per-epoch segments.
#[derive(Clone, Debug)]
pub struct ExactlyOnceDirectory {
    store: SnapshotStore,
    dir: PathBuf,
    participant: String,
}

impl ExactlyOnceDirectory {
    /// Publishes the staged parts of `participant` in `store` as segments of `dir`.
    pub fn new(store: SnapshotStore, dir: PathBuf, participant: &str) -> Self {
        ExactlyOnceDirectory {
            store,
            dir,
            participant: participant.to_string(),
        }
    }

    /// The segment file of staged part `part` of the committed `epoch`.
    pub fn segment_name(epoch: Time, part: &str) -> String {
        format!("{epoch:020}-{part}")
    }

    /// The epoch a segment file was committed in, if `name` is one.
    pub fn segment_epoch(name: &str) -> Option<Time> {
        let (epoch, rest) = name.split_once('-')?;
        let is_segment = epoch.len() == 20 && rest.ends_with(".jsonl");
        is_segment.then(|| epoch.parse().ok()).flatten()
    }

    /// The staged parts of a committed epoch whose segments are not there yet (or not
    /// whole): a segment is complete or absent, so one of the right size was published.
    fn unpublished<'m>(&self, manifest: &'m Manifest) -> Vec<(&'m PartFile, PathBuf)> {
        staged_parts(manifest, &self.participant)
            .into_iter()
            .map(|part| {
                let segment = self
                    .dir
                    .join(Self::segment_name(manifest.epoch, &part.name));
                (part, segment)
            })
            .filter(|(part, segment)| !fs::metadata(segment).is_ok_and(|m| m.len() == part.bytes))
            .collect()
    }

    /// Links the segments of a committed epoch that are not there yet.
    fn export(
        &self,
        manifest: &Manifest,
        unpublished: Vec<(&PartFile, PathBuf)>,
    ) -> anyhow::Result<()> {
        fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create output directory {}", self.dir.display()))?;
        for (index, (part, segment)) in unpublished.into_iter().enumerate() {
            let _ = fs::remove_file(&segment);
            self.store
                .export_part(manifest.epoch, part, &segment)
                .with_context(|| format!("cannot publish to {}", segment.display()))?;
            if index == 0 {
                fault_point("mid-publish");
            }
        }
        sync_dir(&self.dir)?;
        Ok(())
    }
}

impl CommittingSink for ExactlyOnceDirectory {
    fn participant(&self) -> &str {
        &self.participant
    }

    fn describe(&self) -> String {
        format!("{}/", self.dir.display())
    }

    fn has_published(&self) -> anyhow::Result<bool> {
        Ok(!listing(&self.dir)?.0.is_empty())
    }

    fn publish(&self, manifest: &Manifest) -> anyhow::Result<()> {
        self.export(manifest, self.unpublished(manifest))
    }

    fn recover(&self, epoch: Option<Time>) -> anyhow::Result<Vec<String>> {
        let mut messages = Vec::new();
        let (segments, leftovers) = listing(&self.dir)?;
        let later: Vec<&String> = segments
            .iter()
            .filter(|(e, _)| epoch.is_none_or(|restored| *e > restored))
            .map(|(_, name)| name)
            .collect();
        if !later.is_empty() {
            messages.push(format!(
                "removing {} segments of output from {} that no restored snapshot covers",
                later.len(),
                self.describe()
            ));
        }
        for name in later.into_iter().chain(&leftovers) {
            let path = self.dir.join(name);
            fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
        }
        if self.dir.exists() {
            sync_dir(&self.dir)?;
        }
        let Some(epoch) = epoch else {
            return Ok(messages);
        };
        for entry in self.store.list()? {
            let EpochStatus::Complete(manifest) = entry.status else {
                continue;
            };
            if entry.epoch > epoch {
                continue;
            }
            let unpublished = self.unpublished(&manifest);
            if unpublished.is_empty() {
                continue;
            }
            check_unpublished(&self.store, &manifest, &mut messages)?;
            self.export(&manifest, unpublished)?;
        }
        Ok(messages)
    }
}

/// The segments of an output directory in the order they were committed: what `cat
/// DIR/*.jsonl` reads.
pub fn segments_of(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    Ok(listing(dir)?
        .0
        .into_iter()
        .map(|(_, name)| dir.join(name))
        .collect())
}

/// What an output directory holds: its segments with their epochs, oldest first, and the
/// leftovers of copies a crash interrupted.
type Listing = (Vec<(Time, String)>, Vec<String>);

fn listing(dir: &Path) -> anyhow::Result<Listing> {
    let mut segments = Vec::new();
    let mut leftovers = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((segments, leftovers)),
        Err(e) => {
            return Err(e)
                .with_context(|| format!("cannot read output directory {}", dir.display()));
        }
    };
    for entry in entries {
        let entry =
            entry.with_context(|| format!("cannot read output directory {}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(epoch) = ExactlyOnceDirectory::segment_epoch(&name) {
            segments.push((epoch, name));
        } else if name
            .strip_suffix(".tmp")
            .is_some_and(|n| ExactlyOnceDirectory::segment_epoch(n).is_some())
        {
            leftovers.push(name);
        }
    }
    segments.sort();
    Ok((segments, leftovers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_sort_in_commit_order_and_parse_back() {
        let names: Vec<String> = [3000, 1000, crate::snapshot::FINAL_EPOCH, 20000]
            .iter()
            .map(|&e| ExactlyOnceDirectory::segment_name(e, "p01-output-w0.jsonl"))
            .collect();
        let mut sorted = names.clone();
        sorted.sort();
        let epochs: Vec<Time> = sorted
            .iter()
            .filter_map(|n| ExactlyOnceDirectory::segment_epoch(n))
            .collect();
        assert_eq!(
            epochs,
            vec![1000, 3000, 20000, crate::snapshot::FINAL_EPOCH]
        );
        for other in [
            "run-p0.jsonl",
            "1000-x.jsonl",
            "00000000000000001000-x.txt",
            "notes",
        ] {
            assert_eq!(ExactlyOnceDirectory::segment_epoch(other), None, "{other}");
        }
    }
}
