//! The job: what a pipeline sees of the run it is part of.
//!
//! A pipeline is a function that builds a dataflow from a [`Job`]. The job hands out the
//! sources the run was configured with (generated records or an input file) and takes the
//! output, so one pipeline definition serves `weir run`, the benchmark harness and tests.

use std::path::PathBuf;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use timely::dataflow::operators::Probe;
use timely::dataflow::{ProbeHandle, Scope, StreamVec};

use crate::control::JobControl;
pub use crate::identity::JobIdentity;
use crate::migration::MigrationSpec;
use crate::sinks::{JsonLineWriter, OutputTarget, StageWith, StagedLineWriter, WriteJsonLines};
use crate::snapshot::SnapshotHub;
use crate::sources::chain::ChainInput;
use crate::sources::json_lines::read_json_line;
use crate::sources::prepared::PreparedInput;
use crate::sources::{
    Chain, GeneratorSpec, IntoChain, JsonLines, JsonLinesSpec, LineInput, MalformedJson, TextLines,
};
use crate::state::StateKind;
use crate::time::{EventClock, Time};

/// The parameters of a run that pipelines read; all plain data, recorded with results.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JobConfig {
    /// The registered pipeline's name.
    pub pipeline: String,
    /// Records to generate (generated input only).
    pub events: u64,
    /// Stop generating after this long (generated input only).
    pub duration: Option<Duration>,
    /// Wall-clock pace of generated input in records per second; `None` for as fast as possible.
    pub rate: Option<f64>,
    /// Records per second of event time for generated input and text lines.
    pub event_rate: f64,
    /// Seed of generated input.
    pub seed: u64,
    /// Distinct keys of generated input (seed-state values, wordcount vocabulary).
    pub keys: u64,
    /// Read records from here instead of generating them.
    pub input: Option<LineInput>,
    /// Count and skip malformed input lines instead of failing.
    pub skip_bad_input: bool,
    /// How far event times may run behind the newest seen, in milliseconds.
    pub out_of_orderness: Time,
    /// The number of key groups, `G`.
    pub key_groups: u32,
    /// How keyed state is kept (`--state`).
    pub state: StateKind,
    /// The side table of a lookup join (`--side-input`); the pipeline's own when `None`.
    pub side_input: Option<PathBuf>,
    /// Key groups moved among the running workers (`--migrate-at`).
    #[serde(default)]
    pub migration: Option<MigrationSpec>,
}

impl JobConfig {
    /// What makes this run the same job as another.
    ///
    /// Every field is named here, so that a parameter added to the configuration does not
    /// compile until it is said whether it shapes results (and so belongs to the identity)
    /// or not: the two cannot drift apart.
    pub fn identity(&self) -> JobIdentity {
        let JobConfig {
            pipeline,
            events,
            // How long generation runs is a wall-clock bound: it changes how much input
            // there is, but a run bounded by it is not restored as the same input.
            duration: _,
            // Pacing changes when records come, never what the results are.
            rate: _,
            event_rate,
            seed,
            keys,
            input,
            skip_bad_input,
            out_of_orderness,
            key_groups,
            state,
            side_input,
            // Where key groups live changes no result, and a restore places them by the
            // plan it is given.
            migration: _,
        } = self;
        JobIdentity {
            pipeline: pipeline.clone(),
            events: *events,
            event_rate: *event_rate,
            seed: *seed,
            keys: *keys,
            input: input.clone(),
            skip_bad_input: *skip_bad_input,
            out_of_orderness: *out_of_orderness,
            key_groups: *key_groups,
            state: *state,
            side_input: side_input.clone(),
        }
    }

    /// A configuration for `pipeline` with weir's defaults.
    pub fn new(pipeline: &str) -> Self {
        JobConfig {
            pipeline: pipeline.to_string(),
            events: 1_000_000,
            duration: None,
            rate: None,
            event_rate: 1_000_000.0,
            seed: 0,
            keys: 1_000,
            input: None,
            skip_bad_input: false,
            out_of_orderness: 0,
            key_groups: crate::state::DEFAULT_KEY_GROUPS,
            state: StateKind::Hash,
            side_input: None,
            migration: None,
        }
    }

    /// The event clock of generated records and text lines.
    pub fn clock(&self) -> EventClock {
        EventClock::new(self.event_rate)
    }
}

