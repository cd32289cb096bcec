#!/usr/bin/env bash
# Reading real folders, side by side in one run (median of N runs each, --force: no cache):
#  1. photos: aeclust-dataset on a folder of 12-megapixel JPEGs read at 64x64 (the whole
#     stage's CPU time: listing, hashing, decoding at a DCT scale, resizing, writing),
#     beside Pillow's draft-mode read of the same files (scripts/pillow_read.py, the
#     decode loop's CPU time only), as CPU ms per image;
#  2. clip art: the read with compositing and padding (this build) against the read
#     without (the dataset binary of --baseline REV, before either existed, built into
#     target/baseline), and this build with --fit stretch, on the same folder;
#  3. small images: the 70,000 Fashion-MNIST PNGs (scripts/bench_images.sh writes them)
#     with both binaries, and whether both wrote the same bytes.
# Prints the CPU and both ratios.
#
# Usage: scripts/bench_read.sh [--runs N] [--photos DIR] [--clipart DIR] [--png DIR]
#                              [--baseline REV]
# Needs .venv with numpy and Pillow (scripts/python-env.sh); makes the photos with
# scripts/make_photos.py when DIR has none; clip art: apt-get install -y openclipart-png.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=3
PHOTOS=/tmp/aeclust-photos
CLIPART=/usr/share/openclipart/png
BASELINE=15627b2
PNG=/tmp/aeclust-fashion-png
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS=$2; shift 2 ;;
    --photos) PHOTOS=$2; shift 2 ;;
    --clipart) CLIPART=$2; shift 2 ;;
    --png) PNG=$2; shift 2 ;;
    --baseline) BASELINE=$2; shift 2 ;;
    *) echo "bench_read: unknown option $1" >&2; exit 2 ;;
  esac
done
PY=.venv/bin/python
[ -x "$PY" ] || { echo "bench_read: run scripts/python-env.sh first" >&2; exit 1; }
cargo build --release --quiet -p aeclust-dataset
B=target/release/aeclust-dataset
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# CPU seconds (user + system) of a command, one per line for each of RUNS runs.
cpu_runs() {
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%U %S" -o "$WORK/time" "$@" >/dev/null
    awk '{print $1 + $2}' "$WORK/time"
  done
}
wall_runs() {
  for _ in $(seq "$RUNS"); do
    s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N)
    echo "$e - $s" | bc
  done
}
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) threads"

if [ "$(ls "$PHOTOS"/*.jpg 2>/dev/null | wc -l)" -lt 100 ]; then
  "$PY" scripts/make_photos.py "$PHOTOS" --count 100
fi
n=$(ls "$PHOTOS"/*.jpg | wc -l)
echo "photos: $n JPEGs, $(du -sh "$PHOTOS" | cut -f1)"
ours=$(cpu_runs "$B" --images "$PHOTOS" --size 64x64 --out "$WORK/photos" --force | median)
pillow=$(for _ in $(seq "$RUNS"); do "$PY" scripts/pillow_read.py "$PHOTOS" --size 64x64; done \
  | awk '{print $(NF-4)}' | median)
pillow_full=$("$PY" scripts/pillow_read.py "$PHOTOS" --size 64x64 --full | awk '{print $(NF-4)}')
ours_ms=$(echo "scale=2; 1000 * $ours / $n" | bc)
echo "aeclust-dataset --size 64x64, whole stage, median of $RUNS: $ours_ms ms CPU per image"
echo "Pillow draft mode, decode loop, median of $RUNS: $pillow ms CPU per image (full decode: $pillow_full)"
echo "ratio aeclust / Pillow draft: $(echo "scale=3; $ours_ms / $pillow" | bc)"

base=target/baseline/$BASELINE
if [ ! -x "$base/aeclust-dataset" ]; then
  git worktree add --force --detach "$WORK/src" "$BASELINE" >/dev/null 2>&1
  (cd "$WORK/src" && CARGO_TARGET_DIR="$WORK/target-base" cargo build --release --quiet -p aeclust-dataset)
  mkdir -p "$base" && cp "$WORK/target-base/release/aeclust-dataset" "$base/"
  git worktree remove --force "$WORK/src"
fi
if [ -d "$CLIPART" ]; then
  echo "clip art: $(find -L "$CLIPART" -name '*.png' | wc -l) PNGs"
  before=() after=() stretch=()
  for _ in $(seq "$RUNS"); do  # interleaved, so drift hits all three alike
    before+=("$(RUNS=1 wall_runs "$base/aeclust-dataset" --images "$CLIPART" --size 64x64 --skip-bad --unlabelled --out "$WORK/clip-before" --force)")
    after+=("$(RUNS=1 wall_runs "$B" --images "$CLIPART" --size 64x64 --skip-bad --unlabelled --out "$WORK/clip-after" --force)")
    stretch+=("$(RUNS=1 wall_runs "$B" --images "$CLIPART" --size 64x64 --fit stretch --skip-bad --unlabelled --out "$WORK/clip-stretch" --force)")
  done
  b=$(printf '%s\n' "${before[@]}" | median)
  a=$(printf '%s\n' "${after[@]}" | median)
  s=$(printf '%s\n' "${stretch[@]}" | median)
  echo "clip art read, median of $RUNS (wall s): before (alpha dropped, stretched, $BASELINE) $b;" \
    "composited + padded $a; composited + stretched $s"
  echo "ratio composited + padded / before: $(echo "scale=3; $a / $b" | bc)"
fi

if [ -d "$PNG/train" ]; then
  echo "small images: $(find "$PNG" -name '*.png' | wc -l) PNGs of 28x28 ($PNG)"
  before=() after=()
  for _ in $(seq "$RUNS"); do
    before+=("$(RUNS=1 wall_runs "$base/aeclust-dataset" --images "$PNG/train" --test-dir "$PNG/test" --out "$WORK/png-before" --force)")
    after+=("$(RUNS=1 wall_runs "$B" --images "$PNG/train" --test-dir "$PNG/test" --out "$WORK/png-after" --force)")
  done
  b=$(printf '%s\n' "${before[@]}" | median)
  a=$(printf '%s\n' "${after[@]}" | median)
  same=no
  cmp -s "$WORK/png-before/train.safetensors" "$WORK/png-after/train.safetensors" \
    && cmp -s "$WORK/png-before/test.safetensors" "$WORK/png-after/test.safetensors" && same=yes
  echo "small images read, median of $RUNS (wall s): before $b; now $a; ratio $(echo "scale=3; $a / $b" | bc); same bytes: $same"
fi
