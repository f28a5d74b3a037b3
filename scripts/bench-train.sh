#!/usr/bin/env bash
# Runs the training-throughput bench: ours and PyTorch (DataLoader, 2 workers) on the same
# JPEGs, model, batch and input size. The PyTorch side uses the project's torch venv
# (scripts/setup.sh) with Pillow added to it when missing.
#   BENCH_PHOTOS=N BENCH_EPOCHS=E BENCH_BATCH=B BENCH_WORKERS=W   (see benches/train.rs)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
./scripts/setup.sh
python="${MASK_CURATOR_PYTHON:-$root/.venv/bin/python}"
if ! "$python" -c 'import PIL' 2>/dev/null; then
  echo "[bench] installing Pillow next to torch ($python)"
  "$python" -m pip install --quiet --progress-bar off pillow
fi
MASK_CURATOR_PYTHON="$python" cargo bench --bench train
