//! What a running job can be asked, and what it tells whoever supervises it.
//!
//! A job that snapshots can be asked, while it runs, for a **savepoint** (mark the next
//! committed snapshot as one that pruning never deletes) or to **stop** with one (commit the
//! savepoint, then end without committing anything after it, as `flink stop` does). The
//! requests travel as files in the snapshot directory's `control/` folder
//! ([`ControlDirectory`]), because that folder is already shared by every process of the job,
//! on one host or on a shared file system, and because a file outlives the process that
//! wrote it: `weir savepoint DIR` and `weir stop DIR` write one and wait for the answer, and
//! SIGUSR1 / SIGTERM to any process of the job write the same request ([`signals`]).
//!
//! A job started with a progress log ([`ProgressLog`], the hidden `--progress-log` flag that
//! `weir cluster` passes) writes one JSON line per step of its life — started, restored epoch,
//! output flowing, each commit, stopped — which the supervisor reads to measure recovery.

mod control_dir;
mod progress;
pub mod signals;

pub use control_dir::{Answer, ControlDirectory, Request, RequestKind, Running};
pub use progress::{
    instant_of_micros, unix_micros, JsonLinesTail, ProgressEvent, ProgressLog, ProgressReader,
};
