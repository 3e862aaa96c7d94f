#!/usr/bin/env bash
# Throughput (events/s, median of three runs) and memory high-water mark of the NEXMark
# generator alone and of every query, on -w 1 and -w 2: the tables of docs/measurements.md.
#
#   scripts/measure-nexmark.sh [EVENTS]                (default 10M)
#       each query's share of the generator-alone rate;
#   scripts/measure-nexmark.sh --input FILE            (e.g. from `weir nexmark generate`)
#       each query read from FILE beside the same query on as many generated events, and
#       the file-fed rate's share of the generated one ("nexmark-generator" from the file is
#       the reader alone, every field of every event read).
set -euo pipefail
cd "$(dirname "$0")/.."
events=10000000
input=
while [ $# -gt 0 ]; do
  case $1 in
    --input) input=${2:?--input needs a file}; shift 2 ;;
    -h | --help) sed -n 2,10p "$0"; exit 0 ;;
    *) events=$1; shift ;;
  esac
done
if [ -n "$input" ]; then
  [ -r "$input" ] || { echo "cannot read $input" >&2; exit 1; }
  events=$(wc -l < "$input")
fi
cargo build --release --quiet --bin weir

median() { sort -g | sed -n 2p; }

# Prints "events/s max-RSS-KiB": the median rate of three runs and the largest RSS.
measure() {
  local results
  results=$(for _ in 1 2 3; do
    /usr/bin/time -f 'rss %M' ./target/release/weir run "$@" --output /dev/null 2>&1 |
      grep -oE '[0-9]+ records/s|rss [0-9]+' | grep -oE '[0-9]+' | paste -sd' '
  done)
  echo "$(echo "$results" | cut -d' ' -f1 | median) $(echo "$results" | cut -d' ' -f2 | sort -g | tail -1)"
}

if [ -n "$input" ]; then
  printf '%-18s %3s %14s %12s %14s %8s\n' pipeline w 'file events/s' 'max RSS MiB' \
    'generated' 'share'
else
  printf '%-18s %3s %14s %12s %10s\n' pipeline w 'events/s' 'max RSS MiB' 'share'
fi
for workers in 1 2; do
  for pipeline in nexmark-generator nexmark-q{0..9} nexmark-q11 nexmark-q{13..22}; do
    read -r generated rss < <(measure "$pipeline" --events "$events" -w "$workers")
    if [ -n "$input" ]; then
      read -r rate rss < <(measure "$pipeline" --input "$input" -w "$workers")
      printf '%-18s %3s %14s %12s %14s %7s%%\n' "$pipeline" "$workers" "$rate" \
        "$((rss / 1024))" "$generated" "$((100 * rate / generated))"
    else
      [ "$pipeline" = nexmark-generator ] && generator=$generated
      printf '%-18s %3s %14s %12s %9s%%\n' "$pipeline" "$workers" "$generated" \
        "$((rss / 1024))" "$((100 * generated / generator))"
    fi
  done
done
