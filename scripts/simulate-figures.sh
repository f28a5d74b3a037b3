#!/usr/bin/env bash
# Issue detection measured on simulated runs: the placeholder tree of the real layout
# (../shared/real-layout, 2,700 people), several seeds and model strengths, one markdown
# table (likely tier, cleanlab's image level in brackets).
#   [PEOPLE=N] scripts/simulate-figures.sh [WORK_DIR] [SEEDS] [STRENGTHS] [PERSON_SHARES]
# PERSON_SHARES (e.g. "0.3 0.5 0.7") overrides the share of the model's error common to a
# person's photos (`simulate --person-share`); by default each strength keeps its own.
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-$(mktemp -d)}"
seeds="${2:-1 2 3}"
strengths="${3:-realistic strong}"
shares="${4:-default}"
layout="../shared/real-layout/train.csv"
[ -f "$layout" ] || { echo "no $layout: nothing to measure" >&2; exit 1; }
cargo build -p mask-curator --no-default-features --quiet
bin="${CARGO_TARGET_DIR:-target}/debug/mask-curator"
tree="$work/real"
# PEOPLE=N (more than the layout's 2,700): the real rows, then rows drawn from them in a
# fixed order under new ids, so the ages and genders keep the real mix at N people.
if [ -n "${PEOPLE:-}" ]; then
  mkdir -p "$work/people-$PEOPLE"
  awk -F, -v n="$PEOPLE" 'NR == 1 { print; next } { row[++m] = $0; print }
    END { for (k = m + 1; k <= n; k++) {
      split(row[(k * 7919) % m + 1], f, ","); id = sprintf("%06d", 10000 + k)
      print id "," f[2] "," f[3] "," f[4] "," id "_" f[2] "_" f[3] "_" f[4] } }' \
    "$layout" > "$work/people-$PEOPLE/train.csv"
  # The real rows keep their real file names; the drawn ones get .jpg.
  cp "$(dirname "$layout")/train_images.csv" "$work/people-$PEOPLE/" 2>/dev/null || true
  layout="$work/people-$PEOPLE/train.csv"
  tree="$work/real-$PEOPLE"
fi
[ -d "$tree/train" ] || "$bin" demo-data --layout-from "$layout" --out "$tree" >&2
header=1
for strength in $strengths; do
  for share in $shares; do
    for seed in $seeds; do
      sim=(simulate --data "$tree" --strength "$strength" --seed "$seed")
      label="$strength, seed $seed"
      if [ "$share" != default ]; then
        sim+=(--person-share "$share")
        label="$strength, person share $share, seed $seed"
      fi
      [ -z "${PEOPLE:-}" ] || label="$PEOPLE people, $label"
      run="$work/runs/${PEOPLE:-2700}-$strength-$share-$seed"
      "$bin" "${sim[@]}" --out "$run" >&2
      args=(evaluate-issues --data "$tree" --run "$run" --table --label "$label")
      [ $header = 1 ] || args+=(--no-header)
      "$bin" "${args[@]}" 2>/dev/null
      header=0
    done
  done
done
