//! Part files of keyed state: the entries of each key group, encoded separately so that a
//! worker restoring onto a different number of workers decodes only the groups it owns.

use std::ops::Range;

use anyhow::{bail, Context};
use bincode::Options;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::state::KeyGroups;

/// The first bytes of every state part.
const MAGIC: &[u8; 8] = b"weirpart";

/// The encoding of part contents: bincode with varints, and a limit on what decoding may
/// allocate so that damaged bytes cannot ask for absurd amounts of memory.
fn codec(limit: u64) -> impl Options {
    bincode::options().with_limit(limit)
}

#[derive(Serialize, Deserialize)]
struct Groups {
    /// `(group, encoded entries)` for every non-empty group, in group order.
    groups: Vec<(u32, Vec<u8>)>,
}

/// Encodes keyed entries into a part: `group_of` says which key group an entry is in.
pub fn encode_groups<E, I, G>(
    entries: I,
    groups: &KeyGroups,
    group_of: G,
) -> anyhow::Result<Vec<u8>>
where
    E: Serialize,
    I: IntoIterator<Item = E>,
    G: Fn(&E) -> u32,
{
    let mut buckets: Vec<Vec<E>> = (0..groups.count()).map(|_| Vec::new()).collect();
    for entry in entries {
        let group = group_of(&entry) as usize;
        if let Some(bucket) = buckets.get_mut(group) {
            bucket.push(entry);
        }
    }
    let mut encoded = Vec::new();
    for (group, bucket) in buckets.into_iter().enumerate() {
        if !bucket.is_empty() {
            encoded.push((group as u32, codec(u64::MAX).serialize(&bucket)?));
        }
    }
    let mut bytes = MAGIC.to_vec();
    codec(u64::MAX).serialize_into(&mut bytes, &Groups { groups: encoded })?;
    Ok(bytes)
}

/// Decodes the entries of the groups in `wanted` from a part.
pub fn decode_groups<E: DeserializeOwned>(
    bytes: &[u8],
    wanted: Range<u32>,
) -> anyhow::Result<Vec<E>> {
    let Some(body) = bytes.strip_prefix(MAGIC) else {
        bail!("not a weir state part");
    };
    let limit = bytes.len() as u64;
    let parts: Groups = codec(limit)
        .deserialize(body)
        .context("cannot decode the part's groups")?;
    let mut entries = Vec::new();
    for (group, encoded) in parts.groups {
        if wanted.contains(&group) {
            let mut decoded: Vec<E> = codec(limit)
                .deserialize(&encoded)
                .with_context(|| format!("cannot decode key group {group}"))?;
            entries.append(&mut decoded);
        }
    }
    Ok(entries)
}

/// The groups present in a part, with the encoded size of each.
pub fn group_sizes(bytes: &[u8]) -> anyhow::Result<Vec<(u32, usize)>> {
    let Some(body) = bytes.strip_prefix(MAGIC) else {
        bail!("not a weir state part");
    };
    let parts: Groups = codec(bytes.len() as u64)
        .deserialize(body)
        .context("cannot decode the part's groups")?;
    Ok(parts.groups.iter().map(|(g, e)| (*g, e.len())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_round_trip_and_select() {
        let groups = KeyGroups::new(8);
        let entries: Vec<(u64, String)> = (0..100).map(|k| (k, format!("v{k}"))).collect();
        let bytes = encode_groups(entries.clone(), &groups, |(k, _)| groups.group_of(k).0).unwrap();
        let mut all: Vec<(u64, String)> = decode_groups(&bytes, 0..8).unwrap();
        all.sort();
        assert_eq!(all, entries);
        let low: Vec<(u64, String)> = decode_groups(&bytes, 0..4).unwrap();
        assert!(low.iter().all(|(k, _)| groups.group_of(k).0 < 4));
        let high: Vec<(u64, String)> = decode_groups(&bytes, 4..8).unwrap();
        assert_eq!(low.len() + high.len(), 100);
    }

    #[test]
    fn damaged_parts_are_errors_not_panics() {
        let groups = KeyGroups::new(4);
        let bytes = encode_groups((0..50u64).map(|k| (k, k)), &groups, |(k, _)| {
            groups.group_of(k).0
        })
        .unwrap();
        for cut in [0, 4, 8, 9, bytes.len() / 2, bytes.len() - 1] {
            assert!(
                decode_groups::<(u64, u64)>(&bytes[..cut], 0..4).is_err(),
                "truncated at {cut}"
            );
        }
        let mut flipped = bytes.clone();
        flipped[10] ^= 0xff;
        // A flip may or may not decode; it must never panic or allocate wildly.
        let _ = decode_groups::<(u64, u64)>(&flipped, 0..4);
    }
}
