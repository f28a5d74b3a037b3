#!/usr/bin/env bash
# Photo checks beside cleanvision on the same photos, in one run: generates the demo
# dataset (PEOPLE people, default 300), plants six photo defects whose answers are known
# (dark, overexposed, blurred, grayscale, a photo filed again under another person at
# another JPEG quality, a normal file copied over the incorrect_mask slot), then runs
# `mask-curator check-photos` and cleanvision 0.3.7 (default issue types) on the training
# photos and prints, per kind, what each flagged and how long each took.
# cleanvision goes into a venv under ~/.cache/mask-curator/ (pip, the first time only).
set -euo pipefail
export TQDM_DISABLE=1
here=$(cd "$(dirname "$0")/.." && pwd)
people=${PEOPLE:-300}
work=$(mktemp -d)
# KEEP=1 leaves the doctored dataset and both outputs for a look.
if [ "${KEEP:-0}" = 1 ]; then echo "work folder: $work"; else trap 'rm -rf "$work"' EXIT; fi
venv=${CLEANVISION_VENV:-$HOME/.cache/mask-curator/cleanvision-venv}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "cleanvision==0.3.7"
fi
(cd "$here" && cargo build -q --release -p mask-curator --no-default-features)
bin="$here/target/release/mask-curator"
"$bin" demo-data --people "$people" --clean-photos --out "$work/demo" > /dev/null
"$venv/bin/python" - "$work/demo" "$work/planted.csv" <<'PY'
import csv, glob, os, sys
from PIL import Image, ImageFilter, ImageOps
root, out = sys.argv[1], sys.argv[2]
people = sorted(d for d in glob.glob(f"{root}/train/images/*") if os.path.isdir(d))
def jpgs(d):
    return all(os.path.exists(f"{d}/{s}.jpg") for s in ["mask1","mask2","mask3","mask4","mask5","incorrect_mask","normal"])
ok = [d for d in people if jpgs(d)]
a, b, c, d, e, f, g = ok[3], ok[10], ok[17], ok[24], ok[31], ok[38], ok[45]
rel = lambda p: os.path.relpath(p, root)
planted = []
def redo(path, fn, kind):
    im = Image.open(path).convert("RGB"); fn(im).save(path, quality=90); planted.append((rel(path), kind))
redo(f"{a}/mask3.jpg", lambda im: im.point(lambda v: int(v * 0.15)), "dark")
redo(f"{b}/mask1.jpg", lambda im: im.point(lambda v: 255 - int((255 - v) * 0.05)), "light")
redo(f"{c}/mask4.jpg", lambda im: im.filter(ImageFilter.GaussianBlur(6)), "blurry")
redo(f"{d}/normal.jpg", lambda im: ImageOps.grayscale(im).convert("RGB"), "grayscale")
Image.open(f"{e}/mask2.jpg").convert("RGB").save(f"{f}/mask2.jpg", quality=70)
planted += [(rel(f"{e}/mask2.jpg"), "near_duplicate"), (rel(f"{f}/mask2.jpg"), "near_duplicate")]
with open(f"{g}/normal.jpg", "rb") as src, open(f"{g}/incorrect_mask.jpg", "wb") as dst:
    dst.write(src.read())
planted += [(rel(f"{g}/normal.jpg"), "exact_duplicate"), (rel(f"{g}/incorrect_mask.jpg"), "exact_duplicate")]
with open(out, "w", newline="") as fh:
    csv.writer(fh).writerows(planted)
PY
start=$(date +%s.%N)
"$bin" check-photos "$work/demo" --out "$work/ours.csv" --limit 0 > /dev/null
ours_secs=$(echo "$(date +%s.%N) - $start" | bc)
"$venv/bin/python" - "$work/demo" "$work/planted.csv" "$work/ours.csv" "$ours_secs" <<'PY'
import csv, glob, os, sys, time, collections
root, planted_csv, ours_csv, ours_secs = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
from cleanvision import Imagelab
planted = collections.defaultdict(set)
for path, kind in csv.reader(open(planted_csv)):
    planted[kind].add(path)
ours = collections.defaultdict(set)
for row in csv.DictReader(open(ours_csv)):
    ours[row["check"]].add(row["path"])
paths = sorted(p for p in glob.glob(f"{root}/train/images/*/*") if not os.path.basename(p).startswith("._"))
t = time.time()
lab = Imagelab(filepaths=paths)
lab.find_issues(verbose=False)
lab.issues.to_csv(os.path.join(os.path.dirname(ours_csv), "cleanvision.csv"))
cv_secs = time.time() - t
issues = lab.issues
theirs = collections.defaultdict(set)
names = {"dark": "dark", "light": "light", "blurry": "blurry", "low_information": "low_information",
         "grayscale": "grayscale", "odd_aspect_ratio": "odd_aspect_ratio", "odd_size": "odd_size",
         "exact_duplicates": "exact_duplicate", "near_duplicates": "near_duplicate"}
for cv, ours_name in names.items():
    col = f"is_{cv}_issue"
    if col in issues:
        for p in issues.index[issues[col]]:
            theirs[ours_name].add(os.path.relpath(p, root))
print(f"{len(paths)} photos; planted defects: {sum(len(v) for v in planted.values())} photos")
print(f"{'check':<17} {'planted':>7} | {'ours: flagged':>13} {'planted found':>13} | {'cleanvision: flagged':>20} {'planted found':>13}")
for kind in ["dark", "light", "blurry", "low_information", "grayscale", "odd_aspect_ratio", "odd_size", "exact_duplicate", "near_duplicate"]:
    p = planted.get(kind, set())
    print(f"{kind:<17} {len(p):>7} | {len(ours[kind]):>13} {len(ours[kind] & p):>13} | {len(theirs[kind]):>20} {len(theirs[kind] & p):>13}")
sets = lab.info.get("near_duplicates", {}).get("sets", [])
within = sum(1 for s in sets if len({os.path.dirname(x) for x in s}) == 1)
print(f"cleanvision near-duplicate sets: {len(sets)}, of them inside one person: {within}")
print(f"wall time: ours {ours_secs:.1f} s (check-photos, first run, all cores), cleanvision {cv_secs:.1f} s")
PY
