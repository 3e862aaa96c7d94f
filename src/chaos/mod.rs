//! `weir chaos`: a verifier of exactly-once output that kills the job at random.
//!
//! It runs a pipeline once without faults (the reference), then again and again with
//! snapshots: each attempt runs on a shape drawn at random (one to `max_processes`
//! processes of one to `max_workers` workers) and is killed — every process at once, as
//! `kill -9` at a random moment, or the coordinating process at a random visit of a fault
//! point, in the middle of a snapshot, a commit or a publish — and the next attempt
//! restores from the newest complete snapshot onto its own shape. Once the job has run to
//! its end, its published output must be the reference's exactly, as a multiset: no line
//! lost, none doubled, in each of its two outputs (a file and a directory of segments). Rounds repeat with fresh snapshots until `kills` kills have been made.
//!
//! Every random choice comes from one seed, printed with the report; timing still varies,
//! so a moment's kill lands at a different place of the job from run to run.

mod plan;
mod supervised;

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rand::rngs::SmallRng;
use rand::SeedableRng;

use crate::runtime::{free_loopback_hosts, write_hostfile};

pub use plan::{compare, draw_attempt, Attempt, Difference, Kill, Limits, Shape};
pub use supervised::SupervisedRecovery;

/// Exit status of a process ended by a fault point (as after `kill -9`).
const KILLED: i32 = 137;

/// How often a waiting campaign looks at its processes.
const POLL: Duration = Duration::from_millis(2);

/// A chaos campaign.
#[derive(Clone, Debug)]
pub struct ChaosConfig {
    /// The `weir` executable to run.
    pub binary: PathBuf,
    /// The pipeline.
    pub pipeline: String,
    /// Flags of `weir run` that shape the input (`--events`, `--rate`, `--keys`, ...); the
    /// campaign adds layout, snapshot, output and restore flags itself.
    pub run_flags: Vec<String>,
    /// Kills to make, over as many rounds as that takes.
    pub kills: usize,
    /// The seed of every random choice.
    pub seed: u64,
    /// Most workers per process.
    pub max_workers: usize,
    /// Most processes.
    pub max_processes: usize,
    /// Fewest processes.
    pub min_processes: usize,
    /// `--snapshot-every` of the job.
    pub snapshot_every: String,
    /// The share of kills at fault points rather than at moments.
    pub fault_share: f64,
    /// Where snapshots, outputs and logs go.
    pub dir: PathBuf,
    /// Run each round under `weir cluster` and kill single processes of it at random
    /// moments, letting the supervisor recover (fault points are not used then).
    pub supervised: bool,
}

/// What one round did.
#[derive(Clone, Debug, Default)]
pub struct RoundReport {
    /// Kills at a wall-clock moment.
    pub kills_at_moments: usize,
    /// Kills at fault points.
    pub kills_at_faults: usize,
    /// The shapes the round ran on.
    pub shapes: BTreeSet<Shape>,
    /// Lines published.
    pub lines: usize,
    /// How they differ from the reference.
    pub difference: Difference,
    /// Under the supervisor: each recovery, with the time from the kill to its detection.
    pub recoveries: Vec<SupervisedRecovery>,
}

impl RoundReport {
    /// Kills of either kind.
    pub fn kills(&self) -> usize {
        self.kills_at_moments + self.kills_at_faults
    }

    /// Attempts that restored from a snapshot: one after every kill, the last of them run
    /// to the end.
    pub fn restores(&self) -> usize {
        self.kills()
    }
}

/// What a campaign did.
#[derive(Clone, Debug)]
pub struct ChaosReport {
    /// The campaign's seed.
    pub seed: u64,
    /// Lines of the reference output.
    pub reference_lines: usize,
    /// How long the reference took.
    pub reference_time: Duration,
    /// Each round.
    pub rounds: Vec<RoundReport>,
    /// How long the whole campaign took.
    pub elapsed: Duration,
}

impl ChaosReport {
    /// Whether every round published exactly the reference's lines.
    pub fn passed(&self) -> bool {
        self.rounds.iter().all(|r| r.difference.is_empty())
    }

