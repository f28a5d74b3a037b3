#!/usr/bin/env bash
# The app's memory in a real window, nothing subtracted: the resident size (VmRSS) of the
# `mask-curator` process at start, and after paging the people grid of a 4,500-person
# dataset from top to bottom twice, plus its peak (VmHWM). Without a display it starts
# Xvfb (the window then renders with Mesa's software GL, whose textures live in the
# process: more than a GPU driver would keep there).
#   APP_MEMORY_PEOPLE=4500            people in the generated dataset
#   APP_MEMORY_DATA=DIR               where it is generated (reused when present)
#   APP_MEMORY_PAGES=400              Page Down presses per pass (past the end is a no-op)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
people="${APP_MEMORY_PEOPLE:-4500}"
data="${APP_MEMORY_DATA:-${XDG_CACHE_HOME:-$HOME/.cache}/mask-curator/app-memory-$people}"
pages="${APP_MEMORY_PAGES:-400}"
for tool in xdotool; do
  command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install $tool)" >&2; exit 1; }
done

cargo build --release -p mask-curator
bin="$root/target/release/mask-curator"
if [ ! -f "$data/train/train.csv" ]; then
  echo "generating $people people into $data"
  rm -rf "$data"
  mkdir -p "$(dirname "$data")"
  "$bin" demo-data --people "$people" --out "$data" >/dev/null
fi

xvfb_pid=""
cleanup() {
  [ -n "${app_pid:-}" ] && kill "$app_pid" 2>/dev/null || true
  [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null || true
}
trap cleanup EXIT
if [ -z "${DISPLAY:-}" ]; then
  command -v Xvfb >/dev/null || { echo "needs Xvfb (apt-get install xvfb)" >&2; exit 1; }
  display=":$((90 + RANDOM % 100))"
  Xvfb "$display" -screen 0 1600x1000x24 >/dev/null 2>&1 &
  xvfb_pid=$!
  export DISPLAY="$display"
  sleep 1
fi

mib() { awk -v k="$1" 'BEGIN { printf "%.0f MB", k / 1024 }'; }
field() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$app_pid/status"; }
report() { echo "  $1: resident $(mib "$(field VmRSS)") (peak so far $(mib "$(field VmHWM)"))"; }

# A fresh app state, so the window opens on this dataset's overview at its default size.
export XDG_DATA_HOME="$(mktemp -d)"
"$bin" "$data" >/dev/null 2>&1 &
app_pid=$!
window=""
for _ in $(seq 1 120); do
  window="$(xdotool search --pid "$app_pid" 2>/dev/null | tail -n1 || true)"
  [ -n "$window" ] && break
  sleep 0.5
done
[ -n "$window" ] || { echo "the app's window did not appear" >&2; exit 1; }
sleep 5
echo "app memory: $people people x 7 photos, $(xdotool getwindowgeometry "$window" | awk '/Geometry/ { print $2 }') window"
report "at start (overview shown)"
xdotool windowactivate --sync "$window" 2>/dev/null || xdotool windowfocus "$window"
xdotool key --window "$window" F3
sleep 2
report "people grid shown"
for pass in 1 2; do
  xdotool key --window "$window" Home
  xdotool key --window "$window" --delay 25 --repeat "$pages" Next
  sleep 3
  report "after paging through all $people people (pass $pass)"
done
