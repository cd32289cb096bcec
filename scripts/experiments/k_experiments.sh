#!/usr/bin/env bash
# How many clusters the pipeline proposes without labels, on folders whose number of
# groups is known (scripts/experiments/k_folders.py), per seed and per criterion: the proposal
# (`kmeans-umap`: HDBSCAN's count of dense groups in a UMAP embedding of the codes, else
# the silhouette of K-Means there), HDBSCAN's count, what the silhouette,
# Calinski–Harabasz and Davies–Bouldin would pick there, and what the earlier default
# picked (the BIC of a GMM on the PCA-whitened codes, one start) with the silhouette in
# those codes. Prints a Markdown table (docs/RESULTS.md, "A k you can trust").
#
# Usage: scripts/experiments/k_experiments.sh [--folders /tmp/kf] [--seeds 72,1,2] [--out artifacts/k]
set -euo pipefail
cd "$(dirname "$0")/../.."
FOLDERS=/tmp/kf
SEEDS=72,1,2
OUT=artifacts/k
while [ $# -gt 0 ]; do
  case "$1" in
    --folders) FOLDERS=$2; shift 2 ;;
    --seeds) SEEDS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "k_experiments: unknown option $1" >&2; exit 2 ;;
  esac
done
if [ ! -d "$FOLDERS/fm3" ]; then
  scripts/python-env.sh >/dev/null
  .venv/bin/python scripts/experiments/k_folders.py --out "$FOLDERS"
fi
cargo build --release --quiet --bins
BIN=target/release
IFS=',' read -r -a seed_list <<< "$SEEDS"
for name in fm3 fm5 fm10 digits tinted3; do
  AECLUST_BIN=$BIN scripts/pipeline.sh --images "$FOLDERS/$name" --out "$OUT/$name" --seeds "$SEEDS" --scan off >"$OUT-$name.log" 2>&1 \
    || { echo "k_experiments: $name failed, see $OUT-$name.log" >&2; exit 1; }
  for seed in "${seed_list[@]}"; do
    run="$OUT/$name/seed-$seed"
    "$BIN/aeclust-cluster" --features "$run/codes-white" --out "$run/gmm-bic" --method gmm --k auto --n-init 1 --reg-covar 1e-4 --seed "$seed" >/dev/null
  done
done
python3 - "$OUT" "$SEEDS" <<'PY'
import json, sys
out, seeds = sys.argv[1], sys.argv[2].split(",")
truth = {"fm3": 3, "fm5": 5, "fm10": 10, "digits": 10, "tinted3": 3}
def best(search, name):
    for c in search["criteria"]:
        if c["name"] == name:
            pts = [(k["k"], v) for k, v in zip(search["curve"], c["values"]) if v is not None]
            f = min if c["lower_is_better"] else max
            return f(pts, key=lambda p: p[1])[0]
print("| folder | classes | seed | proposed | HDBSCAN (UMAP) | silhouette (UMAP) | Calinski–Harabasz (UMAP) | Davies–Bouldin (UMAP) | BIC (GMM, whitened codes) | silhouette (whitened codes) | search s |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for name, k in truth.items():
    for seed in seeds:
        run = f"{out}/{name}/seed-{seed}"
        s = json.load(open(f"{run}/kmeans-umap/summary.json"))["k_search"]
        g = json.load(open(f"{run}/gmm-bic/summary.json"))["k_search"]
        d = (s.get("density") or {}).get("groups", "–")
        print(f"| {name} | {k} | {seed} | **{s['best_k']}** | {d} | {best(s, 'silhouette')} | {best(s, 'calinski_harabasz')} | {best(s, 'davies_bouldin')} | {best(g, 'bic')} | {best(g, 'silhouette')} | {s['seconds']:.1f} |")
PY
