#!/usr/bin/env bash
# Sets everything up, then opens the app on the demo dataset (generated on first use).
# Without a display it prints a summary of the dataset instead.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
cd "$root"
# Both binaries: the app and the training worker it runs beside it.
cargo build --release --workspace
exec ./target/release/mask-curator open --demo "$@"
