#!/usr/bin/env bash
# One-shot check of eicore on a CUDA GPU: the sweep throughput of Part II's Fig 4B
# (network-steps per second, whole sweep as one batch), the unit tests on CuPy, Table 1's
# training speed with ten seeds as one batch, Part I's benchmark, and (where nbconvert is
# installed) every chapter at ci scale on CuPy compared with the stored NumPy outputs.
# Every step has its own time limit, so the whole check ends inside about 9 minutes
# (plus the chapters, if they run).
#
#   bash benchmarks/gpu_check.sh            (results in benchmarks/results/gpu/)
#
# Environment: INSTALL=0 uses the Python packages already installed (a machine without
# internet; eicore is then imported from this checkout); CHAPTERS=0 skips the chapters.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=${OUT:-benchmarks/results/gpu}
mkdir -p "$OUT"
export EICORE_DATA=${EICORE_DATA:-$PWD/../shared/data} EICORE_SCALE=ci EICORE_PROGRESS=0
export EICORE_CACHE=${EICORE_CACHE:-$(mktemp -d -t eicore-gpu.XXXXXX)}
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONUNBUFFERED=1
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
PY=${PYTHON:-python3}
status=0
# step LOG SECONDS COMMAND...: run with a time limit, keep the output in $OUT/LOG, show its
# tail, remember failures
step() {
  local log=$OUT/$1 limit=$2; shift 2
  echo "== $*"; local t0=$SECONDS
  timeout "$limit" "$@" >"$log" 2>&1 || { status=1; echo "   FAILED or timed out (limit $limit s)"; }
  tail -n 4 "$log"; echo "   ($((SECONDS - t0)) s, log $log)"
}

if [ "${INSTALL:-1}" = 1 ]; then
  step install.txt 600 $PY -m pip install -q -c constraints.txt -e ".[book,test,gpu]"
fi
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm --format=csv,noheader \
  | tee "$OUT/device.txt"
export EICORE_BACKEND=cupy
step backend.txt 40 $PY -c "import eicore, cupy; print('backend', eicore.backend.backend_name(), \
'cupy', cupy.__version__, 'cuda', cupy.cuda.runtime.runtimeGetVersion())"
# Fig 4B at the paper's scale: 63 networks (one rule, 3 seeds), 1050 (one rule, all 50
# seeds) and 2100 (both rules) as one batch each
step sweep_fig4b.txt 170 $PY benchmarks/sweep_throughput.py --batches 63,1050,2100 \
  --seconds 30 --out "$OUT/sweep_fig4b.json"
step unit_tests.txt 180 $PY -m pytest tests -q -p no:cacheprovider -o addopts="" \
  --ignore=tests/browser --timeout=90
step table1_10seeds.txt 70 $PY -m eicore estimate disinhibition.table1 --scale full \
  --only dataset=mnist --only hidden=3 --only variant=exact-inv --batch 10 --seconds 40 \
  --json "$OUT/table1_exact_inv_10.json"
step assemblies.txt 60 $PY benchmarks/assemblies.py --B30 --quick --out "$OUT/assemblies.json"
if [ "${CHAPTERS:-1}" = 1 ] && $PY -c "import nbconvert, ipykernel" 2>/dev/null; then
  mkdir -p "$OUT/chapters"
  for nb in book/*/[0-9]*.ipynb book/appendix/*.ipynb; do
    rel=${nb#book/}; dir=$OUT/chapters/$(dirname "$rel"); mkdir -p "$dir"
    step "chapters/${rel%.ipynb}.log" 300 jupyter nbconvert --to notebook --execute "$nb" \
      --output-dir "$dir" --ExecutePreprocessor.timeout=300
  done
  step compare.txt 60 $PY benchmarks/compare_outputs.py "$OUT/chapters" --rtol 1e-3
fi
echo "gpu_check: $([ $status = 0 ] && echo passed || echo FAILED); results in $OUT"
exit $status
