//! What an experiment file says: groups of runs, and the tables and figures made of them.
//! Parsing is a pure function of the file's text (and `--quick`), checked before anything
//! runs: a misspelt key, an unknown pipeline or a rate like `fast` is an error naming the
//! group, not a failed run half an hour in.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

use crate::units::{parse_count, parse_duration, parse_rate};

/// An experiment file, `experiments/NAME.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    /// One line on what it measures.
    pub title: String,
    /// Which figure or table of the docs or the paper it produces, and anything a reader
    /// should know to read it.
    #[serde(default)]
    pub about: String,
    /// A Kafka-protocol broker the experiment starts for its runs and stops after them,
    /// unless `weir experiment --brokers HOST:PORT` names one to use instead. Its address
    /// replaces [`BROKERS`] in prepare arguments, group inputs and group arguments.
    pub broker: Option<BrokerKind>,
    /// Commands that make the runs' inputs, run first.
    #[serde(default, rename = "prepare")]
    pub prepares: Vec<Prepare>,
    /// The runs, in the order they run.
    #[serde(rename = "group")]
    pub groups: Vec<Group>,
    /// Tables made of the results.
    #[serde(default, rename = "table")]
    pub tables: Vec<Table>,
    /// Figures made of the results.
    #[serde(default, rename = "figure")]
    pub figures: Vec<Figure>,
}

/// Where a group's `input`, `args` or a prepare's `args` name the experiment's Kafka
/// brokers, e.g. `input = "kafka://{brokers}/events"`.
pub const BROKERS: &str = "{brokers}";

/// Where a group's `input` names the run, e.g. `input = "kafka://{brokers}/bench-{run}"`:
/// a bench loads a topic of its own, so each run needs a fresh one.
pub const RUN: &str = "{run}";

/// The brokers an experiment can start itself.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum BrokerKind {
    /// tansu with in-memory storage on a free local port (`scripts/install-tansu.sh`).
    Tansu,
}

/// A `weir` command that makes an input of the runs, e.g. `weir nexmark generate`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prepare {
    /// Its arguments, after `weir`.
    pub args: Vec<String>,
    /// The file it makes: when it exists, the command is not run again. Without one (a
    /// topic loaded into the experiment's broker) it runs every time.
    pub creates: Option<String>,
}

/// What a group's runs are.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum GroupKind {
    /// `weir run`: a fixed input as fast as it goes; events/s and peak memory.
    Run,
    /// `weir bench`: offered load on a schedule; latency, and whether it kept up.
    Bench,
    /// Another engine (`engine`) running the pipeline's NEXMark query on the `input` file
    /// through `scripts/peers/run-peer`: events/s, peak memory, and its output against
    /// weir's on the same file.
    Peer,
}

/// A set of runs: every pipeline on every shape, `repetitions` times.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// Names its runs (`NAME-PIPELINE-pPxW-rN`); unique in the file.
    pub name: String,
    /// `run` or `bench`.
    pub kind: GroupKind,
    /// Registered pipeline names.
    pub pipelines: Vec<String>,
    /// Worker threads per process, one run each.
    #[serde(default = "one")]
    pub workers: Vec<usize>,
    /// Processes, one run each (`weir run -n P`, `weir bench -n P`).
    #[serde(default = "one")]
    pub processes: Vec<usize>,
    /// Runs of each pipeline and shape.
    #[serde(default = "single")]
    pub repetitions: usize,
    /// `run`: records to generate, e.g. `"10M"`, or to read of a Kafka `input`.
    pub events: Option<String>,
    /// `run`: a file, directory or glob to read instead (relative to the working directory),
    /// or a topic, `kafka://{brokers}/TOPIC`; `bench`: a topic the bench loads on its
    /// schedule, one per run (`kafka://{brokers}/bench-{run}`); `peer`: the events file.
    pub input: Option<String>,
    /// `peer`: `flink` or `bytewax`.
    pub engine: Option<String>,
    /// Distinct keys of generated input (`--keys`), one run each, e.g. `["10k", "1M"]`:
    /// the state's size, for pipelines that keep a value per key.
    pub keys: Option<Vec<String>>,
    /// `bench`: the offered rate, e.g. `"1M"`.
    pub rate: Option<String>,
    /// `bench`: offered rates to sweep, e.g. `["250k", "500k"]`.
    pub sweep: Option<Vec<String>>,
    /// `bench`: search for the highest sustainable rate from `rate`, bisecting this often.
    pub find_max: Option<usize>,
    /// `bench`: the measured window, e.g. `"10s"`.
    pub duration: Option<String>,
    /// `bench`: before it, unmeasured.
    pub warmup: Option<String>,
    /// `bench`: the timeline's interval.
    pub interval: Option<String>,
    /// Take snapshots this often (of event time) into a fresh directory per run.
    pub snapshot_every: Option<String>,
    /// `bench`: kill a process at these times (`weir bench --kill-at`).
    pub kill_at: Option<String>,
    /// `bench`: rescale at these times (`weir bench --rescale-at`).
    pub rescale_at: Option<String>,
    /// More flags, passed as they are.
    #[serde(default)]
    pub args: Vec<String>,
}

