//! Helpers shared by the integration tests: running the `weir` binary, running dataflows on
//! several workers, and comparing outputs as multisets.

#![allow(dead_code)]

pub mod kafka;
pub mod nexmark_reference;
pub mod nexmark_reference_rest;
pub mod scrambled;
pub mod snapshot_job;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use timely::dataflow::operators::capture::{Capture, Extract};
use timely::dataflow::{Scope, StreamVec};
use weir::time::Time;

/// The `weir` binary under test.
pub fn weir() -> Command {
    Command::new(env!("CARGO_BIN_EXE_weir"))
}

/// Runs `weir` with `args`, stdin closed.
pub fn run(args: &[&str]) -> Output {
    weir()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the weir binary runs")
}

/// Runs `weir run ... --output FILE` and returns the output lines; fails the test on a
/// non-zero exit.
pub fn run_lines(dir: &Path, args: &[&str]) -> Vec<String> {
    let out = dir.join(format!("out-{}.jsonl", unique()));
    let mut full: Vec<&str> = args.to_vec();
    let out_str = out.to_str().expect("utf-8 temp path").to_string();
    full.extend(["--output", &out_str, "--quiet"]);
    let output = run(&full);
    assert!(
        output.status.success(),
        "weir {:?} failed: {}",
        full,
        String::from_utf8_lossy(&output.stderr)
    );
    read_lines(&out)
}

/// Runs `weir` expecting failure; returns standard error, checked to be one clear message.
pub fn run_error(args: &[&str]) -> String {
    let output = run(args);
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(
        !output.status.success(),
        "weir {args:?} should fail, but succeeded"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "weir {args:?} panicked: {stderr}"
    );
    assert_ne!(output.status.code(), Some(101), "exit code 101 is a panic");
    stderr
}

/// Runs a job as `processes` processes of `threads` workers each on loopback, and returns
/// the union of their output files.
pub fn run_cluster_lines(
    dir: &Path,
    processes: usize,
    threads: usize,
    args: &[&str],
) -> Vec<String> {
    let out = dir.join(format!("cluster-{}.jsonl", unique()));
    let out_str = out.to_str().expect("utf-8 path");
    let mut full = args.to_vec();
    full.extend(["--output", out_str, "--quiet"]);
    run_cluster(dir, processes, threads, &full);
    let mut lines = Vec::new();
    for process in 0..processes {
        lines.extend(read_lines(Path::new(&format!("{out_str}.{process}"))));
    }
    lines
}

/// Runs `weir ARGS` as `processes` processes of `threads` workers each on loopback, checks
/// that all succeed, and returns their outputs by process.
pub fn run_cluster(dir: &Path, processes: usize, threads: usize, args: &[&str]) -> Vec<Output> {
    let hosts = dir.join(format!("hosts-{}.txt", unique()));
    let ports = free_ports(processes);
    let hostfile: String = ports.iter().map(|p| format!("127.0.0.1:{p}\n")).collect();
    std::fs::write(&hosts, hostfile).expect("write host file");
    let children: Vec<_> = (0..processes)
        .map(|process| {
            weir()
                .args(args)
                .args(["-n", &processes.to_string(), "-p", &process.to_string()])
                .args(["-w", &threads.to_string()])
                .args(["-h", hosts.to_str().expect("utf-8 path")])
                .args(["--connect-timeout", "30"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("the weir binary runs")
        })
        .collect();
    children
        .into_iter()
        .enumerate()
        .map(|(process, child)| {
            let output = child.wait_with_output().expect("wait for weir");
            assert!(
                output.status.success(),
                "process {process} of weir {args:?} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            output
        })
        .collect()
}

/// The lines of a file.
pub fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
        .lines()
        .map(str::to_string)
        .collect()
}

/// Lines as a multiset.
pub fn multiset<S: AsRef<str>>(lines: &[S]) -> BTreeMap<String, usize> {
    let mut set = BTreeMap::new();
    for line in lines {
        *set.entry(line.as_ref().to_string()).or_insert(0) += 1;
    }
    set
}

/// Asserts two collections of lines are equal as multisets, reporting a few differences.
pub fn assert_same_multiset<A: AsRef<str>, B: AsRef<str>>(
    actual: &[A],
    expected: &[B],
    what: &str,
) {
    let (actual, expected) = (multiset(actual), multiset(expected));
    if actual != expected {
        let missing: Vec<_> = expected
            .iter()
            .filter(|(line, n)| actual.get(*line) != Some(n))
            .take(5)
            .collect();
        let extra: Vec<_> = actual
            .iter()
            .filter(|(line, n)| expected.get(*line) != Some(n))
            .take(5)
            .collect();
        panic!(
            "{what}: outputs differ ({} distinct lines expected, {} seen)\n  expected but not seen (line, count): {missing:?}\n  seen but not expected: {extra:?}",
            expected.len(),
            actual.len()
        );
    }
}

/// `count` TCP ports that were free a moment ago (bound to port 0 and released).
pub fn free_ports(count: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..count)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("local address").port())
        .collect()
}

