//! A job's progress as JSON lines, for the supervisor that measures its recovery.
//!
//! Process 0 of a job started with `--progress-log FILE` appends one line per step of its
//! life. Times are wall-clock microseconds since the Unix epoch, so that a supervisor in
//! another process can set them against its own observations (a kill, a restart).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::time::Time;

/// Microseconds since the Unix epoch, now.
pub fn unix_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// The instant that `at_us` (µs since the Unix epoch, from [`unix_micros`], perhaps in
/// another process) names on this process's monotonic clock; now, if it is in the future.
pub fn instant_of_micros(at_us: u64) -> std::time::Instant {
    let (now_us, now) = (unix_micros(), std::time::Instant::now());
    now.checked_sub(std::time::Duration::from_micros(
        now_us.saturating_sub(at_us),
    ))
    .unwrap_or(now)
}

/// One step of a job's life.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ProgressEvent {
    /// Process 0 decided where the job resumes (`restored`: the snapshot's epoch, if any).
    Started {
        /// The epoch restored.
        restored: Option<Time>,
        /// When.
        at_us: u64,
    },
    /// The output frontier moved past the restored epoch (or, on a fresh start, moved at
    /// all): every worker has its state and results flow again.
    Output {
        /// The output frontier then.
        frontier: Time,
        /// When.
        at_us: u64,
    },
    /// A snapshot committed.
    Committed {
        /// Its epoch.
        epoch: Time,
        /// Whether it is a savepoint.
        savepoint: bool,
        /// When.
        at_us: u64,
    },
    /// The job stops after the savepoint `epoch`.
    Stopped {
        /// The savepoint's epoch.
        epoch: Time,
        /// When.
        at_us: u64,
    },
}

/// Appends progress events to a file; cloning shares it.
#[derive(Clone, Debug)]
pub struct ProgressLog {
    file: Arc<Mutex<File>>,
}

impl ProgressLog {
    /// Appends to `path`, creating it.
    pub fn create(path: &Path) -> anyhow::Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot open the progress log {}", path.display()))?;
        Ok(ProgressLog {
            file: Arc::new(Mutex::new(file)),
        })
    }

    /// Appends `event` as one line. A log that cannot be written is not worth stopping the
    /// job for: the supervisor then measures less, nothing more.
    pub fn record(&self, event: &ProgressEvent) {
        if let Ok(mut line) = serde_json::to_vec(event) {
            line.push(b'\n');
            let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
            let _ = file.write_all(&line);
        }
    }
}

/// Reads a file of JSON lines as another process appends to it: a progress log, or a
/// supervisor's events log.
#[derive(Debug)]
pub struct JsonLinesTail<T> {
    path: PathBuf,
    offset: u64,
    partial: Vec<u8>,
    records: PhantomData<fn() -> T>,
}

/// Reads a progress log as it grows.
pub type ProgressReader = JsonLinesTail<ProgressEvent>;

impl<T: DeserializeOwned> JsonLinesTail<T> {
    /// Reads `path` from its start (it may not exist yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        JsonLinesTail {
            path: path.into(),
            offset: 0,
            partial: Vec::new(),
            records: PhantomData,
        }
    }

    /// The records appended since the last call (complete lines only; a line that is not
    /// a record is skipped).
    pub fn poll(&mut self) -> Vec<T> {
        let Ok(mut file) = File::open(&self.path) else {
            return Vec::new();
        };
        let mut bytes = Vec::new();
        if file.seek(SeekFrom::Start(self.offset)).is_err() || file.read_to_end(&mut bytes).is_err()
        {
            return Vec::new();
        }
        self.offset += bytes.len() as u64;
        self.partial.extend_from_slice(&bytes);
        let Some(end) = self.partial.iter().rposition(|&b| b == b'\n') else {
            return Vec::new();
        };
        let complete: Vec<u8> = self.partial.drain(..=end).collect();
        complete
            .split(|&b| b == b'\n')
            .filter_map(|line| serde_json::from_slice(line).ok())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_sees_each_event_once_as_the_log_grows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("progress.jsonl");
        let mut reader = ProgressReader::new(&path);
        assert!(reader.poll().is_empty(), "no log yet");
        let log = ProgressLog::create(&path).unwrap();
        let started = ProgressEvent::Started {
            restored: Some(2000),
            at_us: 5,
        };
        log.record(&started);
        assert_eq!(reader.poll(), vec![started]);
        // Half a line is held back until it is whole.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(br#"{"event":"committed","epoch":3000,"#)
            .unwrap();
        assert!(reader.poll().is_empty());
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"\"savepoint\":true,\"at_us\":9}\n")
            .unwrap();
        assert_eq!(
            reader.poll(),
            vec![ProgressEvent::Committed {
                epoch: 3000,
                savepoint: true,
                at_us: 9
            }]
        );
    }
}
