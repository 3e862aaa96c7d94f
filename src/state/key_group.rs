//! Key groups: the stable partition of the key space that state is kept and moved in.

use std::hash::{Hash, Hasher};
use std::ops::Range;

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::{xxh3_64_with_seed, Xxh3};

/// The number of key groups a job gets when none is configured.
pub const DEFAULT_KEY_GROUPS: u32 = 256;

/// The seed of the stable key hash. Changing it re-routes every key, so it is part of the
/// format: snapshots taken with one seed cannot be restored with another.
const KEY_HASH_SEED: u64 = 0x7765_6972_6b65_7973; // "weirkeys"

/// Hashes a key the same way on every worker, process, machine, build and version of weir.
///
/// Routing must agree between the worker that sends a record and the worker that owns its
/// state, and between the run that wrote a snapshot and the run that restores it, which may
/// be another build on another machine. So the hash is XXH3-64 (a fixed, specified function)
/// of a fixed encoding of the key (see [`StableKeyHasher`]), never a hasher that promises
/// no stability (the standard library's, or foldhash). The function is part of the snapshot
/// format ([`FORMAT_VERSION`](crate::snapshot::FORMAT_VERSION) 2 on), and pinned by a test of
/// known key → group values.
#[inline]
pub fn stable_hash<K: Hash + ?Sized>(key: &K) -> u64 {
    let mut hasher = StableKeyHasher::new();
    key.hash(&mut hasher);
    hasher.finish()
}

/// Bytes of encoded key hashed in one call; longer keys go through XXH3's streaming state,
/// which gives the same hash.
const INLINE_KEY: usize = 64;

/// A [`Hasher`] that encodes what a key's `Hash` feeds it in one fixed, platform-independent
/// way and hashes the encoding with XXH3-64: integers little-endian at their own width
/// (`usize` and `isize` as 64 bits, so 32- and 64-bit machines agree), byte strings as they
/// are (a `str` as its UTF-8 bytes and `0xff`, as `Hash for str` writes it). Keys up to 64
/// encoded bytes are hashed in one call from a stack buffer; longer ones stream. Neither
/// allocates.
pub struct StableKeyHasher {
    inline: [u8; INLINE_KEY],
    len: usize,
    /// XXH3's streaming state, for keys longer than `inline` (kept inline too: no key
    /// allocates).
    stream: Option<Xxh3>,
}

impl StableKeyHasher {
    /// A hasher with nothing written yet.
    #[inline]
    pub fn new() -> Self {
        StableKeyHasher {
            inline: [0; INLINE_KEY],
            len: 0,
            stream: None,
        }
    }
}

impl Default for StableKeyHasher {
    fn default() -> Self {
        StableKeyHasher::new()
    }
}

impl Hasher for StableKeyHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        if let Some(stream) = self.stream.as_mut() {
            stream.update(bytes);
        } else if self.len + bytes.len() <= INLINE_KEY {
            self.inline[self.len..self.len + bytes.len()].copy_from_slice(bytes);
            self.len += bytes.len();
        } else {
            // Only keys longer than the buffer get here.
            let mut stream = Xxh3::with_seed(KEY_HASH_SEED);
            stream.update(&self.inline[..self.len]);
            stream.update(bytes);
            self.stream = Some(stream);
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.write(&[i]);
    }

    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.write(&i.to_le_bytes());
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.write(&i.to_le_bytes());
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.write(&i.to_le_bytes());
    }

    #[inline]
    fn write_u128(&mut self, i: u128) {
        self.write(&i.to_le_bytes());
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }

    #[inline]
    fn write_i8(&mut self, i: i8) {
        self.write_u8(i as u8);
    }

    #[inline]
    fn write_i16(&mut self, i: i16) {
        self.write_u16(i as u16);
    }

    #[inline]
    fn write_i32(&mut self, i: i32) {
        self.write_u32(i as u32);
    }

    #[inline]
    fn write_i64(&mut self, i: i64) {
        self.write_u64(i as u64);
    }

    #[inline]
    fn write_i128(&mut self, i: i128) {
        self.write_u128(i as u128);
    }

    #[inline]
    fn write_isize(&mut self, i: isize) {
        self.write_u64(i as i64 as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        match &self.stream {
            Some(stream) => stream.digest(),
            None => xxh3_64_with_seed(&self.inline[..self.len], KEY_HASH_SEED),
        }
    }
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
    fn known_keys_hash_to_known_groups() {
        // Computed outside weir, with Python's `xxhash` package over the encoding that
        // `StableKeyHasher` documents. If these change, keys route differently than in
        // snapshots written by earlier builds, which then no longer restore correctly: bump
        // the snapshot format version.
        let long_key = "x".repeat(100);
        let known: [(u64, u64, u32); 6] = [
            (stable_hash(&42u64), 73783824464309080, 1),
            (stable_hash(&0u64), 3838304417992419352, 53),
            (stable_hash(&-1i64), 373736420503647303, 5),
            (stable_hash("weir"), 17756676760608103259, 246),
            (
                stable_hash(&(7u32, "auction".to_string())),
                10890087785307844292,
                151,
            ),
            (stable_hash(long_key.as_str()), 2938277232232173366, 40),
        ];
        let groups = KeyGroups::new(256);
        for (index, (hash, expected_hash, expected_group)) in known.into_iter().enumerate() {
            assert_eq!(hash, expected_hash, "key {index}");
            assert_eq!(groups.group_of_hash(hash).0, expected_group, "key {index}");
        }
        // `usize` is hashed as 64 bits, so 32- and 64-bit machines agree.
        assert_eq!(stable_hash(&42usize), stable_hash(&42u64));
        assert_eq!(stable_hash(&-1isize), stable_hash(&-1i64));
    }

    #[test]
    fn hash_spreads_keys_over_groups() {
        let groups = KeyGroups::new(16);
        let mut counts = [0usize; 16];
        for key in 0..16_000u64 {
            counts[groups.group_of(&key).0 as usize] += 1;
        }
        for count in counts {
            assert!((800..1200).contains(&count), "uneven spread: {counts:?}");
        }
        let mut strings = [0usize; 16];
        for key in 0..16_000u64 {
            strings[groups.group_of(format!("key-{key}").as_str()).0 as usize] += 1;
        }
        for count in strings {
            assert!((800..1200).contains(&count), "uneven spread: {strings:?}");
        }
    }
}
