//! Part files of keyed state: a self-describing header, then the entries of each key group,
//! encoded separately so that a worker restoring onto a different number of workers decodes
//! only the groups it owns.
//!
//! Layout: `weirpart`, the header's length (u32, little-endian), the header, the groups. The
//! manifest holds each part's size and CRC-32; the header lets a part be checked against
//! the manifest that lists it and read on its own (`weir snapshot inspect`).

use std::ops::Range;

use anyhow::{bail, Context};
use bincode::Options;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::state::KeyGroups;
use crate::time::Time;

/// The first bytes of every state part.
const MAGIC: &[u8; 8] = b"weirpart";

/// The encoding of part contents: bincode with varints, and a limit on what decoding may
/// allocate so that damaged bytes cannot ask for absurd amounts of memory.
fn codec(limit: u64) -> impl Options {
    bincode::options().with_limit(limit)
}

/// What a state part is: written at the start of its file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartHeader {
    /// The snapshot format version of the writer.
    pub format: u32,
    /// The fingerprint of the job that wrote it.
    pub fingerprint: String,
    /// The stateful operator's id.
    pub operator: String,
    /// The epoch it was captured at.
    pub epoch: Time,
    /// The worker that wrote it, and how many workers the job had.
    pub worker: usize,
    /// Workers over all processes.
    pub workers: usize,
    /// The number of key groups, `G`.
    pub key_groups: u32,
}

impl PartHeader {
    /// The bytes a part file starts with.
    pub fn to_bytes(&self) -> anyhow::Result<Vec<u8>> {
        let header = codec(u64::MAX).serialize(self)?;
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&(header.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&header);
        Ok(bytes)
    }
}

/// Splits a part file into its header and its groups.
pub fn read_header(bytes: &[u8]) -> anyhow::Result<(PartHeader, &[u8])> {
    let Some(rest) = bytes.strip_prefix(MAGIC) else {
        bail!("not a weir state part");
    };
    let (length, rest) = rest
        .split_first_chunk::<4>()
        .context("the part's header is cut short")?;
    let length = u32::from_le_bytes(*length) as usize;
    if rest.len() < length {
        bail!("the part's header is cut short");
    }
    let (header, body) = rest.split_at(length);
    let header: PartHeader = codec(length as u64)
        .deserialize(header)
        .context("cannot decode the part's header")?;
    Ok((header, body))
}

#[derive(Serialize, Deserialize)]
struct Groups {
    /// `(group, encoded entries)` for every non-empty group, in group order.
    groups: Vec<(u32, Vec<u8>)>,
}

/// Encodes keyed entries into the groups of a part (everything after the header):
/// `group_of` says which key group an entry is in.
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
    Ok(codec(u64::MAX).serialize(&Groups { groups: encoded })?)
}

fn read_groups(body: &[u8]) -> anyhow::Result<Groups> {
    codec(body.len() as u64)
        .deserialize(body)
        .context("cannot decode the part's groups")
}

/// Decodes the entries of the groups in `wanted` from a part file.
pub fn decode_groups<E: DeserializeOwned>(
    bytes: &[u8],
    wanted: Range<u32>,
) -> anyhow::Result<Vec<E>> {
    decode_groups_where(bytes, |group| wanted.contains(&group))
}

/// The entries of the key groups `wanted` selects, from a part's bytes: for state placed by
/// a live migration's assignment, where a worker's groups need not be one range.
pub fn decode_groups_where<E: DeserializeOwned>(
    bytes: &[u8],
    wanted: impl Fn(u32) -> bool,
) -> anyhow::Result<Vec<E>> {
    let (_, body) = read_header(bytes)?;
    let limit = body.len() as u64;
    let mut entries = Vec::new();
    for (group, encoded) in read_groups(body)?.groups {
        if wanted(group) {
            let mut decoded: Vec<E> = codec(limit)
                .deserialize(&encoded)
                .with_context(|| format!("cannot decode key group {group}"))?;
            entries.append(&mut decoded);
        }
    }
    Ok(entries)
}

/// The header of a part file and the groups present in it, with the encoded size of each.
pub fn group_sizes(bytes: &[u8]) -> anyhow::Result<(PartHeader, Vec<(u32, usize)>)> {
    let (header, body) = read_header(bytes)?;
    let sizes = read_groups(body)?
        .groups
        .iter()
        .map(|(g, e)| (*g, e.len()))
        .collect();
    Ok((header, sizes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> PartHeader {
        PartHeader {
            format: 1,
            fingerprint: "f".into(),
            operator: "counts".into(),
            epoch: 1000,
            worker: 1,
            workers: 2,
            key_groups: 8,
        }
    }

    #[test]
    fn groups_round_trip_and_select() {
        let groups = KeyGroups::new(8);
        let entries: Vec<(u64, String)> = (0..100).map(|k| (k, format!("v{k}"))).collect();
        let body = encode_groups(entries.clone(), &groups, |(k, _)| groups.group_of(k).0).unwrap();
        let bytes = [header().to_bytes().unwrap(), body].concat();
        let (sizes_header, sizes) = group_sizes(&bytes).unwrap();
        assert_eq!(sizes_header, header());
        assert_eq!(sizes.len(), 8);
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
        let body = encode_groups((0..50u64).map(|k| (k, k)), &groups, |(k, _)| {
            groups.group_of(k).0
        })
        .unwrap();
        let bytes = [header().to_bytes().unwrap(), body].concat();
        for cut in [0, 4, 8, 9, 12, 20, bytes.len() / 2, bytes.len() - 1] {
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
