#!/usr/bin/env bash
# One prepared check of qbjax on a GPU, for a lent machine: environment, the large-battery
# ladder (issue 21: N = 26 double, N = 30 single), single against double (issue 24), the CLI
# as a user runs it, and the default test suite on the GPU. Every step runs under its own timeout and the whole script
# under GPU_CHECK_SECONDS (default 450); results land in $OUT as they come:
#   summary.jsonl  one line per step: name, exit status, seconds
#   ladder.jsonl   benchmarks/bench_large.py lines (time, peak memory, plan, P_max, W)
#   cli.jsonl      whole `qbjax charge` and `qbjax sweep` processes, timed; single-precision
#                  runs carry their double-precision spot checks
#   bench.json     qbjax bench --devices gpu --n 8:28:2 (rows with predictions and bandwidth)
#   crash.jsonl    the CPU-device sweep that died in XLA:CPU on the first GPU image, by variant
#   tests.txt      pytest on the GPU
#   log.txt        everything the steps printed
# The machine needs jax with CUDA, equinox, optax, diffrax, scipy, matplotlib, tqdm and
# pytest; qbjax runs from this checkout (PYTHONPATH), nothing is installed.
#
#   OUT=/tmp/gpu bash benchmarks/gpu_check.sh            # on the GPU machine
#   GPU_CHECK_DRY=1 OUT=/tmp/gpu bash benchmarks/gpu_check.sh   # CPU dry run, small sizes
#   GPU_CHECK_ONLY="bench tests" bash benchmarks/gpu_check.sh   # only the steps named
# Issue 24's remaining goals take two calls of one session (each under the device's 600 s):
#   GPU_CHECK_ONLY="environment cpu_sweep_crash tests" GPU_CHECK_SECONDS=540 ...
#   GPU_CHECK_ONLY="bench sharded_one_device" GPU_CHECK_SECONDS=590 ...
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
  SINGLE=10 DOUBLE=10,12 LARGEST=13 CLI_N=12 SWEEP_SIDE=4 DEVICES=cpu TESTS="tests/test_programs.py -n 2"
  BENCH_N=6:10:4
else
  SINGLE=20 DOUBLE=20,26 LARGEST=30 CLI_N=24 SWEEP_SIDE=32 DEVICES=gpu TESTS="-n 14" BENCH_N=8:28:2
  export XLA_PYTHON_CLIENT_MEM_FRACTION=0.95 # the ladder needs the card, not JAX's default 75%
fi

