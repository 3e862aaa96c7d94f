//! Experiments: a file that says which runs make a figure or a table, and the command
//! that runs them, keeps every result, and renders what the file asks for.
//!
//! `weir experiment experiments/NAME.toml [--quick]` parses the file ([`spec`]), plans
//! its runs ([`plan`]), starts each as `weir run` or `weir bench` processes, or a peer
//! engine through `scripts/peers/run-peer` ([`execute`]), and writes under `results/NAME/`:
//!
//! - each run's result JSON (`weir-run/1` or the bench schemas, with commit, config and
//!   machine) and its log;
//! - `experiment.json`, the index: the file's title, the plan, and how each run went;
//! - `tables/TABLE.csv` and `tables/TABLE.md`, `figures/FIGURE.{png,svg}` ([`tables`]).
//!
//! Rendering reads only `results/NAME/`, so `--render` redraws tables and figures from
//! the last run without running anything. The file format is in docs/experiments.md.
//!
//! ```
//! use weir::experiment::{plan, Experiment};
//!
//! let experiment = Experiment::parse(r#"
//!     title = "q1 on one and two workers"
//!     [[group]]
//!     name = "q1"
//!     kind = "run"
//!     pipelines = ["nexmark-q1"]
//!     workers = [1, 2]
//!     events = "1M"
//!     [group.quick]
//!     events = "10k"
//! "#, true)?;
//! let runs = plan(&experiment, std::path::Path::new("results/q1"), None);
//! assert_eq!(runs.len(), 2);
//! assert!(runs[1].args.join(" ").starts_with("run nexmark-q1 -w 2 -n 1 --events 10k"));
//! # Ok::<(), weir::experiment::SpecError>(())
//! ```

pub mod execute;
pub mod plan;
pub mod spec;
pub mod tables;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

pub use execute::{execute, RunOutcome};
pub use plan::{plan, PlannedRun};
pub use spec::{
    BrokerKind, Experiment, FigureKind, GroupKind, Prepare, SpecError, TableKind, BROKERS, RUN,
};

use crate::harness::{Build, Machine, RunResult, RUN_SCHEMA};
use crate::plot::{
    plot_files, plot_recovery, plot_side_by_side, plot_snapshot_cost, plot_throughput, Results,
};

/// The schema name of `experiment.json`.
pub const INDEX_SCHEMA: &str = "weir-experiment/1";

/// `results/NAME/experiment.json`: what ran, and how each run went.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Index {
    /// [`INDEX_SCHEMA`].
    pub schema: String,
    /// The experiment file.
    pub file: String,
    /// Its title.
    pub title: String,
    /// Whether it ran with `--quick`.
    pub quick: bool,
    /// When it started, RFC 3339, UTC.
    pub started_at: String,
    /// The weir that ran it.
    pub build: Build,
    /// Where.
    pub machine: Machine,
    /// Every run, in order.
    pub runs: Vec<RunOutcome>,
}

impl Index {
    /// Reads `dir/experiment.json`.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join("experiment.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {} (has the experiment run?)", path.display()))?;
        let index: Index = serde_json::from_str(&text)
            .with_context(|| format!("{} is not an experiment index", path.display()))?;
        if index.schema != INDEX_SCHEMA {
            bail!(
                "{}: schema {:?} is not {INDEX_SCHEMA:?}",
                path.display(),
                index.schema
            );
        }
        Ok(index)
    }

    /// Writes it as `dir/experiment.json`.
    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        let path = dir.join("experiment.json");
        let json = serde_json::to_string_pretty(self).context("cannot encode the index")?;
        std::fs::write(&path, json + "\n")
            .with_context(|| format!("cannot write {}", path.display()))
    }

    /// A new index for `experiment`, read from `file`, with no runs yet.
    pub fn new(file: &Path, experiment: &Experiment, quick: bool) -> Self {
        Index {
            schema: INDEX_SCHEMA.to_string(),
            file: file.display().to_string(),
            title: experiment.title.clone(),
            quick,
            started_at: crate::harness::now_rfc3339(),
            build: Build::this(),
            machine: Machine::this(),
            runs: Vec::new(),
        }
    }
}

