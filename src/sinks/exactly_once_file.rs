//! The exactly-once file sink's commit side: publishing committed output into `--output
//! FILE`, and bringing the file back in line with a restored snapshot.
//!
//! Staged parts are appended to the file (a kernel copy) when their snapshot commits, the
//! file is synced, and its new length is logged in the publication log, `published.jsonl`
//! in the snapshot directory: one `{"epoch":T,"output":FILE,"bytes":N}` line per publish,
//! FILE relative to the snapshot directory, sealed with a checksum and rewritten whole
//! (temp file, sync, rename), trimmed to what a restore at a kept snapshot needs. Recovery truncates the file to the length logged for the
//! restored epoch and publishes committed epochs that a crash left unpublished: publishing
//! is idempotent. A log that fails its checksum is an error, never trusted.

use std::fs::{self, File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use crate::snapshot::{
    check_unpublished, fault_point, seal, staged_parts, sync_dir, unseal, CommittingSink,
    EpochStatus, Manifest, SnapshotStore,
};
use crate::time::Time;

/// The participant id of a job's exactly-once output.
pub const OUTPUT_PARTICIPANT: &str = "output";

const PUBLISHED: &str = "published.jsonl";

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

/// Exactly-once output to one file: the [`CommittingSink`] behind `--output FILE` in a job
/// that snapshots.
#[derive(Clone, Debug)]
pub struct ExactlyOnceFile {
    store: SnapshotStore,
    /// Where the publication log is kept: the snapshot directory.
    log_dir: PathBuf,
    output: PathBuf,
    participant: String,
}

impl ExactlyOnceFile {
    /// Publishes the staged parts of `participant` in `store` to `output`, logging what it
    /// published in `log_dir`. Several files may share one log: each entry names its file.
    pub fn new(store: SnapshotStore, log_dir: PathBuf, output: PathBuf, participant: &str) -> Self {
        ExactlyOnceFile {
            store,
            log_dir,
            output,
            participant: participant.to_string(),
        }
    }

    /// The output file.
    pub fn output(&self) -> &Path {
        &self.output
    }

    fn log_path(&self) -> PathBuf {
        self.log_dir.join(PUBLISHED)
    }

    /// The publication log, every file's entries. A log that fails its checksum is an
    /// error, never trusted: what it says decides which output bytes are kept.
    pub fn published(&self) -> anyhow::Result<Vec<Published>> {
        let path = self.log_path();
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
        let dir = absolute(&self.log_dir)?;
        let output = absolute(output)?;
        let relative = pathdiff::diff_paths(&output, &dir).unwrap_or(output);
        Ok(relative.display().to_string())
    }

    /// The output file a log entry names, as a path from the current directory.
    fn logged_output(&self, entry: &Published) -> anyhow::Result<PathBuf> {
        absolute(&self.log_dir.join(&entry.output))
    }

    fn write_published(&self, log: &[Published]) -> anyhow::Result<()> {
        let path = self.log_path();
        let temp = self.log_dir.join(format!("{PUBLISHED}.tmp"));
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
        Ok(sync_dir(&self.log_dir)?)
    }

    /// Appends the output staged in a committed snapshot to the file, then logs it.
    fn append_committed(&self, manifest: &Manifest) -> anyhow::Result<()> {
        let output = self.output.as_path();
        // Not opened for appending: the kernel copies into a file only at an explicit offset.
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(output)
            .with_context(|| format!("cannot open output file {}", output.display()))?;
        file.seek(SeekFrom::End(0))
            .with_context(|| format!("cannot write output file {}", output.display()))?;
        for (index, part) in staged_parts(manifest, &self.participant).iter().enumerate() {
            // Copied by the kernel (copy_file_range where it can), not read and rewritten:
            // publishing is on the path of every output byte. The size is checked here;
            // checksums were checked when the part was written, and are again when a
            // restore publishes what a crash left unpublished.
            self.store
                .copy_part_to(manifest.epoch, part, &mut file)
                .with_context(|| format!("cannot write output file {}", output.display()))?;
            if index == 0 {
                fault_point("mid-publish");
            }
        }
        file.sync_all()?;
        let bytes = file.metadata()?.len();
        drop(file);
        let name = self.log_name(output)?;
        let (mut log, others) = self.split_log(self.published()?)?;
        log.push(Published {
            epoch: manifest.epoch,
            output: name,
            bytes,
        });
        let (mut oldest, mut savepoints) = (None, Vec::new());
        for entry in self.store.list()? {
            if let EpochStatus::Complete(manifest) = entry.status {
                if manifest.savepoint {
                    savepoints.push(entry.epoch);
                } else {
                    oldest = oldest.or(Some(entry.epoch));
                }
            }
        }
        trim_log(&mut log, oldest, &savepoints);
        self.write_published(&[others, log].concat())
    }

    /// The entries of a log that are this file's, and those of other files sharing it.
    fn split_log(&self, log: Vec<Published>) -> anyhow::Result<(Vec<Published>, Vec<Published>)> {
        let wanted = absolute(&self.output)?;
        let mut mine = Vec::new();
        let mut others = Vec::new();
        for entry in log {
            if self.logged_output(&entry)? == wanted {
                mine.push(entry);
            } else {
                others.push(entry);
            }
        }
        Ok((mine, others))
    }

    /// Makes `output` hold exactly the output of the epochs up to `epoch` (`None`: nothing),
    /// before a restored job writes more: truncates to what was published by then and
    /// publishes committed epochs that a crash left unpublished.
    fn reconcile(&self, epoch: Option<Time>) -> anyhow::Result<Vec<String>> {
        let output = self.output.as_path();
        let mut messages = Vec::new();
        let (mut log, others) = self.split_log(self.published()?)?;
        if log.is_empty()
            && let Some(entry) = others.first()
        {
            // Committed output went elsewhere: this file would miss what was published.
            let logged = self.logged_output(entry)?;
            bail!(
                    "the snapshots in {} publish to {}, not {}; restore with the --output flags of the job that took them",
                    self.log_dir.display(),
                    logged.display(),
                    output.display()
                );
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
        self.write_published(&[others, log].concat())?;
        if let Some(epoch) = epoch {
            for entry in self.store.list()? {
                if let EpochStatus::Complete(manifest) = entry.status {
                    let pending =
                        entry.epoch <= epoch && last_published.is_none_or(|p| entry.epoch > p);
                    if pending {
                        check_unpublished(&self.store, &manifest, &mut messages)?;
                        self.append_committed(&manifest)?;
                    }
                }
            }
        }
        Ok(messages)
    }
}

impl CommittingSink for ExactlyOnceFile {
    fn participant(&self) -> &str {
        &self.participant
    }

    fn describe(&self) -> String {
        self.output.display().to_string()
    }

    fn has_published(&self) -> anyhow::Result<bool> {
        Ok(!self.published()?.is_empty())
    }

    fn publish(&self, manifest: &Manifest) -> anyhow::Result<()> {
        self.append_committed(manifest)
    }

    fn recover(&self, epoch: Option<Time>) -> anyhow::Result<Vec<String>> {
        self.reconcile(epoch)
    }
}

/// Drops the publications no restore can need, so that the log, rewritten at every publish,
/// stays as short as the snapshots kept: a restore at a kept epoch `e` cuts the output back
/// to the newest publication at or before `e`, so the log keeps every entry from the oldest
/// kept regular snapshot `oldest` on and the last one before it, and for each savepoint
/// (kept however old) the newest entry at or before it.
fn trim_log(log: &mut Vec<Published>, oldest: Option<Time>, savepoints: &[Time]) {
    let Some(oldest) = oldest else { return };
    let before = log.iter().take_while(|p| p.epoch < oldest).count();
    let first_kept = before.saturating_sub(1);
    let needed_by_savepoints: Vec<usize> = savepoints
        .iter()
        .filter_map(|&s| log.iter().rposition(|p| p.epoch <= s))
        .collect();
    let mut index = 0;
    log.retain(|_| {
        let keep = index >= first_kept || needed_by_savepoints.contains(&index);
        index += 1;
        keep
    });
}

/// `path` made absolute and free of `.` and `..`, without touching the file system (the
/// file may not exist yet): two spellings of one output are the same output.
pub(crate) fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
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
        let output = root.path().join("results").join("out.jsonl");
        let snaps = root.path().join("snaps");
        let store = ExactlyOnceFile::new(
            SnapshotStore::new(&snaps),
            snaps.clone(),
            output.clone(),
            OUTPUT_PARTICIPANT,
        );
        fs::create_dir_all(&snaps).expect("create store");
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
    fn the_log_keeps_what_a_restore_at_a_kept_snapshot_needs() {
        let epochs = |log: &[Published]| log.iter().map(|p| p.epoch).collect::<Vec<_>>();
        let full: Vec<Published> = (1..=6).map(|e| entry(e * 1000, e * 10)).collect();
        let mut log = full.clone();
        trim_log(&mut log, Some(4000), &[]);
        assert_eq!(epochs(&log), vec![3000, 4000, 5000, 6000]);
        // A savepoint, however old, keeps what a restore there needs.
        let mut log = full.clone();
        trim_log(&mut log, Some(5000), &[1500, 2000]);
        assert_eq!(epochs(&log), vec![1000, 2000, 4000, 5000, 6000]);
        // The oldest kept snapshot was never published (a crash): the last publication
        // before it is what a restore there cuts back to.
        let mut log = full.clone();
        trim_log(&mut log, Some(4500), &[]);
        assert_eq!(epochs(&log), vec![4000, 5000, 6000]);
        let mut log = full.clone();
        trim_log(&mut log, None, &[]);
        assert_eq!(log, full);
        let mut log = full.clone();
        trim_log(&mut log, Some(500), &[]);
        assert_eq!(log, full);
    }

    #[test]
    fn a_damaged_publication_log_is_an_error() {
        let root = tempfile::tempdir().expect("temp dir");
        let store = ExactlyOnceFile::new(
            SnapshotStore::new(root.path()),
            root.path().to_path_buf(),
            root.path().join("o"),
            OUTPUT_PARTICIPANT,
        );
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
