//! A hash map split into shards, so that it never grows all at once.
//!
//! A hash map doubles when it fills: it moves every entry to a table twice the size in one
//! go. For a map of a million keys that is tens of milliseconds on the record path, and
//! every output waits for it (q5's window accumulators, while the windows fill up). Split
//! into [`SHARDS`] maps by the key's hash, each doubling moves about a sixty-fourth of the
//! entries. Shards of equal shares would all fill at once, though, and double together:
//! so their shares grow geometrically, from 1 to 2 across the shards, and each reaches its
//! next power of two at another total.

use std::hash::{BuildHasher, Hash};
use std::sync::LazyLock;

use crate::state::StateMap;

/// The number of shards.
pub const SHARDS: usize = 64;

/// A hash map of [`SHARDS`] [`StateMap`]s, each holding the keys whose hash picks it.
///
/// ```
/// use weir::state::ShardedMap;
///
/// let mut counts: ShardedMap<u64, u64> = ShardedMap::default();
/// for key in [3, 1, 3, 3] {
///     *counts.entry(key).or_default() += 1;
/// }
/// assert_eq!(counts.get_mut(&3), Some(&mut 3));
/// assert_eq!(counts.len(), 2);
/// let mut all: Vec<(u64, u64)> = counts.drain().collect();
/// all.sort();
/// assert_eq!(all, vec![(1, 1), (3, 3)]);
/// assert!(counts.is_empty());
/// ```
#[derive(Clone, Debug)]
pub struct ShardedMap<K, V> {
    shards: Vec<StateMap<K, V>>,
    /// Picks a key's shard; independent of the hashers inside the shards, whose low bits
    /// would otherwise be the same for every key of a shard.
    picker: foldhash::fast::RandomState,
}

impl<K, V> Default for ShardedMap<K, V> {
    fn default() -> Self {
        ShardedMap {
            shards: (0..SHARDS).map(|_| StateMap::default()).collect(),
            picker: foldhash::fast::RandomState::default(),
        }
    }
}

/// The bits of a key's hash that pick its shard.
const PICK_BITS: u32 = 12;

/// The shard of each value of a hash's top [`PICK_BITS`]: shard `i` takes a share of them
/// proportional to `2^(i / SHARDS)` (a hash `u` in `[0, 1)` goes to `SHARDS * log2(1 + u)`).
static SHARD_OF: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let picks = 1u32 << PICK_BITS;
    (0..picks)
        .map(|pick| {
            let u = (f64::from(pick) + 0.5) / f64::from(picks);
            let shard = (SHARDS as f64 * (1.0 + u).log2()) as usize;
            shard.min(SHARDS - 1) as u8
        })
        .collect()
});

impl<K: Hash + Eq, V> ShardedMap<K, V> {
    #[inline]
    fn shard(&self, key: &K) -> usize {
        // The top bits: foldhash mixes them best.
        let pick = self.picker.hash_one(key) >> (u64::BITS - PICK_BITS);
        usize::from(SHARD_OF[pick as usize])
    }

    /// The value of `key`, to change.
    #[inline]
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let shard = self.shard(key);
        self.shards[shard].get_mut(key)
    }

    /// Sets the value of `key`, returning the one it had.
    #[inline]
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        let shard = self.shard(&key);
        self.shards[shard].insert(key, value)
    }

    /// The entry of `key`.
    #[inline]
    pub fn entry(&mut self, key: K) -> std::collections::hash_map::Entry<'_, K, V> {
        let shard = self.shard(&key);
        self.shards[shard].entry(key)
    }
}

impl<K, V> ShardedMap<K, V> {
    /// The number of entries.
    pub fn len(&self) -> usize {
        self.shards.iter().map(StateMap::len).sum()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.shards.iter().all(StateMap::is_empty)
    }

    /// How many entries fit without growing, all shards together.
    pub fn capacity(&self) -> usize {
        self.shards.iter().map(StateMap::capacity).sum()
    }

    /// Every entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.shards.iter().flatten()
    }

    /// Takes every entry out, keeping the room they took for new ones.
    pub fn drain(&mut self) -> impl Iterator<Item = (K, V)> + '_ {
        self.shards.iter_mut().flat_map(StateMap::drain)
    }
}

impl<K, V> IntoIterator for ShardedMap<K, V> {
    type Item = (K, V);
    type IntoIter = std::iter::Flatten<std::vec::IntoIter<StateMap<K, V>>>;

    fn into_iter(self) -> Self::IntoIter {
        self.shards.into_iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_spread_over_the_shards_in_growing_shares_and_each_is_found_again() {
        let mut map: ShardedMap<u64, u64> = ShardedMap::default();
        for key in 0..10_000 {
            assert_eq!(map.insert(key, key * 2), None);
        }
        assert_eq!(map.len(), 10_000);
        // Shares from 1 to 2 across the shards: about 110 to 220 of 10,000 keys.
        let lens: Vec<usize> = map.shards.iter().map(StateMap::len).collect();
        assert!(lens.iter().all(|&len| (60..300).contains(&len)), "{lens:?}");
        let (first, last): (usize, usize) = (lens[..8].iter().sum(), lens[56..].iter().sum());
        assert!(
            last * 10 > first * 16,
            "the last shards take about twice the first: {lens:?}"
        );
        for key in 0..10_000 {
            assert_eq!(map.get_mut(&key), Some(&mut (key * 2)));
        }
        let capacity = map.capacity();
        assert_eq!(map.drain().count(), 10_000);
        assert!(map.is_empty());
        assert_eq!(map.capacity(), capacity, "draining keeps the room");
    }
}

#[cfg(test)]
mod growth {
    use super::*;

    #[test]
    fn the_shards_double_at_different_totals() {
        // Adding keys one at a time, count the shards that grew at each insert: with equal
        // shares, dozens of them grow within a few hundred keys of each other.
        let mut map: ShardedMap<u64, ()> = ShardedMap::default();
        let mut grew_at = Vec::new();
        let mut capacities: Vec<usize> = map.shards.iter().map(StateMap::capacity).collect();
        for key in 0..200_000u64 {
            map.insert(key, ());
            let shard = map.shard(&key);
            if map.shards[shard].capacity() != capacities[shard] {
                capacities[shard] = map.shards[shard].capacity();
                if capacities[shard] > 1024 {
                    grew_at.push(key);
                }
            }
        }
        // Of the doublings of shards beyond 1,024 entries, no 8 fall within 1% of the keys.
        for window in grew_at.windows(8) {
            assert!(
                window[7] - window[0] > window[7] / 100,
                "eight shards grew between {} and {} keys: {grew_at:?}",
                window[0],
                window[7]
            );
        }
        assert!(grew_at.len() >= SHARDS, "{grew_at:?}");
    }
}
