//! What a job is: the parameters that shape its results, recorded in every snapshot so that
//! only the same job restores it. Plain data at the bottom of the crate: the snapshot layer
//! reads it, the job and the sources make it.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::kafka::KafkaUri;
use crate::state::StateKind;
use crate::time::Time;

/// Where lines come from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LineInput {
    /// A file, a directory of files or a glob pattern (the files in name order, one stream),
    /// read by every worker for its own lines.
    File(PathBuf),
    /// Standard input, read by worker 0.
    Stdin,
    /// A Kafka topic, its partitions read by worker index.
    Kafka(KafkaUri),
}

impl LineInput {
    /// How error messages name the input.
    pub fn describe(&self) -> String {
        match self {
            LineInput::File(path) => path.display().to_string(),
            LineInput::Stdin => "standard input".to_string(),
            LineInput::Kafka(uri) => uri.to_string(),
        }
    }
}

/// What makes two runs the same job, so that one may restore the other's snapshots: the
/// pipeline and every parameter that shapes its results, but not how many workers run it,
/// how fast input is paced, or where output goes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobIdentity {
    /// The pipeline.
    pub pipeline: String,
    /// Records generated.
    pub events: u64,
    /// Records per second of event time.
    pub event_rate: f64,
    /// Seed of generated input.
    pub seed: u64,
    /// Distinct keys of generated input.
    pub keys: u64,
    /// The input read instead of generated records.
    pub input: Option<LineInput>,
    /// Whether malformed lines are skipped.
    pub skip_bad_input: bool,
    /// The out-of-orderness bound.
    pub out_of_orderness: Time,
    /// The number of key groups.
    pub key_groups: u32,
    /// How keyed state is kept: it decides what the snapshots hold.
    #[serde(default)]
    pub state: StateKind,
    /// The side table a lookup join read (`--side-input`), by path.
    #[serde(default)]
    pub side_input: Option<PathBuf>,
}

impl JobIdentity {
    /// A short fingerprint of the identity, for names and messages.
    pub fn fingerprint(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_default();
        format!("{:08x}", crc32fast::hash(json.as_bytes()))
    }

    /// The identity in a few words.
    pub fn describe(&self) -> String {
        let input = match &self.input {
            Some(input) => format!("--input {}", input.describe()),
            None => format!(
                "--events {} --seed {} --keys {}",
                self.events, self.seed, self.keys
            ),
        };
        format!(
            "{} {input}, G={}, --state {}",
            self.pipeline, self.key_groups, self.state
        )
    }
}
