#!/usr/bin/env bash
# Sets everything up, then runs every check and test: formatting, clippy, the pure core
# without GUI/torch, and the whole suite (GUI tests under Xvfb when there is no display).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
cd "$root"

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy (the app, the worker, all targets)"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo clippy (pure core and command line, no GUI; no torch in this package)"
cargo clippy -p mask-curator --no-default-features --all-targets -- -D warnings

# Bench targets are built here and run with `cargo bench`, never as tests.
# --workspace builds the worker (mask-curator-ml) that the app's and the CLI's training
# tests run as a child process.
run_tests() { cargo build --workspace --benches && cargo test --workspace --no-fail-fast --lib --bins --tests "$@"; }
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && command -v xvfb-run >/dev/null 2>&1; then
  echo "== cargo test (under xvfb-run)"
  xvfb-run -a -s "-screen 0 1600x1000x24" bash -c "$(declare -f run_tests); run_tests"
else
  echo "== cargo test"
  run_tests
fi
echo "== doc tests"
cargo test --workspace --doc
