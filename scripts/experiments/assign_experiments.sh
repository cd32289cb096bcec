#!/usr/bin/env bash
# Measures aeclust-assign on real Fashion-MNIST folders (docs/RESULTS.md, "Keep using a
# clustering"):
#  1. fit on 10,000 train PNGs with --test-dir on 10,000 test PNGs, then assign the test
#     folder as a new batch: the share of images whose cluster equals the fit's, and the
#     assign time beside the dataset stage reading the same folder (the decode floor);
#  2. novelty: fit on 9 classes (one class folder left out), assign the 10,000 test PNGs of
#     all 10, and report the `novel` rate on the held-out class and on the 9 others.
# Folders (made by the commands in scripts/fashion_subset.py's docstring, class-N folders):
#   TRAIN=/tmp/fm10k-png/train TEST=/tmp/fm10k-png/test HELD_OUT=class-8
# Usage: scripts/experiments/assign_experiments.sh [--seeds 72,1,2] [--out artifacts/assign-exp]
set -euo pipefail
cd "$(dirname "$0")/../.."
SEEDS=72
OUT=artifacts/assign-exp
TRAIN=${TRAIN:-/tmp/fm10k-png/train}
TEST=${TEST:-/tmp/fm10k-png/test}
HELD_OUT=${HELD_OUT:-class-8}
while [ $# -gt 0 ]; do
  case $1 in
    --seeds) SEEDS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
BIN=${AECLUST_BIN:-target/release}
PY=${PYTHON:-.venv/bin/python}
mkdir -p "$OUT"
NINE="$OUT/nine-classes"
rm -rf "$NINE" && mkdir -p "$NINE"
for d in "$TRAIN"/*/; do
  name=$(basename "$d")
  [ "$name" = "$HELD_OUT" ] || ln -s "$(realpath "$d")" "$NINE/$name"
done
secs() { local t0=$1; echo "$(( $(date +%s%N) - t0 ))" | awk '{printf "%.2f", $1/1e9}'; }

echo "== decode floor: aeclust-dataset on $TEST"
t0=$(date +%s%N); "$BIN/aeclust-dataset" --images "$TEST" --out "$OUT/floor" --force >/dev/null
echo "floor_seconds $(secs "$t0")"

IFS=',' read -r -a seed_list <<< "$SEEDS"
for seed in "${seed_list[@]}"; do
  fit="$OUT/fit-10k"
  bash scripts/pipeline.sh --images "$TRAIN" --test-dir "$TEST" --k 10 --seeds "$seed" --out "$fit" >/dev/null
  for m in gmm-codes scan; do
    t0=$(date +%s%N)
    "$BIN/aeclust-assign" --clustering "$fit/seed-$seed/$m" --images "$TEST" --out "$OUT/assign-$seed-$m" --force >/dev/null
    echo "assign seed $seed $m seconds $(secs "$t0")"
    "$PY" - "$OUT/assign-$seed-$m" "$fit/seed-$seed/$m" <<'PY'
import sys
from safetensors.numpy import load_file
a = load_file(sys.argv[1] + "/assignments.safetensors")
c = load_file(sys.argv[2] + "/assignments.safetensors")
print(f"  rows {len(a['clusters'])}: cluster equal to the fit's test split {(a['clusters'] == c['test_assignments']).mean():.4f}, confidence equal {(a['confidence'] == c['test_confidence']).mean():.4f}")
PY
  done
  nine="$OUT/fit-nine"
  bash scripts/pipeline.sh --images "$NINE" --k 9 --seeds "$seed" --out "$nine" >/dev/null
  "$BIN/aeclust-cluster" --features "$nine/seed-$seed/codes-white" --out "$nine/seed-$seed/kmeans-codes" --method kmeans --k 9 --seed "$seed" >/dev/null
  for m in kmeans-codes gmm-codes scan; do
    "$BIN/aeclust-assign" --clustering "$nine/seed-$seed/$m" --images "$TEST" --out "$OUT/novel-$seed-$m" --force >/dev/null
    "$PY" - "$OUT/novel-$seed-$m/assignments.csv" "$HELD_OUT" "$seed" "$m" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
held = [r for r in rows if r["class"] == sys.argv[2]]
seen = [r for r in rows if r["class"] != sys.argv[2]]
rate = lambda rs: sum(r["novel"] == "1" for r in rs) / len(rs)
print(f"novelty seed {sys.argv[3]} {sys.argv[4]}: held-out {sys.argv[2]} {rate(held):.3f} ({len(held)}), seen {rate(seen):.3f} ({len(seen)})")
PY
  done
done
