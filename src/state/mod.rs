//! Keyed state: how keys map to key groups and key groups to workers.
//!
//! Every key is hashed with a stable hash to one of `G` key groups (docs/architecture.md, principle 3), and
//! each worker owns a contiguous range of groups. The group, not the worker, is the unit that
//! snapshots record and that rescaling moves, so `G` is fixed for the life of a job while the
//! number of workers may change between runs.

mod key_group;

pub use key_group::{stable_hash, KeyGroup, KeyGroups, StableKeyHasher, DEFAULT_KEY_GROUPS};

/// The hash map keyed state is kept in: fast, randomly seeded (its iteration order is never
/// relied on), and distinct from the stable hash that routes keys.
pub type StateMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