/// Runs each prepare command of `experiment` whose file does not exist yet (and each that
/// names none), with `binary` and [`BROKERS`](spec::BROKERS) replaced by `brokers`; returns
/// what each one made.
pub fn prepare(
    experiment: &Experiment,
    binary: &Path,
    brokers: Option<&str>,
) -> anyhow::Result<Vec<String>> {
    let mut made = Vec::new();
    for prepare in &experiment.prepares {
        let creates = prepare.creates.as_ref().map(PathBuf::from);
        if creates.as_ref().is_some_and(|path| path.exists()) {
            continue;
        }
        if let Some(parent) = creates
            .as_ref()
            .and_then(|path| path.parent())
            .filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let args: Vec<String> = prepare
            .args
            .iter()
            .map(|arg| plan::with_brokers(arg, brokers))
            .collect();
        let status = std::process::Command::new(binary)
            .args(&args)
            .stdin(std::process::Stdio::null())
            .status()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let made_it = creates.as_ref().is_none_or(|path| path.exists());
        if !status.success() || !made_it {
            // A half-written input would be taken as made by the next run.
            if let Some(path) = &creates {
                let _ = std::fs::remove_file(path);
            }
            bail!(
                "`weir {}` ({status}) did not make {}",
                args.join(" "),
                creates.map_or("its input".to_string(), |path| path.display().to_string())
            );
        }
        made.push(match creates {
            Some(path) => path.display().to_string(),
            None => format!("`weir {}`", args.join(" ")),
        });
    }
    Ok(made)
}

/// Reads and parses an experiment file.
pub fn load(path: &Path, quick: bool) -> anyhow::Result<Experiment> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Experiment::parse(&text, quick)
        .with_context(|| format!("{} is not a valid experiment", path.display()))
}

