//! `weir cluster`, savepoints and rescaling: the supervisor restarts a job after kills at
//! random moments, gives up on a crash loop, rescales on a plan and on request, and stops
//! with a savepoint; `weir savepoint` / `weir stop` and their signals; bad input.
//!
//! Shapes, pipelines, moments and signals are drawn from a printed seed
//! (`WEIR_SHAPES_SEED=N` repeats them).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::Rng;

use common::snapshot_job::{published_in, reference, stderr};
use common::{assert_same_multiset, free_ports, run, run_error, shapes_rng, weir};
use weir::snapshot::{EpochStatus, SnapshotStore};
use weir::supervisor::{ClusterEvent, ClusterReport};

/// Polls `done` until it holds, failing the test after `limit`.
fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The events a supervisor has logged so far.
fn events(path: &Path) -> Vec<ClusterEvent> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

fn spawn(args: &[String]) -> Child {
    weir()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the weir binary runs")
}

fn finish(child: Child, what: &str) -> Output {
    let output = child.wait_with_output().expect("wait for weir");
    assert!(
        output.status.success(),
        "{what} failed: {}",
        stderr(&output)
    );
    output
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

/// A paced job drawn at random: its `weir run` arguments (input only).
fn draw_job(rng: &mut SmallRng) -> Vec<String> {
    let pipelines = ["seed-state", "nexmark-q5", "nexmark-q3"];
    let pipeline = pipelines[rng.gen_range(0..pipelines.len())];
    let events = rng.gen_range(600..1000) * 1000;
    strings(&[
        "run",
        pipeline,
        "--events",
        &events.to_string(),
        "--rate",
        "400k",
        "--keys",
        "2000",
        "--seed",
        &rng.gen_range(0..100).to_string(),
    ])
}

/// A job's snapshot flags and exactly-once output in `dir`.
fn snapshotting(dir: &Path, every: &str) -> Vec<String> {
    strings(&[
        "--snapshot-dir",
        dir.join("snaps").to_str().expect("utf-8"),
        "--snapshot-every",
        every,
        "--output",
        dir.join("out.jsonl").to_str().expect("utf-8"),
        "--quiet",
    ])
}

fn reference_of(dir: &Path, job: &[String]) -> Vec<String> {
    let args: Vec<&str> = job.iter().map(String::as_str).collect();
    reference(dir, &args)
}

#[test]
fn killing_one_process_at_random_moments_the_supervisor_recovers_the_exact_output() {
    let (_, mut rng) = shapes_rng("supervised chaos");
    // Ten kills over two campaigns of pipelines drawn at random, on two processes.
    for kills in ["6", "4"] {
        let dir = tempfile::tempdir().expect("temp dir");
        let job = draw_job(&mut rng);
        let mut args = strings(&["chaos", &job[1], "--supervised", "--kills", kills]);
        // One of two processes is killed each time: the other is stopped and restarted too.
        args.extend(strings(&["--min-processes", "2", "--max-processes", "2"]));
        args.extend(strings(&["--max-workers", "2", "--seed"]));
        args.push(rng.gen_range(0..1_000_000u64).to_string());
        args.extend(strings(&[
            "--dir",
            dir.path().to_str().expect("utf-8"),
            "--",
        ]));
        args.extend(job[2..].iter().cloned());
        let as_str: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = run(&as_str);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{args:?}\n{stdout}\n{}",
            stderr(&output)
        );
        let total = stdout
            .lines()
            .find(|l| l.trim_start().starts_with("total"))
            .unwrap_or_else(|| panic!("no total row: {stdout}"));
        let columns: Vec<&str> = total.split_whitespace().collect();
        assert_eq!(columns[1], kills, "kills made: {total}");
        let (lost, doubled) = (columns[columns.len() - 2], columns[columns.len() - 1]);
        assert_eq!((lost, doubled), ("0", "0"), "{stdout}");
        assert!(
            stdout.contains(&format!("recovery over {kills} kills")),
            "every kill was timed: {stdout}"
        );
    }
}

