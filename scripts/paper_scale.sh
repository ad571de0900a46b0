#!/usr/bin/env bash
# The paper-scale runs of the book, one `eicore run` per experiment, into the result store
# that comes with the book (book/results): exactly the selections the chapters' sections
# "At the paper's scale" read. Each command skips what the store already holds and resumes
# interrupted tasks from their checkpoints, so the script can be stopped and started again
# at any time. Cheap experiments come first.
#
#   bash scripts/paper_scale.sh [options of `eicore run`]
#
# e.g. `bash scripts/paper_scale.sh --no-progress`; on a GPU `--backend cupy`. To use N
# cores, start it N times with `--no-wait`: each process takes tasks nobody else runs and
# leaves the held ones to their holder (the store's locks).
#   for i in 1 2; do nohup nice bash scripts/paper_scale.sh --no-wait --no-progress \
#       > paper_scale.$i.log 2>&1 & done
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
EICORE=${EICORE:-eicore}
failed=0

run() {  # run NAME SCALE [selection...]: one experiment; a failure does not stop the list
  local name=$1 scale=$2
  shift 2
  echo "== $(date '+%F %T') $name [$scale] $*"
  "$EICORE" run "$name" --scale "$scale" "$@" --store book/results --keep-going \
    "${OPTIONS[@]}" || failed=1
}

OPTIONS=("$@")
# Part III, Rossbroich & Zenke (2023)
run disinhibition.alignment full
run disinhibition.fig4_student_teacher full
run disinhibition.table1 full --seeds 0
run disinhibition.table1 full --seeds 1-2 --only dataset=mnist --only hidden=1
# Part I, Mackwood et al. (2021)
run assemblies.perturb full
run assemblies.train_local full
# Part II, Mikulasch et al. (2021)
run dendritic.figS3_variants full
run dendritic.fig6b_delays full
run dendritic.fig4b_bars full --seeds 0-2
run dendritic.fig6a_scenes_delays reduced
run dendritic.fig3_mnist full
run dendritic.figS2_variants full
run dendritic.fig5_scenes reduced
run dendritic.figS2_rate_control full
# the longest: the gradient rules, one task per condition (about 3 CPU hours each)
run assemblies.train_gradient full --batch 1
exit $failed
