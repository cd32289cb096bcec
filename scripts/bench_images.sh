#!/usr/bin/env bash
# Times `aeclust-dataset --images` on the real Fashion-MNIST written as 70,000 PNG files
# in class folders (60,000 train, 10,000 test), beside reading the same images from the
# IDX files, median of N runs each (--force: no cache). Prints the CPU and thread count.
#
# Usage: scripts/bench_images.sh [--runs N] [--png DIR] [--data DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=3
PNG=/tmp/aeclust-fashion-png
DATA=/usr/share/datasets/fashion-mnist
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS=$2; shift 2 ;;
    --png) PNG=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    *) echo "bench_images: unknown option $1" >&2; exit 2 ;;
  esac
done
cargo build --release --quiet --bins --example export_images -p aeclust-dataset
cargo build --release --quiet --bins
B=target/release
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$B/aeclust-dataset" --source "$DATA" --out "$WORK/idx" >/dev/null
if [ ! -d "$PNG/train" ]; then
  target/release/examples/export_images "$WORK/idx" "$PNG"
fi
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) threads"
echo "png files: $(find "$PNG" -name '*.png' | wc -l), $(du -sh "$PNG" | cut -f1)"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_runs() {
  for _ in $(seq "$RUNS"); do
    s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N)
    echo "$e - $s" | bc
  done | median
}
idx=$(time_runs "$B/aeclust-dataset" --source "$DATA" --out "$WORK/idx" --force)
png=$(time_runs "$B/aeclust-dataset" --images "$PNG/train" --test-dir "$PNG/test" --out "$WORK/png" --force)
cached=$(time_runs "$B/aeclust-dataset" --images "$PNG/train" --test-dir "$PNG/test" --out "$WORK/png")
echo "IDX (gzip) read, median of $RUNS: ${idx} s"
echo "70,000 PNG files read and decoded, median of $RUNS: ${png} s"
echo "same folder, cache hit (listing + hashing every file), median of $RUNS: ${cached} s"
