//! The command line: bad flags and bad input give one clear error and a non-zero exit,
//! never a panic; help explains the flags.

mod common;

use common::{run, run_error};

fn assert_error(args: &[&str], expected: &str) {
    let stderr = run_error(args);
    assert!(
        stderr.contains(expected),
        "weir {args:?}: expected {expected:?} in: {stderr}"
    );
}

#[test]
fn unknown_pipelines_and_flags_are_clear_errors() {
    assert_error(
        &["run", "no-such-pipeline"],
        "no pipeline named \"no-such-pipeline\"",
    );
    assert_error(
        &["run", "no-such-pipeline"],
        "seed-map, seed-state, wordcount",
    );
    assert_error(&["run", "seed-map", "--bogus"], "--bogus");
    assert_error(&["run", "seed-map", "--events", "lots"], "is not a number");
    assert_error(&["run", "seed-map", "--rate", "0"], "must be above 0");
    assert_error(
        &["run", "seed-map", "--duration", "soon"],
        "is not a duration",
    );
    assert_error(&["run", "seed-map", "-w", "0"], "-w must be at least 1");
    assert_error(
        &["run", "seed-map", "-n", "2", "-p", "2"],
        "-p 2 is out of range",
    );
    assert_error(&["run", "seed-map", "--input", "x.txt"], "reads no --input");
    assert_error(
        &["run", "seed-state", "--state", "arranged"],
        "seed-state keeps its state only as hash",
    );
    assert_error(
        &["run", "graph-reach", "--state", "hash"],
        "graph-reach keeps its state only as arranged",
    );
    assert_error(
        &["run", "nexmark-q3", "--state", "btree"],
        "no state kind \"btree\"",
    );
    assert_error(&["frobnicate"], "frobnicate");
}

#[test]
fn missing_files_are_clear_errors() {
    assert_error(
        &["run", "wordcount", "--input", "/no/such/book.txt"],
        "cannot read input file /no/such/book.txt",
    );
    assert_error(
        &["run", "seed-map", "--output", "/no/such/dir/out.jsonl"],
        "cannot create output file",
    );
    assert_error(
        &["run", "seed-map", "-n", "2", "-h", "/no/such/hosts"],
        "cannot read host file",
    );
}

#[test]
fn a_text_file_that_is_not_utf8_names_the_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bad.txt");
    std::fs::write(&path, b"ok\n\xff\n").expect("write input");
    for workers in ["1", "2"] {
        let stderr = run_error(&[
            "run",
            "wordcount",
            "--input",
            path.to_str().expect("utf-8"),
            "-w",
            workers,
        ]);
        assert!(
            stderr.contains("bad.txt line 2") && stderr.contains("UTF-8"),
            "{stderr}"
        );
    }
}

#[test]
fn processes_that_disagree_on_their_shape_are_told_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ports = common::free_ports(2);
    let hosts = dir.path().join("hosts.txt");
    std::fs::write(
        &hosts,
        format!("127.0.0.1:{}\n127.0.0.1:{}\n", ports[0], ports[1]),
    )
    .expect("write hosts");
    let hosts = hosts.to_str().expect("utf-8").to_string();
    let first = common::weir()
        .args([
            "run",
            "seed-map",
            "-n",
            "2",
            "-p",
            "0",
            "-w",
            "1",
            "-h",
            &hosts,
            "--connect-timeout",
            "20",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("weir runs");
    let stderr = run_error(&[
        "run",
        "seed-map",
        "-n",
        "2",
        "-p",
        "1",
        "-w",
        "2",
        "-h",
        &hosts,
        "--connect-timeout",
        "20",
    ]);
    assert!(stderr.contains("same -n and -w"), "{stderr}");
    let first = first.wait_with_output().expect("first process ends");
    assert!(!first.status.success());
    assert!(String::from_utf8_lossy(&first.stderr).contains("same -n and -w"));
}

#[test]
fn help_explains_every_flag_with_examples() {
    let output = run(&["run", "--help"]);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in [
        "--events",
        "--duration",
        "--rate",
        "--seed",
        "--input",
        "--output",
        "--workers",
        "--processes",
        "--process",
        "--hostfile",
    ] {
        assert!(help.contains(flag), "run --help mentions {flag}");
    }
    for pipeline in weir::pipelines::names() {
        assert!(help.contains(pipeline), "run --help lists {pipeline}");
    }
    assert!(help.contains("Examples:"));
}

#[test]
fn output_to_stdout_is_json_lines() {
    let output = run(&["run", "seed-map", "--events", "3", "--quiet"]);
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "{\"value\":0}\n{\"value\":2}\n{\"value\":4}\n"
    );
    assert!(output.stderr.is_empty(), "--quiet prints nothing on stderr");
}

#[test]
fn stdin_is_an_input() {
    use std::io::Write;
    let mut child = common::weir()
        .args(["run", "wordcount", "--input", "-", "-w", "2", "--quiet"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("weir runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"b a\nb\n")
        .expect("write stdin");
    let output = child.wait_with_output().expect("weir ends");
    assert!(output.status.success());
    let mut lines: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    assert_eq!(
        lines,
        vec![
            "{\"word\":\"a\",\"count\":1}",
            "{\"word\":\"b\",\"count\":2}"
        ]
    );
}

#[test]
fn several_outputs_each_receive_every_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("a.jsonl");
    let segments = dir.path().join("segments/");
    let output = run(&[
        "run",
        "seed-map",
        "--events",
        "1000",
        "-w",
        "2",
        "--quiet",
        "--output",
        file.to_str().expect("utf-8"),
        "--output",
        "-",
        "--output",
        segments.to_str().expect("utf-8"),
    ]);
    assert!(output.status.success());
    let printed = common::multiset(
        &String::from_utf8_lossy(&output.stdout)
            .lines()
            .collect::<Vec<_>>(),
    );
    assert_eq!(printed.values().sum::<usize>(), 1000);
    assert_eq!(common::multiset(&common::read_lines(&file)), printed);
    let in_dir = common::read_lines(&segments.join("run-p0.jsonl"));
    assert_eq!(common::multiset(&in_dir), printed);
}
