#!/usr/bin/env bash
# Makes .venv with what the helper scripts use (numpy, safetensors, scikit-learn, Pillow,
# umap-learn for the manifold comparison).
# aeclust itself does not need Python; only the comparison and verification scripts do.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install --quiet numpy safetensors scikit-learn umap-learn pillow pypng
.venv/bin/python -c "import numpy, safetensors, sklearn, umap; print('venv ready: numpy', numpy.__version__, 'scikit-learn', sklearn.__version__, 'umap-learn', umap.__version__)"
