#!/usr/bin/env bash
# Runs the confident-learning bench (ours and cleanlab 2.9.0 on the same arrays), with
# cleanlab in a venv outside the repository (see cleanlab-venv.sh).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/cleanlab-venv.sh"
cd "$root"
cargo bench --no-default-features --bench issues