/// A run as one worker's pipeline sees it while building its dataflow.
pub struct Job<'scope> {
    scope: Scope<'scope, Time>,
    config: JobConfig,
    control: JobControl,
    output: OutputTarget,
    probe: ProbeHandle<Time>,
    input_probe: ProbeHandle<Time>,
}

impl<'scope> Job<'scope> {
    /// A job building into `scope`, writing to `output`.
    pub fn new(
        scope: Scope<'scope, Time>,
        config: JobConfig,
        control: JobControl,
        output: OutputTarget,
    ) -> Self {
        Job {
            scope,
            config,
            control,
            output,
            probe: ProbeHandle::new(),
            input_probe: ProbeHandle::new(),
        }
    }

    /// The scope the dataflow is built in.
    pub fn scope(&self) -> Scope<'scope, Time> {
        self.scope
    }

    /// The run's parameters.
    pub fn config(&self) -> &JobConfig {
        &self.config
    }

    /// The run's shared control: errors, stop requests, counters.
    pub fn control(&self) -> &JobControl {
        &self.control
    }

    /// The probe on the output: its frontier says which times are complete.
    pub fn probe(&self) -> &ProbeHandle<Time> {
        &self.probe
    }

    /// The probe on generated input: times before its frontier have been sent in full.
    pub fn input_probe(&self) -> &ProbeHandle<Time> {
        &self.input_probe
    }

    /// Generated input: `make(n)` for record numbers `n` of the configured count, rate and
    /// event rate.
    pub fn generate<D: 'static, F: FnMut(u64) -> D + 'static>(
        &self,
        make: F,
    ) -> StreamVec<'scope, Time, D> {
        self.generate_chain(make).stream()
    }

    /// Generated input as a [`Chain`], whose stateless steps run inside the generator.
    pub fn generate_chain<D: 'static, F: FnMut(u64) -> D + 'static>(
        &self,
        make: F,
    ) -> Chain<'scope, D, impl FnMut(u64) -> Option<D> + 'static + use<D, F>> {
        Chain::generate(self.scope, self.generator_spec(), make).probe_sent_with(&self.input_probe)
    }

    /// What a generated input of this job makes, and how fast.
    fn generator_spec(&self) -> GeneratorSpec {
        GeneratorSpec {
            count: self.config.events,
            rate: self.config.rate,
            clock: self.config.clock(),
            duration: self.config.duration,
            control: self.control.clone(),
            throttle: Some(self.probe.clone()),
        }
    }

    /// The job's input as one [`Chain`] whose steps run inside its source: generated, record
    /// `n` being `generate(n)`, or, where `--input` is given, its JSON lines, each read by
    /// `parse` (blank lines skipped) at the time `time_of` reads from the record. A chain over
    /// read lines writes its output inside the source as a generated one does.
    pub fn generated_or_json_lines<D, G, P, F>(
        &self,
        generate: G,
        parse: P,
        time_of: F,
    ) -> anyhow::Result<
        Chain<'scope, D, impl FnMut(u64) -> Option<D> + 'static + use<'scope, D, G, P, F>>,
    >
    where
        D: 'static,
        G: FnMut(u64) -> D + 'static,
        P: FnMut(&[u8]) -> Result<D, MalformedJson> + 'static,
        F: Fn(&D) -> Time + 'static,
    {
        let input = match self.config.input {
            Some(_) => {
                let lines = PreparedInput::open(self.scope, self.json_lines_spec()?.into())?;
                ChainInput::Lines(Box::new(lines), read_json_line(parse, time_of))
            }
            None => ChainInput::Generated(self.generator_spec(), generate),
        };
        Ok(Chain::from_input(self.scope, "JsonLines", input).probe_sent_with(&self.input_probe))
    }

    /// The configured input, if `--input` was given.
    pub fn input(&self) -> Option<&LineInput> {
        self.config.input.as_ref()
    }

    /// The configured input as text lines.
    pub fn text_lines(&self) -> anyhow::Result<StreamVec<'scope, Time, String>> {
        let input = self.required_input()?;
        self.scope
            .text_lines(input, self.config.clock(), self.control.clone())
    }

    /// The configured input as JSON lines of `T`, at the times `time_of` reads from them.
    pub fn json_lines<T, F>(&self, time_of: F) -> anyhow::Result<StreamVec<'scope, Time, T>>
    where
        T: DeserializeOwned + 'static,
        F: Fn(&T) -> Time + 'static,
    {
        self.scope.json_lines(self.json_lines_spec()?, time_of)
    }

    /// The configured input as JSON lines, each read by `parse` (see
    /// [`JsonLines::json_lines_parsed`]).
    pub fn json_lines_parsed<T, P, F>(
        &self,
        parse: P,
        time_of: F,
    ) -> anyhow::Result<StreamVec<'scope, Time, T>>
    where
        T: 'static,
        P: FnMut(&[u8]) -> Result<T, MalformedJson> + 'static,
        F: Fn(&T) -> Time + 'static,
    {
        self.scope
            .json_lines_parsed(self.json_lines_spec()?, parse, time_of)
    }

    /// How this job reads its `--input` as JSON lines.
    fn json_lines_spec(&self) -> anyhow::Result<JsonLinesSpec> {
        Ok(JsonLinesSpec {
            input: self.required_input()?,
            out_of_orderness: self.config.out_of_orderness,
            skip_bad_input: self.config.skip_bad_input,
            control: self.control.clone(),
            limit: match self.config.input {
                Some(LineInput::Kafka(_)) => self.config.events,
                _ => u64::MAX,
            },
        })
    }

    fn required_input(&self) -> anyhow::Result<LineInput> {
        self.config.input.clone().ok_or_else(|| {
            anyhow::anyhow!(
                "pipeline {} needs --input FILE (or - for stdin)",
                self.config.pipeline
            )
        })
    }

    /// Sends `records` (a stream, or a [`Chain`]) to the run's output as JSON lines and
    /// probes it. In a job that snapshots, output is staged and published exactly once as
    /// snapshots commit. A chain over a source not yet built writes (or stages) its lines
    /// inside its source, so its records cross no channel.
    pub fn output<D: Serialize + 'static>(&mut self, records: impl IntoChain<'scope, D>) {
        let records = records.into_chain();
        if SnapshotHub::of(&self.scope).is_some() {
            let Some(writer) = StagedLineWriter::register(&self.scope, self.control.clone()) else {
                return;
            };
            match records.written_in_source(writer) {
                Ok(staged) => {
                    staged.probe_with(&self.probe);
                }
                Err((built, writer)) => built.stream().probe_with(&self.probe).stage_with(writer),
            }
            return;
        }
        let writer = JsonLineWriter::new(self.output.clone(), self.control.clone());
        match records.written_in_source(writer) {
            Ok(written) => {
                written.probe_with(&self.probe);
            }
            Err((built, _)) => {
                let written = built
                    .stream()
                    .write_json_lines(self.output.clone(), self.control.clone());
                written.probe_with(&self.probe);
            }
        }
    }

    /// Completes the dataflow after the pipeline has built it: in a job that snapshots,
    /// adds the coordination of snapshots among the participants the pipeline registered.
    pub fn finish(self) {
        if let Some(hub) = SnapshotHub::of(&self.scope) {
            crate::snapshot::attach_coordinator(self.scope, hub);
        }
    }
}

/// What kind of `--input` a pipeline reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputFormat {
    /// The pipeline only generates its input.
    None,
    /// Plain text lines.
    Text,
    /// JSON lines.
    JsonLines,
}

/// A registered pipeline.
pub struct Pipeline {
    /// The name `weir run` knows it by.
    pub name: &'static str,
    /// One line on what it computes and outputs.
    pub about: &'static str,
    /// Records generated when `--events` is not given.
    pub default_events: u64,
    /// Records per second of event time when `--event-rate` is not given.
    pub default_event_rate: f64,
    /// What `--input` it accepts.
    pub input: InputFormat,
    /// How it can keep its keyed state (`--state`); the first is its default.
    pub states: &'static [StateKind],
    /// Whether it joins with a side table that `--side-input` can replace.
    pub side_input: bool,
    /// Builds the dataflow.
    pub build: for<'scope> fn(&mut Job<'scope>) -> anyhow::Result<()>,
}

/// The state of a pipeline that keeps it in hash maps only.
pub const HASH_STATE: &[StateKind] = &[StateKind::Hash];
