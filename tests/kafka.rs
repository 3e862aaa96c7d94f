//! Kafka in and out, against real Kafka-protocol brokers: tansu (a broker process, from
//! scripts/install-tansu.sh) and librdkafka's mock cluster (in this process). Shapes (event
//! counts, partitions, workers, queries, crash points) are drawn from a printed seed:
//! `WEIR_SHAPES_SEED=N cargo test --profile release-thin --test kafka` repeats them.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use rand::Rng;

use common::kafka::{create_topic, produce, produce_events, read_topic, Tansu};
use common::snapshot_job::{reference, Job};
use common::{assert_same_multiset, run_error, run_lines, shapes_rng, unique};

/// `weir kafka produce-nexmark` of `events` events into a new topic of `partitions`.
fn load_topic(brokers: &str, partitions: u32, events: u64) -> String {
    let topic = format!("events-{}-{}", std::process::id(), unique());
    let output = common::run(&[
        "kafka",
        "produce-nexmark",
        "--brokers",
        brokers,
        "--topic",
        &topic,
        "--partitions",
        &partitions.to_string(),
        "--events",
        &events.to_string(),
    ]);
    assert!(
        output.status.success(),
        "produce-nexmark: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    topic
}

/// The same events as a file, as `weir nexmark generate` writes them.
fn events_file(dir: &Path, events: u64) -> String {
    let path = dir.join(format!("events-{events}.jsonl"));
    let path = path.to_str().expect("utf-8 path").to_string();
    if !Path::new(&path).exists() {
        let output = common::run(&[
            "nexmark",
            "generate",
            "--events",
            &events.to_string(),
            "--output",
            &path,
        ]);
        assert!(output.status.success(), "nexmark generate failed");
    }
    path
}

const QUERIES: &[&str] = &[
    "nexmark-q0",
    "nexmark-q1",
    "nexmark-q2",
    "nexmark-q3",
    "nexmark-q4",
    "nexmark-q5",
    "nexmark-q7",
    "nexmark-q8",
    "nexmark-q11",
    "nexmark-q14",
    "nexmark-q18",
];

/// Runs `job` on `workers` workers until its `fault` kills it: it reads what the topic
/// holds and waits for more, committing snapshots, and one of them is the fault's.
fn crash_while_waiting(job: &Job, workers: &str, fault: &str, what: &str) {
    let mut crashing = job
        .command(&["-w", workers], Some(fault))
        .spawn()
        .expect("weir runs");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = crashing.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = crashing.kill();
            panic!(
                "{what}: the job never reached its fault; committed: {:?}",
                job.complete_epochs()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(common::snapshot_job::KILLED), "{what}");
}

#[test]
fn nexmark_queries_read_from_a_topic_equal_the_file_in_random_shapes() {
    let broker = Tansu::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let (seed, mut rng) = shapes_rng("kafka_nexmark_shapes");
    for round in 0..3 {
        let events = rng.gen_range(500..20_000u64);
        let partitions = rng.gen_range(1..=4u32);
        let workers = rng.gen_range(1..=3u32).to_string();
        let query = *QUERIES.choose(&mut rng).expect("queries");
        let what = format!(
            "round {round} of WEIR_SHAPES_SEED={seed}: {query}, {events} events, {partitions} partition(s), -w {workers}"
        );
        eprintln!("{what}");
        let topic = load_topic(&broker.brokers, partitions, events);
        let file = events_file(dir.path(), events);
        let expected = run_lines(dir.path(), &["run", query, "--input", &file]);
        let address = format!("kafka://{}/{topic}", broker.brokers);
        let count = events.to_string();
        let from_kafka = run_lines(
            dir.path(),
            &[
                "run", query, "--input", &address, "--events", &count, "-w", &workers,
            ],
        );
        assert_same_multiset(&from_kafka, &expected, &what);
    }
}

#[test]
fn a_crash_restored_onto_another_worker_count_loses_and_doubles_nothing() {
    let broker = Tansu::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let (seed, mut rng) = shapes_rng("kafka_crash_restore");
    let events = rng.gen_range(5_000..20_000u64);
    let half = rng.gen_range(events / 4..events * 3 / 4);
    let partitions = rng.gen_range(1..=4);
    let query = *["nexmark-q3", "nexmark-q5", "nexmark-q8", "nexmark-q11"]
        .choose(&mut rng)
        .expect("queries");
    let (before, after) = (rng.gen_range(1..=3u32), rng.gen_range(1..=3u32));
    let fault = *[
        "part-written:1",
        "before-manifest:1",
        "before-manifest-rename:1",
        "after-manifest:1",
    ]
    .choose(&mut rng)
    .expect("points");
    let what = format!(
        "WEIR_SHAPES_SEED={seed}: {query}, {events} events ({half} before the crash), {partitions} partition(s), -w {before} crashed at {fault}, restored on -w {after}"
    );
    eprintln!("{what}");
    // The job reads the first part and waits for more: its snapshots commit while it
    // waits, and the crash comes at one of them, with input still to come.
    let topic = format!("events-{}-{}", std::process::id(), unique());
    create_topic(&broker.brokers, &topic, partitions);
    produce_events(&broker.brokers, &topic, 0..half);
    let file = events_file(dir.path(), events);
    let expected = reference(dir.path(), &["run", query, "--input", &file]);
    let address = format!("kafka://{}/{topic}", broker.brokers);
    let count = events.to_string();
    let job = Job::new(
        dir.path(),
        &["run", query, "--input", &address, "--events", &count],
    )
    .every("50ms");
    crash_while_waiting(&job, &before.to_string(), fault, &what);
    produce_events(&broker.brokers, &topic, half..events);
    let restored = job.run(&["--restore", "latest", "-w", &after.to_string()], None);
    let message = String::from_utf8_lossy(&restored.stderr);
    assert!(restored.status.success(), "{what}: {message}");
    assert!(
        !message.contains("behind the watermark"),
        "{what}: {message}"
    );
    assert_same_multiset(&job.published(), &expected, &what);
}

#[test]
fn an_unreachable_broker_and_a_missing_topic_are_clear_errors_after_a_bounded_wait() {
    let port = common::free_ports(1)[0];
    let started = Instant::now();
    let address = format!("kafka://127.0.0.1:{port}/events?timeout=1s");
    let error = run_error(&["run", "nexmark-q1", "--input", &address, "--events", "10"]);
    assert!(
        error.contains(&format!(
            "cannot reach the Kafka brokers 127.0.0.1:{port} within 1s"
        )),
        "{error}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );

    let broker = Tansu::start();
    let address = format!("kafka://{}/no-such-topic", broker.brokers);
    let error = run_error(&["run", "nexmark-q1", "--input", &address]);
    assert!(
        error.contains("Kafka topic no-such-topic does not exist"),
        "{error}"
    );
    let error = run_error(&["run", "nexmark-q1", "--input", "kafka://localhost/events"]);
    assert!(error.contains("each broker must be HOST:PORT"), "{error}");
}

#[test]
fn a_malformed_record_names_its_partition_and_offset_or_is_skipped_and_counted() {
    let broker = Tansu::start();
    let topic = load_topic(&broker.brokers, 1, 20);
    produce(&broker.brokers, &topic, &["{\"not\": an event"]);
    let address = format!("kafka://{}/{topic}", broker.brokers);
    let error = run_error(&["run", "nexmark-q1", "--input", &address, "--events", "21"]);
    assert!(
        error.contains(&format!("topic {topic} partition 0 offset 20"))
            && error.contains("malformed"),
        "{error}"
    );
    let output = common::run(&[
        "run",
        "nexmark-q1",
        "--input",
        &address,
        "--events",
        "21",
        "--skip-bad-input",
        "--output",
        "/dev/null",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("skipped 1 malformed"), "{stderr}");
}

#[test]
fn to_end_reads_the_offsets_the_mock_cluster_reports_at_the_start_on_one_and_two_processes() {
    use rdkafka::mocking::MockCluster;
    let cluster = MockCluster::new(1).expect("a mock cluster");
    let (seed, mut rng) = shapes_rng("kafka_to_end");
    let events = rng.gen_range(100..5_000u64);
    let partitions = rng.gen_range(1..=4);
    let workers = rng.gen_range(1..=3u32).to_string();
    let what = format!(
        "WEIR_SHAPES_SEED={seed}: {events} events, {partitions} partition(s), -w {workers}"
    );
    cluster
        .create_topic("events", partitions, 1)
        .expect("topic");
    let brokers = cluster.bootstrap_servers();
    let output = common::run(&[
        "kafka",
        "produce-nexmark",
        "--brokers",
        &brokers,
        "--topic",
        "events",
        "--events",
        &events.to_string(),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let file = events_file(dir.path(), events);
    let expected = run_lines(dir.path(), &["run", "nexmark-q1", "--input", &file]);
    let address = format!("kafka://{brokers}/events?to=end");
    let from_kafka = run_lines(
        dir.path(),
        &["run", "nexmark-q1", "--input", &address, "-w", &workers],
    );
    assert_same_multiset(&from_kafka, &expected, &what);
    // Two processes split the partitions by global worker index as one process does.
    let threads = rng.gen_range(1..=2);
    let from_two = common::run_cluster_lines(
        dir.path(),
        2,
        threads,
        &["run", "nexmark-q1", "--input", &address],
    );
    assert_same_multiset(&from_two, &expected, &format!("{what}, 2x{threads}"));
}

#[test]
fn kafka_to_kafka_publishes_committed_epochs_only_and_each_once_across_a_crash() {
    let broker = Tansu::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let (seed, mut rng) = shapes_rng("kafka_to_kafka");
    let events = rng.gen_range(5_000..20_000u64);
    let half = rng.gen_range(events / 4..events * 3 / 4);
    let query = *["nexmark-q1", "nexmark-q3", "nexmark-q5", "nexmark-q8"]
        .choose(&mut rng)
        .expect("queries");
    let (before, after) = (rng.gen_range(1..=3u32), rng.gen_range(1..=3u32));
    let fault = *[
        "before-manifest-rename:1",
        "before-manifest:1",
        "after-manifest:1",
        "after-publish:1",
    ]
    .choose(&mut rng)
    .expect("points");
    let transactional = rng.gen_bool(0.5);
    let what = format!(
        "WEIR_SHAPES_SEED={seed}: {query}, {events} events ({half} before the crash), -w {before} crashed at {fault}, restored on -w {after}, transactional: {transactional}"
    );
    eprintln!("{what}");
    let input = format!("in-{}-{}", std::process::id(), unique());
    let output = format!("out-{}-{}", std::process::id(), unique());
    create_topic(&broker.brokers, &input, rng.gen_range(1..=4));
    create_topic(&broker.brokers, &output, rng.gen_range(1..=4));
    produce_events(&broker.brokers, &input, 0..half);
    let file = events_file(dir.path(), events);
    let expected = reference(dir.path(), &["run", query, "--input", &file]);
    let from = format!("kafka://{}/{input}", broker.brokers);
    let mut to = format!("kafka://{}/{output}", broker.brokers);
    if transactional {
        to.push_str("?transactional=weir-test");
    }
    let count = events.to_string();
    let mut job = Job::new(
        dir.path(),
        &[
            "run", query, "--input", &from, "--events", &count, "--output", &to,
        ],
    )
    .every("50ms");
    job.outputs.clear();
    crash_while_waiting(&job, &before.to_string(), fault, &what);
    // Nothing of an epoch that did not commit reached the topic.
    let committed = job.complete_epochs().into_iter().max();
    for record in read_topic(&broker.brokers, &output) {
        let epoch = record.epoch.expect("every record carries its epoch");
        assert!(
            committed.is_some_and(|last| epoch <= last),
            "{what}: epoch {epoch} published, the last committed is {committed:?}"
        );
    }
    produce_events(&broker.brokers, &input, half..events);
    let restored = job.run(&["--restore", "latest", "-w", &after.to_string()], None);
    let message = String::from_utf8_lossy(&restored.stderr);
    assert!(restored.status.success(), "{what}: {message}");
    let published: Vec<String> = read_topic(&broker.brokers, &output)
        .into_iter()
        .map(|record| record.value)
        .collect();
    assert_same_multiset(&published, &expected, &what);
}

#[test]
fn without_snapshots_each_line_is_a_record() {
    let broker = Tansu::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = events_file(dir.path(), 3_000);
    let expected = run_lines(dir.path(), &["run", "nexmark-q2", "--input", &file]);
    let to = format!("kafka://{}/q2", broker.brokers);
    let output = common::run(&["run", "nexmark-q2", "--input", &file, "--output", &to, "-q"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let published: Vec<String> = read_topic(&broker.brokers, "q2")
        .into_iter()
        .map(|record| record.value)
        .collect();
    assert_same_multiset(&published, &expected, "q2 to Kafka");
}

#[test]
fn bench_loads_a_topic_on_its_schedule_and_measures_the_way_through_it() {
    let broker = Tansu::start();
    let address = format!("kafka://{}/bench", broker.brokers);
    let output = common::run(&[
        "bench",
        "nexmark-q1",
        "--rate",
        "2k",
        "--warmup",
        "200ms",
        "--duration",
        "1s",
        "--cooldown",
        "1s",
        "--input",
        &address,
        "--json",
        "-",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).expect("a result");
    let summary = &result["summary"];
    // 1,000 one-millisecond timestamps measured, every one complete: the events went
    // through the topic (the generator is not used: only the producer loads the topic).
    assert_eq!(summary["timestamps"], 1000, "{summary}");
    assert_eq!(summary["unfinished"], 0, "{summary}");
    assert!(
        summary["latency"]["count"].as_u64() == Some(1000),
        "{summary}"
    );
    let produced = read_topic(&broker.brokers, "bench").len();
    // 2,000 a second over the warm-up, the measured second and the cool-down (2.2 s).
    assert!(
        (4_000..=4_400).contains(&produced),
        "{produced} events in the topic"
    );
    let error = run_error(&[
        "bench",
        "nexmark-q1",
        "--rate",
        "1k",
        "--input",
        "events.jsonl",
    ]);
    assert!(error.contains("is not a Kafka address"), "{error}");
}

#[test]
fn an_experiment_starts_its_broker_loads_a_topic_reads_it_and_stops_the_broker() {
    let (_, mut rng) = shapes_rng("kafka experiment");
    let events = rng.gen_range(2..8) * 1000;
    let (partitions, workers) = (rng.gen_range(1..=4), rng.gen_range(1..=2));
    eprintln!("{events} events in {partitions} partitions, -w {workers}");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("kafka.toml");
    std::fs::write(
        &file,
        format!(
            r#"
            title = "a topic against the generator"
            broker = "tansu"
            [[prepare]]
            args = ["kafka", "produce-nexmark", "--brokers", "{{brokers}}", "--topic", "t", "--partitions", "{partitions}", "--events", "{events}"]
            [[group]]
            name = "kafka"
            kind = "run"
            pipelines = ["nexmark-generator", "nexmark-q1"]
            workers = [{workers}]
            input = "kafka://{{brokers}}/t"
            events = "{events}"
            [[group]]
            name = "load"
            kind = "bench"
            pipelines = ["nexmark-q1"]
            input = "kafka://{{brokers}}/bench-{{run}}"
            rate = "2k"
            warmup = "200ms"
            duration = "500ms"
            [[table]]
            name = "latency"
            kind = "latency"
            "#
        ),
    )
    .expect("experiment file");
    let results = dir.path().join("results");
    let output = common::weir()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["experiment", file.to_str().expect("utf-8"), "--results"])
        .arg(&results)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("weir experiment runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let read = |name: &str| -> serde_json::Value {
        let path = results.join(name);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        serde_json::from_str(&text).expect("a result")
    };
    for pipeline in ["nexmark-generator", "nexmark-q1"] {
        let result = read(&format!("kafka-{pipeline}-p1x{workers}-r1.p0.json"));
        assert_eq!(
            result["summary"]["records_in"], events,
            "{pipeline} read every event of the topic the prepare loaded"
        );
    }
    let bench = read("load-nexmark-q1-p1x1-r1.json");
    assert_eq!(bench["summary"]["timestamps"], 500, "{}", bench["summary"]);
    assert_eq!(bench["summary"]["unfinished"], 0, "{}", bench["summary"]);
    let table = std::fs::read_to_string(results.join("tables/latency.md")).expect("table");
    assert!(table.contains("| nexmark-q1 | kafka |"), "{table}");
    // The broker the experiment started is gone with it.
    let address = stderr
        .split_once("started tansu on ")
        .and_then(|(_, rest)| rest.lines().next())
        .unwrap_or_else(|| panic!("no broker address in {stderr}"));
    let socket: std::net::SocketAddr = address.parse().expect("an address");
    assert!(
        std::net::TcpStream::connect_timeout(&socket, Duration::from_millis(500)).is_err(),
        "the broker still listens on {address}"
    );
}
