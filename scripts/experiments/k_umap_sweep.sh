#!/usr/bin/env bash
# Does the proposed k depend on the UMAP run rather than on the codes? For each folder and
# seed of scripts/experiments/k_experiments.sh (its artifacts must exist), the codes are embedded again
# with other UMAP seeds (11, 12, 13) and other neighbourhood sizes (15, 30; the default is
# 20), and K-Means --k auto proposes a k on each. Prints one line per embedding.
#
# Usage: scripts/experiments/k_umap_sweep.sh [--runs artifacts/k] [--out /tmp/k-umap-sweep]
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=artifacts/k
OUT=/tmp/k-umap-sweep
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "k_umap_sweep: unknown option $1" >&2; exit 2 ;;
  esac
done
B=target/release
cargo build --release --quiet --bins
for f in fm5 digits fm3 fm10; do
  for s in 72 1 2; do
    for variant in "umap-seed 11" "umap-seed 12" "umap-seed 13" "n-neighbors 15" "n-neighbors 30"; do
      set -- $variant
      o="$OUT/$f-$s-$1-$2"
      if [ "$1" = umap-seed ]; then args=(--seed "$2"); else args=(--seed "$s" --n-neighbors "$2"); fi
      "$B/aeclust-encode-umap" --data "$RUNS/$f/seed-$s/codes" --out "$o/umap" "${args[@]}" >/dev/null
      "$B/aeclust-cluster" --features "$o/umap" --out "$o/km" --method kmeans --k auto --n-init 3 --seed "$s" >/dev/null
      python3 -c "
import json, sys
s = json.load(open('$o/km/summary.json'))['k_search']
print('$f', $s, '$1 $2', s['best_k'], ' '.join(f\"{c['k']}:{c['score']:.3f}\" for c in s['curve'][:10]))
"
    done
  done
done
