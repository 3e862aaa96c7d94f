//! `weir chaos PIPELINE`: kill a job at random, restore it onto random shapes, and check
//! that its published output is the fault-free output exactly.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use clap::Args;

use weir::chaos::{self, ChaosConfig};
use weir::pipelines;

use crate::cli::args::parse_count;

pub const LONG_ABOUT: &str = "\
Verify exactly-once output by killing a job at random.

Runs PIPELINE once without faults, then with snapshots, killed again and again: every
process at once at a random moment (as kill -9), or the coordinating process at a random
visit of a fault point (mid-snapshot, mid-commit, mid-publish). Each attempt restores the
newest complete snapshot onto a shape drawn at random (1 to --max-processes processes of 1
to --max-workers workers). Once the job has finished, its published output must equal the
fault-free output as a multiset of lines; rounds repeat until --kills kills are made.
Prints a table (kills, restores, shapes, lines lost, lines doubled) and exits 1 on any
difference. The seed is printed; give it back with --seed to draw the same choices.

With --supervised, each round runs under `weir cluster` instead, and single processes are
killed (never the supervisor) at random moments; the supervisor restarts the job by itself
and the campaign prints how long each recovery took, from the kill to results flowing.

Flags after `--` go to `weir run` and shape the input [default: --events 1M --rate 400k].

Examples:
  weir chaos seed-state                                   # 100 kills, about 2 minutes
  weir chaos nexmark-q5 --kills 30 -- --events 2M --rate 1M
  weir chaos wordcount --seed 42 --max-processes 1
  weir chaos seed-state --supervised --kills 20 -- --events 20M --keys 1M --rate 2M";

/// Flags `weir chaos` sets itself.
const OWN_FLAGS: &[&str] = &[
    "-w",
    "--workers",
    "-n",
    "--processes",
    "-p",
    "--process",
    "-h",
    "--hostfile",
    "--output",
    "--snapshot-dir",
    "--snapshot-every",
    "--restore",
];

/// Arguments of `weir chaos`.
#[derive(Args, Debug)]
pub struct ChaosArgs {
    /// The pipeline to verify.
    pipeline: String,
    /// Kills to make, e.g. 100.
    #[arg(long, default_value = "100", value_parser = parse_count)]
    kills: u64,
    /// Seed of every random choice [default: drawn from the clock, and printed].
    #[arg(long)]
    seed: Option<u64>,
    /// Most workers per process an attempt runs on.
    #[arg(long, default_value_t = 3)]
    max_workers: usize,
    /// Most processes an attempt runs on.
    #[arg(long, default_value_t = 2)]
    max_processes: usize,

    /// Fewest processes an attempt runs on, e.g. 2 to kill one of several processes only.
    #[arg(long, default_value_t = 1)]
    min_processes: usize,
    /// `--snapshot-every` of the job, e.g. 100ms.
    #[arg(long, default_value = "100ms")]
    snapshot_every: String,
    /// Share of kills at fault points rather than at moments, from 0 to 1.
    #[arg(long, default_value_t = 0.4)]
    fault_share: f64,
    /// Where snapshots, outputs and logs go [default: a new directory in the system's
    /// temporary directory, removed when every round passes].
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Run each round under `weir cluster` (on a shape drawn at random) and kill one of its
    /// processes at a time, at random moments; the supervisor recovers by itself. Prints
    /// the recovery times, kill to results flowing.
    #[arg(long)]
    supervised: bool,

    /// Flags for `weir run` (after `--`).
    #[arg(last = true)]
    run_flags: Vec<String>,
}

/// Runs the campaign and prints its table.
pub fn run(args: ChaosArgs) -> anyhow::Result<ExitCode> {
    pipelines::find(&args.pipeline)?;
    if let Some(flag) = args
        .run_flags
        .iter()
        .find(|flag| OWN_FLAGS.contains(&flag.split('=').next().unwrap_or(flag)))
    {
        bail!("weir chaos sets {flag} itself; give only flags that shape the input after --");
    }
    if args.max_workers == 0 || args.max_processes == 0 {
        bail!("--max-workers and --max-processes must be at least 1");
    }
    if args.min_processes > args.max_processes {
        bail!(
            "--min-processes {} is above --max-processes {}",
            args.min_processes,
            args.max_processes
        );
    }
    if !(0.0..=1.0).contains(&args.fault_share) {
        bail!("--fault-share must be between 0 and 1");
    }
    let seed = args.seed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64 % 1_000_000_007)
            .unwrap_or(0)
    });
    let run_flags = if args.run_flags.is_empty() {
        ["--events", "1M", "--rate", "400k"]
            .map(String::from)
            .to_vec()
    } else {
        args.run_flags
    };
    let temporary = args.dir.is_none();
    let dir = args.dir.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("weir-chaos-{}-{seed}", std::process::id()))
    });
    let config = ChaosConfig {
        binary: std::env::current_exe().context("cannot find the weir executable")?,
        pipeline: args.pipeline.clone(),
        run_flags,
        kills: args.kills as usize,
        seed,
        max_workers: args.max_workers,
        max_processes: args.max_processes,
        min_processes: args.min_processes,
        snapshot_every: args.snapshot_every,
        fault_share: args.fault_share,
        dir: dir.clone(),
        supervised: args.supervised,
    };
    eprintln!(
        "weir chaos: {} {}, {} kills, seed {seed} (repeat with --seed {seed}), in {}",
        config.pipeline,
        config.run_flags.join(" "),
        config.kills,
        dir.display()
    );
    let report = chaos::run(&config, &mut |line| eprintln!("weir chaos: {line}"))?;
    print!("{}", report.table());
    if let Some(summary) = report.recovery_summary() {
        println!("{summary}");
    }
    println!(
        "reference: {} lines in {:.2} s; campaign: {:.1} s; seed {seed}",
        report.reference_lines,
        report.reference_time.as_secs_f64(),
        report.elapsed.as_secs_f64()
    );
    if report.passed() {
        if temporary {
            let _ = std::fs::remove_dir_all(&dir);
        }
        println!("passed: every round published exactly the fault-free output");
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "FAILED: published output differs from the fault-free output (kept in {})",
            dir.display()
        );
        Ok(ExitCode::FAILURE)
    }
}
