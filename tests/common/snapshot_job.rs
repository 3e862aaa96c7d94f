//! A job that snapshots into a directory of its own, run, crashed and restored by the
//! crash tests; and the fault-free reference output it must publish.

use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};

use weir::snapshot::{EpochStatus, LocalDirectory, SnapshotStore, FINAL_EPOCH};

use super::{free_ports, read_lines, unique, weir};

/// Exit status of a process killed by `WEIR_FAULT` (as after `kill -9`).
pub const KILLED: i32 = 137;

/// A job that snapshots into its own directory and publishes to its own output file (or
/// several outputs: files and directories of segments).
pub struct Job {
    pub args: Vec<String>,
    pub dir: PathBuf,
    pub snapshots: PathBuf,
    /// The first output.
    pub output: PathBuf,
    /// Every `--output`: a path ending in `/` is a directory of segments.
    pub outputs: Vec<PathBuf>,
    /// `--snapshot-every`.
    pub every: String,
    /// `WEIR_STAGE_BYTES`: how many bytes of an epoch's output a sink holds in memory.
    pub stage_bytes: Option<usize>,
}

impl Job {
    pub fn new(root: &Path, args: &[&str]) -> Job {
        let dir = root.join(format!("job-{}", unique()));
        std::fs::create_dir_all(&dir).expect("create job directory");
        Job {
            args: args.iter().map(|a| a.to_string()).collect(),
            snapshots: dir.join("snapshots"),
            output: dir.join("out.jsonl"),
            outputs: vec![dir.join("out.jsonl")],
            dir,
            every: "100ms".to_string(),
            stage_bytes: None,
        }
    }

    /// The same job, staging output to disk past `bytes` bytes per epoch.
    pub fn stage_bytes(mut self, bytes: Option<usize>) -> Job {
        self.stage_bytes = bytes;
        self
    }

    /// The same job, publishing to each of `outputs` (names in its directory; one ending in
    /// `/` is a directory of segments).
    pub fn outputs(mut self, outputs: &[&str]) -> Job {
        self.outputs = outputs.iter().map(|o| self.dir.join(o)).collect();
        self.output = self.outputs[0].clone();
        self
    }

    /// The same job, snapshotting every `every` of event time.
    pub fn every(mut self, every: &str) -> Job {
        self.every = every.to_string();
        self
    }

