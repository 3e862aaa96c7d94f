//! Where snapshots are kept: the one narrow interface every byte of the snapshot layer goes
//! through, and its implementation on a local directory.
//!
//! The snapshot layer needs six things of its storage: write a part durably, make a part
//! of one epoch a part of a later one as well, read a part, list the epochs with their
//! manifests, commit a manifest atomically, and delete an epoch. Everything else (which
//! snapshot to restore, what to prune, whether a part is intact) is decided above this
//! trait, over what [`SnapshotStorage::list`] returns. The operations map one to one onto
//! an object store (multipart upload, server-side copy, get, list by prefix, put, delete
//! by prefix), which is what a second implementation would be.
//!
//! Errors are `std::io::Error`s, so that an implementation needs no error crate of weir's;
//! the store adds what it was doing to them.
//!
//! ```
//! use weir::snapshot::{LocalDirectory, SnapshotStorage};
//!
//! let root = tempfile::tempdir().unwrap();
//! let storage = LocalDirectory::new(root.path());
//! let mut part = storage.create_part(1000, "counts-w0.part").unwrap();
//! part.write(b"hello ").unwrap();
//! part.write(b"world").unwrap();
//! part.finish().unwrap();
//! storage.link_part(1000, "counts-w0.part", 2000, "e1000-counts-w0.part").unwrap();
//! storage.commit_manifest(2000, "{}").unwrap();
//!
//! let epochs = storage.list().unwrap();
//! assert_eq!(epochs.iter().map(|e| e.epoch).collect::<Vec<_>>(), vec![1000, 2000]);
//! assert!(epochs[0].manifest.is_none());
//! assert_eq!(epochs[1].manifest.as_deref(), Some("{}"));
//! assert_eq!(storage.read_part(2000, "e1000-counts-w0.part").unwrap(), b"hello world");
//! storage.delete_epoch(1000).unwrap();
//! assert_eq!(storage.list().unwrap().len(), 1);
//! ```

use std::fmt::Debug;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::snapshot::fault::fault_point;
use crate::time::Time;

const MANIFEST: &str = "MANIFEST";
const EPOCH_PREFIX: &str = "epoch-";

/// One epoch as the storage holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEpoch {
    /// The epoch.
    pub epoch: Time,
    /// The text of its manifest, if it was committed.
    pub manifest: Option<String>,
}

/// A part being written: bytes in order, durable once [`PartWriter::finish`] returns.
pub trait PartWriter: Send {
    /// Appends `bytes` to the part.
    fn write(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Makes the whole part durable.
    fn finish(self: Box<Self>) -> io::Result<()>;
}

/// Where a job's snapshots live.
pub trait SnapshotStorage: Send + Sync + Debug {
    /// Starts part `name` of the snapshot of `epoch`, replacing a part of that name.
    fn create_part(&self, epoch: Time, name: &str) -> io::Result<Box<dyn PartWriter>>;

    /// Opens part `name` of `epoch` for reading.
    fn open_part(&self, epoch: Time, name: &str) -> io::Result<Box<dyn Read + Send>>;

    /// Reads part `name` of `epoch` whole.
    fn read_part(&self, epoch: Time, name: &str) -> io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        self.open_part(epoch, name)?.read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    /// Appends part `name` of `epoch` to `file`, returning the bytes copied. The local
    /// directory lets the kernel copy (`copy_file_range`), so published output is not read
    /// into memory and written again.
    fn copy_part_to(&self, epoch: Time, name: &str, file: &mut File) -> io::Result<u64> {
        io::copy(&mut self.open_part(epoch, name)?, file)
    }

    /// Makes part `name` of `epoch` the file `to` outside the store: complete or absent (a
    /// crash leaves no half file under that name), and durable once the directory of `to`
    /// is synced. By default the bytes are copied; the local directory hard-links the part
    /// where `to` is on the same file system, so that published output is written once.
    fn export_part(&self, epoch: Time, name: &str, to: &Path) -> io::Result<()> {
        copy_into(&mut self.open_part(epoch, name)?, to)
    }