#[test]
fn a_crash_loop_gives_up_after_the_restart_limit_with_a_clear_message() {
    let (_, mut rng) = shapes_rng("crash loop");
    let dir = tempfile::tempdir().expect("temp dir");
    let limit = rng.gen_range(1..=3usize);
    let processes = rng.gen_range(1..=2usize);
    let log = dir.path().join("events.jsonl");
    let mut args = strings(&["cluster", "-n", &processes.to_string()]);
    args.extend(strings(&[
        "--max-restarts",
        &limit.to_string(),
        "--backoff",
        "5ms",
    ]));
    args.extend(strings(&[
        "--events-log",
        log.to_str().expect("utf-8"),
        "--",
    ]));
    args.extend(strings(&["run", "seed-state", "--events", "200k"]));
    args.extend(snapshotting(dir.path(), "10ms"));
    // Every start dies before its first commit: no progress, ever.
    let output = weir()
        .args(&args)
        .env("WEIR_FAULT", "before-manifest")
        .stdin(Stdio::null())
        .output()
        .expect("weir runs");
    let message = stderr(&output);
    assert!(
        !output.status.success(),
        "a crash loop must fail: {message}"
    );
    assert!(!message.contains("panicked"), "{message}");
    assert!(
        message.contains(&format!(
            "gave up: {limit} restart(s) in a row made no progress"
        )),
        "{message}"
    );
    let logged = events(&log);
    let count = |f: fn(&ClusterEvent) -> bool| logged.iter().filter(|e| f(e)).count();
    assert_eq!(
        count(|e| matches!(e, ClusterEvent::Start { .. })),
        limit + 1
    );
    assert_eq!(
        count(|e| matches!(e, ClusterEvent::Failure { .. })),
        limit + 1
    );
    assert_eq!(count(|e| matches!(e, ClusterEvent::GaveUp { .. })), 1);
}

/// The newest complete snapshot and every savepoint of a snapshot directory.
#[test]
fn a_stop_drains_to_an_epoch_boundary_and_sends_nothing_after_its_savepoint() {
    let (_, mut rng) = shapes_rng("drained stop");
    let dir = tempfile::tempdir().expect("temp dir");
    // seed-state writes one line per record: what was published is what was sent.
    let rate = format!("{}k", rng.gen_range(100..400));
    let every = format!("{}ms", rng.gen_range(50..300));
    let mut job = strings(&["run", "seed-state", "--events", "50M", "--rate", &rate]);
    job.extend(snapshotting(dir.path(), &every));
    let (processes, workers) = (rng.gen_range(1..=2), rng.gen_range(1..=2));
    let wait = Duration::from_millis(rng.gen_range(300..900));
    eprintln!(
        "seed-state at {rate}, snapshots every {every}, {processes}x{workers}, stop after {wait:?}"
    );
    let children = start_job(dir.path(), &job, processes, workers);
    let snapshots = dir.path().join("snaps");
    let control = weir::lifecycle::ControlDirectory::of(&snapshots);
    wait_until("the job to run", Duration::from_secs(30), || {
        control.running().is_some()
    });
    std::thread::sleep(wait);
    let output = run(&["stop", snapshots.to_str().expect("utf-8")]);
    assert!(output.status.success(), "{}", stderr(&output));
    let mut sent = 0;
    for (process, child) in children.into_iter().enumerate() {
        let output = finish(child, &format!("process {process}"));
        let said = stderr(&output);
        let records_in = said
            .split_once("stopped after savepoint ")
            .and_then(|(_, rest)| rest.split_once(" (")?.1.split_once(" records in)"))
            .and_then(|(count, _)| count.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("process {process} said {said:?}"));
        sent += records_in;
    }
    let published = published_in(&dir.path().join("out.jsonl")).len() as u64;
    assert!(published > 0, "something was published before the stop");
    assert_eq!(
        sent, published,
        "the sources sent exactly the input before the savepoint, nothing after it"
    );
}

