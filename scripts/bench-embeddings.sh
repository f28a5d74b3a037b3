#!/usr/bin/env bash
# Runs the embeddings bench (ours and cleanlab 2.9.0's OutOfDistribution on the same
# features). Installs cleanlab and scikit-learn into a venv outside the repository first
# when they are missing.
#   MASK_CURATOR_CLEANLAB_VENV=DIR   venv location (default ~/.cache/mask-curator/cleanlab-venv)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${MASK_CURATOR_CLEANLAB_VENV:-$HOME/.cache/mask-curator/cleanlab-venv}"
if ! "$venv/bin/python" -c 'import cleanlab, numpy, sklearn; assert cleanlab.__version__ == "2.9.0"' 2>/dev/null; then
  echo "[bench] installing cleanlab 2.9.0 and scikit-learn into $venv"
  mkdir -p "$(dirname "$venv")"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --progress-bar off "cleanlab==2.9.0" numpy scikit-learn
fi
cd "$root"
MASK_CURATOR_CLEANLAB_VENV="$venv" cargo bench --no-default-features --bench embeddings