    /// Makes the durable part `name` of `from` also part `as_name` of `to` (a part that
    /// stands for later epochs, or output staged for an epoch that was not committed).
    fn link_part(&self, from: Time, name: &str, to: Time, as_name: &str) -> io::Result<()>;

    /// Every epoch held, oldest first, with its manifest's text where it has one.
    fn list(&self) -> io::Result<Vec<StoredEpoch>>;

    /// Commits the snapshot of `epoch`: after every part written for it is durable, its
    /// manifest `text` becomes visible whole or not at all.
    fn commit_manifest(&self, epoch: Time, text: &str) -> io::Result<()>;

    /// Deletes `epoch` with everything in it.
    fn delete_epoch(&self, epoch: Time) -> io::Result<()>;

    /// Where `epoch` is kept, for messages: a path or a URL.
    fn describe(&self, epoch: Option<Time>) -> String;
}

/// Snapshots in a local directory, one subdirectory per epoch:
///
/// ```text
/// DIR/epoch-00000000000000003000/p00-counts-w0.part      parts, one per participant and worker
/// DIR/epoch-00000000000000003000/MANIFEST                written last: temp, fsync, rename, fsync dir
/// ```
#[derive(Clone, Debug)]
pub struct LocalDirectory {
    dir: PathBuf,
}

impl LocalDirectory {
    /// Snapshots in `dir`, created when first written.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        LocalDirectory { dir: dir.into() }
    }

    /// The directory of `epoch`.
    pub fn epoch_dir(&self, epoch: Time) -> PathBuf {
        self.dir.join(format!("{EPOCH_PREFIX}{epoch:020}"))
    }

    fn create_epoch_dir(&self, epoch: Time) -> io::Result<PathBuf> {
        let dir = self.epoch_dir(epoch);
        fs::create_dir_all(&dir).map_err(|e| with_path(e, "cannot create", &dir))?;
        Ok(dir)
    }
}

struct LocalPart {
    file: File,
    path: PathBuf,
}

impl PartWriter for LocalPart {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file
            .write_all(bytes)
            .map_err(|e| with_path(e, "cannot write", &self.path))
    }

    fn finish(self: Box<Self>) -> io::Result<()> {
        self.file
            .sync_all()
            .map_err(|e| with_path(e, "cannot sync", &self.path))
    }
}

impl SnapshotStorage for LocalDirectory {
    fn create_part(&self, epoch: Time, name: &str) -> io::Result<Box<dyn PartWriter>> {
        let path = self.create_epoch_dir(epoch)?.join(name);
        let file = File::create(&path).map_err(|e| with_path(e, "cannot create", &path))?;
        Ok(Box::new(LocalPart { file, path }))
    }

    fn open_part(&self, epoch: Time, name: &str) -> io::Result<Box<dyn Read + Send>> {
        let path = self.epoch_dir(epoch).join(name);
        let file = File::open(&path).map_err(|e| with_path(e, "cannot read", &path))?;
        Ok(Box::new(io::BufReader::new(file)))
    }

    fn copy_part_to(&self, epoch: Time, name: &str, file: &mut File) -> io::Result<u64> {
        let path = self.epoch_dir(epoch).join(name);
        let mut part = File::open(&path).map_err(|e| with_path(e, "cannot read", &path))?;
        io::copy(&mut part, file).map_err(|e| with_path(e, "cannot copy", &path))
    }

