//! Arrangements as state: differential dataflow's indexed, incrementally maintained
//! collections, kept by key group, snapshotted at frontier-aligned epochs and restored onto
//! any number of workers and processes.
//!
//! An arrangement built by [`ArrangeState`](crate::operators::ArrangeState) is weir state like
//! any hash map: the snapshot of epoch `T` holds, per weir key group (the stable hash of the
//! key), the sum of its updates at times before `T`. While a job runs, its updates are
//! routed as differential routes its own arrangements, by differential's hash of the key, so
//! that it joins with any collection or arrangement on the workers where their keys meet;
//! that hash is not a persistent format, and nothing persistent depends on it: a restore
//! reads the key groups and routes the entries again. Everything built *from* it with differential's
//! operators (`join_core`, `reduce_abelian`, `count`, `distinct`, `iterate`, and the hidden
//! arrangements they make) is derived: it is not snapshotted, and a restored job recomputes
//! it from the restored arrangements.
//!
//! # How a restore avoids repeating output
//!
//! A job restored from epoch `T` feeds each restored arrangement's updates in at time
//! `T - 1`, before any input (which resumes at `T`). Every derived collection then holds at
//! `T - 1` what it held before the crash, and changes from `T` on exactly as it would have.
//! What it emits at `T - 1` was published already, so
//! [`LeaveCollection`](crate::operators::LeaveCollection) drops every update before the
//! restored epoch on its way out.
//!
//! # How an epoch is captured
//!
//! The arrangement's batches are immutable and shared ([`SharedBatch`]): capturing epoch `T`
//! hands the snapshot writer the batches sealed since the last epoch, pointers only, however
//! large the state. The writer thread keeps the state as of the last epoch, adds the updates
//! of those batches before `T`, and encodes it per key group. Capture never reads the trace,
//! so it holds back no compaction: the trace compacts as its readers allow.

mod capture;
mod shared_batch;

use differential_dataflow::operators::arrange::{Arranged, TraceAgent};
use differential_dataflow::trace::implementations::ord_neu::OrdValBatch;
use differential_dataflow::trace::implementations::spine_fueled::Spine;
use differential_dataflow::trace::implementations::{ValBatcher, Vector};

pub(crate) use capture::{capture_epochs, restored_updates};
pub use shared_batch::{SharedBatch, SharedCursor, SharedMerger};

use crate::time::Time;

/// What keys and values of an arrangement kept as state must be: exchanged between
/// processes, ordered in batches, hashed to key groups and read by the snapshot writer.
pub trait StateData: differential_dataflow::ExchangeData + std::hash::Hash + Sync {}

impl<T: differential_dataflow::ExchangeData + std::hash::Hash + Sync> StateData for T {}

/// The multiplicity of an update: how many copies of a record it adds (or removes, if
/// negative).
pub type Diff = isize;

/// One batch of an arrangement kept as state: `(key, value)` updates with times and diffs.
pub type StateBatch<K, V> = SharedBatch<OrdValBatch<Vector<((K, V), Time, Diff)>>>;

/// The trace of an arrangement kept as state.
pub type StateSpine<K, V> = Spine<StateBatch<K, V>>;

/// A handle to the trace of an arrangement kept as state.
pub type StateTrace<K, V> = TraceAgent<StateSpine<K, V>>;

/// An arrangement kept as state: differential's [`Arranged`], whose `join_core`,
/// `reduce_abelian`, `reduce_core`, `as_collection`, `enter` and the rest all apply.
pub type StateArrangement<'scope, K, V> = Arranged<'scope, StateTrace<K, V>>;

/// The batcher that builds an arrangement's batches from its updates.
pub type StateBatcher<K, V> = ValBatcher<K, V, Time, Diff>;
