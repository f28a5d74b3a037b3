# Sourced by the benches that measure cleanlab 2.9.0 beside us (bench-issues.sh,
# bench-embeddings.sh): makes sure a venv outside the repository has cleanlab, numpy and
# scikit-learn, installing them when missing, and exports its location.
#   MASK_CURATOR_CLEANLAB_VENV=DIR   venv location (default ~/.cache/mask-curator/cleanlab-venv)
venv="${MASK_CURATOR_CLEANLAB_VENV:-$HOME/.cache/mask-curator/cleanlab-venv}"
if ! "$venv/bin/python" -c 'import cleanlab, numpy, sklearn; assert cleanlab.__version__ == "2.9.0"' 2>/dev/null; then
  echo "[bench] installing cleanlab 2.9.0 and scikit-learn into $venv"
  mkdir -p "$(dirname "$venv")"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --progress-bar off "cleanlab==2.9.0" numpy scikit-learn
fi
export MASK_CURATOR_CLEANLAB_VENV="$venv"