    fn export_part(&self, epoch: Time, name: &str, to: &Path) -> io::Result<()> {
        let source = self.epoch_dir(epoch).join(name);
        match fs::hard_link(&source, to) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                Err(with_path(e, "cannot publish to", to))
            }
            // Another file system, or one without hard links.
            Err(_) => {
                let mut part =
                    File::open(&source).map_err(|e| with_path(e, "cannot read", &source))?;
                copy_into(&mut part, to)
            }
        }
    }

    fn link_part(&self, from: Time, name: &str, to: Time, as_name: &str) -> io::Result<()> {
        let source = self.epoch_dir(from).join(name);
        let target = self.create_epoch_dir(to)?.join(as_name);
        // A hard link where the file system allows, a copy where not.
        if fs::hard_link(&source, &target).is_err() {
            fs::copy(&source, &target).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "cannot carry {} into {}: {e}",
                        source.display(),
                        target.display()
                    ),
                )
            })?;
        }
        Ok(())
    }

    fn list(&self) -> io::Result<Vec<StoredEpoch>> {
        let listing = match fs::read_dir(&self.dir) {
            Ok(listing) => listing,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(with_path(e, "cannot read snapshot directory", &self.dir)),
        };
        let mut epochs = Vec::new();
        for item in listing {
            let item = item.map_err(|e| with_path(e, "cannot read", &self.dir))?;
            let name = item.file_name().to_string_lossy().to_string();
            let Some(epoch) = name
                .strip_prefix(EPOCH_PREFIX)
                .and_then(|e| e.parse::<Time>().ok())
            else {
                continue;
            };
            let path = item.path().join(MANIFEST);
            let manifest = match fs::read(&path) {
                // Bytes that are not UTF-8 fail the manifest's checksum: a damaged manifest
                // is reported as such by the store, not as a failed listing.
                Ok(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => None,
                Err(e) => return Err(with_path(e, "cannot read", &path)),
            };
            epochs.push(StoredEpoch { epoch, manifest });
        }
        epochs.sort_by_key(|e| e.epoch);
        Ok(epochs)
    }

    fn commit_manifest(&self, epoch: Time, text: &str) -> io::Result<()> {
        let dir = self.create_epoch_dir(epoch)?;
        // The parts' directory entries are made durable before the manifest names them.
        sync_dir(&dir)?;
        let temp = dir.join(format!("{MANIFEST}.tmp"));
        let mut file = File::create(&temp).map_err(|e| with_path(e, "cannot create", &temp))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| with_path(e, "cannot write", &temp))?;
        drop(file);
        fault_point("before-manifest-rename");
        fs::rename(&temp, dir.join(MANIFEST)).map_err(|e| with_path(e, "cannot commit", &dir))?;
        sync_dir(&dir)?;
        sync_dir(&self.dir)
    }

    fn delete_epoch(&self, epoch: Time) -> io::Result<()> {
        let dir = self.epoch_dir(epoch);
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                Err(with_path(e, "cannot remove", &dir))
            }
            _ => Ok(()),
        }
    }

    fn describe(&self, epoch: Option<Time>) -> String {
        match epoch {
            Some(epoch) => self.epoch_dir(epoch).display().to_string(),
            None => self.dir.display().to_string(),
        }
    }
}

/// Copies `from` into a new file `to` whole: into a temporary file beside it, synced, then
/// renamed, so that a crash never leaves part of a file under the name `to`.
fn copy_into(from: &mut dyn Read, to: &Path) -> io::Result<()> {
    let mut temp = to.as_os_str().to_owned();
    temp.push(".tmp");
    let temp = PathBuf::from(temp);
    let mut file = File::create(&temp).map_err(|e| with_path(e, "cannot create", &temp))?;
    io::copy(from, &mut file)
        .and_then(|_| file.sync_all())
        .map_err(|e| with_path(e, "cannot write", &temp))?;
    fs::rename(&temp, to).map_err(|e| with_path(e, "cannot rename", &temp))
}

/// Makes a directory's entries durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| with_path(e, "cannot sync directory", dir))
}

fn with_path(error: io::Error, doing: &str, path: &Path) -> io::Error {
    io::Error::new(error.kind(), format!("{doing} {}: {error}", path.display()))
}

