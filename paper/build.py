"""Builds paper/weir.pdf from paper/weir.typ and the last run's results/.

    python paper/build.py [--results DIR] [--output PDF]

The paper types no number and draws no figure: every table is a CSV and every figure a PNG
that `weir experiment` wrote under results/ (scripts/reproduce.sh runs them all). This
script finds them, writes paper/build/artifacts.json (each artifact's path, or null when
its experiment has not run, and each experiment's build, machine and whether it was
--quick), and compiles the paper with Typst rooted at the repository, so the paper reads
the files themselves. What is missing is named on standard error and marked in the PDF.
"""

import argparse
import glob
import json
import os
import sys

import typst

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Every table and figure the paper shows: key -> (experiment, glob under results/EXPERIMENT/).
ARTIFACTS = {
    "core-table": ("core-throughput", "tables/core-throughput.csv"),
    "core-figure": ("core-throughput", "figures/core-throughput-vs-workers.png"),
    "nexmark-table": ("nexmark-throughput", "tables/nexmark-throughput.csv"),
    "nexmark-figure": ("nexmark-throughput", "figures/nexmark-throughput-vs-workers.png"),
    "file-table": ("nexmark-file", "tables/nexmark-from-file.csv"),
    "generated-table": ("nexmark-file", "tables/nexmark-generated.csv"),
    "peers-table": ("peers", "tables/peers.csv"),
    "peers-figure": ("peers", "figures/peers.png"),
    "latency-table": ("q5-latency", "tables/q5-latency.csv"),
    "latency-ccdf": ("q5-latency", "figures/q5-latency/latency-ccdf.png"),
    "latency-vs-rate": ("q5-latency", "figures/q5-latency/latency-vs-rate.png"),
    "failover-table": ("failover", "tables/failover-latency.csv"),
    "failover-timeline": ("failover", "figures/failover/timeline-01-*.png"),
    "recovery-table": ("failover", "tables/failover-recovery.csv"),
    "recovery-figure": ("failover", "figures/failover-recovery.png"),
    "snapshots-without": ("snapshots", "tables/without-snapshots.csv"),
    "snapshots-with": ("snapshots", "tables/with-snapshots.csv"),
    "snapshot-cost-table": ("snapshot-cost", "tables/snapshot-cost.csv"),
    "snapshot-cost-figure": ("snapshot-cost", "figures/snapshot-cost.png"),
    "hash-state": ("arrangements", "tables/hash-state.csv"),
    "arranged-state": ("arrangements", "tables/arranged-state.csv"),
}


def find(results, experiment, pattern):
    """The artifact's path from the repository root, as Typst reads it ("/results/..."), or None."""
    matches = sorted(glob.glob(os.path.join(results, experiment, pattern)))
    if not matches:
        return None
    return "/" + os.path.relpath(matches[0], ROOT)


def experiment_index(results, experiment):
    """What the paper says about the run an experiment's artifacts come from."""
    path = os.path.join(results, experiment, "experiment.json")
    try:
        with open(path) as f:
            index = json.load(f)
    except (OSError, ValueError):
        return None
    runs = index.get("runs", [])
    return {
        "title": index.get("title"),
        "quick": index.get("quick"),
        "started_at": index.get("started_at"),
        "commit": (index.get("build") or {}).get("git_commit"),
        "machine": index.get("machine"),
        "runs": len(runs),
        "failed": sum(1 for run in runs if not run.get("ok")),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default=os.path.join(ROOT, "results"))
    parser.add_argument("--output", default=os.path.join(ROOT, "paper", "weir.pdf"))
    args = parser.parse_args()
    results = os.path.abspath(args.results)
    if os.path.commonpath([results, ROOT]) != ROOT:
        sys.exit(f"paper/build.py: --results {results} must lie inside the repository {ROOT}")

    artifacts = {key: find(results, *where) for key, where in ARTIFACTS.items()}
    experiments = {
        name: experiment_index(results, name) for name in sorted({e for e, _ in ARTIFACTS.values()})
    }
    missing = sorted(key for key, path in artifacts.items() if path is None)
    build = os.path.join(ROOT, "paper", "build")
    os.makedirs(build, exist_ok=True)
    with open(os.path.join(build, "artifacts.json"), "w") as f:
        json.dump({"artifacts": artifacts, "experiments": experiments}, f, indent=1)
    for key in missing:
        experiment = ARTIFACTS[key][0]
        print(
            f"paper: {key} is not in results/ (run scripts/reproduce.sh {experiment}); "
            "the paper marks it as not measured",
            file=sys.stderr,
        )
    try:
        typst.compile(
            os.path.join(ROOT, "paper", "weir.typ"), output=args.output, root=ROOT
        )
    except Exception as error:  # typst reports its diagnostics as one exception
        sys.exit(f"paper: Typst could not compile paper/weir.typ:\n{error}")
    found = len(artifacts) - len(missing)
    print(f"paper: {os.path.relpath(args.output, ROOT)} with {found} of {len(artifacts)} tables and figures")


if __name__ == "__main__":
    main()
