//! A stateful operator's state as the snapshot writer sees it: a copy kept on the writer's
//! side and brought up to date, epoch by epoch, with only what changed.
//!
//! Capture is on the record path, so it must cost what changed since the last epoch, not
//! what the state holds: copying a million-key map at every epoch would stall the worker
//! for the length of the copy. The operator hands over the entries it changed; the writer
//! thread applies them to its copy and encodes the whole copy, off the record path. The
//! price is a second copy of the state in memory (as Flink's copy-on-write heap state keeps
//! old versions while a snapshot is written).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::snapshot::Participant;
use crate::state::KeyGroups;
use crate::time::Time;

/// The writer's copy of an operator's state `M`.
pub struct Shadow<M> {
    copy: Arc<Mutex<M>>,
}

impl<M: Send + 'static> Shadow<M> {
    /// A copy that starts as `initial` (empty, or the restored state).
    pub fn new(initial: M) -> Self {
        Shadow {
            copy: Arc::new(Mutex::new(initial)),
        }
    }

    /// Has the writer apply `change` to its copy, making it the state as of `epoch` (and
    /// through `through`), then encode it with `encode` for `participant`. `capture` is how
    /// long the operator took to collect the change.
    pub fn write(
        &self,
        participant: &Participant,
        epoch: Time,
        through: Time,
        capture: Duration,
        change: impl FnOnce(&mut M) + Send + 'static,
        encode: impl FnOnce(&M, &KeyGroups) -> anyhow::Result<Vec<u8>> + Send + 'static,
    ) {
        let copy = Arc::clone(&self.copy);
        participant.write_state(epoch, through, capture, move |groups| {
            // Only the writer thread locks it, one epoch after another.
            let mut copy = copy.lock().unwrap_or_else(|e| e.into_inner());
            change(&mut copy);
            encode(&copy, groups)
        });
    }
}

/// A value with the number of the epoch (counted from 1 in this run) in which it last
/// changed: what an operator keeps so that it can tell a [`Shadow`] what changed.
#[derive(Clone, Debug, Default)]
pub struct Stamped<S>(pub S, pub u32);
