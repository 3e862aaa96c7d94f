#!/usr/bin/env bash
# Every experiment of experiments/, on this machine, from a clean checkout, and the paper:
# builds weir (release), runs each experiment file, renders its tables and figures under
# results/, then builds paper/weir.pdf from them (paper/build.sh).
#
#   scripts/reproduce.sh [--quick] [--no-paper] [EXPERIMENT...]
#       --quick       each experiment's [group.quick] settings (small inputs, one repetition)
#       --no-paper    run the experiments only
#       EXPERIMENT    names under experiments/ (e.g. failover); default: all of them
#
# What it installs, from the package registries, into folders git ignores:
#   .venv-peers/  apache-flink==2.3.0 and bytewax==0.21.1 for experiments/peers.toml
#                 (scripts/peers/setup.sh; about 850 MB; Flink needs Java 17). If they cannot
#                 be installed, the peers experiment is skipped with the reason.
#   .venv-paper/  typst==0.15.2 for the paper (paper/build.sh; about 15 MB)
#
# Results, tables and figures are generated output: git ignores results/. The time each
# experiment took is printed, and results/reproduce.log keeps the whole run's account.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=()
paper=yes
names=()
for arg in "$@"; do
  case $arg in
    --quick) quick=(--quick) ;;
    --no-paper) paper=no ;;
    -h | --help) sed -n 2,20p "$0"; exit 0 ;;
    -*) echo "unknown flag $arg (see --help)" >&2; exit 2 ;;
    *) names+=("$arg") ;;
  esac
done
if [ ${#names[@]} -eq 0 ]; then
  for file in experiments/*.toml; do names+=("$(basename "$file" .toml)"); done
fi
for name in "${names[@]}"; do
  [ -r "experiments/$name.toml" ] || { echo "no experiment experiments/$name.toml" >&2; exit 2; }
done

echo "building weir (release) ..."
cargo build --release --quiet --bin weir
mkdir -p results
log=results/reproduce.log
: > "$log"
failed=()
skipped=()
start=$(date +%s)
for name in "${names[@]}"; do
  if [ "$name" = peers ] && ! scripts/peers/setup.sh; then
    line="peers: SKIPPED, the peer engines could not be installed (scripts/peers/setup.sh, above)"
    echo "$line" | tee -a "$log"
    skipped+=(peers)
    continue
  fi
  began=$(date +%s)
  if ./target/release/weir experiment "experiments/$name.toml" "${quick[@]}" >> "$log"; then
    status=done
  else
    status=FAILED
    failed+=("$name")
  fi
  line="$name: $status in $(($(date +%s) - began)) s (results/$name/)"
  echo "$line" | tee -a "$log"
done
if [ $paper = yes ]; then
  began=$(date +%s)
  if paper/build.sh 2>&1 | tee -a "$log"; then status=done; else status=FAILED; failed+=(paper); fi
  echo "paper: $status in $(($(date +%s) - began)) s (paper/weir.pdf)" | tee -a "$log"
fi
echo "all: $(($(date +%s) - start)) s" | tee -a "$log"
if [ ${#skipped[@]} -gt 0 ]; then
  echo "skipped: ${skipped[*]}" | tee -a "$log"
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed: ${failed[*]}; their logs are under results/NAME/" >&2
  exit 1
fi
