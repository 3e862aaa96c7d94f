//! What a finished run reports, and summaries of it for people.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::migration::StepTimes;
use crate::snapshot::{PartTiming, RestoreTiming};
use crate::time::Time;

/// What a finished run did, in this process.
#[derive(Clone, Debug, Default)]
pub struct RunReport {
    /// Wall-clock time from starting the workers to the last of them finishing.
    pub elapsed: Duration,
    /// Records emitted by this process's sources.
    pub records_in: u64,
    /// Records written by this process's sinks.
    pub records_out: u64,
    /// Records dropped for arriving behind the watermark.
    pub late: u64,
    /// Malformed lines skipped under `--skip-bad-input`.
    pub skipped: u64,
    /// Key groups that live migrations handed from one worker to another (`--migrate-at`),
    /// counted once per operator that moved its state.
    pub groups_moved: u64,
    /// When each change of the routing table was first handed over and last taken in,
    /// on this process.
    pub migration_steps: Vec<StepTimes>,
    /// The epoch the run resumed from, if it restored a snapshot.
    pub restored: Option<Time>,
    /// The restored snapshot was the final one: the job had already finished.
    pub already_complete: bool,
    /// Epochs this process committed, with when.
    pub commits: Vec<(Time, Instant)>,
    /// When this process began capturing each epoch's state.
    pub capture_starts: Vec<(Time, Instant)>,
    /// The instant the job's schedule started from in this process.
    pub started: Option<Instant>,
    /// What a [`WorkerDriver`](super::WorkerDriver) returned on every worker, in worker
    /// order; on process 0 only.
    pub gathered: Vec<String>,
    /// Timings of the state parts this process wrote.
    pub part_timings: Vec<PartTiming>,
    /// Timings of restoring state on this process.
    pub restore_timings: Vec<RestoreTiming>,
    /// Notes on recovery: snapshots skipped, output repaired.
    pub messages: Vec<String>,
    /// The savepoint the job stopped after, when it was asked to stop (`weir stop`,
    /// SIGTERM): nothing after it was committed, and `--restore` resumes there.
    pub stopped_at: Option<Time>,
}

impl RunReport {
    /// Snapshot costs summed over this process's parts, per epoch; `None` when the run wrote
    /// no state parts.
    pub fn snapshot_timings(&self) -> Option<SnapshotTimings> {
        SnapshotTimings::of(&self.part_timings)
    }

    /// Entries restored and the slowest worker's restore time, when the run restored state.
    pub fn restore_summary(&self) -> Option<(usize, Duration)> {
        if self.restore_timings.is_empty() {
            return None;
        }
        let mut per_worker: BTreeMap<usize, Duration> = BTreeMap::new();
        for timing in &self.restore_timings {
            *per_worker.entry(timing.worker).or_default() += timing.duration;
        }
        let entries = self.restore_timings.iter().map(|t| t.entries).sum();
        Some((entries, per_worker.into_values().max().unwrap_or_default()))
    }
}

/// The cost of this process's snapshots: per epoch, the bytes written, the longest time any
/// one worker spent capturing (the pause on its record path), and the writer's time to
/// encode and to write and sync.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SnapshotTimings {
    /// Epochs with at least one state part.
    pub epochs: usize,
    /// The largest epoch's bytes.
    pub max_bytes: u64,
    /// Mean bytes per epoch.
    pub mean_bytes: u64,
    /// The longest capture pause of one worker at one epoch.
    pub max_capture: Duration,
    /// The mean over epochs of the longest capture pause.
    pub mean_capture: Duration,
    /// The mean over epochs of the writer's encode time.
    pub mean_encode: Duration,
    /// The mean over epochs of the writer's write-and-sync time.
    pub mean_write: Duration,
}

impl SnapshotTimings {
    /// Summarizes `parts`; `None` when there are none.
    pub fn of(parts: &[PartTiming]) -> Option<Self> {
        #[derive(Default)]
        struct Epoch {
            bytes: u64,
            capture: BTreeMap<usize, Duration>,
            encode: Duration,
            write: Duration,
        }
        let mut epochs: BTreeMap<Time, Epoch> = BTreeMap::new();
        for part in parts {
            let epoch = epochs.entry(part.epoch).or_default();
            epoch.bytes += part.bytes;
            *epoch.capture.entry(part.worker).or_default() += part.capture;
            epoch.encode += part.encode;
            epoch.write += part.write;
        }
        if epochs.is_empty() {
            return None;
        }
        let n = epochs.len() as u32;
        let mut summary = SnapshotTimings {
            epochs: epochs.len(),
            ..Default::default()
        };
        let mut total_bytes = 0;
        let (mut capture, mut encode, mut write) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
        for epoch in epochs.values() {
            let pause = epoch.capture.values().copied().max().unwrap_or_default();
            summary.max_bytes = summary.max_bytes.max(epoch.bytes);
            summary.max_capture = summary.max_capture.max(pause);
            total_bytes += epoch.bytes;
            capture += pause;
            encode += epoch.encode;
            write += epoch.write;
        }
        summary.mean_bytes = total_bytes / u64::from(n);
        summary.mean_capture = capture / n;
        summary.mean_encode = encode / n;
        summary.mean_write = write / n;
        Some(summary)
    }
}

impl std::fmt::Display for SnapshotTimings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        write!(
            f,
            "{} epoch(s) written, {:.1} KiB mean ({:.1} KiB max); capture {:.2} ms mean ({:.2} ms max) on the record path; encode {:.2} ms, write+sync {:.2} ms mean off it",
            self.epochs,
            self.mean_bytes as f64 / 1024.0,
            self.max_bytes as f64 / 1024.0,
            ms(self.mean_capture),
            ms(self.max_capture),
            ms(self.mean_encode),
            ms(self.mean_write),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(epoch: Time, worker: usize, bytes: u64, capture_ms: u64) -> PartTiming {
        PartTiming {
            epoch,
            operator: "op".into(),
            worker,
            bytes,
            capture: Duration::from_millis(capture_ms),
            encode: Duration::from_millis(1),
            write: Duration::from_millis(2),
        }
    }

    #[test]
    fn summarizes_per_epoch_with_the_slowest_worker_as_the_pause() {
        let parts = [
            part(10, 0, 100, 3),
            part(10, 1, 50, 5),
            part(20, 0, 300, 1),
            part(20, 0, 100, 1),
        ];
        let summary = SnapshotTimings::of(&parts).expect("parts");
        assert_eq!(summary.epochs, 2);
        assert_eq!(summary.max_bytes, 400);
        assert_eq!(summary.mean_bytes, 275);
        assert_eq!(summary.max_capture, Duration::from_millis(5));
        // Epoch 10's pause is worker 1's 5 ms; epoch 20's is worker 0's two parts, 2 ms.
        assert_eq!(summary.mean_capture, Duration::from_micros(3500));
        assert_eq!(summary.mean_encode, Duration::from_millis(2));
        assert_eq!(summary.mean_write, Duration::from_millis(4));
        assert!(SnapshotTimings::of(&[]).is_none());
    }
}