fn savepoints_and_newest(snapshots: &Path) -> (Vec<u64>, Option<u64>) {
    let listed = SnapshotStore::new(snapshots)
        .list()
        .expect("list snapshots");
    let mut savepoints = Vec::new();
    let mut newest = None;
    for entry in listed {
        if let EpochStatus::Complete(manifest) = entry.status {
            if manifest.savepoint {
                savepoints.push(entry.epoch);
            }
            newest = Some(entry.epoch);
        }
    }
    (savepoints, newest)
}

/// Starts `job` on `processes` x `workers` (plain `weir run` processes on a host file).
fn start_job(dir: &Path, job: &[String], processes: usize, workers: usize) -> Vec<Child> {
    let hosts = dir.join("hosts.txt");
    let lines: String = free_ports(processes)
        .iter()
        .map(|p| format!("127.0.0.1:{p}\n"))
        .collect();
    std::fs::write(&hosts, lines).expect("host file");
    (0..processes)
        .map(|process| {
            let mut args = job.to_vec();
            args.extend(strings(&["-w", &workers.to_string()]));
            if processes > 1 {
                args.extend(strings(&[
                    "-n",
                    &processes.to_string(),
                    "-p",
                    &process.to_string(),
                ]));
                args.extend(strings(&["-h", hosts.to_str().expect("utf-8")]));
            }
            spawn(&args)
        })
        .collect()
}

fn signal(child: &Child, signal: i32) {
    // SAFETY: kill(2) on a child of this test that has not been waited for.
    let sent = unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    assert_eq!(sent, 0, "signal {signal} to {}", child.id());
}

#[test]
fn a_savepoint_outlives_pruning_and_a_stop_resumes_exactly_on_another_shape() {
    let (_, mut rng) = shapes_rng("savepoint and stop");
    let dir = tempfile::tempdir().expect("temp dir");
    let job = draw_job(&mut rng);
    let expected = reference_of(dir.path(), &job);
    let mut running = job.clone();
    running.extend(snapshotting(dir.path(), "50ms"));
    running.extend(strings(&["--keep-snapshots", "1"]));
    let snapshots = dir.path().join("snaps");
    let (processes, workers) = (rng.gen_range(1..=2), rng.gen_range(1..=2));
    let by_signal = rng.gen_bool(0.5);
    eprintln!("{job:?} on {processes}x{workers}, by signal: {by_signal}");
    let children = start_job(dir.path(), &running, processes, workers);
    // Not just process 0 running: a first commit means every process is in the dataflow and
    // has its signal handlers (a SIGUSR1 before them would end a process).
    wait_until("the first snapshot", Duration::from_secs(30), || {
        savepoints_and_newest(&snapshots).1.is_some()
    });

    // A savepoint, asked for on the command line or by SIGUSR1 to any process.
    let first = if by_signal {
        signal(&children[rng.gen_range(0..processes)], libc::SIGUSR1);
        let mut savepoint = None;
        wait_until("the savepoint", Duration::from_secs(30), || {
            savepoint = savepoints_and_newest(&snapshots).0.first().copied();
            savepoint.is_some()
        });
        savepoint.expect("a savepoint")
    } else {
        let dir = snapshots.to_str().expect("utf-8");
        let output = run(&["savepoint", dir]);
        assert!(output.status.success(), "{}", stderr(&output));
        let said = String::from_utf8_lossy(&output.stdout);
        said.trim()
            .strip_prefix("savepoint ")
            .and_then(|e| e.parse().ok())
            .unwrap_or_else(|| panic!("weir savepoint printed {said:?}"))
    };
    // Newer snapshots commit, and --keep-snapshots 1 prunes every older regular one.
    wait_until("newer snapshots", Duration::from_secs(30), || {
        savepoints_and_newest(&snapshots)
            .1
            .is_some_and(|n| n >= first + 150)
    });

    // Stop with a savepoint: every process ends on its own, successfully.
    let stopped = if by_signal {
        signal(&children[rng.gen_range(0..processes)], libc::SIGTERM);
        None
    } else {
        let output = run(&["stop", snapshots.to_str().expect("utf-8")]);
        assert!(output.status.success(), "{}", stderr(&output));
        let said = String::from_utf8_lossy(&output.stdout).to_string();
        said.trim()
            .strip_prefix("stopped ")
            .and_then(|e| e.parse::<u64>().ok())
    };
    for (process, child) in children.into_iter().enumerate() {
        let output = finish(child, &format!("process {process}"));
        assert!(
            stderr(&output).contains("stopped after savepoint"),
            "process {process}: {}",
            stderr(&output)
        );
    }
    let (savepoints, newest) = savepoints_and_newest(&snapshots);
    let last = newest.expect("a snapshot");
    assert!(
        savepoints.contains(&first),
        "{first} was pruned: {savepoints:?}"
    );
    assert!(
        savepoints.contains(&last),
        "the stop's savepoint is the newest: {savepoints:?}"
    );
    if let Some(epoch) = stopped {
        assert_eq!(epoch, last, "weir stop names the savepoint");
    }
    assert!(
        published_in(&dir.path().join("out.jsonl")).len() < expected.len(),
        "the job stopped before its end"
    );

    // Resume from the stop's savepoint on another shape.
    let mut resumed = running.clone();
    resumed.extend(strings(&["--restore", &last.to_string()]));
    let (processes, workers) = (3 - processes, rng.gen_range(1..=3));
    for (process, child) in start_job(dir.path(), &resumed, processes, workers)
        .into_iter()
        .enumerate()
    {
        finish(child, &format!("resumed process {process}"));
    }
    assert_same_multiset(
        &published_in(&dir.path().join("out.jsonl")),
        &expected,
        "stopped at a savepoint and resumed on another shape",
    );
}

