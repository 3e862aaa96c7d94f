//! The manifest: the record, written last, that makes a snapshot complete.

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use crate::identity::JobIdentity;
use crate::snapshot::sealed::{seal, unseal};
use crate::time::Time;

/// The version of the snapshot format; a manifest of another version is not restored.
///
/// - 1: key groups by foldhash of Rust's `Hash` (stable neither across Rust nor foldhash
///   versions).
/// - 2: key groups by XXH3-64 of weir's own key encoding
///   ([`stable_hash`](crate::state::stable_hash)); the publication log checksummed, with
///   paths relative to the snapshot directory.
/// - 3: `aggregate` keeps an accumulator per window (keyed by its end), not per pane.
/// - 4: a JSON-lines file is split between workers by byte ranges, and its resume positions
///   are offsets into them.
pub const FORMAT_VERSION: u32 = 4;

/// The epoch of the snapshot that commits what remains when the input ends.
pub const FINAL_EPOCH: Time = Time::MAX;

/// What a part holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PartKind {
    /// Keyed state of a stateful operator, by key group.
    State,
    /// A source's resume position.
    Source,
    /// Output staged for a committing sink, published when the snapshot commits.
    Output,
}

impl PartKind {
    /// Whether parts of this kind are staged for committing sinks: each is published once,
    /// with the first committed snapshot that lists it, so an epoch that cannot commit hands
    /// its staged parts on to the next one that does. State and positions are instead
    /// captured anew for every epoch, and an uncommitted epoch's are simply dropped.
    pub fn is_staged(self) -> bool {
        matches!(self, PartKind::Output)
    }
}

impl Part {
    /// Whether this part holds staged bytes for a committing sink to publish.
    pub fn is_staged_file(&self) -> bool {
        self.kind.is_staged() && self.file.is_some()
    }
}

/// A file of a snapshot, with its size and checksum.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartFile {
    /// File name within the epoch's directory.
    pub name: String,
    /// Size in bytes.
    pub bytes: u64,
    /// CRC-32 of the contents.
    pub crc32: u32,
}

/// One participant's contribution to a snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// The participant's stable id within the pipeline.
    pub operator: String,
    /// What the part holds.
    pub kind: PartKind,
    /// The worker that wrote it.
    pub worker: usize,
    /// The file holding it, if it needed one.
    pub file: Option<PartFile>,
    /// Small data kept in the manifest itself (source positions), as JSON text.
    pub inline: Option<String>,
}

/// The manifest of one complete snapshot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT_VERSION`] of the writer.
    pub format: u32,
    /// The epoch `T`: the state after exactly the input before `T`.
    pub epoch: Time,
    /// Whether this is the last snapshot of a finished job (its epoch is [`FINAL_EPOCH`]).
    #[serde(rename = "final")]
    pub is_final: bool,
    /// Fingerprint of the job's identity.
    pub fingerprint: String,
    /// What the job is: pipeline and the parameters that shape its results.
    pub identity: JobIdentity,
    /// The number of key groups, `G`.
    pub key_groups: u32,
    /// Workers over all processes when the snapshot was taken.
    pub workers: usize,
    /// Processes when the snapshot was taken.
    pub processes: usize,
    /// The ids of every participant.
    pub operators: Vec<String>,
    /// Every part.
    pub parts: Vec<Part>,
    /// Wall-clock time of the commit, in milliseconds since the Unix epoch.
    pub committed_unix_ms: u64,
    /// A savepoint: taken on request (`weir savepoint`, SIGUSR1, a stop or a rescale) and
    /// never deleted by pruning. Absent in manifests written before savepoints existed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub savepoint: bool,
}

impl Manifest {
    /// The manifest's text: JSON, then a line with the CRC-32 of the JSON.
    pub fn to_text(&self) -> anyhow::Result<String> {
        Ok(seal(&serde_json::to_string_pretty(self)?))
    }

    /// Parses and checks a manifest's text.
    pub fn from_text(text: &str) -> anyhow::Result<Manifest> {
        let json = unseal(text, "the manifest")?;
        let manifest: Manifest = serde_json::from_str(json).context("the manifest is not valid")?;
        if manifest.format != FORMAT_VERSION {
            bail!(
                "the manifest has format version {}, this weir reads version {FORMAT_VERSION}",
                manifest.format
            );
        }
        Ok(manifest)
    }

    /// The parts of one participant.
    pub fn parts_of<'a>(&'a self, operator: &'a str) -> impl Iterator<Item = &'a Part> + 'a {
        self.parts
            .iter()
            .filter(move |part| part.operator == operator)
    }

    /// Total bytes of the snapshot's files.
    pub fn total_bytes(&self) -> u64 {
        self.parts
            .iter()
            .filter_map(|p| p.file.as_ref())
            .map(|f| f.bytes)
            .sum()
    }
}

/// How an epoch is written in names and messages.
pub fn epoch_label(epoch: Time) -> String {
    if epoch == FINAL_EPOCH {
        "final".to_string()
    } else {
        epoch.to_string()
    }
}
