#!/usr/bin/env bash
# The k `scripts/pipeline.sh --images` proposes when several autoencoders vote (each
# seed's run its own: `--seeds S` alone, so that its voters are S, S+1, …), on folders
# whose number of groups is known (scripts/experiments/k_folders.py). Prints a Markdown table: per
# folder and seed, the k proposed and every voter's count of dense groups.
#
# Usage: scripts/experiments/k_votes.sh [--folders /tmp/kf] [--names fm3,fm5,digits,tinted3,fm10]
#          [--seeds 72,100,200] [--k-votes 5] [--out artifacts/kv]
# A folder named like `r2027-3-4c` (k_folders.py --fresh) gives its class count.
set -euo pipefail
cd "$(dirname "$0")/../.."
FOLDERS=/tmp/kf
NAMES=fm3,fm5,digits,tinted3,fm10
SEEDS=72,100,200
VOTES=5
OUT=artifacts/kv
while [ $# -gt 0 ]; do
  case "$1" in
    --folders) FOLDERS=$2; shift 2 ;;
    --names) NAMES=$2; shift 2 ;;
    --seeds) SEEDS=$2; shift 2 ;;
    --k-votes) VOTES=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "k_votes: unknown option $1" >&2; exit 2 ;;
  esac
done
cargo build --release --quiet --bins
IFS=',' read -r -a names <<< "$NAMES"
IFS=',' read -r -a seeds <<< "$SEEDS"
for name in "${names[@]}"; do
  for seed in "${seeds[@]}"; do
    run="$OUT/$name/$seed"
    mkdir -p "$OUT/$name"
    AECLUST_BIN=target/release scripts/pipeline.sh --images "$FOLDERS/$name" --out "$run" \
      --seeds "$seed" --k-votes "$VOTES" --scan off >"$run.log" 2>&1 \
      || { echo "k_votes: $name seed $seed failed, see $run.log" >&2; exit 1; }
  done
done
python3 - "$OUT" "$NAMES" "$SEEDS" <<'PY'
import json, re, sys
out, names, seeds = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(",")
CLASSES = {"fm3": 3, "fm5": 5, "fm10": 10, "digits": 10, "tinted3": 3,
           "hold4": 4, "hold5": 5, "hold6": 6}
print("| folder | classes | seed | proposed | counts of dense groups (its own first) |")
print("|---|---|---|---|---|")
exact = runs = 0
for name in names:
    m = re.search(r"-(\d+)c$", name)
    classes = int(m.group(1)) if m else CLASSES.get(name)
    for seed in seeds:
        with open(f"{out}/{name}/{seed}/seed-{seed}/kmeans-umap/summary.json") as f:
            s = json.load(f)["k_search"]
        counts = [s["density"]["groups"]] + [v["density"]["groups"] for v in s.get("votes", [])]
        runs += 1
        exact += s["best_k"] == classes
        print(f"| `{name}` | {classes or '?'} | {seed} | **{s['best_k']}** | "
              + " / ".join(map(str, counts)) + " |")
print(f"| runs exact | | | {exact} of {runs} | |")
PY
