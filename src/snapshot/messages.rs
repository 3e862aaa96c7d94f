//! The messages of the snapshot protocol: what participants report, what the writer
//! thread is asked to do, and the timings that come back. At the bottom of the snapshot
//! layer, so the hub (registry and mailbox), the writer and the publisher all use them and
//! none uses another's internals.

use std::sync::mpsc::{self, Receiver, Sender};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::snapshot::manifest::Part;
use crate::state::KeyGroups;
use crate::time::Time;

/// What a participant's reports say about epochs after its last one, once it has finished.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FutureReports {
    /// Inline data for particular ranges of later epochs: `(first, last, inline)`.
    pub known: Vec<(Time, Time, Option<String>)>,
    /// Inline data for every other later epoch.
    pub beyond: Option<String>,
}

/// Timings of one state part, for reports and benchmarks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartTiming {
    /// The epoch.
    pub epoch: Time,
    /// The participant.
    pub operator: String,
    /// The worker.
    pub worker: usize,
    /// Bytes written.
    pub bytes: u64,
    /// Time the worker spent capturing (copying) the state, on the record path.
    pub capture: Duration,
    /// Time the writer spent encoding it.
    pub encode: Duration,
    /// Time the writer spent writing and syncing it.
    pub write: Duration,
}

/// Timings of restoring one participant on one worker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreTiming {
    /// The participant.
    pub operator: String,
    /// The worker.
    pub worker: usize,
    /// Entries restored.
    pub entries: usize,
    /// Time spent reading, checking and decoding parts.
    pub duration: Duration,
}

/// A participant's word that its part of an epoch is durable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The epoch, or [`FINAL_EPOCH`](crate::snapshot::FINAL_EPOCH).
    pub epoch: Time,
    /// The last epoch this part also stands for: nothing reached the participant between
    /// `epoch` and `through`, so its part as of every epoch in that range is this one. Lets
    /// a frontier that jumps far ahead (a gap in event time, the end of a global window)
    /// pass a whole range of epochs with one report instead of one per epoch.
    pub through: Time,
    /// The epoch whose directory holds the part's file: `epoch`, unless the report stands
    /// for a later epoch than the one it was written for.
    pub written: Time,
    /// The participant's index among its worker's participants.
    pub participant: usize,
    /// The part, as the manifest will list it.
    pub part: Part,
    /// For a final report: the participant stopped early (an error, or a stop request), so
    /// the job must not be committed as finished.
    pub aborted: bool,
    /// For a final report: how to answer for later epochs without the participant.
    pub future: Option<FutureReports>,
}

pub(crate) type Encode = Box<dyn FnOnce(&KeyGroups) -> anyhow::Result<Vec<u8>> + Send>;

/// Work for the writer thread.
pub(crate) enum WriterJob {
    /// Encode, write and sync a state part, then report it.
    WriteState {
        report: Report,
        worker: usize,
        file: String,
        capture: Duration,
        encode: Encode,
    },
    /// Pass a report on (after everything the participant asked for before it).
    Report { report: Report, worker: usize },
    /// Append lines to a staged output part.
    AppendOutput {
        epoch: Time,
        file: String,
        bytes: Vec<u8>,
    },
    /// Sync a staged output part and report it.
    FinishOutput {
        report: Report,
        worker: usize,
        file: String,
    },
    /// Commit an epoch whose every part is durable (coordinating process only).
    Commit { epoch: Time, reports: Vec<Report> },
}

/// A channel for writer jobs.
pub(crate) fn channel() -> (Sender<WriterJob>, Receiver<WriterJob>) {
    mpsc::channel()
}
