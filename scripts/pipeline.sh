#!/usr/bin/env bash
# aeclust pipeline: dataset -> (train -> encode) -> cluster -> evaluate, on the real
# Fashion-MNIST by default. Every stage is cached; a rerun with nothing changed reuses all.
#
#   scripts/pipeline.sh [--data DIR] [--out DIR] [--epochs N] [--seed N] [--seeds 72,1,2]
set -euo pipefail
cd "$(dirname "$0")/.."

DATA=/usr/share/datasets/fashion-mnist
OUT=artifacts
while [ $# -gt 0 ]; do
  case "$1" in
    --data) DATA=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done

ensure_data() {
  [ -d "$DATA" ] && return 0
  if [ "$DATA" = /usr/share/datasets/fashion-mnist ] && command -v apt-get >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
      echo "pipeline: Fashion-MNIST is missing; installing the Debian package dataset-fashion-mnist"
      apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist
      return 0
    fi
  fi
  echo "pipeline: no data in $DATA." >&2
  echo "  Install it: sudo apt-get update && sudo apt-get install -y dataset-fashion-mnist" >&2
  echo "  or pass --data DIR with the four Fashion-MNIST IDX files." >&2
  exit 1
}

ensure_data
echo "pipeline: building release binaries (first time: a few minutes)"
cargo build --release --quiet --bins
BIN=target/release

"$BIN/aeclust-dataset" --source "$DATA" --out "$OUT/dataset"
