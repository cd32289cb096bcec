#!/usr/bin/env bash
# Training throughput of the default (paper) autoencoder on the full 60,000 training
# images: samples/s per epoch (median over epochs and runs) and peak memory.
#
#   scripts/bench_train.sh [--epochs N] [--runs N] [--threads N] [--data DIR]
# Needs the dataset artifact (scripts/pipeline.sh makes it) or builds it from --data.
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=2; RUNS=3; THREADS=2; DATA=/usr/share/datasets/fashion-mnist
while [ $# -gt 0 ]; do
  case "$1" in
    --epochs) EPOCHS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
cargo build --release --quiet --bins
B=target/release
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
"$B/aeclust-dataset" --source "$DATA" --out "$OUT/dataset" >/dev/null
speeds=()
for run in $(seq "$RUNS"); do
  /usr/bin/time -f "%M" -o "$OUT/rss" "$B/aeclust-train" --data "$OUT/dataset" --out "$OUT/model" \
    --epochs "$EPOCHS" --threads "$THREADS" --force > "$OUT/log"
  epoch_speeds=$(grep '^epoch' "$OUT/log" | grep -o '[0-9]* samples/s' | awk '{print $1}')
  while read -r s; do speeds+=("$s"); done <<< "$epoch_speeds"
  echo "run $run: epochs at $(echo $epoch_speeds) samples/s, peak RSS $(( $(cat "$OUT/rss") / 1024 )) MiB"
done
median=$(printf '%s\n' "${speeds[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "train: median $median samples/s over ${#speeds[@]} epochs ($RUNS runs x $EPOCHS epochs, $THREADS threads, batch 256, 784-900-480-240-120 + mirror)"
