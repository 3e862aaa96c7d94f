#!/usr/bin/env bash
# Every experiment of experiments/, on this machine, from a clean checkout: builds weir
# (release), runs each experiment file, and renders its tables and figures under results/.
#
#   scripts/reproduce.sh [--quick] [EXPERIMENT...]
#       --quick       each experiment's [group.quick] settings (small inputs, one repetition)
#       EXPERIMENT    names under experiments/ (e.g. failover); default: all of them
#
# Results, tables and figures are generated output: git ignores results/. The time each
# experiment took is printed, and results/reproduce.log keeps the whole run's account.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=()
names=()
for arg in "$@"; do
  case $arg in
    --quick) quick=(--quick) ;;
    -h | --help) sed -n 2,10p "$0"; exit 0 ;;
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
start=$(date +%s)
for name in "${names[@]}"; do
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
echo "all: $(($(date +%s) - start)) s" | tee -a "$log"
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed: ${failed[*]}; their logs are under results/NAME/" >&2
  exit 1
fi
