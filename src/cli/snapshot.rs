//! `weir snapshot ls|verify|inspect DIR`: look into a snapshot directory without running a
//! job.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};

use weir::snapshot::{
    epoch_label, group_sizes, EpochEntry, EpochStatus, Manifest, PartKind, SnapshotStore,
    FINAL_EPOCH,
};
use weir::state::KeyGroups;
use weir::time::Time;

pub const LONG_ABOUT: &str = "\
Look into a snapshot directory written by `weir run --snapshot-dir DIR`.

Examples:
  weir snapshot ls snaps              # every epoch: complete or not, workers, size
  weir snapshot verify snaps          # check every checksum; exit status 1 if anything is bad
  weir snapshot inspect snaps         # operators, key groups and parts of the newest snapshot
  weir snapshot inspect snaps 3000    # ... of the snapshot of epoch 3000 (or `final`)";

/// Arguments of `weir snapshot`.
#[derive(Args, Debug)]
pub struct SnapshotArgs {
    #[command(subcommand)]
    command: SnapshotCommand,
}

#[derive(Subcommand, Debug)]
enum SnapshotCommand {
    /// List every epoch in DIR: complete or not, workers, processes, parts and size.
    Ls {
        /// The snapshot directory.
        dir: PathBuf,
    },
    /// Check every part of every complete snapshot (or of EPOCH) against its manifest's
    /// sizes and checksums. Exits 1 when any snapshot is damaged or none is complete.
    Verify {
        /// The snapshot directory.
        dir: PathBuf,
        /// Only this epoch (a number, or `final`).
        #[arg(value_parser = parse_epoch)]
        epoch: Option<Time>,
    },
    /// Show one snapshot: the job it belongs to, its operators, each part's worker, key
    /// groups, size and resume position.
    Inspect {
        /// The snapshot directory.
        dir: PathBuf,
        /// The epoch (a number, or `final`) [default: the newest complete snapshot].
        #[arg(value_parser = parse_epoch)]
        epoch: Option<Time>,
    },
}

fn parse_epoch(text: &str) -> Result<Time, String> {
    if text.eq_ignore_ascii_case("final") {
        return Ok(FINAL_EPOCH);
    }
    text.parse()
        .map_err(|_| format!("{text:?} is not an epoch: give a number of milliseconds or `final`"))
}

/// Runs a `weir snapshot` subcommand.
pub fn run(args: SnapshotArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        SnapshotCommand::Ls { dir } => ls(&dir),
        SnapshotCommand::Verify { dir, epoch } => verify(&dir, epoch),
        SnapshotCommand::Inspect { dir, epoch } => inspect(&dir, epoch),
    }
}

/// The store in `dir`, which must exist.
fn open(dir: &Path) -> anyhow::Result<(SnapshotStore, Vec<EpochEntry>)> {
    if !dir.is_dir() {
        bail!("snapshot directory {} does not exist", dir.display());
    }
    let store = SnapshotStore::new(dir);
    let entries = store.list()?;
    Ok((store, entries))
}