    /// Under the supervisor: the recoveries' times from kill to results flowing, and their
    /// phases, as median and max over every round.
    pub fn recovery_summary(&self) -> Option<String> {
        let recoveries: Vec<&SupervisedRecovery> =
            self.rounds.iter().flat_map(|r| &r.recoveries).collect();
        if recoveries.is_empty() {
            return None;
        }
        let stats = |values: Vec<f64>| {
            let mut values: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
            values.sort_by(f64::total_cmp);
            match values.last() {
                Some(max) => format!("{:.0}/{:.0}", values[values.len() / 2], max),
                None => "?".to_string(),
            }
        };
        let of = |f: &dyn Fn(&SupervisedRecovery) -> Option<f64>| {
            stats(recoveries.iter().filter_map(|r| f(r)).collect())
        };
        Some(format!(
            "recovery over {} kills, median/max ms: kill to results flowing {}; detect {}, stop {}, backoff {}, restart {}, restore {}",
            recoveries.len(),
            of(&|r| r.total_ms()),
            of(&|r| Some(r.detect_ms)),
            of(&|r| Some(r.times.stop_ms)),
            of(&|r| Some(r.times.backoff_ms)),
            of(&|r| r.times.restart_ms),
            of(&|r| r.times.restore_ms),
        ))
    }

    /// The report as a table, one row per round and a total.
    pub fn table(&self) -> String {
        let mut text = format!(
            "{:>5}  {:>5}  {:>7}  {:>6}  {:>8}  {:<24}  {:>9}  {:>6}  {:>7}\n",
            "round", "kills", "moments", "faults", "restores", "shapes", "lines", "lost", "doubled"
        );
        let mut total = RoundReport::default();
        for (index, round) in self.rounds.iter().enumerate() {
            text.push_str(&row(&(index + 1).to_string(), round));
            total.kills_at_moments += round.kills_at_moments;
            total.kills_at_faults += round.kills_at_faults;
            total.shapes.extend(round.shapes.iter().copied());
            total.lines += round.lines;
            total.difference.lost += round.difference.lost;
            total.difference.doubled += round.difference.doubled;
        }
        text.push_str(&row("total", &total));
        for round in &self.rounds {
            for example in &round.difference.examples {
                text.push_str(&format!("  {example}\n"));
            }
        }
        text
    }
}

fn row(name: &str, round: &RoundReport) -> String {
    let shapes: Vec<String> = round.shapes.iter().map(Shape::to_string).collect();
    format!(
        "{name:>5}  {:>5}  {:>7}  {:>6}  {:>8}  {:<24}  {:>9}  {:>6}  {:>7}\n",
        round.kills(),
        round.kills_at_moments,
        round.kills_at_faults,
        round.restores(),
        shapes.join(" "),
        round.lines,
        round.difference.lost,
        round.difference.doubled
    )
}

/// How one attempt ended.
enum Outcome {
    Finished,
    Killed,
}

/// Runs a campaign; `progress` hears a line per round.
pub fn run(config: &ChaosConfig, progress: &mut dyn FnMut(&str)) -> anyhow::Result<ChaosReport> {
    let start = Instant::now();
    fs::create_dir_all(&config.dir)
        .with_context(|| format!("cannot create {}", config.dir.display()))?;
    let (expected, reference_time) = reference(config)?;
    let reference_lines = expected.lines().count();
    let limits = Limits {
        max_workers: config.max_workers,
        max_processes: config.max_processes,
        min_processes: config.min_processes,
        run_time: reference_time,
        fault_share: config.fault_share,
    };
    let mut rng = SmallRng::seed_from_u64(config.seed);
    let mut rounds = Vec::new();
    let mut kills = 0;
    while kills < config.kills || rounds.is_empty() {
        let round = if config.supervised {
            supervised::run_round(config, &limits, &mut rng, &mut kills, &expected)?
        } else {
            run_round(config, &limits, &mut rng, &mut kills, &expected)?
        };
        progress(&format!(
            "round {}: {} kills, {} lines, {} lost, {} doubled",
            rounds.len() + 1,
            round.kills(),
            round.lines,
            round.difference.lost,
            round.difference.doubled
        ));
        rounds.push(round);
    }
    Ok(ChaosReport {
        seed: config.seed,
        reference_lines,
        reference_time,
        rounds,
        elapsed: start.elapsed(),
    })
}

