#!/usr/bin/env bash
# Runs the confident-learning bench (ours and cleanlab 2.9.0 on the same arrays).
# Installs cleanlab into a venv outside the repository first when it is missing.
#   MASK_CURATOR_CLEANLAB_VENV=DIR   venv location (default ~/.cache/mask-curator/cleanlab-venv)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${MASK_CURATOR_CLEANLAB_VENV:-$HOME/.cache/mask-curator/cleanlab-venv}"
if ! "$venv/bin/python" -c 'import cleanlab, numpy; assert cleanlab.__version__ == "2.9.0"' 2>/dev/null; then
  echo "[bench] installing cleanlab 2.9.0 into $venv"
  mkdir -p "$(dirname "$venv")"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --progress-bar off "cleanlab==2.9.0" numpy
fi
cd "$root"
MASK_CURATOR_CLEANLAB_VENV="$venv" cargo bench --no-default-features --bench issues