/// What a table shows.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum TableKind {
    /// A row per pipeline and shape of `run` groups: the median events/s of its
    /// repetitions, its share of `baseline`'s on the same shape, the largest peak memory.
    Throughput,
    /// A row per `bench` run: offered and achieved rate, latency percentiles, verdict.
    Latency,
    /// A row per failure and rescale of supervised `bench` runs: how long each phase of
    /// getting results flowing again took.
    Recovery,
    /// A row per live migration (`--migrate-at`) and per rescale by restart of `bench`
    /// runs: how long the change took and the latency while it lasted.
    Reconfiguration,
    /// A row per pipeline, key count and shape of `run` groups with snapshots: the state per
    /// snapshot and the time to capture, encode and write it.
    SnapshotCost,
    /// A row per pipeline and worker count, a column of events/s per group (`run` or
    /// `peer`, in the order listed), the first group's rate over each other's, and whether
    /// each peer's output equalled weir's.
    SideBySide,
}

/// A table, written as `NAME.csv` and `NAME.md`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    /// The file name.
    pub name: String,
    /// What it shows.
    pub kind: TableKind,
    /// The groups it is made of (all of the right kind when empty).
    #[serde(default)]
    pub groups: Vec<String>,
    /// `throughput`: the pipeline each share is of, e.g. `"nexmark-generator"`.
    pub baseline: Option<String>,
}

/// What a figure shows.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum FigureKind {
    /// The figures of `weir plot` from `bench` results: latency CCDF, a timeline per run
    /// with snapshots, failures and rescales marked, and latency against offered rate for
    /// sweeps.
    Latency,
    /// Events/s against workers, a line per pipeline, from `run` groups.
    ThroughputVsWorkers,
    /// Events/s per pipeline, a bar per group and shape (weir beside its peers), from the
    /// `run` and `peer` groups it lists, as a `side-by-side` table is.
    SideBySide,
    /// Capture, encode and write times against the state per snapshot (log-log), a line
    /// of each per pipeline and shape, from `run` groups with snapshots and `keys`.
    SnapshotCost,
    /// The phases of every failure's and rescale's recovery, a bar per phase, from
    /// supervised `bench` runs.
    Recovery,
}

/// A figure (or, for `latency`, a set of them), written as PNG and SVG under `NAME/`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Figure {
    /// The file name (or directory, for `latency`).
    pub name: String,
    /// What it shows.
    pub kind: FigureKind,
    /// The groups it is made of (all of the right kind when empty).
    #[serde(default)]
    pub groups: Vec<String>,
}

/// The engines `scripts/peers/run-peer` runs.
pub const PEER_ENGINES: [&str; 2] = ["flink", "bytewax"];

fn one() -> Vec<usize> {
    vec![1]
}

fn single() -> usize {
    1
}

/// Why an experiment file cannot be run.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// Not TOML, or not an experiment's keys.
    #[error("{0}")]
    Toml(#[from] toml::de::Error),
    /// A group, table or figure that does not make sense.
    #[error("{what}: {why}")]
    Invalid {
        /// Which part of the file.
        what: String,
        /// What is wrong with it.
        why: String,
    },
}