/// Runs the job from a fresh snapshot directory to its end, killing attempts until the
/// campaign's kills are made.
fn run_round(
    config: &ChaosConfig,
    limits: &Limits,
    rng: &mut SmallRng,
    kills: &mut usize,
    expected: &str,
) -> anyhow::Result<RoundReport> {
    let RoundPaths {
        snapshots,
        output,
        segments,
    } = RoundPaths::cleared(&config.dir)?;
    let mut report = RoundReport::default();
    let mut restore = false;
    loop {
        let attempt = draw_attempt(rng, limits, *kills < config.kills);
        report.shapes.insert(attempt.shape);
        let children = start_attempt(config, &attempt, restore, &snapshots, &[&output, &segments])?;
        match wait_attempt(config, children, &attempt.kill)? {
            Outcome::Finished => break,
            Outcome::Killed => {
                *kills += 1;
                match attempt.kill {
                    Kill::Fault { .. } => report.kills_at_faults += 1,
                    _ => report.kills_at_moments += 1,
                }
                restore = true;
            }
        }
    }
    (report.lines, report.difference) = published_difference(expected, &output, &segments)?;
    Ok(report)
}

/// Runs the job once without snapshots or faults: its output and how long it took.
fn reference(config: &ChaosConfig) -> anyhow::Result<(String, Duration)> {
    let reference_output = config.dir.join("reference.jsonl");
    let began = Instant::now();
    let mut reference = Command::new(&config.binary);
    reference
        .args(["run", &config.pipeline])
        .args(&config.run_flags)
        .arg("--output")
        .arg(&reference_output)
        .arg("--quiet");
    let status = quiet(&mut reference, &config.dir.join("reference.err"))?
        .wait()
        .context("cannot wait for the reference run")?;
    if !status.success() {
        bail!(
            "the reference run (no snapshots, no faults) failed: {}",
            read_log(&config.dir.join("reference.err"))
        );
    }
    Ok((read_text(&reference_output)?, began.elapsed()))
}

/// Where a round writes: snapshots, and two committing sinks publishing the same output, a
/// file and a directory of segments.
struct RoundPaths {
    snapshots: PathBuf,
    output: PathBuf,
    segments: PathBuf,
}

impl RoundPaths {
    /// The paths of a round in `dir`, cleared of an earlier round's.
    fn cleared(dir: &Path) -> anyhow::Result<RoundPaths> {
        let paths = RoundPaths {
            snapshots: dir.join("snapshots"),
            output: dir.join("output.jsonl"),
            segments: dir.join("output/"),
        };
        for dir in [&paths.snapshots, &paths.segments] {
            if dir.exists() {
                fs::remove_dir_all(dir)
                    .with_context(|| format!("cannot clear {}", dir.display()))?;
            }
        }
        if paths.output.exists() {
            fs::remove_file(&paths.output)
                .with_context(|| format!("cannot clear {}", paths.output.display()))?;
        }
        Ok(paths)
    }

    /// The lines published to the output file, and how they and the segments differ
    /// from `expected`.
    fn difference(&self, expected: &str) -> anyhow::Result<(usize, Difference)> {
        published_difference(expected, &self.output, &self.segments)
    }
}

/// The lines published to the file `output` and how they and the segments of `segments`
/// differ from `expected`.
fn published_difference(
    expected: &str,
    output: &Path,
    segments: &Path,
) -> anyhow::Result<(usize, Difference)> {
    let published = if output.exists() {
        read_text(output)?
    } else {
        String::new()
    };
    let lines = published.lines().count();
    let mut difference = compare(expected.lines(), published.lines());
    let mut in_segments = String::new();
    for segment in crate::sinks::segments_of(segments)? {
        in_segments.push_str(&read_text(&segment)?);
    }
    let of_segments = compare(expected.lines(), in_segments.lines());
    difference.lost += of_segments.lost;
    difference.doubled += of_segments.doubled;
    difference.examples.extend(
        of_segments
            .examples
            .into_iter()
            .map(|e| format!("{e} (in {})", segments.display())),
    );
    Ok((lines, difference))
}

