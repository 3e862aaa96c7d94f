//! Keyed state: how keys map to key groups and key groups to workers.
//!
//! Every key is hashed with a stable hash to one of `G` key groups (docs/architecture.md, principle 3), and
//! each worker owns a contiguous range of groups. The group, not the worker, is the unit that
//! snapshots record and that rescaling moves, so `G` is fixed for the life of a job while the
//! number of workers may change between runs.

mod key_group;
mod sharded;

pub use key_group::{stable_hash, KeyGroup, KeyGroups, StableKeyHasher, DEFAULT_KEY_GROUPS};
pub use sharded::{ShardedMap, SHARDS};

/// The hash map keyed state is kept in: fast, randomly seeded (its iteration order is never
/// relied on), and distinct from the stable hash that routes keys.
pub type StateMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// How a pipeline keeps its keyed state (`--state`).
///
/// ```
/// use weir::state::StateKind;
///
/// assert_eq!("arranged".parse::<StateKind>().unwrap(), StateKind::Arranged);
/// assert_eq!(StateKind::Hash.to_string(), "hash");
/// assert!("btree".parse::<StateKind>().is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StateKind {
    /// Hash maps per key in weir's keyed operators.
    #[default]
    Hash,
    /// differential-dataflow arrangements ([`crate::arrangement`]).
    Arranged,
}

impl StateKind {
    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            StateKind::Hash => "hash",
            StateKind::Arranged => "arranged",
        }
    }
}

impl std::fmt::Display for StateKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for StateKind {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        match name {
            "hash" => Ok(StateKind::Hash),
            "arranged" => Ok(StateKind::Arranged),
            _ => Err(format!(
                "no state kind {name:?}; the kinds are hash and arranged"
            )),
        }
    }
}
