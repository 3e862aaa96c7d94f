//! An experiment's runs, one by one: the `weir` command line of each, and the files its
//! processes write. A pure function of the parsed file and the results directory, so that
//! `weir experiment --dry-run` prints exactly what a run would start.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::experiment::spec::{Experiment, Group, GroupKind, BROKERS, RUN};

/// One run of an experiment: a pipeline on one shape, one repetition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedRun {
    /// `GROUP-PIPELINE-pPxW-rN` (`GROUP-PIPELINE-kKEYS-pPxW-rN` with `keys`): names its
    /// result and log files.
    pub id: String,
    /// What it starts, when not `weir` itself: a peer's runner.
    #[serde(default)]
    pub program: Option<String>,
    /// The group it belongs to.
    pub group: String,
    /// `run` or `bench`.
    pub kind: GroupKind,
    /// The pipeline.
    pub pipeline: String,
    /// Its `--keys`, when the group lists key counts.
    #[serde(default)]
    pub keys: Option<String>,
    /// Processes.
    pub processes: usize,
    /// Worker threads per process.
    pub workers: usize,
    /// 1-based.
    pub repetition: usize,
    /// The `weir` arguments every process gets (without `-p` and `-h`, which differ).
    pub args: Vec<String>,
    /// Whether one process starts the others itself (a supervised bench: faults or
    /// rescales), rather than the experiment starting one per process.
    pub supervised: bool,
    /// The result files, in process order: one per process for `run`, process 0's alone
    /// for `bench`.
    pub results: Vec<PathBuf>,
    /// A directory of its own for snapshots and exactly-once output, removed after it.
    pub scratch: Option<PathBuf>,
}

impl PlannedRun {
    /// The arguments of process `process` (result file included), given the host file of
    /// a run of several processes.
    pub fn process_args(&self, process: usize, hostfile: Option<&Path>) -> Vec<String> {
        let mut args = self.args.clone();
        if self.processes > 1 && !self.supervised {
            args.extend(["-p".to_string(), process.to_string()]);
            if let Some(hostfile) = hostfile {
                args.extend(["-h".to_string(), hostfile.display().to_string()]);
            }
        }
        if let Some(result) = self.results.get(process) {
            args.extend(["--json".to_string(), result.display().to_string()]);
        }
        args
    }

    /// The processes the experiment starts for this run.
    pub fn started_processes(&self) -> usize {
        if self.supervised {
            1
        } else {
            self.processes
        }
    }
}

/// The program a peer group's runs start (relative to the repository, where experiments
/// run): it runs the engine, checks its output against weir's and writes a `weir-run/1`
/// result.
pub const PEER_RUNNER: &str = "scripts/peers/run-peer";

/// Every run of `experiment`, in order, with its files under `results`; `brokers`, when
/// given, replaces [`BROKERS`] in the groups' inputs and arguments.
pub fn plan(experiment: &Experiment, results: &Path, brokers: Option<&str>) -> Vec<PlannedRun> {
    let mut runs = Vec::new();
    for group in &experiment.groups {
        let keys: Vec<Option<&str>> = match &group.keys {
            Some(keys) => keys.iter().map(|k| Some(k.as_str())).collect(),
            None => vec![None],
        };
        for pipeline in &group.pipelines {
            for &keys in &keys {
                for &processes in &group.processes {
                    for &workers in &group.workers {
                        for repetition in 1..=group.repetitions {
                            let shape = Shape {
                                pipeline,
                                keys,
                                processes,
                                workers,
                                repetition,
                            };
                            runs.push(planned(group, shape, results, brokers));
                        }
                    }
                }
            }
        }
    }
    runs
}

/// What one run of a group is of.
#[derive(Clone, Copy)]
struct Shape<'a> {
    pipeline: &'a str,
    keys: Option<&'a str>,
    processes: usize,
    workers: usize,
    repetition: usize,
}

/// `text` with [`BROKERS`] replaced by `brokers` (left as it is without them).
pub fn with_brokers(text: &str, brokers: Option<&str>) -> String {
    match brokers {
        Some(brokers) => text.replace(BROKERS, brokers),
        None => text.to_string(),
    }
}