    /// `weir run ARGS --snapshot-dir .. --output .. EXTRA` for one process.
    pub fn command(&self, extra: &[&str], fault: Option<&str>) -> std::process::Command {
        let mut command = weir();
        command
            .args(&self.args)
            .args(["--snapshot-every", &self.every, "--quiet"])
            .arg("--snapshot-dir")
            .arg(&self.snapshots);
        for output in &self.outputs {
            command.arg("--output").arg(output);
        }
        command.args(extra);
        // A run that should die at a fault point is paced unless its test paces it: unpaced
        // on a loaded machine, a slow step lets the frontier jump over many epochs at once,
        // and the job can end before the fault's epoch ever comes (seen in CI, again and
        // again, at different tests). Pacing changes no output: event times come from
        // `--event-rate`.
        let given = |flag: &str| self.args.iter().any(|a| a == flag) || extra.contains(&flag);
        if fault.is_some() && !given("--rate") && !given("--input") {
            command.args(["--rate", "200k"]);
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        match self.stage_bytes {
            Some(bytes) => command.env("WEIR_STAGE_BYTES", bytes.to_string()),
            None => command.env_remove("WEIR_STAGE_BYTES"),
        };
        match fault {
            Some(fault) => command.env("WEIR_FAULT", fault),
            None => command.env_remove("WEIR_FAULT"),
        };
        command
    }

    pub fn run(&self, extra: &[&str], fault: Option<&str>) -> Output {
        self.command(extra, fault)
            .output()
            .expect("the weir binary runs")
    }

    /// Runs as `processes` processes of `threads` workers; `fault` applies to process 0.
    pub fn run_cluster(
        &self,
        processes: usize,
        threads: usize,
        extra: &[&str],
        fault: Option<&str>,
    ) -> Vec<Output> {
        let hosts = self.dir.join(format!("hosts-{}", unique()));
        let hostfile: String = free_ports(processes)
            .iter()
            .map(|p| format!("127.0.0.1:{p}\n"))
            .collect();
        std::fs::write(&hosts, hostfile).expect("write host file");
        let children: Vec<Child> = (0..processes)
            .map(|process| {
                let (n, p, w) = (
                    processes.to_string(),
                    process.to_string(),
                    threads.to_string(),
                );
                let mut args = vec!["-n", &n, "-p", &p, "-w", &w, "--connect-timeout", "30"];
                args.extend(["-h", hosts.to_str().expect("utf-8 path")]);
                args.extend(extra);
                self.command(&args, fault.filter(|_| process == 0))
                    .spawn()
                    .expect("the weir binary runs")
            })
            .collect();
        children
            .into_iter()
            .map(|child| child.wait_with_output().expect("wait for weir"))
            .collect()
    }

    /// Restores until the job completes (each attempt may itself be cut short by `fault`),
    /// then returns the published output.
    pub fn restore_to_end(&self, extra: &[&str]) -> Vec<String> {
        let mut args = vec!["--restore", "latest"];
        args.extend(extra);
        let output = self.run(&args, None);
        assert_success(&output, "restore");
        self.published()
    }

    /// Restores with `extra` expecting a clear failure (non-zero, no panic); returns
    /// standard error.
    pub fn restore_error(&self, extra: &[&str]) -> String {
        let mut args = vec!["--restore", "latest"];
        args.extend(extra);
        let output = self.run(&args, None);
        let message = stderr(&output);
        assert!(!output.status.success(), "restoring should fail: {message}");
        assert!(!message.contains("panicked"), "{message}");
        message
    }

    /// The lines published to the first output.
    pub fn published(&self) -> Vec<String> {
        published_in(&self.output)
    }

    /// The lines published to each output, with its path.
    pub fn published_each(&self) -> Vec<(PathBuf, Vec<String>)> {
        self.outputs
            .iter()
            .map(|o| (o.clone(), published_in(o)))
            .collect()
    }

    pub fn store(&self) -> SnapshotStore {
        SnapshotStore::new(&self.snapshots)
    }

    /// The directory of `epoch`'s snapshot, to damage it.
    pub fn epoch_dir(&self, epoch: u64) -> PathBuf {
        LocalDirectory::new(&self.snapshots).epoch_dir(epoch)
    }

    /// The entries of every part of `operator` in the complete snapshot of `epoch`, checked
    /// intact first.
    pub fn state_entries<E: serde::de::DeserializeOwned>(
        &self,
        epoch: u64,
        operator: &str,
    ) -> Vec<E> {
        let store = self.store();
        let Ok(EpochStatus::Complete(manifest)) = store.list().map(|l| {
            l.into_iter()
                .find(|e| e.epoch == epoch)
                .expect("listed")
                .status
        }) else {
            panic!("epoch {epoch} is not complete");
        };
        store.verify(&manifest).expect("intact");
        let mut entries = Vec::new();
        for part in manifest.parts_of(operator) {
            let Some(file) = &part.file else { continue };
            let bytes = store.read_part(epoch, file).expect("read part");
            let mut decoded: Vec<E> =
                weir::snapshot::decode_groups(&bytes, 0..manifest.key_groups).expect("decode part");
            entries.append(&mut decoded);
        }
        entries
    }

    /// The complete, non-final snapshots, oldest first.
    pub fn complete_epochs(&self) -> Vec<u64> {
        self.store()
            .list()
            .expect("list snapshots")
            .into_iter()
            .filter(|e| matches!(e.status, EpochStatus::Complete(_)) && e.epoch != FINAL_EPOCH)
            .map(|e| e.epoch)
            .collect()
    }
}

/// The lines of an output file, or of every segment of an output directory in order.
pub fn published_in(output: &Path) -> Vec<String> {
    if output.is_dir() {
        weir::sinks::segments_of(output)
            .expect("list output segments")
            .iter()
            .flat_map(|segment| read_lines(segment))
            .collect()
    } else if output.exists() {
        read_lines(output)
    } else {
        Vec::new()
    }
}

pub fn assert_success(output: &Output, what: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{what} failed: {stderr}");
    assert!(!stderr.contains("panicked"), "{what} panicked: {stderr}");
}

pub fn assert_killed(output: &Output, what: &str) {
    assert_eq!(
        output.status.code(),
        Some(KILLED),
        "{what} should have been killed by its fault: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).to_string()
}

/// The output of `args` run once without snapshots: what every recovered run must publish.
pub fn reference(root: &Path, args: &[&str]) -> Vec<String> {
    let output = root.join(format!("reference-{}.jsonl", unique()));
    let status = weir()
        .args(args)
        .arg("--output")
        .arg(&output)
        .arg("--quiet")
        .stdin(Stdio::null())
        .status()
        .expect("the weir binary runs");
    assert!(status.success(), "reference run of {args:?} failed");
    read_lines(&output)
}
