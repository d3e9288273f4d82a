"""CPU-versus-GPU scaling a user can run: the standard workloads on every backend, engine
and precision asked for (`qbjax bench`).

The model is the Le et al. chain with XXZ anisotropy and DM (nearest neighbour, g = B = 1,
alpha = 0.5, D = 0.5, omega = 4, window 2 pi/omega, |down...down>). Workloads:

- curve: W(t) on N_TIMES times: the engine's preparation, then the energies;
- pmax: P_max and T* of one battery: the preparation, then the grid and refinement (as `charge`);
- grad: the gradient of P_max in (alpha, D), one program (as `optimize` runs it);
- sweep: one chunk of `batch` (alpha, D) points, sharded over every device of the backend
  (the two compiled stages of `qbjax sweep`);
- matvec: one matrix-free H @ psi; its bytes per apply (`matvec_bytes`) over its time is set
  against the device's streaming bandwidth, the best of copy, scale, add and triad on arrays
  of `bandwidth_bytes` measured in the same run (`stream_bandwidth`). A state smaller than
  those arrays may live in the caches, where no fraction of the memory bandwidth is
  meaningful: its row says so instead;
- qutip: QuTiP's `sesolve` of the same W(t) on the CPU, when QuTiP is installed.

Compile time is each stage's `jit(...).lower(...).compile()`, timed apart from execution.
Run time is the median of repeats after one warm-up execution, each ending in
`block_until_ready`. Peak memory is XLA's memory analysis of the compiled stages (arguments,
outputs and temporaries of the largest stage: `memory_source` "xla"); rows also carry the
device's own peak so far (GPU `memory_stats`) or the growth of the process's peak resident
memory during the measurement (CPU). A single-precision row carries `error_vs_double`: the
largest difference of its output (W(t), P_max, the gradient, the chunk's P_max values) from
the double-precision run of the same workload, relative to the largest double value.

Every row after the first of its kind carries `predicted_run_s`, from a cost model
calibrated on the device in the same run (`_Bench.predicted_s`): a measured row of the same
kind at a smaller N (or batch), scaled by the ratio of a device model of the two sizes.
Matrix-free engines cost products with H inside one program: the model is one in-loop
H @ psi (the device's dispatch latency plus the product's bytes over the streaming
bandwidth) times the bound on the spectral radius, which sets the Chebyshev degree and the
Krylov steps; an H @ psi row keeps its own fixed cost and adds the bytes. The dense engine
costs an eigendecomposition, a latency plus d^3 over a rate (both from timing `eigh` at two
sizes on the device), and the rest of its measured time grows as d^2. QuTiP costs a fixed
time (its sesolve of one spin) plus work ~ N^2 2^N (H's nonzeros times the ODE's steps). A
measured row also carries `prediction_ratio` (measured over predicted). A measurement is
skipped, with the reason in its row, when the engine refuses the size, when
its memory estimate exceeds what the device has free, or when its predicted run exceeds
`max_run_s`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import platform
import resource
import statistics
import time
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import _checks, devices
from .. import precision as _precision
from ..engines import engine_class
from ..engines.base import spectrum_over
from ..engines.registry import names
from ..models.chain import SpinChain
from ..operators.matfree import matfree, matvec_bytes
from ..operators.terms import norm_bound
from ..tasks.charge import grid_points, maxima
from ..tasks.sweep import batch_stages, chunk_devices, plan_sweep

OMEGA, ALPHA, DM = 4.0, 0.5, 0.5
T_MAX = 2 * math.pi / OMEGA
N_TIMES = 200
ENGINES = names(state="vector")  # the engines of 2^N amplitudes (`engines.registry`)
WORKLOADS = ("curve", "pmax", "grad")  # one battery each; "sweep" runs per batch size
# QuTiP's sesolve is costed as a fixed time (timed at QUTIP_PROBE_N) plus work ~ N^2 2^N:
# the nonzeros of H (~N 2^N) times the ODE's steps (~ ||H|| ~ N); about 2.5x per spin
# against the 3x measured from N = 8 to 12
QUTIP_PROBE_N = 1
EIGH_PROBE_SIZES = (32, 512)  # matrix sizes whose eigh times calibrate the dense model
QUTIP_OPTIONS = {"method": "dop853", "atol": 1e-10, "rtol": 1e-10, "nsteps": 10**7}
MAX_N = 34  # largest N accepted (a state of 2^34 amplitudes is 256 GiB in complex128)


@dataclasses.dataclass(frozen=True)
class BenchConfig:
    """What `run_bench` measures (validated on construction; errors name the CLI flag).

    Attributes:
        backends: JAX backends, each visible ("cpu", "gpu", ...).
        sizes: chain lengths N.
        engines: engine names from ENGINES.
        batches: sweep chunk sizes.
        precisions: "double" and/or "single".
        repeats: timed runs per measurement (median), fewer when they exceed max_run_s.
        max_run_s: skip measurements predicted to run longer than this (seconds per run).
        bandwidth_bytes: size of each array of the bandwidth reference (x * a + y).
        qutip: time QuTiP's sesolve of the W(t) curve too (when installed).
    """

    backends: tuple[str, ...] = ("cpu",)
    sizes: tuple[int, ...] = (8, 12, 16, 20)
    engines: tuple[str, ...] = ENGINES
    batches: tuple[int, ...] = (1, 16, 256)
    precisions: tuple[str, ...] = _precision.PRECISIONS
    repeats: int = 5
    max_run_s: float = 20.0
    bandwidth_bytes: int = 2**27
    qutip: bool = True

    def __post_init__(self):
        for backend in self.backends:
            devices.check_backend(backend)
        for name, values in (("devices", self.backends), ("n", self.sizes), ("engines", self.engines)):
            if not values:
                raise _checks.ArgumentError(name, "needs at least one value")
        for n in self.sizes:
            if not (isinstance(n, int) and 1 <= n <= MAX_N):
                raise _checks.ArgumentError("n", f"every N must be an integer in 1..{MAX_N}, got {n!r}")
        for engine in self.engines:
            _checks.one_of("engines", engine, ENGINES)
        for batch in self.batches:
            _checks.integer_at_least("batch", batch, 1)
        for precision in self.precisions:
            _checks.one_of("precision", precision, _precision.PRECISIONS)
        if not self.precisions:
            raise _checks.ArgumentError("precision", "needs at least one value")
        _checks.integer_at_least("repeats", self.repeats, 1)
        _checks.positive("max_run_s", self.max_run_s)
        _checks.integer_at_least("bandwidth_bytes", self.bandwidth_bytes, 2**20)

    def n_measurements(self) -> int:
        """Rows `run_bench` writes (measured or skipped), for the progress bar."""
        per_engine = (len(WORKLOADS) + len(self.batches)) * len(self.precisions)
        per_size = len(self.precisions) + len(self.engines) * per_engine
        return len(self.backends) * len(self.sizes) * per_size + (len(self.sizes) if self.qutip else 0)


# ----------------------------------------------------------------------------------------
# Workloads: a pipeline of compiled stages, stage k + 1 called as f(output of stage k, *inputs).


@dataclasses.dataclass
class Pipeline:
    stages: tuple[Callable, ...]
    inputs: tuple
    matvec_bytes: int | None = None  # bytes one H @ psi moves (the matvec workload)
    sharded: bool = False  # inputs stay uncommitted: the stages place them on their mesh
    compared: Callable = lambda out: out  # the part of the output single is compared on


def chain(n: int, alpha=ALPHA, dm=DM) -> SpinChain:
    return SpinChain(n, alpha=alpha, dm=dm, omega=OMEGA)


def planned_engine(name: str, precision: str, model, *, traced: bool = False, memory: int | None = None):
    """The engine, checked for `model` and planned for the window (`traced`: for gradients,
    with the model's own spectral interval, as `optimize` plans them; `memory`: a budget in
    bytes, else the engine's default)."""
    engine = engine_class(name)().with_precision(precision)
    if memory is not None:
        engine = engine.with_memory(memory)
    engine.check(model)
    if traced:  # as optimize plans its gradients
        return engine.plan_for_gradient(model, T_MAX, spectrum=spectrum_over([model]))
    return engine.plan(model, T_MAX)


def _split(model):
    """(arrays, rest) of a SpinChain: the arrays enter the compiled stages as arguments."""
    return eqx.partition(model.values_as_arrays(), eqx.is_array)


def curve_pipeline(name: str, n: int, precision: str) -> Pipeline:
    model = chain(n)
    engine = planned_engine(name, precision, model)
    arrays, rest = _split(model)
    t_end = jnp.asarray(T_MAX)

    def prepare(arrays, times):
        return engine.prepare(eqx.combine(arrays, rest), t_end)

    def work(curve, arrays, times):
        return curve.energy(times) - curve.initial_energy()

    times = jnp.linspace(0.0, T_MAX, N_TIMES)
    return Pipeline((jax.jit(prepare), jax.jit(work)), (arrays, times))


def pmax_pipeline(name: str, n: int, precision: str) -> Pipeline:
    model = chain(n)
    engine = planned_engine(name, precision, model)
    arrays, rest = _split(model)
    n_grid = grid_points(engine, model, None, T_MAX, None)
    t_end = jnp.asarray(T_MAX)

    def prepare(arrays):
        return engine.prepare(eqx.combine(arrays, rest), t_end)

    def figures(curve, arrays):
        return jnp.stack(maxima(curve, t_end, n_grid)[:2])

    return Pipeline((jax.jit(prepare), jax.jit(figures)), (arrays,), compared=lambda out: out[0])


def grad_pipeline(name: str, n: int, precision: str, memory: int | None = None) -> Pipeline:
    model = chain(n)
    engine = planned_engine(name, precision, model, traced=True, memory=memory)
    n_grid = grid_points(engine, model, None, T_MAX, None)
    t_end = jnp.asarray(T_MAX)

    def p_max(x):
        return maxima(engine.prepare(chain(n, x[0], x[1]), t_end), t_end, n_grid)[0]

    return Pipeline((jax.jit(jax.grad(p_max)),), (jnp.array([ALPHA, DM]),))


def sweep_plan(name: str, n: int, precision: str, batch: int, backend: str):
    """The sweep of one chunk of `batch` (alpha, D) points, planned as `qbjax sweep` plans it."""
    engine = engine_class(name)().with_precision(precision)
    axes = {"alpha": np.linspace(-1.0, 1.0, batch), "dm": np.linspace(0.1, 1.0, batch)}
    return plan_sweep({"n": n, "omega": OMEGA}, axes, grid=False, chunk=batch, method=engine, backend=backend)


def sweep_pipeline(name: str, n: int, precision: str, batch: int, backend: str) -> Pipeline:
    plan = sweep_plan(name, n, precision, batch, backend)
    used = chunk_devices(plan)
    rows = plan.chunk_rows(0)
    rows = np.concatenate([rows, np.repeat(rows[-1:], plan.chunk - rows.shape[0], axis=0)])
    # compared on P_max: T_W may jump between two nearly equal peaks of W, whatever the precision
    return Pipeline(batch_stages(plan, used), (rows,), sharded=len(used) > 1, compared=lambda out: out[:, 0])


def matvec_pipeline(n: int, precision: str) -> Pipeline:
    battery = chain(n).battery().in_precision(precision)
    dtype = _precision.complex_dtype(precision)
    psi = np.full(2**n, 2.0 ** (-n / 2), dtype)
    op = matfree(battery.charging)
    moved = matvec_bytes(battery.charging, dtype)
    return Pipeline((jax.jit(lambda op, psi: op(psi)),), (op, psi), moved)


def estimate_bytes(
    workload: str,
    engine: str,
    n: int,
    precision: str,
    batch: int = 1,
    n_devices: int = 1,
    backend: str = "cpu",
) -> int:
    """Peak memory of a workload on one device, estimated before anything is compiled: the
    engine's estimate for its plan (the vectors it keeps), not for its budget, which is a
    ceiling (256 MiB at small N: 1000 times an N = 8 point's need)."""
    if workload == "matvec":  # psi, H @ psi, the diagonal and XLA's temporaries
        return 6 * 2**n * _precision.complex_dtype(precision).itemsize
    if workload == "sweep":  # planned for the widest point of the chunk, as the sweep is
        plan = sweep_plan(engine, n, precision, batch, backend)
        return math.ceil(plan.chunk / n_devices) * plan.engine.batch_memory_bytes(chain(n))
    if workload == "grad":
        return planned_engine(engine, precision, chain(n), traced=True).gradient_memory_bytes(chain(n))
    return planned_engine(engine, precision, chain(n)).memory_bytes(chain(n))


# ----------------------------------------------------------------------------------------
# Timing.


def xla_bytes(compiled) -> int | None:
    """Bytes a compiled program holds at its peak by XLA's memory analysis (arguments,
    outputs and temporaries, less what outputs alias); None where the backend gives none."""
    try:
        m = compiled.memory_analysis()
    except (AttributeError, NotImplementedError, RuntimeError):
        return None
    if m is None:
        return None
    used = m.argument_size_in_bytes + m.output_size_in_bytes + m.temp_size_in_bytes
    return int(used - m.alias_size_in_bytes)


def stage_bytes(pipeline: Pipeline) -> list[int | None]:
    """`xla_bytes` of each stage of `pipeline`, compiled in turn and run never (a stage's
    inputs are the shapes of the previous stage's output)."""
    out, sizes = None, []
    for k, stage in enumerate(pipeline.stages):
        args = pipeline.inputs if k == 0 else (out, *pipeline.inputs)
        sizes.append(xla_bytes(stage.lower(*args).compile()))
        out = jax.eval_shape(stage, *args)
    return sizes


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def time_pipeline(pipeline: Pipeline, device, repeats: int, budget_s: float) -> tuple[dict, object]:
    """Compile every stage apart from running it, run once to warm up, then time repeats.

    Returns (timing fields of a row, the pipeline's output)."""
    inputs = pipeline.inputs if pipeline.sharded else jax.device_put(pipeline.inputs, device)
    rss_before = _peak_rss_bytes()
    compiled, compile_s, peak, out = [], 0.0, [], None
    for k, stage in enumerate(pipeline.stages):
        args = inputs if k == 0 else (out, *inputs)
        start = time.perf_counter()
        executable = stage.lower(*args).compile()
        compile_s += time.perf_counter() - start
        peak.append(xla_bytes(executable))
        out = jax.block_until_ready(executable(*args))
        compiled.append(executable)

    def run():
        result = compiled[0](*inputs)
        for executable in compiled[1:]:
            result = executable(result, *inputs)
        return jax.block_until_ready(result)

    runs = []
    while len(runs) < repeats and sum(runs) < budget_s:
        start = time.perf_counter()
        out = run()
        runs.append(time.perf_counter() - start)
    fields = {
        "compile_s": compile_s,
        "run_s": statistics.median(runs),
        "run_min_s": min(runs),
        "repeats": len(runs),
        "peak_bytes": None if None in peak else max(peak),
        "memory_source": "xla",
    }
    fields.update(_device_memory(device, rss_before))
    return fields, out


def _device_memory(device, rss_before: int) -> dict:
    stats = device.memory_stats() if hasattr(device, "memory_stats") else None
    if stats and "peak_bytes_in_use" in stats:
        return {"device_peak_bytes": int(stats["peak_bytes_in_use"])}
    return {"rss_growth_bytes": _peak_rss_bytes() - rss_before}


def free_bytes(device) -> int:
    """Memory the device can still allocate (the host's available memory for the CPU)."""
    stats = device.memory_stats() if hasattr(device, "memory_stats") else None
    if stats and "bytes_limit" in stats:
        return int(stats["bytes_limit"] - stats.get("bytes_in_use", 0))
    return _checks.available_memory_bytes()


# the streaming kernels of the bandwidth reference: (function, arrays read + written)
STREAM_KERNELS = {
    "copy": (lambda x, y: x + np.float32(0.0), 2),
    "scale": (lambda x, y: x * np.float32(1.0001), 2),
    "add": (lambda x, y: x + y, 3),
    "triad": (lambda x, y: x * np.float32(1.0001) + y, 3),
}


def _best_time(compiled, args, repeats: int) -> float:
    jax.block_until_ready(compiled(*args))
    fastest = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(compiled(*args))
        fastest = min(fastest, time.perf_counter() - start)
    return fastest


def stream_bandwidth(device, n_bytes: int, repeats: int = 5) -> float:
    """Bytes per second of the fastest of copy, scale, add and triad (`STREAM_KERNELS`) on
    float32 arrays of `n_bytes` each, the best of `repeats` runs each: the bound a streaming
    kernel such as H @ psi can reach. One kernel alone undersells it (x * a + y read 2.0 TB/s
    on an H200 that copies at 4.3 TB/s)."""
    x, y = (jax.device_put(np.ones(n_bytes // 4, np.float32), device) for _ in range(2))
    best = 0.0
    for kernel, arrays in STREAM_KERNELS.values():
        seconds = _best_time(jax.jit(kernel).lower(x, y).compile(), (x, y), repeats)
        best = max(best, arrays * (n_bytes // 4) * 4 / seconds)
    return best


def dispatch_latency(device, repeats: int = 20) -> float:
    """Seconds of the smallest compiled program (x + 1 on 256 floats): launch and sync."""
    x = jax.device_put(np.ones(256, np.float32), device)
    return _best_time(jax.jit(lambda x: x + np.float32(1.0)).lower(x).compile(), (x,), repeats)


def eigh_probe(device, precision: str, repeats: int = 3) -> tuple[float, float]:
    """(latency s, seconds per d^3) of a Hermitian eigendecomposition on `device`, from the
    best times at the two `EIGH_PROBE_SIZES`: the dense engine's cost model."""
    times = []
    for d in EIGH_PROBE_SIZES:
        rng = np.random.default_rng(d)
        a = rng.standard_normal((d, d)) + 1j * rng.standard_normal((d, d))
        a = jax.device_put((a + a.conj().T).astype(_precision.complex_dtype(precision)), device)
        times.append(_best_time(jax.jit(jnp.linalg.eigh).lower(a).compile(), (a,), repeats))
    (d0, d1), (t0, t1) = EIGH_PROBE_SIZES, times
    per_cube = max(t1 - t0, 1e-12) / (d1**3 - d0**3)
    return max(t0 - per_cube * d0**3, 0.0), per_cube


@functools.lru_cache(maxsize=64)
def _charging(n: int):
    """The bench chain's charging Hamiltonian at N = n (the cost model asks for it per row)."""
    return chain(n).battery().charging


def _radius(n: int) -> float:
    """sum_k |c_k| of the bench chain's charging Hamiltonian: the Chebyshev degree and the
    Krylov steps over a window grow with it."""
    return float(norm_bound(_charging(n)))


def _matvec_bytes(n: int, dtype) -> int:
    return matvec_bytes(_charging(n), dtype)


def relative_difference(single, double) -> float:
    """max |single - double| / max |double| over the outputs' leaves."""
    a = np.concatenate([np.ravel(np.asarray(x, np.float64)) for x in jax.tree_util.tree_leaves(single)])
    b = np.concatenate([np.ravel(np.asarray(x, np.float64)) for x in jax.tree_util.tree_leaves(double)])
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


# ----------------------------------------------------------------------------------------
# The run.


class _Bench:
    """Runs every measurement of a config in order, keeping what the cost model and the
    single-versus-double errors need."""

    def __init__(self, config: BenchConfig, tick: Callable[[str], None]):
        self.config = config
        self.tick = tick
        self.rows: list[dict] = []
        self.timed: dict[tuple, list[tuple[int, int, float]]] = {}  # key -> (n, batch, run_s)
        self.outputs: dict[tuple, object] = {}
        self.device_model: dict[str, dict] = {}  # backend -> bandwidth, dispatch latency
        self.eigh_models: dict[tuple, tuple[float, float]] = {}  # (backend, precision) -> eigh_probe
        self.qutip_fixed: float | None = None  # seconds, `qutip_fixed_s`

    # -- the cost model ----------------------------------------------------------------

    def predicted_s(self, key: tuple, n: int, batch: int) -> float | None:
        """A run time from the measured row of the same kind nearest below (same batch at
        the largest smaller N, else the largest smaller batch at this N), scaled by the device
        model from its size to this one and by the batch ratio; None before any such row."""
        done = [(m, b, s) for m, b, s in self.timed.get(key, []) if m < n or (m == n and b < batch)]
        if not done:
            return None
        same_batch = [item for item in done if item[1] == batch]
        m, b, seconds = max(same_batch or done, key=lambda item: (item[0], item[1]))
        return self.scaled(key, m, seconds, n) * batch / b

    def scaled(self, key: tuple, m: int, seconds: float, n: int) -> float:
        """`seconds` measured at N = m, carried to N = n by the device model of `key`."""
        backend, engine, _, precision = key
        if n == m:
            return seconds
        if engine == "qutip":
            fixed = self.qutip_fixed_s()
            work = lambda k: k * k * 2.0**k  # noqa: E731
            return fixed + max(seconds - fixed, 0.0) * work(n) / work(m)
        if engine == "dense":
            return self.dense_scaled(backend, precision, m, seconds, n)
        per_product = self.in_loop_product_s(backend, precision)
        if engine == "matfree":  # one program per product: its own fixed cost, then bytes
            fixed = max(seconds - per_product(m), 0.0)
            return fixed + per_product(n)
        # engines loop over products with H inside one program: products ~ the spectral radius
        return seconds * _radius(n) * per_product(n) / (_radius(m) * per_product(m))

    def in_loop_product_s(self, backend: str, precision: str) -> Callable[[int], float]:
        """N -> one H @ psi inside a compiled loop: the launch latency of a step plus its bytes
        over the streaming bandwidth (both measured on the device)."""
        model = self.device_model[backend]
        dtype = _precision.complex_dtype(precision)
        return lambda n: model["dispatch_s"] + _matvec_bytes(n, dtype) / model["bandwidth"]

    def qutip_fixed_s(self) -> float:
        """QuTiP's fixed cost of one curve: the fastest sesolve of the QUTIP_PROBE_N chain."""
        if self.qutip_fixed is None:
            self.qutip_fixed = min(qutip_curve_times(QUTIP_PROBE_N, 3, math.inf))
        return self.qutip_fixed

    def dense_scaled(self, backend: str, precision: str, m: int, seconds: float, n: int) -> float:
        """Dense workloads: one eigendecomposition (latency + d^3 rate, from `eigh_probe` on
        the device) and the rest of the measured time, products with d x d matrices (d^2)."""
        if (backend, precision) not in self.eigh_models:
            device = devices.local_devices(backend)[0]
            self.eigh_models[backend, precision] = eigh_probe(device, precision)
        latency, per_cube = self.eigh_models[backend, precision]
        eigh = lambda k: latency + per_cube * 8.0**k  # noqa: E731
        rest = max(seconds - eigh(m), 0.0)
        return eigh(n) + rest * 4.0 ** (n - m)

    # -- measuring -----------------------------------------------------------------------

    def measure(self, row: dict, build: Callable[[], Pipeline], device, key: tuple) -> None:
        """Build and time one workload into `row` (or record why it was skipped); keeps its output."""
        label = f"{row['device']} N={row['n']} {row['engine']} {row['precision']} {row['workload']}"
        self.tick(label)
        row["predicted_run_s"] = self.predicted_s(key, row["n"], row["batch"])
        reason = self.skip_reason(row, device)
        if reason is None:
            try:
                pipeline = build()
            except _checks.ArgumentError as error:
                reason = f"{error.argument}: {error.reason}"
        if reason is not None:
            self.skip(row, reason)
            return
        fields, out = time_pipeline(pipeline, device, self.config.repeats, self.config.max_run_s)
        self.record(row, fields, key)
        if pipeline.matvec_bytes is not None:
            row["matvec_bytes"] = pipeline.matvec_bytes
        self.outputs[(*key[:-1], row["n"], row["batch"], row["precision"])] = pipeline.compared(out)

    def record(self, row: dict, fields: dict, key: tuple) -> None:
        """A measured row: its timing fields, throughput and the check of its prediction."""
        row.update(fields)
        row["points_per_s"] = row["batch"] / row["run_s"]
        if row["predicted_run_s"] is not None:
            row["prediction_ratio"] = row["run_s"] / row["predicted_run_s"]
        self.rows.append(row)
        self.timed.setdefault(key, []).append((row["n"], row["batch"], row["run_s"]))

    def skip_reason(self, row: dict, device) -> str | None:
        """Why `row` cannot run here: too large for the device, or too slow by prediction."""
        if row["engine"] != "qutip":
            try:
                need = estimate_bytes(
                    *(row[key] for key in ("workload", "engine", "n", "precision", "batch", "devices")),
                    backend=row["device"],
                )
            except _checks.ArgumentError as error:
                return f"{error.argument}: {error.reason}"
            if need > free_bytes(device):
                free = _checks.format_bytes(free_bytes(device))
                return f"needs about {_checks.format_bytes(need)}, {free} free on the device"
        predicted = row["predicted_run_s"]
        if predicted is not None and predicted > self.config.max_run_s:
            return f"predicted run {predicted:.3g} s > max_run_s {self.config.max_run_s:g} s"
        return None

    def skip(self, row: dict, reason: str) -> None:
        row["skipped"] = reason
        self.rows.append(row)

    def backend(self, backend: str) -> float:
        local = devices.local_devices(backend)
        device = local[0]
        bandwidth = stream_bandwidth(device, self.config.bandwidth_bytes)
        self.device_model[backend] = {"bandwidth": bandwidth, "dispatch_s": dispatch_latency(device)}
        with jax.default_device(device):
            for n in self.config.sizes:
                self.size(backend, device, len(local), n, bandwidth)
        return bandwidth

    def size(self, backend: str, device, n_devices: int, n: int, bandwidth: float) -> None:
        base = {"device": backend, "device_kind": device.device_kind, "n": n}
        for precision in self.config.precisions:
            row = {**base, "engine": "matfree", "precision": precision, "workload": "matvec", "batch": 1}
            row["devices"] = 1
            key = (backend, "matfree", "matvec", precision)
            self.measure(row, lambda p=precision: matvec_pipeline(n, p), device, key)
            if "run_s" in row:
                self.bandwidth_fields(row, bandwidth)
        for engine in self.config.engines:
            self.engine(base, backend, device, n_devices, engine)

    def bandwidth_fields(self, row: dict, bandwidth: float) -> None:
        """H @ psi's bytes per second and, for a state at least as large as the reference's
        arrays, its fraction of the streaming bandwidth."""
        row["matvec_bytes_per_s"] = row["matvec_bytes"] / row["run_s"]
        row["bandwidth_bytes_per_s"] = bandwidth
        state = 2 ** row["n"] * _precision.complex_dtype(row["precision"]).itemsize
        if state >= self.config.bandwidth_bytes:
            row["bandwidth_fraction"] = row["matvec_bytes_per_s"] / bandwidth
        else:
            reference = _checks.format_bytes(self.config.bandwidth_bytes)
            row["bandwidth_note"] = (
                f"the state ({_checks.format_bytes(state)}) is smaller than the reference arrays "
                f"({reference}): it may stay in the caches, so no fraction of the memory bandwidth"
            )

    def engine(self, base: dict, backend: str, device, n_devices: int, engine: str) -> None:
        n = base["n"]
        builders = {
            "curve": lambda p: curve_pipeline(engine, n, p),
            "pmax": lambda p: pmax_pipeline(engine, n, p),
            "grad": lambda p: grad_pipeline(engine, n, p),
        }
        jobs = [(w, 1, builders[w], 1) for w in WORKLOADS]
        for batch in self.config.batches:
            # plan_sweep rounds the chunk up to a multiple of the devices (`chunk_devices`)
            local = devices.local_devices(backend)[:n_devices]
            used = len(devices.shard_devices(local, engine_class(engine).host_kernels))
            jobs.append(("sweep", batch, lambda p, b=batch: sweep_pipeline(engine, n, p, b, backend), used))
        for workload, batch, build, used in jobs:
            for precision in self.config.precisions:
                row = {**base, "engine": engine, "precision": precision, "workload": workload, "batch": batch}
                row["devices"] = used
                key = (backend, engine, workload, precision)
                self.measure(row, lambda b=build, p=precision: b(p), device, key)
                self.compare(row, (backend, engine, workload, n, batch))

    def compare(self, row: dict, where: tuple) -> None:
        """error_vs_double of a single-precision row whose double run is at hand."""
        single, double = self.outputs.get((*where, "single")), self.outputs.get((*where, "double"))
        if row["precision"] == "single" and single is not None and double is not None:
            row["error_vs_double"] = relative_difference(single, double)

    def qutip(self) -> None:
        try:
            import qutip  # noqa: F401  (optional: the bench extra)
        except ImportError:
            return
        for n in self.config.sizes:
            row = {"device": "cpu", "device_kind": "cpu", "n": n, "engine": "qutip", "precision": "double"}
            row.update({"workload": "curve", "batch": 1, "devices": 1})
            self.measure_qutip(row)

    def measure_qutip(self, row: dict) -> None:
        self.tick(f"QuTiP N={row['n']}")
        key = ("cpu", "qutip", "curve", "double")
        row["predicted_run_s"] = self.predicted_s(key, row["n"], 1)
        reason = self.skip_reason(row, None)
        if reason is None and row["n"] > 20:
            reason = "QuTiP's sparse operators beyond N = 20 take minutes to build"
        if reason is not None:
            self.skip(row, reason)
            return
        runs = qutip_curve_times(row["n"], self.config.repeats, self.config.max_run_s)
        fields = {"compile_s": 0.0, "run_s": statistics.median(runs), "run_min_s": min(runs)}
        self.record(row, {**fields, "repeats": len(runs)}, key)


def qutip_curve_times(n: int, repeats: int, budget_s: float) -> list[float]:
    """Seconds of QuTiP `sesolve` for the curve workload (operators built once, untimed)."""
    import qutip

    from ..models.interop import to_qutip

    battery = to_qutip(chain(n))
    times = np.linspace(0.0, T_MAX, N_TIMES)
    runs = []
    while len(runs) < repeats and sum(runs) < budget_s:
        start = time.perf_counter()
        qutip.sesolve(battery.charging, battery.initial, times, e_ops=[battery.energy], options=QUTIP_OPTIONS)
        runs.append(time.perf_counter() - start)
    return runs


def machine() -> dict:
    import jaxlib

    return {
        "platform": platform.platform(),
        "processor": platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
    }


def run_bench(config: BenchConfig, *, progress: Callable[[str], None] | None = None) -> dict:
    """Run every measurement of `config`; returns the report (JSON-ready).

    Args:
        config: what to measure.
        progress: called with a short label before each measurement (a progress bar).

    Returns:
        {"machine", "devices" (backend -> words), "bandwidth_bytes_per_s" (backend ->
        bytes/s), "config", "predictions" (`prediction_check`), "rows": one object per
        measurement (see the module docstring)}.
    """
    bench = _Bench(config, progress or (lambda label: None))
    bandwidth, described = {}, {}
    for backend in config.backends:
        described[backend] = devices.describe(devices.local_devices(backend))
        bandwidth[backend] = bench.backend(backend)
    if config.qutip:
        bench.qutip()
    return {
        "machine": machine(),
        "devices": described,
        "bandwidth_bytes_per_s": bandwidth,
        "config": dataclasses.asdict(config),
        "predictions": prediction_check(bench.rows),
        "rows": bench.rows,
    }


def prediction_check(rows: list[dict], factor: float = 3.0) -> dict:
    """How the cost model did: measured rows with a prediction, and how many of them ran
    within `factor` of it (either way); the worst ratio."""
    ratios = [row["prediction_ratio"] for row in rows if "prediction_ratio" in row]
    within = sum(1 / factor <= ratio <= factor for ratio in ratios)
    worst = max(ratios, key=lambda r: max(r, 1 / r), default=None)
    return {"checked": len(ratios), f"within_{factor:g}x": within, "worst_ratio": worst}


def sizes_from(text: str, name: str = "n") -> tuple[int, ...]:
    """'8:20' (every N), '8:20:4' (a step) or '8,10,12'; ArgumentError(name) otherwise."""
    try:
        if ":" in text:
            parts = [int(x) for x in text.split(":")]
            if (
                len(parts) not in (2, 3)
                or parts[0] < 1
                or parts[1] < parts[0]
                or (len(parts) == 3 and parts[2] < 1)
            ):
                raise ValueError
            return tuple(range(parts[0], parts[1] + 1, parts[2] if len(parts) == 3 else 1))
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise _checks.ArgumentError(
            name, f"expected N, a comma list or start:stop[:step] with 1 <= start <= stop, got {text!r}"
        ) from None


def names_from(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())
