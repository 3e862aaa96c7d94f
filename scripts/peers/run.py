"""Runs one NEXMark query on a peer engine and writes its result in weir's own `weir-run/1`
schema, so that `weir experiment` tabulates it beside weir's runs.

    run.py ENGINE nexmark-qN -w P -n 1 --input EVENTS --json RESULT --work DIR

- ENGINE is `flink` or `bytewax` (flink.py, bytewax_nexmark.py beside this file), P its
  parallelism.
- The rate is events in the file over the engine's own account of the job's time (Flink's
  net job runtime; Bytewax's dataflow run), without interpreter, JVM and cluster start.
- The peer's output lines are checked against weir's on the same file, as multisets of
  JSON values: weir (`$WEIR_BINARY`, default `weir` on the PATH) writes its output once
  per file and query, kept beside the file as `FILE.expected/QUERY.jsonl`.
"""

import argparse
import collections
import datetime
import glob
import json
import os
import platform
import resource
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

ENGINES = {
    "flink": ("flink.py", "pyflink", "Apache Flink"),
    "bytewax": ("bytewax_nexmark.py", "bytewax", "Bytewax"),
}


def fail(message):
    print(f"run-peer: {message}", file=sys.stderr)
    sys.exit(1)


def version_of(package, name):
    from importlib import metadata

    distribution = {"pyflink": "apache-flink"}.get(package, package)
    try:
        return f"{name} {metadata.version(distribution)}"
    except metadata.PackageNotFoundError:
        fail(f"{name} is not installed: run scripts/peers/setup.sh")


def line_counts(paths):
    """Each non-empty line of the files, as bytes, counted."""
    lines = collections.Counter()
    for path in paths:
        with open(path, "rb") as file:
            for line in file:
                line = line.strip()
                if line:
                    lines[line] += 1
    return lines


def canonical(lines, where):
    """The counted lines as canonical JSON texts, so that key order and spacing do not count."""
    values = collections.Counter()
    for line, count in lines.items():
        try:
            value = json.loads(line)
        except ValueError as error:
            fail(f"{where}: a line is not JSON ({error}): {line[:200]!r}")
        values[json.dumps(value, separators=(",", ":"), sort_keys=True)] += count
    return values


def compare(produced_files, expected_file):
    """(expected lines, produced lines, missing, unexpected, examples) as multisets of JSON
    values. Lines equal byte for byte cancel first: only the rest is parsed, which keeps a
    check of a million lines to a second or two."""
    produced = line_counts(produced_files)
    wanted = line_counts([expected_file])
    common = produced & wanted
    produced_rest = canonical(produced - common, "the peer's output")
    wanted_rest = canonical(wanted - common, expected_file)
    missing = wanted_rest - produced_rest
    unexpected = produced_rest - wanted_rest
    examples = list(unexpected.elements())[:3] + list(missing.elements())[:3]
    return (
        sum(wanted.values()),
        sum(produced.values()),
        sum(missing.values()),
        sum(unexpected.values()),
        examples,
    )


def expected_output(weir, query, events):
    """weir's output of `query` on `events`, written once beside the file."""
    directory = events + ".expected"
    path = os.path.join(directory, f"{query}.jsonl")
    if not os.path.exists(path):
        os.makedirs(directory, exist_ok=True)
        partial = path + ".partial"
        command = [weir, "run", f"nexmark-{query}", "--input", events, "--output", partial]
        done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if done.returncode != 0:
            fail(f"`{' '.join(command)}` failed: {done.stderr.decode(errors='replace')}")
        os.replace(partial, path)
    return path


def count_lines(path):
    with open(path, "rb") as file:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: file.read(1 << 20), b""))


