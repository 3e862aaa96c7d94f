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

use hashbrown::hash_table::{Entry, HashTable};

/// The number of shards.
pub const SHARDS: usize = 64;

/// A hash map of [`SHARDS`] tables, each holding the keys whose hash picks it.
///
/// ```
/// use weir::state::ShardedMap;
///
/// let mut counts: ShardedMap<u64, u64> = ShardedMap::default();
/// for key in [3, 1, 3, 3] {
///     *counts.get_or_insert_with(key, || 0) += 1;
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
    shards: Vec<HashTable<(K, V)>>,
    /// One hash per key: bits [`PICK_SHIFT`].. pick the shard, the table uses its low bits
    /// for the bucket and its top seven for its tags, so the three do not overlap.
    hasher: foldhash::fast::RandomState,
}

impl<K, V> Default for ShardedMap<K, V> {
    fn default() -> Self {
        ShardedMap {
            shards: (0..SHARDS).map(|_| HashTable::new()).collect(),
            hasher: foldhash::fast::RandomState::default(),
        }
    }
}

/// The bits of a key's hash that pick its shard.
const PICK_BITS: u32 = 12;

/// Where they start: above any bucket index a shard's table uses (below 2^40 buckets), and
/// below the seven top bits the table keeps as tags.
const PICK_SHIFT: u32 = 40;

/// The shard of each value of a hash's [`PICK_BITS`]: shard `i` takes a share of them
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

/// The shard of a hash.
#[inline]
fn shard_of(hash: u64) -> usize {
    let pick = (hash >> PICK_SHIFT) & ((1 << PICK_BITS) - 1);
    usize::from(SHARD_OF[pick as usize])
}

impl<K: Hash + Eq, V> ShardedMap<K, V> {
    #[inline]
    fn hash(&self, key: &K) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The shard `key` is in.
    #[cfg(test)]
    fn shard(&self, key: &K) -> usize {
        shard_of(self.hash(key))
    }

    /// The value of `key`.
    #[inline]
    pub fn get(&self, key: &K) -> Option<&V> {
        let hash = self.hash(key);
        self.shards[shard_of(hash)]
            .find(hash, |(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The value of `key`, to change.
    #[inline]
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let hash = self.hash(key);
        self.shards[shard_of(hash)]
            .find_mut(hash, |(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The value of `key`, made with `make` if it has none.
    #[inline]
    pub fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        match self.entry(key) {
            (Entry::Occupied(entry), _) => &mut entry.into_mut().1,
            (Entry::Vacant(entry), key) => &mut entry.insert((key, make())).into_mut().1,
        }
    }

    /// Sets the value of `key`, returning the one it had.
    #[inline]
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.entry(key) {
            (Entry::Occupied(mut entry), _) => {
                Some(std::mem::replace(&mut entry.get_mut().1, value))
            }
            (Entry::Vacant(entry), key) => {
                entry.insert((key, value));
                None
            }
        }
    }

    /// Takes `key` out, returning its value.
    #[inline]
    pub fn remove(&mut self, key: &K) -> Option<V> {
        let hash = self.hash(key);
        let entry = self.shards[shard_of(hash)]
            .find_entry(hash, |(k, _)| k == key)
            .ok()?;
        Some(entry.remove().0 .1)
    }

    /// The table entry of `key`, and the key back.
    #[inline]
    fn entry(&mut self, key: K) -> (Entry<'_, (K, V)>, K) {
        let hash = self.hash(&key);
        let hasher = &self.hasher;
        let entry = self.shards[shard_of(hash)].entry(
            hash,
            |(k, _)| *k == key,
            |(k, _)| hasher.hash_one(k),
        );
        (entry, key)
    }
}

impl<K, V> ShardedMap<K, V> {
    /// The number of entries.
    pub fn len(&self) -> usize {
        self.shards.iter().map(HashTable::len).sum()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.shards.iter().all(HashTable::is_empty)
    }

    /// How many entries fit without growing, all shards together.
    pub fn capacity(&self) -> usize {
        self.shards.iter().map(HashTable::capacity).sum()
    }

    /// Every entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.shards
            .iter()
            .flat_map(|shard| shard.iter().map(|(k, v)| (k, v)))
    }

    /// Every entry, its value to change, in no particular order.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&K, &mut V)> {
        self.shards
            .iter_mut()
            .flat_map(|shard| shard.iter_mut().map(|(k, v)| (&*k, v)))
    }

    /// Removes every entry, keeping the room they took for new ones: without reading the
    /// entries where they need no drop.
    pub fn clear(&mut self) {
        self.shards.iter_mut().for_each(HashTable::clear);
    }

    /// Takes every entry out, keeping the room they took for new ones.
    pub fn drain(&mut self) -> impl Iterator<Item = (K, V)> + '_ {
        self.shards.iter_mut().flat_map(HashTable::drain)
    }

    /// Takes out the entries `take` selects, in one pass (a live migration's key groups):
    /// no key is looked up again.
    pub fn extract_where<'a>(
        &'a mut self,
        mut take: impl FnMut(&K, &V) -> bool + 'a,
    ) -> impl Iterator<Item = (K, V)> + 'a {
        self.shards
            .iter_mut()
            .flat_map(move |shard| shard.extract_if(|(k, v)| take(k, v)).collect::<Vec<_>>())
    }
}

impl<K: Hash + Eq, V> Extend<(K, V)> for ShardedMap<K, V> {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, entries: I) {
        for (key, value) in entries {
            self.insert(key, value);
        }
    }
}

impl<K: Hash + Eq, V> FromIterator<(K, V)> for ShardedMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(entries: I) -> Self {
        let mut map = ShardedMap::default();
        map.extend(entries);
        map
    }
}

impl<K, V> IntoIterator for ShardedMap<K, V> {
    type Item = (K, V);
    type IntoIter = std::iter::Flatten<std::vec::IntoIter<HashTable<(K, V)>>>;

    fn into_iter(self) -> Self::IntoIter {
        self.shards.into_iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_spread_over_the_shards_in_growing_shares_and_each_is_found_again() {
        use rand::{RngCore, SeedableRng};
        // Random keys: foldhash's fast hash of the keys 0, 1, 2, ... is uniform in the bits
        // that pick a shard for most process seeds, but leaves shares of 0.5x to 1.5x for
        // some, which spreads growth just as well but would make bounds here a coin toss.
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos() as u64);
        eprintln!("seed {seed}");
        let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
        let keys: Vec<u64> = (0..10_000).map(|_| rng.next_u64()).collect();
        let mut map: ShardedMap<u64, u64> = ShardedMap::default();
        for &key in &keys {
            map.insert(key, key / 2);
        }
        assert_eq!(
            map.len(),
            10_000,
            "64-bit random keys are distinct (seed {seed})"
        );
        // Shares from 1 to 2 across the shards: about 110 to 220 of 10,000 keys, each
        // within five standard deviations.
        let lens: Vec<usize> = map.shards.iter().map(HashTable::len).collect();
        assert!(lens.iter().all(|&len| (55..300).contains(&len)), "{lens:?}");
        let (first, last): (usize, usize) = (lens[..8].iter().sum(), lens[56..].iter().sum());
        assert!(
            last * 10 > first * 16,
            "the last shards take about twice the first: {lens:?}"
        );
        for key in keys {
            assert_eq!(map.get_mut(&key), Some(&mut (key / 2)));
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
        let mut capacities: Vec<usize> = map.shards.iter().map(HashTable::capacity).collect();
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