fn planned(group: &Group, shape: Shape<'_>, results: &Path, brokers: Option<&str>) -> PlannedRun {
    let Shape {
        pipeline,
        keys,
        processes,
        workers,
        repetition,
    } = shape;
    let keys_part = keys.map_or(String::new(), |k| format!("-k{k}"));
    let id = format!(
        "{}-{pipeline}{keys_part}-p{processes}x{workers}-r{repetition}",
        group.name
    );
    // Snapshots, and a peer's output before it is checked, go to a directory of the run's.
    let scratch = (group.snapshot_every.is_some() || group.kind == GroupKind::Peer)
        .then(|| results.join("scratch").join(&id));
    let supervised = group.kill_at.is_some() || group.rescale_at.is_some();
    let mut args = match group.kind {
        GroupKind::Run => vec!["run".to_string(), pipeline.to_string()],
        GroupKind::Bench => vec!["bench".to_string(), pipeline.to_string(), "-q".into()],
        GroupKind::Peer => vec![
            group.engine.clone().unwrap_or_default(),
            pipeline.to_string(),
            "--work".into(),
            scratch
                .as_ref()
                .map_or(String::new(), |s| s.display().to_string()),
        ],
    };
    let mut flag = |name: &str, value: &str| {
        args.push(name.to_string());
        args.push(value.to_string());
    };
    flag("-w", &workers.to_string());
    flag("-n", &processes.to_string());
    if let Some(keys) = keys {
        flag("--keys", keys);
    }
    let input = group
        .input
        .as_ref()
        .map(|input| with_brokers(input, brokers).replace(RUN, &id));
    let optional = [
        ("--events", &group.events),
        ("--input", &input),
        ("--rate", &group.rate),
        ("--duration", &group.duration),
        ("--warmup", &group.warmup),
        ("--interval", &group.interval),
        ("--kill-at", &group.kill_at),
        ("--rescale-at", &group.rescale_at),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            flag(name, value);
        }
    }
    if let Some(rates) = &group.sweep {
        flag("--sweep", &rates.join(","));
    }
    if let Some(steps) = group.find_max {
        flag("--find-max", &steps.to_string());
    }
    if let (Some(every), Some(scratch)) = (&group.snapshot_every, &scratch) {
        flag(
            "--snapshot-dir",
            &scratch.join("snapshots").display().to_string(),
        );
        flag("--snapshot-every", every);
    }
    if group.kind == GroupKind::Run {
        // Lines are encoded and written as in any run; with snapshots they are published
        // exactly once, which needs a real directory.
        match &scratch {
            Some(scratch) => flag(
                "--output",
                &format!("{}/", scratch.join("output").display()),
            ),
            None => flag("--output", "/dev/null"),
        }
        args.push("-q".into());
    }
    args.extend(group.args.iter().map(|arg| with_brokers(arg, brokers)));
    let results = match group.kind {
        GroupKind::Run | GroupKind::Peer => (0..processes)
            .map(|process| results.join(format!("{id}.p{process}.json")))
            .collect(),
        GroupKind::Bench => vec![results.join(format!("{id}.json"))],
    };
    let program = (group.kind == GroupKind::Peer).then(|| PEER_RUNNER.to_string());
    PlannedRun {
        id,
        program,
        group: group.name.clone(),
        kind: group.kind,
        pipeline: pipeline.to_string(),
        keys: keys.map(str::to_string),
        processes,
        workers,
        repetition,
        args,
        supervised,
        results,
        scratch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pipeline_shape_and_repetition_is_one_run() {
        let experiment = Experiment::parse(
            r#"
            title = "t"
            [[group]]
            name = "g"
            kind = "run"
            pipelines = ["nexmark-q0", "nexmark-q1"]
            workers = [1, 2]
            processes = [1, 2]
            repetitions = 3
            events = "1k"
            [[group]]
            name = "b"
            kind = "bench"
            pipelines = ["nexmark-q5"]
            processes = [2]
            rate = "10k"
            snapshot_every = "1s"
            kill_at = "2s"
            "#,
            false,
        )
        .expect("parses");
        let runs = plan(&experiment, Path::new("results/t"), None);
        assert_eq!(runs.len(), 2 * 2 * 2 * 3 + 1);
        let two = runs
            .iter()
            .find(|run| run.id == "g-nexmark-q1-p2x1-r3")
            .expect("planned");
        assert_eq!(two.results.len(), 2);
        assert_eq!(
            two.process_args(1, Some(Path::new("hosts"))),
            "run nexmark-q1 -w 1 -n 2 --events 1k --output /dev/null -q -p 1 -h hosts --json results/t/g-nexmark-q1-p2x1-r3.p1.json"
                .split(' ')
                .collect::<Vec<_>>()
        );
        assert_eq!(two.program, None, "weir runs weir");
        let bench = runs.last().expect("planned");
        assert!(bench.supervised);
        assert_eq!(bench.started_processes(), 1);
        assert_eq!(
            bench.process_args(0, None),
            "bench nexmark-q5 -q -w 1 -n 2 --rate 10k --kill-at 2s --snapshot-dir results/t/scratch/b-nexmark-q5-p2x1-r1/snapshots --snapshot-every 1s --json results/t/b-nexmark-q5-p2x1-r1.json"
                .split(' ')
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn each_key_count_is_a_run_of_its_own_named_by_it() {
        let experiment = Experiment::parse(
            r#"
            title = "t"
            [[group]]
            name = "s"
            kind = "run"
            pipelines = ["seed-state"]
            workers = [1, 2]
            keys = ["10k", "1M"]
            events = "1k"
            "#,
            false,
        )
        .expect("parses");
        let runs = plan(&experiment, Path::new("results/t"), None);
        let ids: Vec<&str> = runs.iter().map(|run| run.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "s-seed-state-k10k-p1x1-r1",
                "s-seed-state-k10k-p1x2-r1",
                "s-seed-state-k1M-p1x1-r1",
                "s-seed-state-k1M-p1x2-r1"
            ]
        );
        assert_eq!(runs[2].keys.as_deref(), Some("1M"));
        let args = runs[2].process_args(0, None);
        let at = args.iter().position(|a| a == "--keys").expect("--keys");
        assert_eq!(args[at + 1], "1M");
    }

    #[test]
    fn the_brokers_and_the_run_fill_their_places_in_inputs_and_flags() {
        let experiment = Experiment::parse(
            r#"
            title = "t"
            [[group]]
            name = "k"
            kind = "bench"
            pipelines = ["nexmark-q5"]
            workers = [2]
            rate = "1k"
            input = "kafka://{brokers}/bench-{run}"
            args = ["--note", "{brokers}"]
            "#,
            false,
        )
        .expect("parses");
        let runs = plan(&experiment, Path::new("results/t"), Some("b:9092"));
        let args = runs[0].process_args(0, None).join(" ");
        assert!(
            args.contains("--input kafka://b:9092/bench-k-nexmark-q5-p1x2-r1 "),
            "{args}"
        );
        assert!(args.contains("--note b:9092"), "{args}");
        let unfilled = plan(&experiment, Path::new("results/t"), None);
        assert!(unfilled[0]
            .args
            .join(" ")
            .contains("kafka://{brokers}/bench-k-"));
    }

    #[test]
    fn a_peer_run_starts_the_peer_runner_with_weir_like_flags() {
        let experiment = Experiment::parse(
            r#"
            title = "t"
            [[group]]
            name = "flink"
            kind = "peer"
            engine = "flink"
            pipelines = ["nexmark-q5"]
            workers = [2]
            input = "events.jsonl"
            "#,
            false,
        )
        .expect("parses");
        let runs = plan(&experiment, Path::new("results/t"), None);
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].program.as_deref(), Some(PEER_RUNNER));
        assert_eq!(
            runs[0].process_args(0, None),
            "flink nexmark-q5 --work results/t/scratch/flink-nexmark-q5-p1x2-r1 -w 2 -n 1 --input events.jsonl --json results/t/flink-nexmark-q5-p1x2-r1.p0.json"
                .split(' ')
                .collect::<Vec<_>>()
        );
    }
}