def git_commit():
    try:
        done = subprocess.run(
            ["git", "-C", HERE, "rev-parse", "HEAD"], capture_output=True, text=True
        )
        return done.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def machine():
    cpu = None
    try:
        with open("/proc/cpuinfo") as file:
            cpu = next(
                (l.split(":", 1)[1].strip() for l in file if l.startswith("model name")),
                None,
            )
    except OSError:
        pass
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        memory = None
    return {
        "hostname": socket.gethostname(),
        "cpu_model": cpu,
        "cores": len(os.sched_getaffinity(0)),
        "memory_bytes": memory,
        "os": f"{platform.system()} {platform.release()}",
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("engine", choices=sorted(ENGINES))
    parser.add_argument("pipeline", help="nexmark-qN")
    parser.add_argument("-w", "--workers", type=int, default=1, help="parallelism")
    parser.add_argument("-n", "--processes", type=int, default=1)
    parser.add_argument("--input", required=True)
    parser.add_argument("--json", required=True, help="the result file to write")
    parser.add_argument("--work", required=True, help="a scratch directory for the output")
    args = parser.parse_args()

    if args.processes != 1:
        fail("peers run in one process")
    if not args.pipeline.startswith("nexmark-"):
        fail(f"{args.pipeline} is not a NEXMark query")
    query = args.pipeline.removeprefix("nexmark-")
    if not os.path.isfile(args.input):
        fail(f"no events file {args.input}")
    program, package, name = ENGINES[args.engine]
    version = version_of(package, name)
    weir = os.environ.get("WEIR_BINARY", "weir")
    expected = expected_output(weir, query, args.input)

    output = os.path.join(args.work, "output")
    subprocess.run(["rm", "-rf", output])
    os.makedirs(args.work, exist_ok=True)
    started_at = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    command = [
        sys.executable,
        os.path.join(HERE, program),
        query,
        "--parallelism",
        str(args.workers),
        "--input",
        args.input,
        "--output",
        output,
    ]
    began = time.monotonic()
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True)
    wall = time.monotonic() - began
    if done.returncode != 0:
        fail(f"{name} failed on {query} (exit {done.returncode}); its log is above")
    job_ms = next(
        (int(l.split()[1]) for l in reversed(done.stdout.splitlines()) if l.startswith("job_ms ")),
        None,
    )
    if job_ms is None:
        fail(f"{program} printed no job_ms line")
    print(f"{name} {query} -p {args.workers}: job {job_ms} ms, {wall:.1f} s in all", file=sys.stderr)

    files = [p for p in glob.glob(os.path.join(output, "**"), recursive=True) if os.path.isfile(p)]
    expected_lines, lines, missing, unexpected, examples = compare(files, expected)
    if missing or unexpected:
        print(f"output differs from weir's: {missing} missing, {unexpected} unexpected, e.g. {examples}", file=sys.stderr)
    records_in = count_lines(args.input)
    elapsed = max(job_ms / 1000, 1e-3)
    said = [int(l.split()[1]) for l in done.stdout.splitlines() if l.startswith("peak_rss_bytes ")]
    rss = max(said + [resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024])
    result = {
        "schema": "weir-run/1",
        "build": {"version": version, "git_commit": git_commit(), "git_dirty": None, "release": True},
        "machine": machine(),
        "started_at": started_at,
        "config": {
            "pipeline": args.pipeline,
            "workers": args.workers,
            "processes": 1,
            "process": 0,
            "events": 2**64 - 1,
            "input": args.input,
            "snapshot_every_ms": None,
        },
        "summary": {
            "records_in": records_in,
            "records_out": lines,
            "elapsed_s": elapsed,
            "records_per_s": records_in / elapsed,
            "max_rss_bytes": rss or None,
            "snapshots_committed": 0,
        },
        "peer": {
            "engine": args.engine,
            "version": version,
            "output_check": {
                "expected_lines": expected_lines,
                "lines": lines,
                "missing": missing,
                "unexpected": unexpected,
            },
        },
    }
    with open(args.json, "w") as file:
        json.dump(result, file, indent=2)
        file.write("\n")
    subprocess.run(["rm", "-rf", output])


if __name__ == "__main__":
    main()