#[cfg(test)]
pub(crate) mod memory {
    //! Storage in memory, for testing the decisions above the trait without a disk.

    use std::collections::BTreeMap;
    use std::io;
    use std::sync::{Arc, Mutex};

    use super::{PartWriter, SnapshotStorage, StoredEpoch};
    use crate::time::Time;

    #[derive(Debug, Default)]
    struct Epoch {
        parts: BTreeMap<String, Vec<u8>>,
        manifest: Option<String>,
    }

    /// Every epoch in a map; parts are visible once finished.
    #[derive(Clone, Debug, Default)]
    pub(crate) struct MemoryStorage {
        epochs: Arc<Mutex<BTreeMap<Time, Epoch>>>,
    }

    struct MemoryPart {
        storage: MemoryStorage,
        epoch: Time,
        name: String,
        bytes: Vec<u8>,
    }

    impl PartWriter for MemoryPart {
        fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
            self.bytes.extend_from_slice(bytes);
            Ok(())
        }

        fn finish(self: Box<Self>) -> io::Result<()> {
            let mut epochs = self
                .storage
                .epochs
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let epoch = epochs.entry(self.epoch).or_default();
            epoch.parts.insert(self.name, self.bytes);
            Ok(())
        }
    }

    impl MemoryStorage {
        /// Replaces the bytes of a part, as a damaged disk would.
        pub(crate) fn damage(&self, epoch: Time, name: &str, bytes: &[u8]) {
            let mut epochs = self.epochs.lock().unwrap_or_else(|e| e.into_inner());
            let epoch = epochs.entry(epoch).or_default();
            epoch.parts.insert(name.to_string(), bytes.to_vec());
        }
    }

    impl SnapshotStorage for MemoryStorage {
        fn create_part(&self, epoch: Time, name: &str) -> io::Result<Box<dyn PartWriter>> {
            Ok(Box::new(MemoryPart {
                storage: self.clone(),
                epoch,
                name: name.to_string(),
                bytes: Vec::new(),
            }))
        }

        fn open_part(&self, epoch: Time, name: &str) -> io::Result<Box<dyn io::Read + Send>> {
            let epochs = self.epochs.lock().unwrap_or_else(|e| e.into_inner());
            let bytes = epochs
                .get(&epoch)
                .and_then(|e| e.parts.get(name))
                .cloned()
                .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, name.to_string()))?;
            Ok(Box::new(io::Cursor::new(bytes)))
        }

        fn link_part(&self, from: Time, name: &str, to: Time, as_name: &str) -> io::Result<()> {
            let bytes = self.read_part(from, name)?;
            let mut epochs = self.epochs.lock().unwrap_or_else(|e| e.into_inner());
            let epoch = epochs.entry(to).or_default();
            epoch.parts.insert(as_name.to_string(), bytes);
            Ok(())
        }

        fn list(&self) -> io::Result<Vec<StoredEpoch>> {
            let epochs = self.epochs.lock().unwrap_or_else(|e| e.into_inner());
            Ok(epochs
                .iter()
                .map(|(&epoch, e)| StoredEpoch {
                    epoch,
                    manifest: e.manifest.clone(),
                })
                .collect())
        }

        fn commit_manifest(&self, epoch: Time, text: &str) -> io::Result<()> {
            let mut epochs = self.epochs.lock().unwrap_or_else(|e| e.into_inner());
            epochs.entry(epoch).or_default().manifest = Some(text.to_string());
            Ok(())
        }

        fn delete_epoch(&self, epoch: Time) -> io::Result<()> {
            let mut epochs = self.epochs.lock().unwrap_or_else(|e| e.into_inner());
            epochs.remove(&epoch);
            Ok(())
        }

        fn describe(&self, epoch: Option<Time>) -> String {
            match epoch {
                Some(epoch) => format!("memory:epoch-{epoch}"),
                None => "memory:".to_string(),
            }
        }
    }
}
