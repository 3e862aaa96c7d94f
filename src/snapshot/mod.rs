//! Frontier-aligned snapshots: the state as of an epoch `T`, taken without barriers.
//!
//! A snapshot at epoch `T` holds, for every stateful operator and key group, the state after
//! applying exactly the input with time `< T`; for every source, where to resume at `T`; for
//! every sink, the output with time `< T` not yet in an earlier snapshot (docs/architecture.md,
//! principle 4). Each participant captures its part when its input frontier reaches `T`,
//! before applying anything at `T` or later; the process's writer thread encodes, writes and
//! syncs it; the coordinator commits the manifest once timely's progress tracking says every
//! part is durable, then publishes the committed output. Restoring reads the newest complete
//! snapshot, onto any number of workers: each reads the key groups it now owns.

mod backend;
mod commit;
mod coordinator;
mod epochs;
mod fault;
mod hub;
mod manifest;
mod messages;
mod part;
mod publisher;
mod sealed;
mod shadow;
mod storage;
mod store;
mod writer;

pub use backend::{
    restore_owned_state, restore_state, snapshot_state, KeyedChanges, KeyedState, PaneChanges,
    PaneState, Panes, StateBackend,
};
pub use commit::{check_unpublished, staged_parts, CommittingSink};
pub(crate) use coordinator::attach as attach_coordinator;
pub use epochs::StateEpochs;
pub use fault::{fault_point, FAULT_POINTS};
pub use hub::{Participant, SnapshotHub, SnapshotSettings, HUB_KEY};
pub use manifest::{epoch_label, Manifest, Part, PartFile, PartKind, FINAL_EPOCH, FORMAT_VERSION};
pub(crate) use messages::channel as writer_channel;
pub use messages::{FutureReports, PartTiming, Report, RestoreTiming};
pub use part::{
    decode_groups, decode_groups_where, encode_groups, group_sizes, read_header, PartHeader,
};
pub(crate) use sealed::{seal, unseal};
pub use shadow::{Shadow, Stamped};
pub use storage::{sync_dir, LocalDirectory, PartWriter, SnapshotStorage, StoredEpoch};
pub use store::{
    choose_snapshot, entries_of, stale_epochs, EpochEntry, EpochStatus, RestoreFrom, SnapshotStore,
};
pub(crate) use writer::spawn as spawn_writer;
