#!/usr/bin/env bash
# Issue detection measured on simulated runs: the placeholder tree of the real layout
# (../shared/real-layout, 2,700 people), several seeds and model strengths, one markdown
# table (likely tier, cleanlab's image level in brackets).
#   scripts/simulate-figures.sh [WORK_DIR] [SEEDS] [STRENGTHS] [PERSON_SHARES]
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
      run="$work/runs/$strength-$share-$seed"
      "$bin" "${sim[@]}" --out "$run" >&2
      args=(evaluate-issues --data "$tree" --run "$run" --table --label "$label")
      [ $header = 1 ] || args+=(--no-header)
      "$bin" "${args[@]}" 2>/dev/null
      header=0
    done
  done
done