impl Experiment {
    /// Parses an experiment file. With `quick`, each group's `[group.quick]` table (and
    /// each prepare's `[prepare.quick]`), if it has one, replaces the keys it names, so that a quick run is the same experiment on
    /// smaller inputs.
    pub fn parse(text: &str, quick: bool) -> Result<Self, SpecError> {
        let mut document: toml::Table = toml::from_str(text)?;
        for section in ["group", "prepare"] {
            let Some(toml::Value::Array(groups)) = document.get_mut(section) else {
                continue;
            };
            for group in groups.iter_mut() {
                let toml::Value::Table(group) = group else {
                    continue;
                };
                let overrides = group.remove("quick");
                if let (true, Some(toml::Value::Table(overrides))) = (quick, overrides) {
                    group.extend(overrides);
                }
            }
        }
        let experiment: Experiment = toml::Value::Table(document).try_into()?;
        experiment.check()?;
        Ok(experiment)
    }

    /// The group named `name`.
    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.iter().find(|group| group.name == name)
    }

    /// The groups `names` (every group of `kind` when empty).
    pub fn groups_named<'a>(&'a self, names: &'a [String], kind: GroupKind) -> Vec<&'a Group> {
        self.groups
            .iter()
            .filter(|group| group.kind == kind)
            .filter(|group| names.is_empty() || names.contains(&group.name))
            .collect()
    }

    /// Whether a prepare or a group names [`BROKERS`], so that the runs need brokers.
    pub fn uses_brokers(&self) -> bool {
        let named = |texts: &[String]| texts.iter().any(|text| text.contains(BROKERS));
        self.prepares.iter().any(|prepare| named(&prepare.args))
            || self.groups.iter().any(|group| {
                named(&group.args) || group.input.as_deref().is_some_and(|i| i.contains(BROKERS))
            })
    }

    fn check(&self) -> Result<(), SpecError> {
        let mut names = BTreeSet::new();
        for group in &self.groups {
            let what = format!("group {:?}", group.name);
            let invalid = |why: String| SpecError::Invalid {
                what: what.clone(),
                why,
            };
            if !names.insert(group.name.as_str()) {
                return Err(invalid("the name is used twice".into()));
            }
            if group.name.is_empty() || !group.name.chars().all(is_name_char) {
                return Err(invalid(
                    "a name is letters, digits, `-` and `_` (it names files)".into(),
                ));
            }
            group.check().map_err(invalid)?;
        }
        let known_group = |what: String, names: &[String], kind: GroupKind| {
            for name in names {
                match self.group(name) {
                    Some(group) if group.kind == kind => {}
                    Some(_) => {
                        return Err(SpecError::Invalid {
                            what: what.clone(),
                            why: format!("group {name:?} is not a {kind:?} group"),
                        })
                    }
                    None => {
                        return Err(SpecError::Invalid {
                            what: what.clone(),
                            why: format!("there is no group {name:?}"),
                        })
                    }
                }
            }
            Ok(())
        };
        for table in &self.tables {
            let what = format!("table {:?}", table.name);
            match table.kind {
                TableKind::Throughput | TableKind::SnapshotCost => {
                    known_group(what, &table.groups, GroupKind::Run)?
                }
                TableKind::Latency | TableKind::Recovery | TableKind::Reconfiguration => {
                    known_group(what, &table.groups, GroupKind::Bench)?
                }
                TableKind::SideBySide => self.check_side_by_side(what, &table.groups)?,
            }
        }
        for figure in &self.figures {
            let what = format!("figure {:?}", figure.name);
            match figure.kind {
                FigureKind::ThroughputVsWorkers | FigureKind::SnapshotCost => {
                    known_group(what, &figure.groups, GroupKind::Run)?
                }
                FigureKind::Latency | FigureKind::Recovery => {
                    known_group(what, &figure.groups, GroupKind::Bench)?
                }
                FigureKind::SideBySide => self.check_side_by_side(what, &figure.groups)?,
            }
        }
        Ok(())
    }

    /// A side-by-side table or figure names two or more `run` or `peer` groups.
    fn check_side_by_side(&self, what: String, groups: &[String]) -> Result<(), SpecError> {
        let invalid = |why: String| SpecError::Invalid {
            what: what.clone(),
            why,
        };
        if groups.len() < 2 {
            return Err(invalid("side by side compares at least two groups".into()));
        }
        for name in groups {
            match self.group(name) {
                Some(group) if matches!(group.kind, GroupKind::Run | GroupKind::Peer) => {}
                Some(_) => {
                    return Err(invalid(format!(
                        "group {name:?} is not a Run or Peer group"
                    )))
                }
                None => return Err(invalid(format!("there is no group {name:?}"))),
            }
        }
        Ok(())
    }
}

