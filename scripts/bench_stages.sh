#!/usr/bin/env bash
# Times every stage of two builds of aeclust on the same data and machine, alternating
# runs, and prints the median wall seconds of each stage per build: a check that a change
# (e.g. verified reads, code fingerprints) costs nothing measurable.
#
# Usage: scripts/bench_stages.sh OLD_BIN_DIR NEW_BIN_DIR [--runs N] [--data DIR]
# Each build writes its own artifacts under a temporary directory (builds with different
# manifest schemas cannot share them). Training runs 1 epoch, 2 threads.
set -euo pipefail
OLD=$1; NEW=$2; shift 2
RUNS=3
DATA=/usr/share/datasets/fashion-mnist
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
grep -m1 'model name' /proc/cpuinfo
t() { local s; s=$(date +%s.%N); "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; echo "$(date +%s.%N) - $s" | bc; }
declare -A times
for run in $(seq "$RUNS"); do
  for build in old new; do
    BIN=$OLD; [ $build = new ] && BIN=$NEW
    A=$TMP/$build
    times[$build,dataset]+="$(t "$BIN/aeclust-dataset" --source "$DATA" --out "$A/dataset" --force) "
    times[$build,dataset-hit]+="$(t "$BIN/aeclust-dataset" --source "$DATA" --out "$A/dataset") "
    times[$build,train-1-epoch]+="$(t "$BIN/aeclust-train" --data "$A/dataset" --out "$A/model" --epochs 1 --threads 2 --force) "
    times[$build,encode]+="$(t "$BIN/aeclust-encode" --model "$A/model" --data "$A/dataset" --out "$A/codes" --threads 2 --force) "
    times[$build,kmeans-pixels]+="$(t "$BIN/aeclust-cluster" --features "$A/dataset" --out "$A/km" --threads 2 --force) "
    times[$build,pca-30]+="$(t "$BIN/aeclust-encode-pca" --data "$A/codes" --out "$A/white" --components 30 --whiten --force) "
    times[$build,gmm-codes]+="$(t "$BIN/aeclust-cluster" --features "$A/white" --out "$A/gmm" --method gmm --threads 2 --force) "
    times[$build,gmm-hit]+="$(t "$BIN/aeclust-cluster" --features "$A/white" --out "$A/gmm" --method gmm --threads 2) "
    times[$build,evaluate]+="$(t "$BIN/aeclust-evaluate" --out "$A/report" "$A/km" "$A/gmm" --force) "
  done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf "| stage | old s | new s | new/old |\n|---|---|---|---|\n"
for stage in dataset dataset-hit train-1-epoch encode kmeans-pixels pca-30 gmm-codes gmm-hit evaluate; do
  o=$(echo "${times[old,$stage]}" | median); n=$(echo "${times[new,$stage]}" | median)
  printf "| %s | %.2f | %.2f | %.2f |\n" "$stage" "$o" "$n" "$(echo "$n / $o" | bc -l)"
done