/// The seed that a test named `name` draws its shapes from, printed so that a failure can
/// be repeated: `WEIR_SHAPES_SEED=N` sets it, otherwise it is the clock's. Each test mixes
/// its name in, so tests draw different shapes from one seed.
pub fn shapes_rng(name: &str) -> (u64, rand::rngs::SmallRng) {
    use rand::SeedableRng;
    let seed = std::env::var("WEIR_SHAPES_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0)
        });
    eprintln!("{name}: WEIR_SHAPES_SEED={seed}");
    let rng = rand::rngs::SmallRng::seed_from_u64(seed ^ weir::state::stable_hash(name));
    (seed, rng)
}

/// Runs `args` on one, two and three workers and on two processes, and checks that each
/// outputs `expected` (`what` says which run failed).
pub fn check_all_layouts(args: &[&str], expected: &[String], what: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    for workers in ["1", "2", "3"] {
        let mut with_workers = args.to_vec();
        with_workers.extend(["-w", workers]);
        let output = run_lines(dir.path(), &with_workers);
        assert_same_multiset(&output, expected, &format!("{what}, -w {workers}"));
    }
    let output = run_cluster_lines(dir.path(), 2, 1, args);
    assert_same_multiset(&output, expected, &format!("{what}, two processes"));
}

/// A number unique within this test process, for file names.
pub fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Builds a dataflow on each of `workers` threads and returns every record it emits, with
/// its time, from all workers.
pub fn run_dataflow<D, F>(workers: usize, build: F) -> Vec<(Time, D)>
where
    D: Clone + Ord + Send + 'static,
    F: for<'scope> Fn(Scope<'scope, Time>) -> StreamVec<'scope, Time, D> + Send + Sync + 'static,
{
    let config = if workers == 1 {
        timely::Config::thread()
    } else {
        timely::Config::process(workers)
    };
    let guards = timely::execute(config, move |worker| {
        worker.dataflow::<Time, _, _>(|scope| build(scope).capture())
    })
    .expect("timely starts");
    let mut records = Vec::new();
    for captured in guards.join() {
        let captured = captured.expect("worker finished");
        for (time, data) in captured.extract() {
            records.extend(data.into_iter().map(|d| (time, d)));
        }
    }
    records.sort();
    records
}

/// Splits the lines of `file` at 0-3 random line boundaries into the files of a new
/// directory in `dir`, named so that name order is line order; returns the directory.
pub fn split_into_files(file: &Path, dir: &Path, rng: &mut rand::rngs::SmallRng) -> PathBuf {
    use rand::Rng;
    let lines = read_lines(file);
    let parts = dir.join(format!("parts-{}", unique()));
    std::fs::create_dir(&parts).expect("create parts directory");
    let mut cuts: Vec<usize> = (0..rng.gen_range(0..=3))
        .map(|_| rng.gen_range(0..=lines.len()))
        .collect();
    cuts.extend([0, lines.len()]);
    cuts.sort();
    for (part, range) in cuts.windows(2).enumerate() {
        let text: String = lines[range[0]..range[1]]
            .iter()
            .map(|line| format!("{line}\n"))
            .collect();
        std::fs::write(parts.join(format!("part-{part:02}.jsonl")), text).expect("write part");
    }
    parts
}