/// The tables and figures `experiment` asks for, from the results of `index` in `dir`;
/// returns the files written.
pub fn render(experiment: &Experiment, index: &Index, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let tables_dir = dir.join("tables");
    for table in &experiment.tables {
        let rows = match table.kind {
            TableKind::Throughput => {
                let groups = group_names(experiment, &table.groups, GroupKind::Run);
                let runs = run_results(index, dir, &groups)?;
                tables::throughput_rows(&tables::throughput(&runs), table.baseline.as_deref())
            }
            TableKind::Latency => {
                let groups = group_names(experiment, &table.groups, GroupKind::Bench);
                let results = bench_results(index, dir, &groups)?;
                tables::latency_rows(&results.runs.iter().collect::<Vec<_>>())
            }
            TableKind::Recovery => {
                let groups = group_names(experiment, &table.groups, GroupKind::Bench);
                let results = bench_results(index, dir, &groups)?;
                tables::recovery_rows(&tables::recoveries(
                    &results.runs.iter().collect::<Vec<_>>(),
                ))
            }
            TableKind::Reconfiguration => {
                let groups = group_names(experiment, &table.groups, GroupKind::Bench);
                let results = bench_results(index, dir, &groups)?;
                tables::reconfiguration_rows(&tables::reconfigurations(
                    &results.runs.iter().collect::<Vec<_>>(),
                ))
            }
            TableKind::SnapshotCost => {
                let groups = group_names(experiment, &table.groups, GroupKind::Run);
                let runs = run_results(index, dir, &groups)?;
                tables::snapshot_cost_rows(&tables::snapshot_costs(&runs))
            }
            TableKind::SideBySide => {
                tables::side_by_side_rows(&side_by_side_columns(index, dir, &table.groups)?)
            }
        };
        std::fs::create_dir_all(&tables_dir)
            .with_context(|| format!("cannot create {}", tables_dir.display()))?;
        for (extension, text) in [("csv", rows.csv()), ("md", rows.markdown())] {
            let path = tables_dir.join(format!("{}.{extension}", table.name));
            std::fs::write(&path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            written.push(path);
        }
    }
    let figures_dir = dir.join("figures");
    for figure in &experiment.figures {
        match figure.kind {
            FigureKind::Latency => {
                let groups = group_names(experiment, &figure.groups, GroupKind::Bench);
                let results = bench_results(index, dir, &groups)?;
                if !results.runs.is_empty() {
                    written.extend(plot_files(&results, &figures_dir.join(&figure.name))?);
                }
            }
            FigureKind::Recovery => {
                let groups = group_names(experiment, &figure.groups, GroupKind::Bench);
                let results = bench_results(index, dir, &groups)?;
                let recoveries = tables::recoveries(&results.runs.iter().collect::<Vec<_>>());
                if !recoveries.is_empty() {
                    let (changes, phases) = tables::recovery_series(&recoveries);
                    written.extend(plot_recovery(
                        &figures_dir,
                        &figure.name,
                        &changes,
                        &phases,
                    )?);
                }
            }
            FigureKind::SnapshotCost => {
                let groups = group_names(experiment, &figure.groups, GroupKind::Run);
                let runs = run_results(index, dir, &groups)?;
                let series = tables::snapshot_cost_series(&tables::snapshot_costs(&runs));
                if series.iter().any(|(_, points)| !points.is_empty()) {
                    written.extend(plot_snapshot_cost(&figures_dir, &figure.name, &series)?);
                }
            }
            FigureKind::SideBySide => {
                let columns = side_by_side_columns(index, dir, &figure.groups)?;
                let (pipelines, series) = tables::side_by_side_series(&columns);
                if !pipelines.is_empty() {
                    written.extend(plot_side_by_side(
                        &figures_dir,
                        &figure.name,
                        &pipelines,
                        &series,
                    )?);
                }
            }
            FigureKind::ThroughputVsWorkers => {
                let groups = group_names(experiment, &figure.groups, GroupKind::Run);
                let runs = run_results(index, dir, &groups)?;
                let mut series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
                for row in tables::throughput(&runs) {
                    let point = ((row.processes * row.workers) as f64, row.events_per_s);
                    let name = match row.processes {
                        1 => row.pipeline.clone(),
                        processes => format!("{}, {processes} processes", row.pipeline),
                    };
                    match series.iter_mut().find(|(line, _)| *line == name) {
                        Some((_, points)) => points.push(point),
                        None => series.push((name, vec![point])),
                    }
                }
                for (_, points) in &mut series {
                    points.sort_by(|a, b| a.0.total_cmp(&b.0));
                }
                if !series.is_empty() {
                    written.extend(plot_throughput(&figures_dir, &figure.name, &series)?);
                }
            }
        }
    }
    Ok(written)
}

/// The groups a table or figure names (every group of `kind` when it names none).
fn group_names(experiment: &Experiment, names: &[String], kind: GroupKind) -> Vec<String> {
    experiment
        .groups_named(names, kind)
        .into_iter()
        .map(|group| group.name.clone())
        .collect()
}

/// The closed runs of `groups` that succeeded, each with its processes' results.
fn run_results<'a>(
    index: &'a Index,
    dir: &Path,
    groups: &[String],
) -> anyhow::Result<Vec<(&'a PlannedRun, Vec<RunResult>)>> {
    let mut runs = Vec::new();
    for outcome in index
        .runs
        .iter()
        .filter(|o| o.ok && groups.contains(&o.planned.group))
    {
        let mut results = Vec::new();
        for planned in &outcome.planned.results {
            let path = locate(dir, planned);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let result: RunResult = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a {RUN_SCHEMA} result", path.display()))?;
            results.push(result);
        }
        runs.push((&outcome.planned, results));
    }
    Ok(runs)
}

/// Each group's closed runs, in the order listed, for a side-by-side table or figure.
fn side_by_side_columns<'a>(
    index: &'a Index,
    dir: &Path,
    groups: &[String],
) -> anyhow::Result<Vec<tables::Column<'a>>> {
    groups
        .iter()
        .map(|group| {
            Ok((
                group.clone(),
                run_results(index, dir, std::slice::from_ref(group))?,
            ))
        })
        .collect()
}

/// The benchmark results of `groups` that succeeded.
fn bench_results(index: &Index, dir: &Path, groups: &[String]) -> anyhow::Result<Results> {
    let paths: Vec<PathBuf> = index
        .runs
        .iter()
        .filter(|o| o.ok && groups.contains(&o.planned.group))
        .flat_map(|o| o.planned.results.iter().map(|path| locate(dir, path)))
        .collect();
    if paths.is_empty() {
        return Ok(Results::default());
    }
    Results::load(&paths)
}

/// A result file of the index: where the plan put it, or beside the index when the
/// results directory was moved or is read from elsewhere.
fn locate(dir: &Path, planned: &Path) -> PathBuf {
    match planned.file_name() {
        Some(name) if !planned.is_file() => dir.join(name),
        _ => planned.to_path_buf(),
    }
}
