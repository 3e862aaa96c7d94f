#!/usr/bin/env bash
# What snapshots cost: seed-state throughput with snapshots every second of event time
# against none (publishing to a file, and to a directory of segments; median of three), and for wordcount over 1M
# distinct words the size of a snapshot, the time to capture (on the record path), to encode
# and to write it (off it), and the time to restore it. The numbers the snapshot issue
# reports.
#
#   scripts/measure-snapshots.sh [EVENTS]        (default 10M)
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-10000000}
cargo build --release --quiet --bin weir
weir=./target/release/weir
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

median() { sort -g | sed -n 2p; }
rate_of() { grep -oE '[0-9]+ records/s' | grep -oE '^[0-9]+'; }

echo "seed-state, $events records, 1M records/s of event time, output to a file or a directory:"
for workers in 1 2; do
  rm -rf "$work"/snap* "$work"/seg*
  plain=$(for _ in 1 2 3; do
    $weir run seed-state --events "$events" -w "$workers" --output "$work/plain.jsonl" 2>&1 | rate_of
  done | median)
  # Exactly-once to a file: staged, then copied into the file (every byte written twice).
  snap=$(for i in 1 2 3; do
    $weir run seed-state --events "$events" -w "$workers" --output "$work/snap$i.jsonl" \
      --snapshot-dir "$work/snap$i" --snapshot-every 1s 2>&1 | rate_of
  done | median)
  # Exactly-once to a directory: staged parts linked in as segments (every byte written once).
  segments=$(for i in 1 2 3; do
    $weir run seed-state --events "$events" -w "$workers" --output "$work/seg$i/" \
      --snapshot-dir "$work/segsnap$i" --snapshot-every 1s 2>&1 | rate_of
  done | median)
  lower() { awk -v a="$plain" -v b="$1" 'BEGIN { printf "%.1f", (a - b) * 100 / a }'; }
  printf '  -w %s  no snapshots %10s records/s   to a file %10s records/s (%s%% lower)   to a directory %10s records/s (%s%% lower)\n' \
    "$workers" "$plain" "$snap" "$(lower "$snap")" "$segments" "$(lower "$segments")"
  rm -rf "$work"/snap* "$work"/seg*
done

echo "wordcount over 2M words, 1M distinct, 400k words/s of event time, snapshots every 1s:"
awk 'BEGIN { for (i = 0; i < 2000000; i++) print "w" (i * 7919) % 1000000 }' > "$work/words.txt"
for workers in 1 2; do
  dir="$work/wc$workers"
  $weir run wordcount --input "$work/words.txt" --event-rate 400k -w "$workers" \
    --output "$dir.jsonl" --snapshot-dir "$dir" --snapshot-every 1s 2>&1 |
    grep -E 'records/s|snapshots:' | sed 's/^/  /'
  # Crash right after the fourth commit, then restore it.
  rm -rf "$dir" "$dir.jsonl"
  WEIR_FAULT=after-manifest:4 $weir run wordcount --input "$work/words.txt" --event-rate 400k \
    -w "$workers" --output "$dir.jsonl" --snapshot-dir "$dir" --snapshot-every 1s -q 2>/dev/null || true
  start=$(date +%s%N)
  $weir run wordcount --input "$work/words.txt" --event-rate 400k -w "$workers" \
    --output "$dir.jsonl" --snapshot-dir "$dir" --snapshot-every 1s --restore latest 2>&1 |
    grep -E 'restor' | sed 's/^/  /'
  end=$(date +%s%N)
  printf '  restored run to the end: %.0f ms wall clock\n' "$(( (end - start) / 1000000 ))"
done