# step NAME LIMIT COMMAND...: run under min(LIMIT, time left), log it, record its status
step() {
  local name=$1 limit=$2 left start rc
  shift 2
  if [ -n "${GPU_CHECK_ONLY:-}" ] && [[ " $GPU_CHECK_ONLY " != *" $name "* ]]; then
    return
  fi
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
  $PY -m qbjax "$@" >"$OUT/.cli_out" 2>>"$OUT/log.txt"
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
# issue 21: double precision at the largest double size of the goals, and N = 20 beside single
step ladder_double 130 $PY benchmarks/bench_large.py --n $DOUBLE --out "$OUT/ladder.jsonl"
step ladder_single 40 $PY benchmarks/bench_large.py --n $SINGLE --precision single --out "$OUT/ladder.jsonl"
# issue 24: single against double with full-precision products (the JSON's precision_check
# recomputes P at T* in double); a sweep at N = 8 in single with its spot checks
SMALL="charge --n 12 --precision single --method chebyshev --alpha 0.3 --dm 0.7 --t-max 0.5 --json"
step single_vs_double 60 bash -c "rm -rf /tmp/qbjax-gpu-sweep8s; timed_cli single12 $SMALL;
  timed_cli sweep8_single sweep --n 8 --alpha=-1:1:$SWEEP_SIDE --dm 0:1:$SWEEP_SIDE --precision single \
  --devices $DEVICES --json --no-plot --out /tmp/qbjax-gpu-sweep8s"
CHARGE="charge --n $CLI_N --precision single --method chebyshev --alpha 0.3 --dm 0.7 --t-max 0.5 --times 0.1,0.2,0.3,0.4,0.5 --json"
step cli_charge 40 bash -c "timed_cli cold $CHARGE; timed_cli repeated $CHARGE"
# issue 25: on one device --shard takes the unsharded program (no overhead where D = 1);
# both runs find the programs cli_charge cached
step sharded_one_device 40 bash -c "timed_cli unsharded $CHARGE; timed_cli shard_flag $CHARGE --shard"
# issue 24: on the first GPU image (jax 0.11.2) a Chebyshev sweep on 4 forced CPU devices died
# with SIGSEGV in XLA:CPU's compiler (tests/test_sweep.py::test_four_cpu_devices_give_identical_results);
# which of its ingredients does it take? One line each in crash.jsonl: the variant and its status
# (-11: SIGSEGV), the faulthandler trace in log.txt
cpu_sweep() {
  local label=$1 devices=$2 cache=$3 rc
  shift 3
  env JAX_PLATFORMS=cpu XLA_FLAGS=--xla_force_host_platform_device_count=$devices QBJAX_CACHE_DIR=$cache \
    timeout 40 $PY -X faulthandler -m qbjax sweep --n 3 --alpha=-1:1:5 --dm 0,0.7 --g 0.8 --json --no-plot \
    --out "/tmp/qbjax-crash-$label" "$@" >/dev/null 2>>"$OUT/log.txt"
  rc=$?
  printf '{"variant": "%s", "cpu_devices": %d, "cache": "%s", "args": "%s", "rc": %d}\n' "$label" \
    "$devices" "$cache" "$*" "$rc" >>"$OUT/crash.jsonl"
}
export -f cpu_sweep
step cpu_sweep_crash 150 bash -c "rm -rf /tmp/qbjax-crash-*;
  cpu_sweep as_the_test 4 '' --method chebyshev --chunk 4;
  cpu_sweep caches_on 4 /tmp/qbjax-crash-cache --method chebyshev --chunk 4;
  cpu_sweep one_device 1 '' --method chebyshev --chunk 4;
  cpu_sweep chunk_of_one 4 '' --method chebyshev --chunk 1;
  cpu_sweep krylov 4 '' --method krylov --chunk 4;
  cpu_sweep dense 4 '' --method dense --chunk 4;
  env JAX_PLATFORMS=cpu QBJAX_CACHE_DIR= timeout 40 $PY -X faulthandler -m qbjax charge --n 3 \
    --method chebyshev --json >/dev/null 2>>'$OUT/log.txt';
  echo '{\"variant\": \"charge\", \"cpu_devices\": 1, \"rc\": '\$?'}' >>'$OUT/crash.jsonl'"
# the default test suite on the GPU (its workers share the card: no preallocation; the
# image's pytest-benchmark plugin warns under xdist, which filterwarnings=error would turn
# into an internal error; the image has no QuTiP, so its comparisons are skipped by name,
# tests/optional_qutip.py); -v so that a run cut short still lists what passed and failed
step tests 330 env -u XLA_PYTHON_CLIENT_MEM_FRACTION XLA_PYTHON_CLIENT_PREALLOCATE=false \
  QBJAX_TESTS_WITHOUT_QUTIP=1 bash -c "$PY -m pytest -v $TESTS -p no:cacheprovider -p no:benchmark \
  -W ignore::DeprecationWarning >'$OUT/tests.txt' 2>&1; tail -5 '$OUT/tests.txt'"
# issue 24: the bench a user runs to choose CPU or GPU, every row with its prediction; the
# goal's command as written (default batches and repeats), which must end within 600 s
step bench 560 $PY -m qbjax bench --devices $DEVICES --n $BENCH_N --engines chebyshev,dense \
  --json --out /tmp/qbjax-gpu-bench
cp /tmp/qbjax-gpu-bench/bench.json "$OUT/bench.json" 2>/dev/null
# last, with whatever time is left: the largest size, its first call only
step ladder_largest 600 $PY benchmarks/bench_large.py --n $LARGEST --precision single --once --out "$OUT/ladder.jsonl"
rm -f "$OUT/.cli_out"
echo "done; summary:" && cat "$OUT/summary.jsonl"