fn is_kafka(input: &str) -> bool {
    input.starts_with("kafka://")
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

impl Group {
    fn check(&self) -> Result<(), String> {
        if self.pipelines.is_empty() {
            return Err("it names no pipelines".into());
        }
        for pipeline in &self.pipelines {
            crate::pipelines::find(pipeline).map_err(|e| e.to_string())?;
        }
        if self.workers.contains(&0) || self.processes.contains(&0) || self.repetitions == 0 {
            return Err("workers, processes and repetitions are at least 1".into());
        }
        let distinct =
            |values: &[usize]| values.iter().collect::<BTreeSet<_>>().len() == values.len();
        if !distinct(&self.workers) || !distinct(&self.processes) {
            return Err("a worker or process count is listed twice (use `repetitions`)".into());
        }
        let durations = [
            &self.duration,
            &self.warmup,
            &self.interval,
            &self.snapshot_every,
        ];
        for text in durations.into_iter().flatten() {
            parse_duration(text)?;
        }
        if let Some(events) = &self.events {
            parse_count(events)?;
        }
        for rate in self.rate.iter().chain(self.sweep.iter().flatten()) {
            parse_rate(rate)?;
        }
        if let Some(keys) = &self.keys {
            let counts = keys
                .iter()
                .map(|text| parse_count(text))
                .collect::<Result<Vec<_>, _>>()?;
            if counts.is_empty() || counts.contains(&0) {
                return Err("`keys` lists at least one count, each at least 1".into());
            }
            if counts.iter().collect::<BTreeSet<_>>().len() != counts.len() {
                return Err("a key count is listed twice (use `repetitions`)".into());
            }
            if self.kind == GroupKind::Peer || self.input.is_some() {
                return Err("`keys` shapes generated input; this group reads a file".into());
            }
        }
        let bench_only = [
            ("rate", self.rate.is_some()),
            ("sweep", self.sweep.is_some()),
            ("find_max", self.find_max.is_some()),
            ("duration", self.duration.is_some()),
            ("warmup", self.warmup.is_some()),
            ("interval", self.interval.is_some()),
            ("kill_at", self.kill_at.is_some()),
            ("rescale_at", self.rescale_at.is_some()),
        ];
        if self.engine.is_some() != (self.kind == GroupKind::Peer) {
            return Err("`engine` names the engine of a peer group, and only of one".into());
        }
        match self.kind {
            GroupKind::Peer => {
                if let Some((key, _)) = bench_only.iter().find(|(_, set)| *set) {
                    return Err(format!("`{key}` is for bench groups; this is a peer group"));
                }
                let engine = self.engine.as_deref().unwrap_or_default();
                if !PEER_ENGINES.contains(&engine) {
                    return Err(format!(
                        "engine {engine:?} is not one of scripts/peers/: {}",
                        PEER_ENGINES.join(", ")
                    ));
                }
                if self.input.is_none() || self.events.is_some() {
                    return Err("a peer group reads the events `input` file".into());
                }
                if self.processes != [1] || self.snapshot_every.is_some() {
                    return Err("a peer runs in one process, without weir's snapshots".into());
                }
                if let Some(pipeline) = self.pipelines.iter().find(|p| !p.starts_with("nexmark-q"))
                {
                    return Err(format!("peers run NEXMark queries, not {pipeline}"));
                }
            }
            GroupKind::Run => {
                if let Some((key, _)) = bench_only.iter().find(|(_, set)| *set) {
                    return Err(format!("`{key}` is for bench groups; this is a run group"));
                }
                match (&self.input, &self.events) {
                    (Some(input), Some(_)) if !is_kafka(input) => {
                        return Err(
                            "a run group reads `input` or generates `events`, not both (only a Kafka input takes `events` as its bound)".into(),
                        )
                    }
                    (Some(input), None) if is_kafka(input) => {
                        return Err("a Kafka input is unbounded: give `events`".into())
                    }
                    (Some(input), _) if is_kafka(input) && self.processes != [1] => {
                        return Err("a Kafka input read up to `events` runs in one process".into())
                    }
                    _ => {}
                }
            }
            GroupKind::Bench => {
                if self.events.is_some() {
                    return Err("a bench group generates its input at `rate`".into());
                }
                if let Some(input) = &self.input {
                    if !is_kafka(input) {
                        return Err("a bench group generates its input at `rate`; its only `input` is a Kafka topic it loads".into());
                    }
                    if !input.contains(RUN) {
                        return Err(format!("a bench loads its topic itself: name a fresh one per run with {RUN}, e.g. kafka://{BROKERS}/bench-{RUN}"));
                    }
                }
                if self.rate.is_none() && self.sweep.is_none() {
                    return Err("a bench group needs `rate` (or `sweep`)".into());
                }
                if self.find_max.is_some() && self.rate.is_none() {
                    return Err("`find_max` starts from `rate`".into());
                }
                if self.sweep.is_some() && (self.rate.is_some() || self.find_max.is_some()) {
                    return Err("`sweep` stands alone, without `rate` or `find_max`".into());
                }
                let faults = self.kill_at.is_some() || self.rescale_at.is_some();
                if faults && (self.sweep.is_some() || self.find_max.is_some()) {
                    return Err("faults and rescales run at one `rate`, not in a sweep".into());
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
        title = "q1 and q5"
        [[group]]
        name = "closed"
        kind = "run"
        pipelines = ["nexmark-q1"]
        workers = [1, 2]
        events = "10M"
        [group.quick]
        events = "100k"

        [[group]]
        name = "open"
        kind = "bench"
        pipelines = ["nexmark-q5"]
        rate = "1M"
        find_max = 2

        [[table]]
        name = "rates"
        kind = "throughput"
        baseline = "nexmark-q1"
    "#;

    #[test]
    fn quick_replaces_the_keys_it_names() {
        let full = Experiment::parse(FILE, false).expect("parses");
        let quick = Experiment::parse(FILE, true).expect("parses");
        assert_eq!(full.groups[0].events.as_deref(), Some("10M"));
        assert_eq!(quick.groups[0].events.as_deref(), Some("100k"));
        assert_eq!(quick.groups[0].workers, [1, 2]);
        assert_eq!(quick.groups[1].rate.as_deref(), Some("1M"));
    }

    const PEERS: &str = r#"
        title = "weir and Flink"
        [[group]]
        name = "weir"
        kind = "run"
        pipelines = ["nexmark-q1"]
        input = "events.jsonl"
        [[group]]
        name = "flink"
        kind = "peer"
        engine = "flink"
        pipelines = ["nexmark-q1"]
        input = "events.jsonl"
        [[table]]
        name = "side"
        kind = "side-by-side"
        groups = ["weir", "flink"]
    "#;

    #[test]
    fn peer_groups_read_a_file_in_one_process_of_a_known_engine() {
        let experiment = Experiment::parse(PEERS, false).expect("parses");
        assert_eq!(experiment.groups[1].kind, GroupKind::Peer);
        let with_figure = format!(
            "{PEERS}[[figure]]\nname = \"bars\"\nkind = \"side-by-side\"\ngroups = [\"weir\", \"flink\"]\n"
        );
        let experiment = Experiment::parse(&with_figure, false).expect("parses");
        assert_eq!(experiment.figures[0].kind, FigureKind::SideBySide);
        let cases = [
            (
                PEERS.replace("engine = \"flink\"", "engine = \"spark\""),
                "spark",
            ),
            (PEERS.replace("engine = \"flink\"\n", ""), "`engine`"),
            (
                PEERS.replace("kind = \"run\"", "kind = \"run\"\nengine = \"flink\""),
                "`engine`",
            ),
            (
                PEERS.replace("engine = \"flink\"", "engine = \"flink\"\nprocesses = [2]"),
                "one process",
            ),
            (
                PEERS.replacen("input = \"events.jsonl\"", "", 2),
                "reads the events",
            ),
            (
                PEERS.replace(
                    "engine = \"flink\"\n        pipelines = [\"nexmark-q1\"]",
                    "engine = \"flink\"\n        pipelines = [\"wordcount\"]",
                ),
                "NEXMark",
            ),
            (
                PEERS.replace("engine = \"flink\"", "engine = \"flink\"\nrate = \"1M\""),
                "bench groups",
            ),
            (
                PEERS.replace("groups = [\"weir\", \"flink\"]", "groups = [\"flink\"]"),
                "at least two",
            ),
            (
                PEERS.replace(
                    "groups = [\"weir\", \"flink\"]",
                    "groups = [\"weir\", \"spark\"]",
                ),
                "no group \"spark\"",
            ),
            (
                format!("{PEERS}[[figure]]\nname = \"bars\"\nkind = \"side-by-side\"\ngroups = [\"flink\"]\n"),
                "at least two",
            ),
        ];
        for (text, expected) in cases {
            let error = Experiment::parse(&text, false).expect_err(expected);
            assert!(
                error.to_string().contains(expected),
                "{expected:?} not in {error}"
            );
        }
    }

    const KAFKA: &str = r#"
        title = "from a topic"
        broker = "tansu"
        [[prepare]]
        args = ["kafka", "produce-nexmark", "--brokers", "{brokers}", "--topic", "t", "--events", "1k"]
        [[group]]
        name = "read"
        kind = "run"
        pipelines = ["nexmark-q1"]
        input = "kafka://{brokers}/t"
        events = "1k"
        [[group]]
        name = "load"
        kind = "bench"
        pipelines = ["nexmark-q1"]
        input = "kafka://{brokers}/bench-{run}"
        rate = "1k"
    "#;

    #[test]
    fn a_kafka_input_is_bounded_by_events_and_a_bench_loads_a_topic_per_run() {
        let experiment = Experiment::parse(KAFKA, false).expect("parses");
        assert_eq!(experiment.broker, Some(BrokerKind::Tansu));
        assert_eq!(experiment.prepares[0].creates, None);
        assert!(experiment.uses_brokers());
        assert!(!Experiment::parse(FILE, false)
            .expect("parses")
            .uses_brokers());
        let cases = [
            (KAFKA.replace("events = \"1k\"\n", ""), "unbounded"),
            (
                KAFKA.replace("input = \"kafka://{brokers}/t\"", "input = \"t.jsonl\""),
                "not both",
            ),
            (
                KAFKA.replace("events = \"1k\"", "events = \"1k\"\nprocesses = [2]"),
                "one process",
            ),
            (KAFKA.replace("bench-{run}", "bench"), "fresh one per run"),
            (
                KAFKA.replace("kafka://{brokers}/bench-{run}", "events.jsonl"),
                "only `input` is a Kafka topic",
            ),
            (KAFKA.replace("\"tansu\"", "\"kafka\""), "kafka"),
        ];
        for (text, expected) in cases {
            let error = Experiment::parse(&text, false).expect_err(expected);
            assert!(
                error.to_string().contains(expected),
                "{expected:?} not in {error}"
            );
        }
    }

    #[test]
    fn mistakes_are_named_before_anything_runs() {
        let cases = [
            (
                FILE.replace("events = \"10M\"", "evnets = \"10M\""),
                "evnets",
            ),
            (FILE.replace("nexmark-q5", "nexmark-q99"), "nexmark-q99"),
            (FILE.replace("rate = \"1M\"", "rate = \"fast\""), "fast"),
            (
                FILE.replace("name = \"open\"", "name = \"closed\""),
                "used twice",
            ),
            (
                FILE.replace("find_max = 2", "find_max = 2\nevents = \"5\""),
                "generates its input",
            ),
            (
                FILE.replace("baseline", "groups = [\"open\"]\nbaseline"),
                "not a Run group",
            ),
            (
                FILE.replace("workers = [1, 2]", "workers = [0]"),
                "at least 1",
            ),
            (
                FILE.replace("workers = [1, 2]", "keys = [\"1k\", \"1000\"]"),
                "key count is listed twice",
            ),
            (
                FILE.replace("workers = [1, 2]", "keys = [\"many\"]"),
                "many",
            ),
        ];
        for (text, expected) in cases {
            let error = Experiment::parse(&text, false).expect_err(expected);
            assert!(
                error.to_string().contains(expected),
                "{expected:?} not in {error}"
            );
        }
    }
}
