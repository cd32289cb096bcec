#!/usr/bin/env bash
# The clustering stage on more rows than memory need hold: aeclust-cluster on a codes
# artifact of --rows x --dim points of a 20-component Gaussian mixture (written by the
# cluster crate's example mixture_codes), full K-Means (Lloyd, all rows in memory) against
# mini-batch K-Means streamed from the file (--batch-size 10000), --runs times each;
# prints the median wall time, the peak RSS, the objective (mean squared distance to the
# nearest centre, every train row) and the train accuracy against the components.
#
# Usage: scripts/bench_minibatch.sh [--rows 1000000] [--dim 64] [--runs 3] [--out /tmp/mb-bench]
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=1000000; DIM=64; RUNS=3; OUT=/tmp/mb-bench
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) ROWS=$2; shift 2 ;;
    --dim) DIM=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "bench_minibatch: unknown option $1" >&2; exit 2 ;;
  esac
done
cargo build --release --quiet --bin aeclust-cluster --bin aeclust-evaluate
cargo run --release --quiet -p aeclust-cluster --example mixture_codes -- "$OUT/codes" "$ROWS" "$DIM" 20
BIN=target/release
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
for what in full mini-batch; do
  extra=(); [ "$what" = mini-batch ] && extra=(--batch-size 10000 --n-init 3)
  for r in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %M" -o "$OUT/time-$what-$r" "$BIN/aeclust-cluster" --features "$OUT/codes" \
      --out "$OUT/$what" --method kmeans --k 20 --seed 72 "${extra[@]}" --force >/dev/null
  done
done
"$BIN/aeclust-evaluate" --out "$OUT/report" --no-assignments --force "$OUT/full" "$OUT/mini-batch" >/dev/null
python3 - "$OUT" "$RUNS" "$ROWS" <<'PY'
import json, statistics, sys
out, runs, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
report = json.load(open(f"{out}/report/report.json"))
print("| K-Means | median wall s | peak RSS MiB | objective per row | train ACC |")
print("|---|---|---|---|---|")
for what in ("full", "mini-batch"):
    t = [open(f"{out}/time-{what}-{r}").read().split() for r in range(1, runs + 1)]
    info = json.load(open(f"{out}/{what}/manifest.json"))["info"]
    acc = next(g for g in report["groups"] if g["name"] == what)["train_acc"]["mean"]
    print(f"| {what} | {statistics.median(float(x[0]) for x in t):.2f} | "
          f"{statistics.median(int(x[1]) for x in t) / 1024:.0f} | "
          f"{info['result']['inertia'] / rows:.4f} | {acc:.4f} |")
PY
