#!/usr/bin/env bash
# Sets up everything mask-curator needs on a Debian/Ubuntu machine with Rust and Python 3.
# Idempotent: each step checks first and skips what is already there.
#
#   MASK_CURATOR_LIBTORCH=DIR   use this torch 2.13.0 directory (contains lib/ and include/)
#   MASK_CURATOR_CACHE=DIR      where the shared libtorch venv lives
#                               (default: ${XDG_CACHE_HOME:-~/.cache}/mask-curator)
set -euo pipefail

TORCH_VERSION=2.13.0
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
say() { printf '[setup] %s\n' "$*"; }

# --- system libraries: windowing/GL at run time, Xvfb + Mesa for the GUI tests ----------
apt_packages=(libxkbcommon-x11-0 libxkbcommon0 libgl1 libegl1 libgl1-mesa-dri
  mesa-vulkan-drivers libvulkan1 xvfb xauth libxcursor1 libxrandr2 libxi6 libx11-xcb1
  fonts-dejavu-core pkg-config)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  say "installing system packages: ${missing[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# --- libtorch 2.13.0 ----------------------------------------------------------------------
torch_ok() { # $1: a torch directory
  [ -f "$1/lib/libtorch.so" ] && [ -d "$1/include" ] &&
    grep -q "__version__ = '${TORCH_VERSION}" "$1/version.py" 2>/dev/null
}
libtorch=""
if [ -n "${MASK_CURATOR_LIBTORCH:-}" ]; then
  torch_ok "$MASK_CURATOR_LIBTORCH" || {
    echo "MASK_CURATOR_LIBTORCH=$MASK_CURATOR_LIBTORCH is not a torch ${TORCH_VERSION} directory" >&2
    exit 1
  }
  libtorch="$(cd "$MASK_CURATOR_LIBTORCH" && pwd)"
else
  cache="${MASK_CURATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mask-curator}/torch-${TORCH_VERSION}"
  venv="$cache/venv"
  site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' 2>/dev/null || true)"
  if [ -z "$site" ] || ! torch_ok "$site/torch"; then
    say "installing torch ${TORCH_VERSION} into $venv (once per machine, about 4.7 GB)"
    mkdir -p "$cache"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --progress-bar off "torch==${TORCH_VERSION}"
    site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  fi
  torch_ok "$site/torch" || { echo "torch ${TORCH_VERSION} install in $venv is broken" >&2; exit 1; }
  libtorch="$site/torch"
  ln -sfn "$venv" .venv
fi
if [ "$(readlink .libtorch 2>/dev/null)" != "$libtorch" ]; then
  ln -sfn "$libtorch" .libtorch
  say "linked .libtorch -> $libtorch"
fi

# --- Rust components ----------------------------------------------------------------------
if command -v rustup >/dev/null 2>&1; then
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt >/dev/null 2>&1 || true
fi
say "ready (libtorch: $libtorch)"