/// Starts the processes of one attempt.
fn start_attempt(
    config: &ChaosConfig,
    attempt: &Attempt,
    restore: bool,
    snapshots: &Path,
    outputs: &[&Path],
) -> anyhow::Result<Vec<Child>> {
    let Shape { processes, workers } = attempt.shape;
    let hosts = config.dir.join("hosts.txt");
    if processes > 1 {
        write_hostfile(&hosts, &free_loopback_hosts(processes)?)?;
    }
    let fault = attempt.kill.fault_spec();
    (0..processes)
        .map(|process| {
            let mut command = Command::new(&config.binary);
            command
                .args(["run", &config.pipeline])
                .args(&config.run_flags)
                .arg("--snapshot-dir")
                .arg(snapshots)
                .args(["--snapshot-every", &config.snapshot_every]);
            for output in outputs {
                command.arg("--output").arg(output);
            }
            command.args(["--quiet", "-w", &workers.to_string()]);
            if processes > 1 {
                command
                    .args(["-n", &processes.to_string(), "-p", &process.to_string()])
                    .arg("-h")
                    .arg(&hosts)
                    .args(["--connect-timeout", "30"]);
            }
            if restore {
                command.args(["--restore", "latest"]);
            }
            command.env_remove("WEIR_FAULT");
            if let Some(fault) = fault.as_ref().filter(|_| process == 0) {
                command.env("WEIR_FAULT", fault);
            }
            quiet(&mut command, &log_path(config, process))
        })
        .collect()
}

/// Waits for an attempt to end, killing it as `kill` says.
fn wait_attempt(
    config: &ChaosConfig,
    mut children: Vec<Child>,
    kill: &Kill,
) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let deadline = match kill {
        Kill::At(after) => Some(*after),
        _ => None,
    };
    let mut statuses: Vec<Option<ExitStatus>> = vec![None; children.len()];
    loop {
        for (child, status) in children.iter_mut().zip(statuses.iter_mut()) {
            if status.is_none() {
                *status = child.try_wait().context("cannot wait for weir")?;
            }
        }
        if statuses.iter().all(Option::is_some) {
            break;
        }
        // The coordinating process died at its fault, or a process failed: the rest of
        // the cluster goes down with it, as with a machine lost.
        let first_down = statuses.iter().flatten().any(|s| !s.success());
        let due = deadline.is_some_and(|d| started.elapsed() >= d);
        if due || first_down {
            for child in children.iter_mut() {
                let _ = child.kill();
            }
            for (child, status) in children.iter_mut().zip(statuses.iter_mut()) {
                let waited = child.wait().context("cannot wait for weir")?;
                status.get_or_insert(waited);
            }
            if due {
                return Ok(Outcome::Killed);
            }
            break;
        }
        std::thread::sleep(POLL);
    }
    let coordinator = statuses[0].map(|s| s.code());
    if kill.fault_spec().is_some() && coordinator == Some(Some(KILLED)) {
        return Ok(Outcome::Killed);
    }
    for (process, status) in statuses.iter().enumerate() {
        if !status.is_some_and(|s| s.success()) {
            bail!(
                "process {process} of the job failed without being killed: {}",
                read_log(&log_path(config, process))
            );
        }
    }
    Ok(Outcome::Finished)
}

fn log_path(config: &ChaosConfig, process: usize) -> PathBuf {
    config.dir.join(format!("process-{process}.err"))
}

/// Spawns `command` with no input, no output, and standard error to `log`.
fn quiet(command: &mut Command, log: &Path) -> anyhow::Result<Child> {
    let log_file = File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .with_context(|| format!("cannot start {:?}", command.get_program()))
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn read_log(path: &Path) -> String {
    fs::read_to_string(path)
        .map(|text| text.trim().to_string())
        .unwrap_or_else(|e| format!("(no log: {e})"))
}
