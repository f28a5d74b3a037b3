#!/usr/bin/env bash
# Train the folds of one run on several machines with a Slurm job array, then assemble.
#
#   RUN=/shared/data/.mask-curator/runs/20260101-120000-efficientnet_b3
#   sbatch --array=0-4 docs/slurm-folds.sh /shared/data "$RUN" my-recipe.json
#   # when all array tasks are done:
#   mask-curator train /shared/data --assemble "$RUN"
#
# Every task writes only its own fold files (fold<k>.*, metrics_fold<k>.jsonl,
# val_*_fold<k>.*, eval_probs_fold<k>.npy) into the shared run folder; config.json and
# split.csv are identical whichever task writes them (the split is seeded). The task that
# finishes last assembles the out-of-fold files by itself; --assemble is then a no-op
# check, and the way to finish a run whose tasks were retried out of order.
#SBATCH --job-name=mask-curator-fold
#SBATCH --gres=gpu:1
#SBATCH --cpus-per-task=8
#SBATCH --mem=32G
#SBATCH --time=08:00:00
#SBATCH --output=fold-%a.log
set -euo pipefail
data="$1"
run="$2"
config="${3:-}"
args=(train "$data" --run-dir "$run" --fold "${SLURM_ARRAY_TASK_ID}" --device auto)
[ -n "$config" ] && args+=(--config "$config")
# The folds of a run must agree on the recipe: the first task writes config.json, later
# tasks reuse the run folder's config.json.
exec mask-curator "${args[@]}"
