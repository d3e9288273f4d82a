"""Parameter sweeps: P_max, T*, W_max and ergotropy over many points of a spin-chain model.

One sweep fixes N, the coupling type, the protocol and the boundary, and varies any of
the numeric parameters (g, p, alpha, dm, field, omega, and the window t_max) over a
Cartesian grid or a list of points, on any engine (`method`, chosen once for the sweep).
The points run in chunks: on a batchable engine (dense, Krylov, Chebyshev) each chunk is
one `jit(vmap(...))` call in which every point shares the term structure (only the
coefficients are batched), sharded over the visible devices with `jax.shard_map`, and one
plan, sized for the widest point, serves every point, each in its own spectral interval
interpolated from bounds at the vertices of the swept box (`BoxSpectrum`); the
symmetric and mean-field engines run a chunk point by point, each exactly as `charge`.
With an output folder every finished chunk is written at once (`sweep_store`), so a
killed sweep rerun with the same arguments computes only the missing chunks.

Several processes (`jax.distributed.initialize()` before the sweep, one process per
host) split the chunks round-robin; each uses its local devices and writes its chunks
into the shared output folder, and process 0 assembles the result after a barrier.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import sys
from collections.abc import Mapping, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, PartitionSpec

from .. import _checks
from .. import devices as _devices
from ..engines import AbstractEngine, engine_for
from ..engines.base import BoxSpectrum
from ..kernels.ground_state import check_traced_size
from ..models.chain import PARAMETERS, STRUCTURE, SpinChain
from ..operators.terms import norm_bound
from . import sweep_store
from .charge import grid_points, point_figures, prepare
from .maxima import check_grid, grid_size

SWEEPABLE = (*PARAMETERS, "t_max")
FIXED = STRUCTURE

# quantity -> (unit, description); hbar = 1, energies in the unit of B, g and omega
QUANTITIES = {
    "max_power": ("energy/time", "maximum average charging power P_max over (0, t_max]"),
    "t_max_power": ("time", "charging time T* of maximum power"),
    "max_work": ("energy", "maximum work W_max over (0, t_max]"),
    "t_max_work": ("time", "charging time of maximum work"),
    "ergotropy": ("energy", "ergotropy of the state charged for T* (pure state: <H0> - E_ground)"),
}
MAX_DEFAULT_CHUNK = 256


@dataclasses.dataclass(frozen=True)
class SweepPlan:
    """A validated sweep: fixed model, swept parameter names, one row per point.

    Attributes:
        model: the fixed keyword arguments of `spin_chain_battery`.
        names: swept parameters, in column order of `rows`.
        rows: (P, len(names) + 1) values of the swept parameters and, last, t_max.
        shape: shape of the results, (len(axis_1), ..., len(axis_k)) for a grid, (P,) for points.
        axes: the axis values of a grid (empty for a list of points).
        n_grid: samples of the window before refinement, shared by all points (None:
            chosen per point, as `charge` does, for engines that run point by point).
        chunk: points per chunk (a multiple of the number of local devices).
        t_max: the fixed window, or None (one drive period per point, or swept).
        engine: the engine that computes every point, planned for the longest window and
            the widest spectral interval (its precision is the sweep's).
        backend: the JAX backend whose local devices run the chunks (None: the default).
        spectrum: each point's spectral interval, for batchable engines (None otherwise).
    """

    model: dict
    names: tuple[str, ...]
    rows: np.ndarray
    shape: tuple[int, ...]
    axes: tuple[np.ndarray, ...]
    n_grid: int | None
    chunk: int
    t_max: float | None
    engine: AbstractEngine
    backend: str | None = None
    spectrum: BoxSpectrum | None = None

    @property
    def n_points(self) -> int:
        return self.rows.shape[0]

    @property
    def n_chunks(self) -> int:
        return math.ceil(self.n_points / self.chunk)

    def chunk_rows(self, index: int) -> np.ndarray:
        return self.rows[index * self.chunk : (index + 1) * self.chunk]

    def point(self, index: int) -> tuple[SpinChain, float]:
        """The model and the window t_max of point `index` (in row order)."""
        row = self.rows[index]
        return _chain(self.model, self.names, row), float(row[-1])

    def describe(self) -> dict:
        """Everything that determines the results, as JSON-ready data (compared on resume)."""
        return {
            "model": self.model,
            "names": list(self.names),
            "grid": bool(self.axes),
            "axes": [axis.tolist() for axis in self.axes],
            "points": [] if self.axes else self.rows.tolist(),
            "n_grid": self.n_grid,
            "chunk": self.chunk,
            "t_max": self.t_max,
            "method": self.engine.name,
            # only when single: folders of double sweeps written before precision existed still resume
            **({"precision": self.engine.precision} if self.engine.precision != "double" else {}),
        }


@dataclasses.dataclass(frozen=True)
class SweepResult:
    """Results of a sweep; each quantity has the plan's shape.

    Attributes:
        plan: the sweep that ran.
        values: quantity name (see QUANTITIES) -> array of shape plan.shape.
        devices: how many devices ran the computed chunks (all processes together).
        resumed_chunks: chunks read back from the output folder instead of computed.
        device: the devices of this process that ran, as `devices.describe` words.
        notes: what the output folder held that was damaged, and what was done about it.
    """

    plan: SweepPlan
    values: dict[str, np.ndarray]
    devices: int
    resumed_chunks: int
    device: str = ""
    notes: tuple[str, ...] = ()

    def points(self) -> list[dict]:
        """One dict per point: swept values, t_max and every quantity."""
        flat = {key: value.reshape(-1) for key, value in self.values.items()}
        rows = []
        for i, row in enumerate(self.plan.rows):
            point = {name: float(x) for name, x in zip(self.plan.names, row[:-1], strict=True)}
            point["t_max"] = float(row[-1])
            point.update({key: float(value[i]) for key, value in flat.items()})
            rows.append(point)
        return rows


def _axis(name: str, values) -> np.ndarray:
    axis = np.atleast_1d(np.asarray(values, dtype=float))
    if axis.ndim != 1 or axis.size == 0:
        raise _checks.ArgumentError(name, "must be a number or a non-empty 1-D list of numbers")
    _checks.finite(name, axis)
    return axis


def plan_sweep(
    model: Mapping,
    axes: Mapping[str, Sequence[float]],
    *,
    grid: bool = True,
    t_max: float | None = None,
    n_grid: int | None = None,
    chunk: int | None = None,
    devices: int | None = None,
    method="auto",
    precision: str | None = None,
    backend: str | None = None,
    memory: int | None = None,
) -> SweepPlan:
    """Validate a sweep and lay out its points.

    Args:
        model: `spin_chain_battery` keyword arguments for everything not swept
            (`n`, `coupling`, `protocol`, `periodic` and the fixed numbers).
        axes: swept parameter -> values; names from SWEEPABLE.
        grid: True for the Cartesian product of the axes (results shaped like the
            grid), False for a list of points (all axes of equal length, zipped).
        t_max: the charging window (0, t_max]; default one drive period 2 pi/|omega|
            per point. Sweep it by naming "t_max" in `axes` instead.
        n_grid: window samples before refinement; default resolves the fastest
            frequency of W(t) at every point (as `charge` does).
        chunk: points per chunk; default as many as fit in half the free memory,
            at most MAX_DEFAULT_CHUNK. Rounded up to a multiple of the devices.
        devices: local devices to shard over (default all).
        method: the engine for every point, or its name ("auto": chosen once, at the
            first point, as `charge` would).
        precision: "double" or "single" (complex64; dense, Chebyshev and Krylov), None:
            the engine's own (double for a name).
        backend: "cpu", "gpu", ...: whose local devices run the chunks (default: JAX's
            default backend); refused when not visible.
        memory: bytes one point may hold at once (the engine plans within it, `charge`);
            the default chunk fills half the free memory with such points.
    """
    if not axes:
        raise _checks.ArgumentError(
            "axes", f"name at least one parameter to sweep, from {', '.join(SWEEPABLE)}"
        )
    for name in axes:
        _checks.one_of("axes", name, SWEEPABLE)
    fixed = {key: value for key, value in model.items() if key not in axes}
    _checks.integer_at_least("n", fixed.get("n", 4), 1)
    if "t_max" in axes and t_max is not None:
        raise _checks.ArgumentError(
            "t_max", "give t_max either as a fixed value or as a swept axis, not both"
        )
    if t_max is not None:
        _checks.positive("t_max", t_max)
    names = tuple(axes)
    columns = [_axis(name, axes[name]) for name in names]
    if grid:
        shape = tuple(len(c) for c in columns)
        mesh = np.meshgrid(*columns, indexing="ij")
        rows = np.stack([m.reshape(-1) for m in mesh], axis=1)
    else:
        lengths = {len(c) for c in columns}
        if len(lengths) != 1:  # named after the first swept parameter whose length differs
            odd = next(name for name, c in zip(names, columns, strict=True) if len(c) != len(columns[0]))
            sizes = ", ".join(f"{name} {len(c)}" for name, c in zip(names, columns, strict=True))
            raise _checks.ArgumentError(odd, f"zipped points need swept values of equal length, got {sizes}")
        shape = (len(columns[0]),)
        rows = np.stack(columns, axis=1)
    rows = np.concatenate([rows, _windows(fixed, names, rows, t_max)[:, None]], axis=1)
    for name, column in zip(names, rows.T, strict=False):
        if name == "p":
            _checks.nonnegative("p", column)
    first = _chain(fixed, names, rows[0])  # validates the fixed arguments
    if first.initial == "ground":
        check_traced_size(first.n)
    also = _axis_models(fixed, names, rows)
    _check_windows(fixed, names, rows)
    engine = engine_for(method, first, batch=rows.shape[0], precision=precision, also=also, memory=memory)
    if n_grid is not None:
        n_grid = check_grid(n_grid)
    spectrum = None
    if engine.batchable:
        # one plan and one grid serve the batch: sized for the widest point's interval
        spectrum = _box_spectrum(fixed, names, rows)
        lo, hi = spectrum.widest()
        engine = engine.plan(first, float(np.max(rows[:, -1])), spectrum=(lo, hi))
        if n_grid is None:  # W's frequencies are eigenvalue differences: at most hi - lo
            n_grid = grid_size((hi - lo) * float(np.max(rows[:, -1])), 1.0)
    else:
        devices = 1  # points run one at a time, each exactly as `charge` runs it
    n_devices = devices or len(_devices.shard_devices(_devices.local_devices(backend), engine.host_kernels))
    chunk = _chunk(engine, first, rows.shape[0], chunk, n_devices)
    return SweepPlan(
        model=_plain(fixed),
        names=names,
        rows=rows,
        shape=shape,
        axes=tuple(columns) if grid else (),
        n_grid=n_grid,
        chunk=chunk,
        t_max=t_max,
        engine=engine,
        backend=backend,
        spectrum=spectrum,
    )


def _plain(model: Mapping) -> dict:
    """Model arguments as JSON-ready Python values."""
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in model.items()}


def _windows(fixed: Mapping, names: tuple[str, ...], rows: np.ndarray, t_max) -> np.ndarray:
    """t_max of every point: swept, fixed, or one period 2 pi/|omega| of the drive."""
    if "t_max" in names:
        window = rows[:, names.index("t_max")]
        _checks.positive("t_max", window)
        return window
    if t_max is not None:
        return np.full(rows.shape[0], float(t_max))
    omega = (
        rows[:, names.index("omega")] if "omega" in names else np.full(rows.shape[0], fixed.get("omega", 4.0))
    )
    omega = np.abs(np.asarray(omega, dtype=float))
    if omega.ndim > 1:
        raise _checks.ArgumentError("t_max", "is needed when omega has site values")
    if np.any(omega == 0):
        raise _checks.ArgumentError("omega", "must be nonzero when t_max is not given (t_max = 2 pi/|omega|)")
    return 2 * np.pi / omega


def _chain(fixed: Mapping, names: tuple[str, ...], row) -> SpinChain:
    """The model at one point; row = (swept values..., t_max)."""
    values = {name: row[i] for i, name in enumerate(names) if name != "t_max"}
    return SpinChain.of({**fixed, **values})


def _check_windows(fixed: Mapping, names: tuple[str, ...], rows: np.ndarray) -> None:
    """The shortest and longest windows against the smallest and largest sum_k |c_k| of the
    charging Hamiltonian at the first point and along each swept parameter from it (the
    models of `_axis_models`), by `_checks.charging_phase`, before any work.

    Along one parameter sum_k |c_k| is convex (g, alpha, D, B and omega enter each c_k
    affinely) or monotone (each |c_k| = |g| / r^p, r >= 1, falls with p): its largest value
    is at an end of the axis and its smallest is found by bisection, so a parameter of n
    values costs O(log n) models, not n (1.7 ms each at N = 8)."""

    def norm(i, value) -> float:
        row = rows[0].copy()
        row[i] = value
        return float(norm_bound(_chain(fixed, names, row).replace(initial="down").battery().charging))

    norms = [norm(0, rows[0, 0])]
    for i, name in enumerate(names):
        if name == "t_max":
            continue
        values = np.unique(rows[:, i])
        norms += [norm(i, values[0]), norm(i, values[-1])]
        lo, hi = 0, len(values) - 1  # the smallest of a convex sequence: bisect on its slope
        while lo < hi:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if norm(i, values[mid]) <= norm(i, values[mid + 1]) else (mid + 1, hi)
        norms.append(norm(i, values[lo]))
    _checks.charging_phase("t_max", float(np.min(rows[:, -1])), min(norms))
    _checks.charging_phase("t_max", float(np.max(rows[:, -1])), max(norms))


def _axis_models(fixed: Mapping, names: tuple[str, ...], rows: np.ndarray) -> list[SpinChain]:
    """The model at every distinct value of each swept parameter, the others as at the first
    point. What an engine requires of a model concerns one parameter at a time (p = 0, D = 0,
    uniform fields), so these models decide for every point of the sweep."""
    models = []
    for i, name in enumerate(names):
        if name == "t_max":
            continue
        for value in np.unique(rows[:, i]):
            row = rows[0].copy()
            row[i] = value
            models.append(_chain(fixed, names, row))
    return models


def _box_spectrum(fixed: Mapping, names: tuple[str, ...], rows) -> BoxSpectrum:
    """Bounds at the vertices of the swept box (`engines.base.BoxSpectrum`)."""
    swept = [i for i, name in enumerate(names) if name != "t_max"]

    def chain_at(corner):
        row = rows[0].copy()
        row[swept] = corner
        return _chain(fixed, names, row)

    lower, upper = rows[:, swept].min(axis=0), rows[:, swept].max(axis=0)
    return BoxSpectrum.of(swept, lower, upper, chain_at, affine="p" not in names)


def _chunk(engine: AbstractEngine, model, n_points: int, chunk: int | None, n_devices: int) -> int:
    per_point = max(engine.batch_memory_bytes(model), 1)
    if chunk is None:
        fits = max(1, _checks.available_memory_bytes() // 2 // per_point)
        chunk = min(MAX_DEFAULT_CHUNK, fits, n_points)
    chunk = _checks.integer_at_least("chunk", chunk, 1)
    chunk = min(chunk, n_points)  # a chunk never holds more than the sweep
    needed = chunk * per_point
    if needed > _checks.available_memory_bytes():
        raise _checks.ArgumentError(
            "chunk",
            f"{chunk} points need about {_checks.format_bytes(needed)} at once, more than the "
            f"{_checks.format_bytes(_checks.available_memory_bytes())} available: give a smaller chunk",
        )
    return math.ceil(chunk / n_devices) * n_devices


def chunk_devices(plan: SweepPlan) -> list:
    """The local devices a chunk is split over: as many as divide the chunk, or one for
    engines that run point by point or call LAPACK on the CPU (`devices.shard_devices`)."""
    local = _devices.shard_devices(_devices.local_devices(plan.backend), plan.engine.host_kernels)
    if not plan.engine.batchable:
        return local[:1]
    return local[: math.gcd(plan.chunk, len(local))]


def _batch_function(plan: SweepPlan, devices: Sequence):
    """The figures of a chunk's rows: one compiled, batched call (sharded over `devices`)
    for batchable engines, else one compiled call per point."""
    if not plan.engine.batchable:
        return functools.partial(_point_by_point, plan)
    prepare, figures = batch_stages(plan, devices)

    def compute(rows):
        if len(devices) == 1:  # a plain jit runs where its input lives
            rows = jax.device_put(rows, devices[0])
        return figures(prepare(rows), rows)

    return compute


def batch_stages(plan: SweepPlan, devices: Sequence):
    """The two compiled stages of a chunk on a batchable engine, (prepare, figures):
    `figures(prepare(rows), rows)` gives the (chunk, 5) figures of `rows` (chunk, k + 1),
    sharded over `devices` when there are several (`qbjax bench` times them apart)."""
    t_end = float(np.max(plan.rows[:, -1]))
    model = json.dumps(plan.model, sort_keys=True)
    return _compiled((model, plan.names, plan.n_grid, plan.engine, plan.spectrum, t_end, tuple(devices)))


def _point_by_point(plan: SweepPlan, rows) -> np.ndarray:
    """Each point exactly as `charge` computes it (its own plan, curve and grid)."""
    out = []
    for row in np.asarray(rows):
        model, t_max = _chain(plan.model, plan.names, row), float(row[-1])
        curve = prepare(plan.engine, model, t_max)
        n_grid = grid_points(plan.engine, model, curve, t_max, plan.n_grid)
        out.append(_point_jit(curve, jnp.asarray(t_max), n_grid))
    return np.stack(out)


@eqx.filter_jit
def _point_jit(curve, t_max, n_grid: int):
    return point_figures(curve, t_max, n_grid)


@functools.lru_cache(maxsize=16)
def _compiled(key):
    """Two compiled stages: the engine's preparation, then the maxima (one XLA program ran
    the maxima's loops far slower)."""
    model_json, names, n_grid, engine, spectrum, t_end, devices = key
    model = json.loads(model_json)
    stages = (
        jax.vmap(lambda row: engine.prepare_within(_chain(model, names, row), t_end, spectrum.at(row))),
        jax.vmap(lambda curve, row: point_figures(curve, row[-1], n_grid)),
    )
    if len(devices) == 1:
        return tuple(jax.jit(stage) for stage in stages)
    mesh = Mesh(np.asarray(devices), ("points",))
    spec = PartitionSpec("points")
    # check_vma=False: the engines' scans carry the (unsharded) initial state into per-point
    # states, which the varying-manual-axes check rejects; every point is independent anyway
    return tuple(
        jax.jit(jax.shard_map(stage, mesh=mesh, in_specs=spec, out_specs=spec, check_vma=False))
        for stage in stages
    )


def _padded(rows: np.ndarray, size: int) -> np.ndarray:
    """Fill a short last chunk by repeating its last point (results are cut off again)."""
    missing = size - rows.shape[0]
    return np.concatenate([rows, np.repeat(rows[-1:], missing, axis=0)]) if missing else rows


def run_sweep(plan: SweepPlan, out=None, *, progress: bool | None = None) -> SweepResult:
    """Compute every chunk of `plan` that `out` does not hold yet, then assemble.

    Args:
        plan: from `plan_sweep`.
        out: output folder (created); None keeps everything in memory.
        progress: show a progress bar on stderr (default: when stderr is a terminal).
    """
    from tqdm import tqdm

    devices = chunk_devices(plan)
    if out is None and jax.process_count() > 1:
        raise _checks.ArgumentError("out", "a sweep over several processes needs a shared output folder")
    store = sweep_store.open_store(out, plan.describe(), QUANTITIES) if out is not None else None
    mine = range(jax.process_index(), plan.n_chunks, jax.process_count())
    done = store.completed_chunks(mine, plan.names) if store is not None else {}
    compute = _batch_function(plan, devices)
    results = dict(done)
    todo = [i for i in mine if i not in done]
    hide = not sys.stderr.isatty() if progress is None else not progress
    bar = tqdm(total=len(mine), initial=len(done), unit="chunk", desc="sweep", file=sys.stderr, disable=hide)
    with bar:
        for i in todo:
            rows = plan.chunk_rows(i)
            values = np.asarray(compute(jnp.asarray(_padded(rows, plan.chunk))))[: rows.shape[0]]
            if store is not None:
                store.write_chunk(i, i * plan.chunk, plan.names, rows, values)
            results[i] = values
            bar.update()
    n_devices = len(devices) * jax.process_count()
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices("qbjax sweep: all chunks written")
        results = store.completed_chunks(range(plan.n_chunks), plan.names)
    table = np.concatenate([results[i] for i in range(plan.n_chunks)], axis=0)
    values = {key: table[:, k].reshape(plan.shape) for k, key in enumerate(QUANTITIES)}
    notes = tuple(store.notes) if store is not None else ()
    result = SweepResult(plan, values, n_devices, len(done), _devices.describe(devices), notes)
    if store is not None and jax.process_index() == 0:
        store.write_result(plan.names, plan.axes, plan.rows, plan.shape, values)
    return result


def sweep(
    model: Mapping, axes: Mapping[str, Sequence[float]], *, out=None, progress=None, **options
) -> SweepResult:
    """Plan and run a sweep: `plan_sweep(model, axes, **options)` then `run_sweep`.

    With `initial="ground"` each point starts from its own ground state of H0 (N <= 12);
    a point where that ground state is degenerate has NaN results.

    Example:
        >>> qbjax.sweep({"n": 6}, {"alpha": np.linspace(-1, 1, 21), "dm": [0.0, 0.5]})
        values["max_power"] has shape (21, 2).
    """
    return run_sweep(plan_sweep(model, axes, **options), out, progress=progress)