#[test]
fn a_planned_kill_and_rescales_two_to_one_to_two_processes_lose_and_repeat_nothing() {
    let (_, mut rng) = shapes_rng("planned rescale");
    let dir = tempfile::tempdir().expect("temp dir");
    let job = draw_job(&mut rng);
    let expected = reference_of(dir.path(), &job);
    let log = dir.path().join("events.jsonl");
    // The job runs at least 1.5 s: a kill of one of its two processes, then a rescale to
    // one process once it has recovered, then one back to two.
    let kill_ms = rng.gen_range(250..350);
    let kill = format!("{kill_ms}ms:{}", rng.gen_range(0..2));
    let first = kill_ms + rng.gen_range(400..450);
    // The second rescale may fall due before the first has results flowing again: it
    // then waits for them, and both are timed.
    let second = first + rng.gen_range(0..450);
    let shapes = [
        format!("2x{}", rng.gen_range(1..=2)),
        format!("1x{}", rng.gen_range(1..=3)),
        format!("2x{}", rng.gen_range(1..=2)),
    ];
    let plan = format!("{first}ms:{},{second}ms:{}", shapes[1], shapes[2]);
    eprintln!("{job:?}: {}, killing {kill}, then {plan}", shapes[0]);
    let mut args = strings(&["cluster", "-n", "2", "-w", &shapes[0][2..]]);
    args.extend(strings(&[
        "--rescale-at",
        &plan,
        "--kill-at",
        &kill,
        "--events-log",
    ]));
    args.extend([log.to_str().expect("utf-8").to_string(), "--".to_string()]);
    args.extend(job.iter().cloned());
    args.extend(snapshotting(dir.path(), "50ms"));
    finish(spawn(&args), "weir cluster");
    let logged = events(&log);
    let started: Vec<&str> = logged
        .iter()
        .filter_map(|e| match e {
            ClusterEvent::Start { shape, .. } => Some(shape.as_str()),
            _ => None,
        })
        .collect();
    // The first shape starts again after the kill.
    assert_eq!(
        started,
        [&shapes[0], &shapes[0], &shapes[1], &shapes[2]].map(String::as_str),
        "{logged:?}"
    );
    let killed = logged
        .iter()
        .filter(|e| matches!(e, ClusterEvent::Killed { .. }))
        .count();
    assert_eq!(killed, 1, "{logged:?}");
    let report = ClusterReport {
        events: logged.clone(),
        ..ClusterReport::default()
    };
    let recovered: Vec<_> = report.recoveries().collect();
    assert_eq!(recovered.len(), 1, "{logged:?}");
    assert!(
        recovered[0].detect_ms.is_some() && recovered[0].total_ms.is_some(),
        "{:?}",
        recovered[0]
    );
    let rescales: Vec<_> = report.rescales().collect();
    assert_eq!(rescales.len(), 2, "{logged:?}");
    for times in &rescales {
        assert!(
            times.savepoint.is_some() && times.downtime_ms.is_some(),
            "{times:?}"
        );
    }
    assert_same_multiset(
        &published_in(&dir.path().join("out.jsonl")),
        &expected,
        &format!("rescaled {plan}"),
    );
}

