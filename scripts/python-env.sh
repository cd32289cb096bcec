#!/usr/bin/env bash
# Makes .venv with what the helper scripts use (numpy, safetensors, scikit-learn).
# aeclust itself does not need Python; only the comparison and verification scripts do.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install --quiet numpy safetensors scikit-learn
.venv/bin/python -c "import numpy, safetensors, sklearn; print('venv ready: numpy', numpy.__version__, 'scikit-learn', sklearn.__version__)"
