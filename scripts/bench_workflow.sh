#!/usr/bin/env bash
# Sharding benchmark: a folder of --count PNGs made by scripts/make_folder.py (never
# committed) read and encoded (the pretrained network at its 64-pixel input) through
# workflow/Snakefile whole and in 4 and 8 shards (side by side on this machine's cores:
# the memory bound and the overhead, not a speed-up), up to the merged dataset and the
# merged features; prints every job's wall time and peak RSS (Snakemake's benchmark
# files) and whether the merged artifacts are identical.
#
# Usage: scripts/bench_workflow.sh [--count 200000] [--folder /tmp/fm200k] [--out /tmp/wf-bench] [--cores 2]
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=200000; FOLDER=/tmp/fm200k; OUT=/tmp/wf-bench; CORES=2
while [ $# -gt 0 ]; do
  case "$1" in
    --count) COUNT=$2; shift 2 ;;
    --folder) FOLDER=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --cores) CORES=$2; shift 2 ;;
    *) echo "bench_workflow: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x .venv/bin/python ] || scripts/python-env.sh >/dev/null
[ -d "$FOLDER" ] || .venv/bin/python scripts/make_folder.py --count "$COUNT" --out "$FOLDER"
for n in 1 4 8; do
  rm -rf "$OUT/s$n"
  start=$(date +%s.%N)
  scripts/workflow.sh --cores "$CORES" --quiet all --config images="$FOLDER" out="$OUT/s$n" \
    shards=$n k=10 size=28x28 color=gray input_size=64 -- "$OUT/s$n/dataset/manifest.json" \
    "$OUT/s$n/efficientnet-lite0/manifest.json" >/dev/null 2>&1
  echo "shards=$n: $(echo "$(date +%s.%N) - $start" | bc) s for the whole workflow"
done
.venv/bin/python - "$OUT" <<'PY'
import csv, json, sys, glob, os
out = sys.argv[1]
print("| shards | job | wall s | peak RSS MiB |")
print("|---|---|---|---|")
for n in (1, 4, 8):
    for f in sorted(glob.glob(f"{out}/s{n}/benchmarks/*.tsv")):
        row = next(csv.DictReader(open(f), delimiter="\t"))
        print(f"| {n} | {os.path.basename(f)[:-4]} | {float(row['s']):.2f} | {float(row['max_rss']):.0f} |")
for what in ("dataset", "efficientnet-lite0"):
    hashes = [[(o['path'], o['sha256']) for o in json.load(open(f"{out}/s{n}/{what}/manifest.json"))['outputs']] for n in (1, 4, 8)]
    print(f"merged {what} files identical for 1, 4 and 8 shards:", hashes[0] == hashes[1] == hashes[2])
PY
