#!/usr/bin/env bash
# Hash state against arrangements as state: nexmark-q3 and nexmark-q20 (the unbounded
# joins) with --state hash and --state arranged, at -w 1 and -w 2, side by side in one run:
# events/s (median of three), peak memory, events/s with snapshots every second of event
# time, the snapshot summary (size, capture on the record path, encode and write off it),
# and the restore of the fourth snapshot (q20: the first). Then graph-reach over EDGES edge
# changes: changes/s, and in the harness the latency of a change reaching the output at
# half the measured rate. The numbers of the arrangements issue (docs/measurements.md).
#
#   scripts/measure-arrangements.sh [EVENTS] [EDGES] [Q20_EVENTS]   (default 10M, 1M, 2M)
#
# q20 keeps every bid as state, so it runs on fewer events (Q20_EVENTS).
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-10000000}
edges=${2:-1000000}
q20_events=${3:-2000000}
cargo build --release --quiet --bin weir
weir=./target/release/weir
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

median() { sort -g | sed -n 2p; }
rate_of() { grep -oE '[0-9]+ records/s' | grep -oE '^[0-9]+'; }

for query in q3 q20; do
n=$events crash_at=4
# 2M events at 1M/s make two snapshots: q20 restores the first.
[ "$query" = q20 ] && n=$q20_events crash_at=1
echo "nexmark-$query, $n events at 1M events/s of event time (1 s epochs hold 1M events):"
for workers in 1 2; do
  for state in hash arranged; do
    q3=(run "nexmark-$query" --events "$n" --event-rate 1M -w "$workers" --state "$state")
    plain=$(for _ in 1 2 3; do $weir "${q3[@]}" --output "$work/out.jsonl" 2>&1 | rate_of; done | median)
    peak=$( { /usr/bin/time -f '%M' $weir "${q3[@]}" --output "$work/out.jsonl" -q; } 2>&1 | tail -1)
    rm -rf "$work"/snap*
    snap=$(for i in 1 2 3; do
      $weir "${q3[@]}" --output "$work/snap$i/" --snapshot-dir "$work/snap$i.d" \
        --snapshot-every 1s 2>&1 | tee "$work/summary" | rate_of
    done | median)
    summary=$(grep -E 'snapshots:' "$work/summary" | sed 's/^weir: //')
    printf '  -w %s --state %-8s %9s events/s  peak %7s KiB  with snapshots %9s events/s\n' \
      "$workers" "$state" "$plain" "$peak" "$snap"
    printf '      %s\n' "$summary"
    rm -rf "$work"/snap* "$work/crash"*
    WEIR_FAULT=after-manifest:$crash_at $weir "${q3[@]}" --output "$work/crash/" \
      --snapshot-dir "$work/crash.d" --snapshot-every 1s -q 2>/dev/null || true
    $weir "${q3[@]}" --output "$work/crash/" --snapshot-dir "$work/crash.d" \
      --snapshot-every 1s --restore latest 2>&1 | grep -E 'restor' | sed 's/^/      /'
    rm -rf "$work/crash"*
  done
done
done

echo "graph-reach, $edges edge changes among 100k nodes (100k changes/s of event time):"
for workers in 1 2; do
  rate=$(for _ in 1 2 3; do
    $weir run graph-reach --events "$edges" --keys 100k -w "$workers" --output "$work/reach.jsonl" 2>&1 | rate_of
  done | median)
  printf '  -w %s  %9s changes/s\n' "$workers" "$rate"
  half=$((rate / 2))
  $weir bench graph-reach --keys 100k -w "$workers" --rate "$half" --duration 10s 2>&1 |
    grep -E 'latency|p50|p99|sustain' | sed 's/^/      /'
done
