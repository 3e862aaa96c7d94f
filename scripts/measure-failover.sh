#!/usr/bin/env bash
# Recovery and rescale times under `weir cluster` (docs/failover.md), for the numbers in
# docs/measurements.md: `weir chaos --supervised` kills one process at a time at random
# moments and reports, from each kill, how long until results flowed again (median/max and
# by phase); then a planned rescale 1x2 -> 2x1 -> 1x2 of seed-state with 1M keys reports
# each rescale's downtime; last, weir bench through a kill and a rescale, and its
# latency timeline drawn by weir plot into results/failover/figures/.
#
#   scripts/measure-failover.sh [KILLS] [EVENTS]      # defaults: 20 kills, 10M events at 1M/s
set -euo pipefail
cd "$(dirname "$0")/.."
kills=${1:-20}
events=${2:-10M}
seed=${SEED:-1}
cargo build --release --quiet
weir=target/release/weir
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for job in "seed-state --keys 1M" "nexmark-q5" "nexmark-q8"; do
    # shellcheck disable=SC2086
    set -- $job
    echo "== $job: $kills kills, $events events at 1M/s, 1-2 processes of 1-2 workers, seed $seed"
    "$weir" chaos "$1" --supervised --kills "$kills" --seed "$seed" \
        --max-processes 2 --max-workers 2 --dir "$work/chaos-$1" \
        -- --events "$events" --rate 1M "${@:2}" | tail -4
done

echo "== rescale seed-state --keys 1M: 1x2 -> 2x1 at 4s -> 1x2 at 8s"
"$weir" cluster -n 1 -w 2 --rescale-at 4s:2x1,8s:1x2 --events-log "$work/events.jsonl" \
    -- run seed-state --events 12M --keys 1M --rate 1M \
    --snapshot-dir "$work/snaps" --output "$work/out/" --quiet 2>&1 | grep -E "rescaled|finished"

# The latency timeline through a kill and a rescale, drawn by weir plot (results/ is not
# committed: this regenerates it).
out=results/failover
mkdir -p "$out"
for job in "seed-state --keys 1M --rate 1M" "nexmark-q5 --rate 500k"; do
    # shellcheck disable=SC2086
    set -- $job
    echo "== weir bench $job: 2x1, kill process 1 at 6s, rescale to 1x2 at 12s"
    "$weir" bench "$@" --warmup 2s --duration 16s --cooldown 2s -n 2 -w 1 \
        --snapshot-dir "$work/bench-$1" --kill-at 6s:1 --rescale-at 12s:1x2 \
        --json "$out/$1-faults.json" 2>&1 | grep -E "^weir: " | grep -Ev "restoring|skipping|lost the connection|^weir cluster: start"
done
"$weir" plot "$out"/*-faults.json --out "$out/figures" > /dev/null
echo "figures: $out/figures/timeline-*.png"
