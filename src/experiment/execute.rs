//! Starting an experiment's runs: each as `weir` processes of its own (as a user would
//! start them, so a run measures nothing of the runs before it), or a peer engine's
//! runner, its standard error kept in a log beside its result.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::experiment::plan::PlannedRun;

/// How one run went.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunOutcome {
    /// The run.
    pub planned: PlannedRun,
    /// Whether every process exited successfully and wrote its result.
    pub ok: bool,
    /// Wall time of the whole run, seconds.
    pub seconds: f64,
    /// The standard error of each started process.
    pub logs: Vec<PathBuf>,
    /// Why it failed, with the end of its log.
    pub error: Option<String>,
}

/// Starts `run`'s processes with `binary` and waits for them; a process that fails stops
/// the others.
pub fn execute(binary: &Path, run: &PlannedRun, results: &Path) -> RunOutcome {
    let started = Instant::now();
    let logs: Vec<PathBuf> = (0..run.started_processes())
        .map(|process| results.join(format!("{}.p{process}.log", run.id)))
        .collect();
    let outcome = start_and_wait(binary, run, results, &logs);
    if let Some(scratch) = &run.scratch {
        let _ = std::fs::remove_dir_all(scratch);
        // The parent of every run's scratch, removed once empty.
        if let Some(parent) = scratch.parent() {
            let _ = std::fs::remove_dir(parent);
        }
    }
    let error = match outcome {
        Ok(()) => run
            .results
            .iter()
            .find(|result| !result.is_file())
            .map(|missing| format!("it wrote no result {}", missing.display())),
        Err(error) => Some(format!("{error:#}")),
    };
    let error = error.map(|error| match logs.first().and_then(|log| log_tail(log)) {
        Some(tail) => format!("{error}; the end of its log:\n{tail}"),
        None => error,
    });
    RunOutcome {
        planned: run.clone(),
        ok: error.is_none(),
        seconds: started.elapsed().as_secs_f64(),
        logs,
        error,
    }
}

fn start_and_wait(
    binary: &Path,
    run: &PlannedRun,
    results: &Path,
    logs: &[PathBuf],
) -> anyhow::Result<()> {
    for stale in &run.results {
        let _ = std::fs::remove_file(stale);
    }
    if let Some(scratch) = &run.scratch {
        let _ = std::fs::remove_dir_all(scratch);
        std::fs::create_dir_all(scratch)
            .with_context(|| format!("cannot create {}", scratch.display()))?;
    }
    let hostfile = if run.started_processes() > 1 {
        let path = results.join(format!("{}.hosts", run.id));
        std::fs::write(&path, free_ports(run.processes)?.join("\n") + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
        Some(path)
    } else {
        None
    };
    let mut children = Vec::new();
    for (process, log) in logs.iter().enumerate() {
        let stderr =
            File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
        // A peer's runner runs this weir too, for the output its peer's is checked against.
        let program = run.program.as_deref().map_or(binary, Path::new);
        let child = Command::new(program)
            .args(run.process_args(process, hostfile.as_deref()))
            .env("WEIR_BINARY", binary)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("cannot start {}", program.display()));
        match child {
            Ok(child) => children.push(child),
            Err(error) => {
                stop(&mut children);
                return Err(error);
            }
        }
    }
    let waited = wait_all(&mut children);
    if let Some(hostfile) = hostfile {
        let _ = std::fs::remove_file(hostfile);
    }
    waited
}

/// Waits for every child; the first to fail stops the rest, which would otherwise wait
/// for it until their connect timeout.
fn wait_all(children: &mut [Child]) -> anyhow::Result<()> {
    let mut running: Vec<usize> = (0..children.len()).collect();
    while !running.is_empty() {
        let mut still = Vec::new();
        for &i in &running {
            match children[i]
                .try_wait()
                .context("cannot wait for a process")?
            {
                Some(status) if status.success() => {}
                Some(status) => {
                    stop(children);
                    anyhow::bail!("process {i} exited with {status}");
                }
                None => still.push(i),
            }
        }
        running = still;
        if !running.is_empty() {
            // Polling: a blocking wait on one child would not see another one fail.
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    Ok(())
}

fn stop(children: &mut [Child]) {
    for child in children.iter_mut() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// `count` local addresses whose ports were free a moment ago.
fn free_ports(count: usize) -> anyhow::Result<Vec<String>> {
    // Held until all are chosen, so that the system does not hand out one port twice.
    let listeners = (0..count)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()
        .context("cannot find free local ports")?;
    listeners
        .iter()
        .map(|listener| Ok(format!("127.0.0.1:{}", listener.local_addr()?.port())))
        .collect()
}

/// The last lines of a log, for an error message.
fn log_tail(log: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(8)..].join("\n");
    (!tail.is_empty()).then_some(tail)
}
