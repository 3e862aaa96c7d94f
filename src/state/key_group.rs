//! Key groups: the stable partition of the key space that state is kept and moved in.

use std::hash::{BuildHasher, Hash};
use std::ops::Range;

use serde::{Deserialize, Serialize};

/// The number of key groups a job gets when none is configured.
pub const DEFAULT_KEY_GROUPS: u32 = 256;

/// The seed of the stable key hash. Changing it re-routes every key, so it is part of the
/// format: snapshots taken with one seed cannot be restored with another.
const KEY_HASH_SEED: u64 = 0x7765_6972_6b65_7973; // "weirkeys"

/// Hashes a key the same way on every worker, process and run of the same build.
///
/// Routing must agree between the worker that sends a record and the worker that owns its
/// state, and between the run that wrote a snapshot and the run that restores it; the
/// standard library's randomly seeded hasher gives neither.
#[inline]
pub fn stable_hash<K: Hash + ?Sized>(key: &K) -> u64 {
    foldhash::quality::FixedState::with_seed(KEY_HASH_SEED).hash_one(key)
}

/// One of the `G` groups that the key space is divided into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct KeyGroup(pub u32);

/// The division of the key space into `G` groups, and of the groups over workers.
///
/// Worker `w` of `W` owns the contiguous range `[w*G/W, (w+1)*G/W)`, so that a change in the
/// number of workers moves whole ranges and every new worker reads few snapshot parts.
///
/// ```
/// use weir::state::KeyGroups;
///
/// let groups = KeyGroups::new(256);
/// let group = groups.group_of(&"some key");
/// // Every group is owned by exactly the worker whose range contains it.
/// for workers in 1..8 {
///     let owner = groups.worker_of(group, workers);
///     assert!(groups.range_of(owner, workers).contains(&group.0));
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyGroups {
    count: u32,
}

impl Default for KeyGroups {
    fn default() -> Self {
        KeyGroups::new(DEFAULT_KEY_GROUPS)
    }
}

impl KeyGroups {
    /// The key in a timely worker configuration under which a job's key groups are found.
    pub const CONFIG_KEY: &'static str = "weir.key_groups";

    /// Divides the key space into `count` groups (at least one).
    pub fn new(count: u32) -> Self {
        KeyGroups {
            count: count.max(1),
        }
    }

    /// The number of groups, `G`.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The group of a key hashed with [`stable_hash`].
    ///
    /// Uses the high bits of the hash (multiply-shift) rather than a modulus, which is both
    /// cheaper and free of bias for any `G`.
    #[inline]
    pub fn group_of_hash(&self, hash: u64) -> KeyGroup {
        KeyGroup(((hash as u128 * self.count as u128) >> 64) as u32)
    }

    /// The group of `key`.
    #[inline]
    pub fn group_of<K: Hash + ?Sized>(&self, key: &K) -> KeyGroup {
        self.group_of_hash(stable_hash(key))
    }

    /// The groups owned by worker `worker` of `workers`.
    pub fn range_of(&self, worker: usize, workers: usize) -> Range<u32> {
        let workers = workers.max(1) as u64;
        let g = self.count as u64;
        let start = (worker as u64 * g / workers) as u32;
        let end = ((worker as u64 + 1) * g / workers) as u32;
        start..end
    }

    /// The worker of `workers` that owns `group`: the inverse of [`KeyGroups::range_of`].
    #[inline]
    pub fn worker_of(&self, group: KeyGroup, workers: usize) -> usize {
        // Worker w owns g iff floor(w*G/W) <= g < floor((w+1)*G/W), which solves to
        // w = floor(((g+1)*W - 1) / G).
        (((group.0 as u64 + 1) * workers as u64 - 1) / self.count as u64) as usize
    }

    /// The worker of `workers` that owns `key`.
    #[inline]
    pub fn worker_of_key<K: Hash + ?Sized>(&self, key: &K, workers: usize) -> usize {
        self.worker_of(self.group_of(key), workers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_partition_the_groups_and_invert_worker_of() {
        for g in [1u32, 2, 3, 7, 64, 256, 1000] {
            let groups = KeyGroups::new(g);
            for workers in 1..=17usize {
                let mut next = 0;
                for w in 0..workers {
                    let range = groups.range_of(w, workers);
                    assert_eq!(range.start, next, "ranges must be contiguous");
                    next = range.end;
                    for group in range {
                        assert_eq!(groups.worker_of(KeyGroup(group), workers), w);
                    }
                }
                assert_eq!(next, g, "ranges must cover every group");
            }
        }
    }

    #[test]
    fn hash_is_stable_and_spreads_keys_over_groups() {
        // Fixed expectations: if these change, keys route differently than in snapshots
        // written by earlier builds, which then no longer restore correctly.
        assert_eq!(stable_hash(&42u64), 14925320646825677174);
        assert_eq!(stable_hash("weir"), 4206404549768009776);
        let groups = KeyGroups::new(16);
        let mut counts = [0usize; 16];
        for key in 0..16_000u64 {
            counts[groups.group_of(&key).0 as usize] += 1;
        }
        for count in counts {
            assert!((800..1200).contains(&count), "uneven spread: {counts:?}");
        }
    }
}
