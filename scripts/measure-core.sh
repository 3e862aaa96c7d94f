#!/usr/bin/env bash
# Throughput of the core pipelines, and of seed-state written directly against timely, as
# the median of three runs: the numbers the core-engine issue reports.
#
#   scripts/measure-core.sh [EVENTS]        (default 10M)
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-10000000}
cargo build --release --quiet --bin weir --example raw_timely_seed_state

median() { sort -g | sed -n 2p; }
rate_of() { grep -oE '[0-9]+ records/s' | grep -oE '^[0-9]+'; }

for workers in 1 2; do
  for pipeline in seed-map seed-state wordcount; do
    rate=$(for _ in 1 2 3; do
      ./target/release/weir run "$pipeline" --events "$events" -w "$workers" --output /dev/null 2>&1 | rate_of
    done | median)
    printf '%-28s -w %s  %12s records/s\n' "$pipeline" "$workers" "$rate"
  done
  rate=$(for _ in 1 2 3; do
    ./target/release/examples/raw_timely_seed_state "$events" "$workers" /dev/null 2>&1 | rate_of
  done | median)
  printf '%-28s -w %s  %12s records/s\n' "raw timely seed-state" "$workers" "$rate"
done