fn ls(dir: &Path) -> anyhow::Result<ExitCode> {
    let (_, entries) = open(dir)?;
    if entries.is_empty() {
        println!("{}: no snapshots", dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:>20}  {:<10}  {:>7}  {:>9}  {:>5}  {:>12}",
        "epoch", "status", "workers", "processes", "parts", "bytes"
    );
    for entry in &entries {
        let label = epoch_label(entry.epoch);
        match &entry.status {
            EpochStatus::Complete(manifest) => println!(
                "{label:>20}  {:<10}  {:>7}  {:>9}  {:>5}  {:>12}",
                if manifest.savepoint {
                    "savepoint"
                } else {
                    "complete"
                },
                manifest.workers,
                manifest.processes,
                manifest.parts.iter().filter(|p| p.file.is_some()).count(),
                manifest.total_bytes()
            ),
            EpochStatus::Incomplete => println!("{label:>20}  incomplete (no manifest)"),
            EpochStatus::Damaged(why) => println!("{label:>20}  damaged: {why}"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn verify(dir: &Path, only: Option<Time>) -> anyhow::Result<ExitCode> {
    let (store, entries) = open(dir)?;
    let entries: Vec<&EpochEntry> = entries
        .iter()
        .filter(|e| only.is_none_or(|epoch| e.epoch == epoch))
        .collect();
    if let (Some(epoch), true) = (only, entries.is_empty()) {
        bail!(
            "there is no snapshot of epoch {} in {}",
            epoch_label(epoch),
            dir.display()
        );
    }
    let (mut good, mut bad) = (0, 0);
    for entry in entries {
        let label = epoch_label(entry.epoch);
        match &entry.status {
            EpochStatus::Complete(manifest) => match store.verify(manifest) {
                Ok(()) => {
                    good += 1;
                    println!("{label:>20}  ok ({} bytes)", manifest.total_bytes());
                }
                Err(error) => {
                    bad += 1;
                    println!("{label:>20}  DAMAGED: {error:#}");
                }
            },
            EpochStatus::Damaged(why) => {
                bad += 1;
                println!("{label:>20}  DAMAGED: {why}");
            }
            // Not a fault: a snapshot still being written, or one a crash cut short.
            EpochStatus::Incomplete => println!("{label:>20}  incomplete (never committed)"),
        }
    }
    if bad > 0 {
        eprintln!("weir: {bad} damaged snapshot(s) in {}", dir.display());
        return Ok(ExitCode::FAILURE);
    }
    if good == 0 {
        eprintln!("weir: no complete snapshot in {}", dir.display());
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn inspect(dir: &Path, epoch: Option<Time>) -> anyhow::Result<ExitCode> {
    let (store, entries) = open(dir)?;
    let manifest = match epoch {
        Some(epoch) => match entries.iter().find(|e| e.epoch == epoch).map(|e| &e.status) {
            Some(EpochStatus::Complete(manifest)) => manifest,
            Some(EpochStatus::Incomplete) => {
                bail!(
                    "snapshot {} is incomplete: it has no manifest",
                    epoch_label(epoch)
                )
            }
            Some(EpochStatus::Damaged(why)) => {
                bail!("snapshot {} is damaged: {why}", epoch_label(epoch))
            }
            None => bail!(
                "there is no snapshot of epoch {} in {}",
                epoch_label(epoch),
                dir.display()
            ),
        },
        None => entries
            .iter()
            .rev()
            .find_map(|e| match &e.status {
                EpochStatus::Complete(manifest) => Some(manifest),
                _ => None,
            })
            .with_context(|| format!("no complete snapshot in {}", dir.display()))?,
    };
    print_manifest(&store, manifest);
    Ok(ExitCode::SUCCESS)
}

fn print_manifest(store: &SnapshotStore, manifest: &Manifest) {
    println!("snapshot    {}", epoch_label(manifest.epoch));
    println!("job         {}", manifest.identity.describe());
    println!("fingerprint {}", manifest.fingerprint);
    println!(
        "format      {}; {} worker(s) in {} process(es); {} key groups",
        manifest.format, manifest.workers, manifest.processes, manifest.key_groups
    );
    let groups = KeyGroups::new(manifest.key_groups);
    for operator in &manifest.operators {
        let parts: Vec<_> = manifest.parts_of(operator).collect();
        let Some(kind) = parts.first().map(|p| p.kind) else {
            continue;
        };
        let bytes: u64 = parts
            .iter()
            .filter_map(|p| p.file.as_ref())
            .map(|f| f.bytes)
            .sum();
        println!("\noperator {operator:?} ({kind:?}, {bytes} bytes)");
        for part in parts {
            let range = groups.range_of(part.worker, manifest.workers);
            let mut line = format!("  worker {:>3}", part.worker);
            if kind == PartKind::State {
                line.push_str(&format!(
                    "  key groups {:>4}..{:<4}",
                    range.start, range.end
                ));
            }
            match &part.file {
                Some(file) => {
                    line.push_str(&format!("  {} ({} bytes)", file.name, file.bytes));
                    if kind == PartKind::State {
                        match store
                            .read_part(manifest.epoch, file)
                            .and_then(|bytes| group_sizes(&bytes))
                        {
                            Ok((_, sizes)) => {
                                line.push_str(&format!(", {} non-empty group(s)", sizes.len()))
                            }
                            Err(error) => line.push_str(&format!(", DAMAGED: {error:#}")),
                        }
                    }
                }
                None => line.push_str("  (no file)"),
            }
            if let Some(inline) = &part.inline {
                line.push_str(&format!("  resume at {inline}"));
            }
            println!("{line}");
        }
    }
}
