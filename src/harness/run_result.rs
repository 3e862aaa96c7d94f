//! The result file of one closed run, `weir run PIPELINE --json FILE`: how fast a pipeline
//! went through a fixed input (generated or read), with the same build and machine record
//! as a benchmark's result, so that experiments tabulate throughput from files rather than
//! from the human-readable summary.

use serde::{Deserialize, Serialize};

use crate::harness::{Build, Machine};
use crate::runtime::SnapshotTimings;

/// The schema name of [`RunResult`]; changed when the file changes incompatibly.
pub const RUN_SCHEMA: &str = "weir-run/1";

/// One process's account of a closed run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunResult {
    /// [`RUN_SCHEMA`].
    pub schema: String,
    /// weir's version and git commit.
    pub build: Build,
    /// Where it ran.
    pub machine: Machine,
    /// When it started, RFC 3339, UTC.
    pub started_at: String,
    /// What ran.
    pub config: RunConfig,
    /// What it did.
    pub summary: RunSummary,
    /// Set when another engine ran the pipeline (`scripts/peers/`), so that its result
    /// sits beside weir's in one table; absent for weir's own runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<PeerRun>,
}

/// The engine of a peer's run, and how its output compared with weir's.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PeerRun {
    /// `flink` or `bytewax`.
    pub engine: String,
    /// Its version, e.g. `Apache Flink 2.3.0`.
    pub version: String,
    /// Its output lines against weir's on the same input, as multisets.
    pub output_check: Option<OutputCheck>,
}

/// A peer's output lines against weir's: equal when both counts are zero.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OutputCheck {
    /// Lines weir wrote.
    pub expected_lines: u64,
    /// Lines the peer wrote.
    pub lines: u64,
    /// weir's lines the peer did not write (counted with multiplicity).
    pub missing: u64,
    /// The peer's lines weir did not write.
    pub unexpected: u64,
}

impl OutputCheck {
    /// Whether the two outputs are the same multiset of lines.
    pub fn equal(&self) -> bool {
        self.missing == 0 && self.unexpected == 0
    }
}

/// What configured a closed run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunConfig {
    /// The pipeline's name.
    pub pipeline: String,
    /// Worker threads per process.
    pub workers: usize,
    /// Processes of the job.
    pub processes: usize,
    /// This process's index.
    pub process: usize,
    /// Records to generate (`u64::MAX` when unbounded or read).
    pub events: u64,
    /// The `--input` it read, if any.
    pub input: Option<String>,
    /// Snapshot interval in ms of event time, when it took snapshots.
    pub snapshot_every_ms: Option<u64>,
    /// Distinct keys of generated input (`--keys`); absent in older results and peers'.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<u64>,
}

/// The totals of one process's run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunSummary {
    /// Records its workers read or generated.
    pub records_in: u64,
    /// Records its workers wrote.
    pub records_out: u64,
    /// Wall time from the dataflow's start to its end, seconds.
    pub elapsed_s: f64,
    /// `records_in / elapsed_s`.
    pub records_per_s: f64,
    /// The process's peak resident memory, bytes (`None` where the platform does not say).
    pub max_rss_bytes: Option<u64>,
    /// Snapshots that committed during the run.
    pub snapshots_committed: usize,
    /// What this process's snapshots cost, when it took any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_cost: Option<SnapshotCost>,
}

/// What one process's snapshots cost: the size of each epoch's state (every snapshot is
/// full, so it is the state's size) and the time to take it, in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SnapshotCost {
    /// Epochs written.
    pub epochs: usize,
    /// Mean bytes per epoch.
    pub mean_bytes: u64,
    /// The largest epoch's bytes.
    pub max_bytes: u64,
    /// The mean over epochs of the longest capture pause of one worker (on its record
    /// path).
    pub mean_capture_ms: f64,
    /// The longest capture pause of one worker at one epoch.
    pub max_capture_ms: f64,
    /// The mean over epochs of the writer's encode time (off the record path).
    pub mean_encode_ms: f64,
    /// The mean over epochs of the writer's write-and-sync time (off the record path).
    pub mean_write_ms: f64,
}

impl From<&SnapshotTimings> for SnapshotCost {
    fn from(timings: &SnapshotTimings) -> Self {
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
        SnapshotCost {
            epochs: timings.epochs,
            mean_bytes: timings.mean_bytes,
            max_bytes: timings.max_bytes,
            mean_capture_ms: ms(timings.mean_capture),
            max_capture_ms: ms(timings.max_capture),
            mean_encode_ms: ms(timings.mean_encode),
            mean_write_ms: ms(timings.mean_write),
        }
    }
}

/// This process's peak resident set size so far, in bytes.
pub fn max_rss_bytes() -> Option<u64> {
    // SAFETY: `getrusage` only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } == 0;
    // Linux reports kilobytes.
    (ok && usage.ru_maxrss > 0).then(|| usage.ru_maxrss as u64 * 1024)
}

impl RunResult {
    /// The result of a run configured by `config` whose totals are `summary`, made now on
    /// this machine by this build.
    pub fn new(config: RunConfig, summary: RunSummary, started_at: String) -> Self {
        RunResult {
            schema: RUN_SCHEMA.to_string(),
            build: Build::this(),
            machine: Machine::this(),
            started_at,
            config,
            summary,
            peer: None,
        }
    }
}
