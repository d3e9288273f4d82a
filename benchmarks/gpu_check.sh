#!/usr/bin/env bash
# One prepared check of qbjax on a GPU, for a lent machine: environment, the large-battery
# ladder (issue 21), the CLI as a user runs it, small-N sweeps, `qbjax bench`, and part of
# the test suite on the GPU. Every step runs under its own timeout and the whole script
# under GPU_CHECK_SECONDS (default 450); results land in $OUT as they come:
#   summary.jsonl  one line per step: name, exit status, seconds
#   ladder.jsonl   benchmarks/bench_large.py lines (time, peak memory, plan, P_max, W)
#   cli.jsonl      whole `qbjax charge` and `qbjax sweep` processes, timed; an N = 12 single
#                  charge with JAX's default matmul precision and with "highest"
#   bench.json     qbjax bench --devices gpu (rows with run times and H @ psi bandwidth)
#   tests.txt      pytest on the GPU
#   log.txt        everything the steps printed
# The machine needs jax with CUDA, equinox, optax, diffrax, scipy, matplotlib, tqdm and
# pytest; qbjax runs from this checkout (PYTHONPATH), nothing is installed.
#
#   OUT=/tmp/gpu bash benchmarks/gpu_check.sh            # on the GPU machine
#   GPU_CHECK_DRY=1 OUT=/tmp/gpu bash benchmarks/gpu_check.sh   # CPU dry run, small sizes
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu_check_out}
mkdir -p "$OUT"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
export QBJAX_CACHE_DIR=${QBJAX_CACHE_DIR:-/tmp/qbjax-gpu-check-cache}
PY=${PYTHON:-python3}
DEADLINE=$(($(date +%s) + ${GPU_CHECK_SECONDS:-450}))
DRY=${GPU_CHECK_DRY:-}

# sizes: the ladder on a GPU; a dry run on the CPU uses small ones with the same steps
if [ -n "$DRY" ]; then
  SINGLE=10,12 DOUBLE=10 LARGEST=13 CLI_N=12 SWEEP_SIDE=4 BENCH_N=6:10:4 DEVICES=cpu
else
  SINGLE=20,24,26,28 DOUBLE=20,24,26 LARGEST=30 CLI_N=24 SWEEP_SIDE=32 BENCH_N=8:24:8 DEVICES=gpu
  export XLA_PYTHON_CLIENT_MEM_FRACTION=0.95 # the ladder needs the card, not JAX's default 75%
fi

# step NAME LIMIT COMMAND...: run under min(LIMIT, time left), log it, record its status
step() {
  local name=$1 limit=$2 left start rc
  shift 2
  left=$((DEADLINE - $(date +%s)))
  [ "$left" -lt "$limit" ] && limit=$left
  if [ "$limit" -le 5 ]; then
    echo "{\"step\": \"$name\", \"skipped\": \"out of time\"}" >>"$OUT/summary.jsonl"
    return
  fi
  echo "=== $name (limit ${limit} s): $*" | tee -a "$OUT/log.txt"
  start=$(date +%s%N)
  timeout --kill-after=5 "$limit" "$@" >>"$OUT/log.txt" 2>&1
  rc=$?
  printf '{"step": "%s", "rc": %d, "ms": %d}\n' "$name" "$rc" $((($(date +%s%N) - start) / 1000000)) \
    >>"$OUT/summary.jsonl"
}

# a whole `qbjax ...` process, timed, as one line of cli.jsonl
timed_cli() {
  local label=$1 start rc
  shift
  start=$(date +%s%N)
  $PY -m qbjax.cli "$@" >"$OUT/.cli_out" 2>>"$OUT/log.txt"
  rc=$?
  printf '{"run": "%s", "rc": %d, "ms": %d, "argv": "%s", "json": %s}\n' "$label" "$rc" \
    $((($(date +%s%N) - start) / 1000000)) "$*" "$(tail -c 20000 "$OUT/.cli_out" | $PY -c \
    'import json,sys; t=sys.stdin.read().strip(); print(t if t.startswith("{") else json.dumps(t[-300:]))')" \
    >>"$OUT/cli.jsonl"
}
export -f timed_cli
export OUT PY

step environment 30 bash -c "nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true;
  $PY -c 'import jax, equinox, optax; print(jax.__version__, jax.devices(), jax.default_backend())'"
# the tests first (their workers share the card: no preallocation; the image's pytest-benchmark
# plugin warns under xdist, which filterwarnings=error would turn into an internal error)
step tests 120 env -u XLA_PYTHON_CLIENT_MEM_FRACTION XLA_PYTHON_CLIENT_PREALLOCATE=false bash -c \
  "$PY -m pytest tests/test_chebyshev.py tests/test_precision.py tests/test_sweep.py -q -n 4 \
  -p no:cacheprovider -p no:benchmark -m 'not slow' -o addopts='' -W ignore::DeprecationWarning \
  >'$OUT/tests.txt' 2>&1; tail -5 '$OUT/tests.txt'"
step ladder_single 160 $PY benchmarks/bench_large.py --n $SINGLE --precision single --out "$OUT/ladder.jsonl"
step ladder_double 110 $PY benchmarks/bench_large.py --n $DOUBLE --out "$OUT/ladder.jsonl"
CHARGE="charge --n $CLI_N --precision single --method chebyshev --alpha 0.3 --dm 0.7 --t-max 0.5 --times 0.1,0.2,0.3,0.4,0.5 --json"
step cli_charge 50 bash -c "timed_cli cold $CHARGE; timed_cli repeated $CHARGE"
step cli_sweeps 50 bash -c "rm -rf /tmp/qbjax-gpu-sweep8 /tmp/qbjax-gpu-sweep12; timed_cli sweep8 sweep --n 8 --alpha=-1:1:$SWEEP_SIDE --dm 0:1:$SWEEP_SIDE \
  --devices $DEVICES --json --no-plot --out /tmp/qbjax-gpu-sweep8;
  timed_cli sweep12 sweep --n 12 --alpha=-1:1:16 --dm 0:1:16 --devices $DEVICES --json --no-plot \
  --out /tmp/qbjax-gpu-sweep12"
# issue 24: float32 matrix products at JAX's default precision (TF32 on NVIDIA GPUs) or full
# precision; the caches off, so the second run compiles under its own setting
SMALL="charge --n 12 --precision single --method chebyshev --alpha 0.3 --dm 0.7 --t-max 0.5 --json"
step tf32 50 bash -c "QBJAX_CACHE_DIR= timed_cli default_matmul $SMALL;
  QBJAX_CACHE_DIR= JAX_DEFAULT_MATMUL_PRECISION=highest timed_cli highest_matmul $SMALL"
step bench 70 $PY -m qbjax.cli bench --devices $DEVICES --n $BENCH_N --engines chebyshev --batch 1,256 \
  --repeats 3 --max-run-s 10 --no-qutip --json --out /tmp/qbjax-gpu-bench
cp /tmp/qbjax-gpu-bench/bench.json "$OUT/bench.json" 2>/dev/null
# last, with whatever time is left: the largest sizes
step ladder_largest 600 $PY benchmarks/bench_large.py --n $LARGEST --precision single --out "$OUT/ladder.jsonl"
rm -f "$OUT/.cli_out"
echo "done; summary:" && cat "$OUT/summary.jsonl"
