#!/usr/bin/env bash
# The app's memory in a real window, nothing subtracted: the resident size (VmRSS) of the
# `mask-curator` process at start, and after paging the people grid of a 4,500-person
# dataset from top to bottom twice, plus its peak (VmHWM). Without a display it starts
# Xvfb (the window then renders with Mesa's software GL, whose textures live in the
# process: more than a GPU driver would keep there).
#   APP_MEMORY_PEOPLE=4500            people in the dataset
#   APP_MEMORY_DATA=DIR               where it is built (reused when present)
#   APP_MEMORY_SOURCE=DIR             a demo dataset whose photos are reused (default: a
#                                     300-person one generated beside APP_MEMORY_DATA)
# The 4,500 people are built from the source's photos by hard links (real 384x512
# JPEGs and PNGs, each path decoded and cached on its own): generating 31,500 photos
# would take most of an hour on two cores.
#   APP_MEMORY_PAGES=400              Page Down presses per pass (past the end is a no-op)
#   APP_MEMORY_SCREENSHOT=FILE.png    the window after the last pass (ImageMagick's import)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
people="${APP_MEMORY_PEOPLE:-4500}"
data="${APP_MEMORY_DATA:-${XDG_CACHE_HOME:-$HOME/.cache}/mask-curator/app-memory-$people}"
pages="${APP_MEMORY_PAGES:-400}"
for tool in xdotool; do
  command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install $tool)" >&2; exit 1; }
done

# The same build as scripts/demo.sh (both packages: one feature set, one set of artefacts).
cargo build --release --workspace
bin="$root/target/release/mask-curator"
source_dir="${APP_MEMORY_SOURCE:-$data-source}"
if [ ! -f "$source_dir/train/train.csv" ]; then
  echo "generating a 300-person demo into $source_dir"
  rm -rf "$source_dir"
  mkdir -p "$(dirname "$source_dir")"
  "$bin" demo-data --people 300 --out "$source_dir" >/dev/null
fi
if [ ! -f "$data/train/train.csv" ]; then
  echo "building $people people into $data from the photos of $source_dir"
  rm -rf "$data"
  python3 - "$source_dir" "$data" "$people" <<'PY'
import csv, os, sys
source, out, people = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(os.path.join(source, "train", "train.csv"), newline="") as f:
    rows = list(csv.DictReader(f))
os.makedirs(os.path.join(out, "train", "images"))
with open(os.path.join(out, "train", "train.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["id", "gender", "race", "age", "path"])
    for i in range(people):
        src = rows[i % len(rows)]
        pid = f"{i + 1:06d}"
        folder = f"{pid}_{src['gender']}_Asian_{src['age']}"
        w.writerow([pid, src["gender"], "Asian", src["age"], folder])
        from_dir = os.path.join(source, "train", "images", src["path"])
        to_dir = os.path.join(out, "train", "images", folder)
        os.makedirs(to_dir)
        for name in os.listdir(from_dir):
            os.link(os.path.join(from_dir, name), os.path.join(to_dir, name))
PY
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
report() {
  echo "  $1: resident $(mib "$(field VmRSS)") = $(mib "$(field RssAnon)") private + $(mib "$(field RssFile)") files + $(mib "$(field RssShmem)") shared memory (peak so far $(mib "$(field VmHWM)"))"
}

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
if [ -n "${APP_MEMORY_SCREENSHOT:-}" ]; then
  import -window "$window" "$APP_MEMORY_SCREENSHOT"
fi
