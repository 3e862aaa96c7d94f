#!/usr/bin/env bash
# The harness issue's measurements: for seed-state, nexmark-q1 and nexmark-q5 on -w 2, the
# highest sustainable rate (weir bench --find-max), then a 10 s run at half of it with its
# p50/p99/max, and the figures. Results go to RESULTS (default results/harness); the CCDF
# of the half-rate runs is copied to docs/figures/.
#
#   scripts/measure-harness.sh [RESULTS]
set -euo pipefail
cd "$(dirname "$0")/.."
results=${1:-results/harness}
mkdir -p "$results" docs/figures
cargo build --release --quiet --bin weir
weir=./target/release/weir

declare -A start=([seed-state]=2M [nexmark-q1]=500k [nexmark-q5]=500k)
half_runs=()
for pipeline in seed-state nexmark-q1 nexmark-q5; do
  $weir bench "$pipeline" -w 2 --rate "${start[$pipeline]}" --find-max 3 \
    --warmup 1s --duration 5s --cooldown 1s --quiet --json "$results/$pipeline-find-max.json"
  rate=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["sustainable_rate"]; print(int(r) if r else 0)' \
    "$results/$pipeline-find-max.json")
  echo "$pipeline: highest sustainable rate $rate records/s"
  if [ "$rate" -gt 0 ]; then
    $weir bench "$pipeline" -w 2 --rate $((rate / 2)) --warmup 2s --duration 10s --cooldown 1s \
      --json "$results/$pipeline-half.json"
    half_runs+=("$results/$pipeline-half.json")
  fi
done
$weir plot "${half_runs[@]}" --out "$results/figures-half" > /dev/null
for pipeline in seed-state nexmark-q1 nexmark-q5; do
  $weir plot "$results/$pipeline-find-max.json" --out "$results/figures-$pipeline" > /dev/null
done
cp "$results/figures-half/latency-ccdf.png" docs/figures/harness-ccdf-half-rate.png
cp "$results/figures-half/latency-ccdf.svg" docs/figures/harness-ccdf-half-rate.svg
echo "results and figures in $results; CCDF in docs/figures/harness-ccdf-half-rate.{png,svg}"
