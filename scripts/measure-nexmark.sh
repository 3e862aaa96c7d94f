#!/usr/bin/env bash
# Throughput (events/s, median of three runs) and memory high-water mark of the NEXMark
# generator alone and of every query, on -w 1 and -w 2, with each query's share of the
# generator-alone rate: the table of docs/measurements.md.
#
#   scripts/measure-nexmark.sh [EVENTS]        (default 10M)
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-10000000}
cargo build --release --quiet --bin weir

median() { sort -g | sed -n 2p; }

printf '%-18s %3s %14s %12s %10s\n' pipeline w 'events/s' 'max RSS MiB' 'share'
for workers in 1 2; do
  for pipeline in nexmark-generator nexmark-q{0..9} nexmark-q11 nexmark-q{13..22}; do
    results=$(for _ in 1 2 3; do
      /usr/bin/time -f 'rss %M' ./target/release/weir run "$pipeline" --events "$events" \
        -w "$workers" --output /dev/null 2>&1 |
        grep -oE '[0-9]+ records/s|rss [0-9]+' | grep -oE '[0-9]+' | paste -sd' '
    done)
    rate=$(echo "$results" | cut -d' ' -f1 | median)
    rss=$(echo "$results" | cut -d' ' -f2 | sort -g | tail -1)
    [ "$pipeline" = nexmark-generator ] && generator=$rate
    printf '%-18s %3s %14s %12s %9s%%\n' "$pipeline" "$workers" "$rate" "$((rss / 1024))" \
      "$((100 * rate / generator))"
  done
done
