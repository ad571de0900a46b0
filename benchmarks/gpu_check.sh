#!/usr/bin/env bash
# One-shot check of eicore on a CUDA GPU (CUDA 12): install the `gpu` extra, run the unit
# tests with CuPy, execute every chapter at ci scale on CuPy (checks cells included),
# compare the numbers they print with the stored NumPy outputs, and time the three models
# at GPU batch sizes. Meant to finish well inside 10 minutes on a current data-centre GPU.
#
#   bash benchmarks/gpu_check.sh            (results in benchmarks/results/gpu/)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=${OUT:-benchmarks/results/gpu}
mkdir -p "$OUT/chapters"
export EICORE_DATA=${EICORE_DATA:-$PWD/../shared/data} EICORE_SCALE=ci EICORE_PROGRESS=0
export EICORE_CACHE=${EICORE_CACHE:-$(mktemp -d -t eicore-gpu.XXXXXX)}
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
PY=${PYTHON:-python3}
status=0
# step LOG COMMAND...: run, keep the output in $OUT/LOG, show its tail, remember failures
step() {
  local log=$OUT/$1; shift
  echo "== $*"; local t0=$SECONDS
  "$@" >"$log" 2>&1 || { status=1; echo "   FAILED"; }
  tail -n 3 "$log"; echo "   ($((SECONDS - t0)) s, log $log)"
}

step install.txt $PY -m pip install -q -c constraints.txt -e ".[book,test,gpu]"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/device.txt"
export EICORE_BACKEND=cupy
step backend.txt $PY -c "import eicore; print('backend', eicore.backend.backend_name())"
step unit_tests.txt $PY -m pytest tests -q -p no:cacheprovider --ignore=tests/browser
for nb in book/*/[0-9]*.ipynb book/appendix/*.ipynb; do
  rel=${nb#book/}; dir=$OUT/chapters/$(dirname "$rel"); mkdir -p "$dir"
  step "chapters/${rel%.ipynb}.log" timeout 300 jupyter nbconvert --to notebook --execute "$nb" \
    --output-dir "$dir" --ExecutePreprocessor.timeout=300
done
step compare.txt $PY benchmarks/compare_outputs.py "$OUT/chapters" --rtol 1e-3
step assemblies.txt $PY benchmarks/assemblies.py --B30 --quick --out "$OUT/assemblies.json"
step bars_1050.txt eicore estimate dendritic.fig4b_bars --scale full --batch 1050 --seconds 60
step table1_10seeds.txt eicore estimate disinhibition.table1 --scale full --only dataset=mnist \
  --only hidden=3 --only variant=exact-inv --batch 10 --seconds 60
echo "gpu_check: $([ $status = 0 ] && echo passed || echo FAILED); results in $OUT"
exit $status
