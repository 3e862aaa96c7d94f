//! Chaos under the supervisor: each round runs the job under `weir cluster` and kills one of
//! its processes (never the supervisor) with SIGKILL at random moments; the supervisor
//! recovers by itself, and the published output must still be the fault-free output.
//!
//! The campaign reads the supervisor's events log to learn the processes' ids and to time
//! each recovery from the kill itself: detection, then the supervisor's own phases.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rand::rngs::SmallRng;
use rand::Rng;

use super::plan::Limits;
use super::{quiet, read_log, ChaosConfig, RoundPaths, RoundReport};
use crate::lifecycle::{unix_micros, JsonLinesTail};
use crate::runtime::Shape;
use crate::supervisor::{ClusterEvent, RecoveryTimes};

/// How often the campaign looks at the supervisor.
const POLL: Duration = Duration::from_millis(1);

/// One recovery after a kill.
#[derive(Clone, Debug, PartialEq)]
pub struct SupervisedRecovery {
    /// From the kill until the supervisor saw the process gone.
    pub detect_ms: f64,
    /// The supervisor's phases after that.
    pub times: RecoveryTimes,
}

impl SupervisedRecovery {
    /// From the kill until results flowed again.
    pub fn total_ms(&self) -> Option<f64> {
        self.times.total_ms.map(|t| t + self.detect_ms)
    }
}

/// Runs one round: the job under the supervisor on a shape drawn at random, killed at
/// random moments until the campaign's kills are made or the job ends.
pub(super) fn run_round(
    config: &ChaosConfig,
    limits: &Limits,
    rng: &mut SmallRng,
    kills: &mut usize,
    expected: &str,
) -> anyhow::Result<RoundReport> {
    let paths = RoundPaths::cleared(&config.dir)?;
    // The last round's log must be gone before this round's supervisor starts: read in
    // the moment before the new one is created, its processes would be taken for this
    // round's.
    let events_path = config.dir.join("events.jsonl");
    if events_path.exists() {
        std::fs::remove_file(&events_path)
            .with_context(|| format!("cannot clear {}", events_path.display()))?;
    }
    let shape = Shape {
        processes: limits.draw_processes(rng),
        workers: rng.gen_range(1..=limits.max_workers.max(1)),
    };
    let mut report = RoundReport::default();
    report.shapes.insert(shape);
    let mut command = Command::new(&config.binary);
    command
        .args(["cluster", "-n", &shape.processes.to_string()])
        .args(["-w", &shape.workers.to_string()])
        .args(["--max-restarts", "1000", "--backoff", "10ms"])
        .arg("--events-log")
        .arg(&events_path)
        .args(["--", "run", &config.pipeline])
        .args(&config.run_flags)
        .arg("--snapshot-dir")
        .arg(&paths.snapshots)
        .args(["--snapshot-every", &config.snapshot_every])
        .arg("--output")
        .arg(&paths.output)
        .arg("--output")
        .arg(&paths.segments)
        .arg("--quiet");
    command.env_remove("WEIR_FAULT");
    let log = config.dir.join("cluster.err");
    let mut cluster = quiet(&mut command, &log)?;

    // Kills at moments within the first 60% of a fault-free run, after each (re)start.
    let most = (limits.run_time.as_micros() as u64 * 3 / 5).max(1000);
    let mut events = JsonLinesTail::<ClusterEvent>::new(&events_path);
    let mut pids: Vec<u32> = Vec::new();
    let mut since = Instant::now();
    let mut delay = Duration::from_micros(rng.gen_range(0..most));
    let mut killed_at: Option<u64> = None;
    let mut detected: Option<f64> = None;
    let status = loop {
        for event in events.poll() {
            match event {
                ClusterEvent::Start { pids: started, .. } => {
                    pids = started;
                    since = Instant::now();
                }
                ClusterEvent::Failure { at_us, .. } => {
                    if let Some(kill) = killed_at.take() {
                        detected = Some(at_us.saturating_sub(kill) as f64 / 1e3);
                        *kills += 1;
                        report.kills_at_moments += 1;
                    }
                }
                ClusterEvent::Recovered(times) => {
                    if let Some(detect_ms) = detected.take() {
                        report
                            .recoveries
                            .push(SupervisedRecovery { detect_ms, times });
                    }
                    since = Instant::now();
                    delay = Duration::from_micros(rng.gen_range(0..most));
                }
                _ => {}
            }
        }
        if let Some(status) = cluster.try_wait().context("cannot wait for weir cluster")? {
            break status;
        }
        let ready = killed_at.is_none() && detected.is_none() && !pids.is_empty();
        if ready && *kills < config.kills && since.elapsed() >= delay {
            let pid = pids[rng.gen_range(0..pids.len())];
            // SAFETY: kill(2) with a pid this campaign's supervisor started; a process
            // that has already ended makes it fail harmlessly.
            let sent = unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) } == 0;
            if sent {
                killed_at = Some(unix_micros());
            }
            pids.clear();
        }
        std::thread::sleep(POLL);
    };
    if !status.success() {
        bail!("weir cluster failed: {}", read_log(&log));
    }
    (report.lines, report.difference) = paths.difference(expected)?;
    Ok(report)
}