#[test]
fn weir_rescale_and_sigterm_reach_the_supervisor_and_a_stopped_cluster_resumes() {
    let (_, mut rng) = shapes_rng("rescale on request");
    let dir = tempfile::tempdir().expect("temp dir");
    let job = draw_job(&mut rng);
    let expected = reference_of(dir.path(), &job);
    let snapshots = dir.path().join("snaps");
    let log = dir.path().join("events.jsonl");
    let cluster = |processes: usize, restore: bool| {
        let mut args = strings(&["cluster", "-n", &processes.to_string(), "--events-log"]);
        args.extend([log.to_str().expect("utf-8").to_string(), "--".to_string()]);
        args.extend(job.iter().cloned());
        args.extend(snapshotting(dir.path(), "50ms"));
        if restore {
            args.extend(strings(&["--restore", "latest"]));
        }
        spawn(&args)
    };
    let supervisor = cluster(1, false);
    let control = weir::lifecycle::ControlDirectory::of(&snapshots);
    wait_until("the job to run", Duration::from_secs(30), || {
        control.running().is_some()
    });
    let workers = rng.gen_range(1..=2);
    let output = run(&[
        "rescale",
        snapshots.to_str().expect("utf-8"),
        "-n",
        "2",
        "-w",
        &workers.to_string(),
    ]);
    assert!(output.status.success(), "weir rescale: {}", stderr(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).starts_with(&format!("rescaled 2x{workers} ")),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    // SIGTERM: the supervisor stops the job with a savepoint and exits 0.
    signal(&supervisor, libc::SIGTERM);
    let output = finish(supervisor, "the stopped supervisor");
    assert!(
        stderr(&output).contains("stopped after savepoint"),
        "{}",
        stderr(&output)
    );
    assert!(published_in(&dir.path().join("out.jsonl")).len() < expected.len());
    // A new supervisor resumes it on one process.
    finish(cluster(1, true), "the resumed supervisor");
    assert_same_multiset(
        &published_in(&dir.path().join("out.jsonl")),
        &expected,
        "rescaled on request, stopped by SIGTERM, resumed",
    );
}

#[test]
fn one_supervisor_per_host_of_a_host_file_recovers_its_own_process() {
    let (_, mut rng) = shapes_rng("supervisors per host");
    let dir = tempfile::tempdir().expect("temp dir");
    let job = draw_job(&mut rng);
    let expected = reference_of(dir.path(), &job);
    let hosts = dir.path().join("hosts.txt");
    let lines: String = free_ports(2)
        .iter()
        .map(|p| format!("127.0.0.1:{p}\n"))
        .collect();
    std::fs::write(&hosts, lines).expect("host file");
    let logs: Vec<PathBuf> = (0..2)
        .map(|p| dir.path().join(format!("events-{p}.jsonl")))
        .collect();
    let supervisors: Vec<Child> = (0..2)
        .map(|process| {
            let mut args = strings(&["cluster", "-h", hosts.to_str().expect("utf-8")]);
            args.extend(strings(&["-p", &process.to_string(), "--events-log"]));
            args.extend([
                logs[process].to_str().expect("utf-8").to_string(),
                "--".into(),
            ]);
            args.extend(job.iter().cloned());
            args.extend(snapshotting(dir.path(), "50ms"));
            spawn(&args)
        })
        .collect();
    // Kill the process of one host at a random moment once results flow.
    let victim = rng.gen_range(0..2);
    let started = Instant::now();
    let mut pid = None;
    wait_until("the victim to start", Duration::from_secs(30), || {
        pid = events(&logs[victim]).iter().find_map(|e| match e {
            ClusterEvent::Start { pids, .. } => pids.first().copied(),
            _ => None,
        });
        pid.is_some()
    });
    let moment = Duration::from_millis(rng.gen_range(200..900));
    std::thread::sleep(moment.saturating_sub(started.elapsed()));
    // SAFETY: kill(2) on a process the victim's supervisor started.
    unsafe { libc::kill(pid.expect("pid") as libc::pid_t, libc::SIGKILL) };
    for (process, supervisor) in supervisors.into_iter().enumerate() {
        finish(supervisor, &format!("supervisor {process}"));
    }
    let failures = events(&logs[victim])
        .iter()
        .filter(|e| matches!(e, ClusterEvent::Failure { .. }))
        .count();
    assert!(failures >= 1, "the killed process was restarted");
    assert_same_multiset(
        &published_in(&dir.path().join("out.jsonl")),
        &expected,
        &format!("process {victim} killed at {moment:?}"),
    );
}

#[test]
fn bad_input_to_the_supervisor_and_its_requests_gives_one_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let snaps = dir.path().join("snaps");
    let snaps = snaps.to_str().expect("utf-8");
    let job = ["run", "seed-state", "--snapshot-dir", snaps];
    let with = |before: &[&str], job: &[&str]| {
        let mut args = vec!["cluster"];
        args.extend(before);
        args.push("--");
        args.extend(job);
        run_error(&args)
    };
    let no_dashes = run_error(&["cluster", "-n", "2", "run", "seed-state"]);
    assert!(no_dashes.contains("--"), "{no_dashes}");
    assert!(with(&[], &["run", "no-such", "--snapshot-dir", snaps]).contains("no pipeline named"));
    assert!(with(&["-n", "0"], &job).contains("at least 1"));
    assert!(with(&[], &["run", "seed-state"]).contains("no --snapshot-dir"));
    assert!(with(&[], &[&job[..], &["-n", "2"]].concat()).contains("give -n and -w"));
    assert!(with(&["--rescale-at", "soon:2x1"], &job).contains("not a duration"));
    assert!(run_error(&["cluster", "-n", "2"]).contains("no job to supervise"));

    // A port of the host file already taken.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("address").port();
    let hosts = dir.path().join("hosts.txt");
    std::fs::write(&hosts, format!("127.0.0.1:{port}\n127.0.0.1:1\n")).expect("host file");
    let hosts = hosts.to_str().expect("utf-8");
    let message = with(&["-h", hosts, "-p", "0"], &job);
    assert!(message.contains("is taken"), "{message}");
    assert!(with(&["-h", hosts, "-p", "5"], &job).contains("out of range"));

    // Requests with nobody to answer them.
    assert!(run_error(&["savepoint", snaps]).contains("no job is running"));
    assert!(run_error(&["stop", snaps]).contains("no job is running"));
    assert!(run_error(&["rescale", snaps, "-n", "2"]).contains("no `weir cluster`"));
}
