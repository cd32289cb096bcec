#!/usr/bin/env bash
# Training throughput of the default (paper) autoencoder on the full 60,000 training
# images: samples/s per epoch (median over epochs and runs) and peak memory.
# --vs-keras also trains the same model with Keras 3 on JAX (CPU, scripts/bench_keras.py,
# the .venv of scripts/python-env.sh plus keras and jax[cpu]) in alternating runs with the
# same threads, batch and rows, and prints both, their ratio, the CPU and its vector
# extensions, and the f32 matmul rates of candle and numpy on the model's shapes.
#
# --openblas also times aeclust-train built with the `openblas` feature (matrix products
# through the system's OpenBLAS; installs libopenblas-dev when root and it is missing),
# in the same alternating runs.
#
#   scripts/bench_train.sh [--epochs N] [--runs N] [--threads N] [--data DIR] [--vs-keras] [--openblas]
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=2; RUNS=3; THREADS=2; DATA=/usr/share/datasets/fashion-mnist; KERAS=; OPENBLAS=
while [ $# -gt 0 ]; do
  case "$1" in
    --epochs) EPOCHS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    --vs-keras) KERAS=1; shift ;;
    --openblas) OPENBLAS=1; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
cargo build --release --quiet --bins
B=target/release
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
"$B/aeclust-dataset" --source "$DATA" --out "$OUT/dataset" >/dev/null
if [ -n "$KERAS" ]; then
  [ -x .venv/bin/python ] || bash scripts/python-env.sh
  .venv/bin/pip install --quiet "keras>=3" "jax[cpu]"
  cargo build --release --quiet -p aeclust-encoder-dense --example matmul_rate
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); vector: $(grep -m1 -o -w -E 'avx2|fma|avx512f|avx512_bf16|avx512_fp16|amx_tile' /proc/cpuinfo | sort -u | xargs)"
fi
# Keras/XLA on THREADS cores: pinned, one intra-op pool of that size.
keras_run() {
  XLA_FLAGS="--xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads=$THREADS" \
    taskset -c "0-$((THREADS - 1))" .venv/bin/python scripts/bench_keras.py "$OUT/dataset" --epochs "$((EPOCHS + 1))"
}
if [ -n "$OPENBLAS" ]; then
  if [ ! -e /usr/lib/x86_64-linux-gnu/libopenblas.so ] && [ "$(id -u)" = 0 ]; then
    apt-get install -y -qq libopenblas-dev >/dev/null
  fi
  CARGO_TARGET_DIR=target/openblas cargo build --release --quiet -p aeclust-encoder-dense --features openblas --bins
  [ -z "$KERAS" ] || CARGO_TARGET_DIR=target/openblas cargo build --release --quiet -p aeclust-encoder-dense --features openblas --example matmul_rate
fi
# Median epoch speed of one aeclust-train binary's run, appended to the named array.
train_run() {
  local bin=$1
  /usr/bin/time -f "%M" -o "$OUT/rss" "$bin" --data "$OUT/dataset" --out "$OUT/model" \
    --epochs "$EPOCHS" --threads "$THREADS" --force > "$OUT/log"
  grep '^epoch' "$OUT/log" | grep -o '[0-9]* samples/s' | awk '{print $1}'
}
speeds=()
keras_speeds=()
blas_speeds=()
for run in $(seq "$RUNS"); do
  /usr/bin/time -f "%M" -o "$OUT/rss" "$B/aeclust-train" --data "$OUT/dataset" --out "$OUT/model" \
    --epochs "$EPOCHS" --threads "$THREADS" --force > "$OUT/log"
  epoch_speeds=$(grep '^epoch' "$OUT/log" | grep -o '[0-9]* samples/s' | awk '{print $1}')
  while read -r s; do speeds+=("$s"); done <<< "$epoch_speeds"
  echo "run $run: epochs at $(echo $epoch_speeds) samples/s, peak RSS $(( $(cat "$OUT/rss") / 1024 )) MiB"
  if [ -n "$OPENBLAS" ]; then
    blas_epochs=$(train_run target/openblas/release/aeclust-train)
    while read -r s; do blas_speeds+=("$s"); done <<< "$blas_epochs"
    echo "run $run (openblas): epochs at $(echo $blas_epochs) samples/s, peak RSS $(( $(cat "$OUT/rss") / 1024 )) MiB, $(grep '^epoch' "$OUT/log" | tail -1 | grep -o 'validation loss [0-9.]*')"
  fi
  if [ -n "$KERAS" ]; then
    keras_run > "$OUT/keras" 2>&1 || { cat "$OUT/keras"; exit 1; }
    k=$(grep 'keras median' "$OUT/keras" | grep -o '[0-9]*$')
    keras_speeds+=("$k")
    echo "run $run: $(grep 'keras epochs' "$OUT/keras")"
  fi
done
median=$(printf '%s\n' "${speeds[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "train: median $median samples/s over ${#speeds[@]} epochs ($RUNS runs x $EPOCHS epochs, $THREADS threads, batch 256, 784-900-480-240-120 + mirror)"
if [ -n "$OPENBLAS" ]; then
  bmed=$(printf '%s\n' "${blas_speeds[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "train (openblas): median $bmed samples/s over ${#blas_speeds[@]} epochs; openblas / default: $(echo "scale=3; $bmed / $median" | bc)"
fi
if [ -n "$KERAS" ]; then
  kmed=$(printf '%s\n' "${keras_speeds[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  grep '^keras ' "$OUT/keras" | head -1
  echo "keras: median $kmed samples/s over $RUNS runs (epochs after the first, $THREADS threads)"
  echo "ratio aeclust / keras: $(echo "scale=3; $median / $kmed" | bc)"
  if [ -n "$OPENBLAS" ]; then
    echo "ratio aeclust (openblas) / keras: $(echo "scale=3; $bmed / $kmed" | bc)"
  fi
  # 15.4 MFLOP per sample is forward + full backward; the step skips the first layer's
  # input gradient (1.4 MFLOP), so it computes 14.0.
  echo "training rate: 14.0 MFLOP per sample computed (15.4 with the data's gradient) x $median samples/s = $(echo "scale=1; $median * 14.0 / 1000" | bc) GFLOP/s"
  # Encoding all 70,000 images (train and test) with the last run's model: the whole
  # aeclust-encode process (reading the artifacts, writing and hashing the codes).
  encode_run() {
    local bin=$1 times=()
    for _ in 1 2 3; do
      local t0; t0=$(date +%s.%N)
      "$bin" --model "$OUT/model" --data "$OUT/dataset" --out "$OUT/codes" --threads "$THREADS" --force >/dev/null
      times+=("$(echo "$(date +%s.%N) - $t0" | bc)")
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[2]}'
  }
  echo "encode 70000 images (whole aeclust-encode run, median of 3): $(encode_run "$B/aeclust-encode") s; openblas build: $([ -n "$OPENBLAS" ] && encode_run target/openblas/release/aeclust-encode || echo -) s"
  grep 'keras predict' "$OUT/keras"
  target/release/examples/matmul_rate
  if [ -n "$OPENBLAS" ]; then
    echo "training rate (openblas): 14.0 MFLOP x $bmed samples/s = $(echo "scale=1; $bmed * 14.0 / 1000" | bc) GFLOP/s"
    target/openblas/release/examples/matmul_rate | tail -1
  fi
  grep 'numpy f32 matmul' "$OUT/keras"
fi
