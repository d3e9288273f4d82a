"""Charging a battery: the figures of merit of PHYSICS.md section 1, for every engine.

    W(t)   = <H0>_t - <H0>_0                  work deposited by charging for a time t
    P(t)   = W(t) / t                          average charging power; P(0) = dW/dt at 0
    P_max  = max_{0 < T <= t_max} P(T), T* its argmax; likewise W_max and its time
    E(t)   = ergotropy of the charged state   (pure: <H0>_t - E_ground(H0))

An engine (`qbjax.engines`) turns the battery into an energy curve <H0>_t; everything here
is written once against that curve. Maxima: a grid that resolves the fastest frequency of
W(t), then bisection on the sign of the derivative (`maxima`), so T* is accurate far
below 1e-9 relative. P_max and W_max are differentiable in every model parameter: by the
envelope theorem their gradient is the partial derivative at the fixed optimum.

Two compiled stages: the engine's preparation (a decomposition, a march), then the maxima.
With both in one XLA program the CPU backend ran the maxima's loops ~30x slower (N = 8).
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .. import _checks, program_cache
from ..engines import engine_for
from ..engines.base import AbstractEngine, Curve, rate_at_zero
from ..models.chain import SpinChain
from .maxima import GRID_WHEN_TRACED, check_grid, grid_size, window_maxima


class ChargeResult(eqx.Module):
    """Everything `charge` computes. Curves are None unless `times` was given.

    `error_estimate` is the engine's estimated state error (norm) over the window, None
    for engines exact to rounding. `initial_ergotropy` is the ergotropy the battery holds
    before charging (0 from the ground state of H0; not 0 from |down...down> when D != 0);
    `qsl_bound` is the quantum speed limit on the power at T* (`qbjax.qsl`), None where the
    engine holds no pure state. Both are computed unless `charge` is traced (then None).
    `method` names the engine that ran ("dense", "chebyshev", ...; what "auto" chose) and
    `shards` how many devices its state was split over.
    """

    max_power: Float[Array, ""]
    t_max_power: Float[Array, ""]
    max_work: Float[Array, ""]
    t_max_work: Float[Array, ""]
    initial_energy: Float[Array, ""]
    ground_energy: Float[Array, ""] | None = None
    times: Float[Array, " T"] | None = None
    work: Float[Array, " T"] | None = None
    power: Float[Array, " T"] | None = None
    ergotropy: Float[Array, " T"] | None = None
    error_estimate: Float[Array, ""] | None = None
    initial_ergotropy: Float[Array, ""] | None = None
    qsl_bound: Float[Array, ""] | None = None
    method: str | None = eqx.field(static=True, default=None)
    shards: int = eqx.field(static=True, default=1)


# set after the programs run (`charge`): not outputs of a compiled program
_STATIC_FIELDS = ("method", "shards")


def maxima(curve: Curve, t_max, n_grid: int) -> tuple[Array, Array, Array, Array]:
    """(P_max, T*, W_max, T_W) over (0, t_max] of a prepared curve."""
    e0 = curve.initial_energy()
    return window_maxima(curve, e0, t_max, n_grid, jnp.result_type(float), search=curve.search_curve())


def work_and_power(curve: Curve, times) -> tuple[Array, Array]:
    """W(t) and P(t) = W(t)/t on `times`; at t = 0 P is its limit dW/dt."""
    work = curve.energy(times) - curve.initial_energy()
    positive = times > 0
    power = jnp.where(positive, work / jnp.where(positive, times, 1.0), rate_at_zero(curve))
    return work, power


def point_figures(curve: Curve, t_max, n_grid: int) -> Array:
    """(P_max, T*, W_max, T_W, ergotropy at T*) as one vector: a sweep point."""
    p_max, t_power, w_max, t_work = maxima(curve, t_max, n_grid)
    energy = (p_max * t_power + curve.initial_energy())[None]
    ergotropy = curve.ergotropy(t_power[None], energy)[0]
    return jnp.stack([p_max, t_power, w_max, t_work, ergotropy])


def initial_ergotropy(curve: Curve) -> Array:
    """The ergotropy of the state the battery starts from."""
    e0 = curve.initial_energy()
    return curve.ergotropy(jnp.zeros((1,), e0.dtype), e0[None])[0]


def speed_limit_bound(curve: Curve, p_max, t_star) -> Array | None:
    """P_QSL = W Delta E / L at T* (`qbjax.qsl`), from the curve's overlap and spread."""
    data = curve.speed_limit(t_star)
    if data is None:
        return None
    overlap, spread = jax.lax.stop_gradient(data)
    angle = jnp.arccos(jnp.clip(overlap, 0.0, 1.0))
    return jnp.where(angle > 0, p_max * t_star * spread / jnp.where(angle > 0, angle, 1.0), jnp.inf)


@eqx.filter_jit
def _figures(curve: Curve, t_max, times, n_grid: int, with_ergotropy: bool = False) -> ChargeResult:
    p_max, t_p, w_max, t_w = maxima(curve, t_max, n_grid)
    error = curve.error_estimate()
    result = ChargeResult(p_max, t_p, w_max, t_w, curve.initial_energy(), error_estimate=error)
    if with_ergotropy:
        result = eqx.tree_at(
            lambda r: (r.initial_ergotropy, r.qsl_bound),
            result,
            (initial_ergotropy(curve), speed_limit_bound(curve, p_max, t_p)),
            is_leaf=lambda x: x is None,
        )
    if times is None:
        return result
    work, power = work_and_power(curve, times)
    ergotropy = curve.ergotropy(times, work + curve.initial_energy())
    return eqx.tree_at(
        lambda r: (r.ground_energy, r.times, r.work, r.power, r.ergotropy),
        result,
        (curve.ground_energy(), times, work, power, ergotropy),
        is_leaf=lambda x: x is None,
    )


def _as_times(times) -> Array:
    _checks.time_grid("times", times)
    return jnp.asarray(times, dtype=jnp.result_type(float))


def window_end(t_max, times) -> float | Array:
    """The end of the interval a curve must cover: the window and every curve time."""
    if times is None:
        return t_max
    last = times[-1] if _checks.is_traced(times) else float(np.max(np.asarray(times)))
    if _checks.is_traced((t_max, times)):
        return jnp.maximum(t_max, last)
    return max(float(t_max), last)


def prepare(engine: AbstractEngine, model, t_end, *, ergotropy: bool = True) -> Curve:
    """The engine's curve of `model` on [0, t_end], planned for t_end when it is concrete.

    Concrete inputs take the engine's compiled (or NumPy) path; traced ones (inside jit,
    grad, vmap) its traceable `prepare`.
    """
    if _checks.is_traced(t_end):
        engine.require("traced_window", "for a traced charging window t_max")
    else:
        engine = engine.plan(model, float(t_end))
        t_end = jnp.asarray(t_end, jnp.result_type(float))
    if _checks.is_traced(model):
        return engine.prepare(model, t_end)
    if isinstance(model, SpinChain):
        model = model.values_as_arrays()  # one compilation for every value of the numbers
    return engine.prepare_concrete(model, t_end, ergotropy=ergotropy)


def grid_points(engine: AbstractEngine, model, curve: Curve | None, t_max, n_grid) -> int:
    """Samples of the window before refinement: `n_grid`, or POINTS_PER_PERIOD per period of
    the fastest frequency of W(t) (the curve's sharp value, else the engine's bound)."""
    if n_grid is not None:
        return check_grid(n_grid)
    if _checks.is_traced((model, t_max)):
        return GRID_WHEN_TRACED
    bandwidth = curve.bandwidth() if curve is not None else None
    if bandwidth is None:
        bandwidth = engine.bandwidth_hint()
    if bandwidth is None:
        bandwidth = float(engine.frequency_bound(model))
    return grid_size(bandwidth, float(t_max))


def charge(
    model,
    t_max,
    *,
    times=None,
    n_grid: int | None = None,
    method="auto",
    precision: str | None = None,
    memory: int | None = None,
    shard=None,
) -> ChargeResult:
    """Charge a battery: maximum power and work over (0, t_max], and curves on `times`.

    Args:
        model: a `Battery` (Pauli terms) or a `SpinChain` (the model's parameters).
        t_max: end of the charging window, > 0 (Le et al. use 2 pi / omega).
        times: optional non-negative, sorted times for W(t), P(t) and ergotropy(t).
        n_grid: samples of the window before refinement; default resolves the fastest
            frequency of W(t) with POINTS_PER_PERIOD samples.
        method: an engine (`qbjax.Dense()`, `qbjax.Chebyshev(tol=...)`, ...) or its name:
            "auto" (default: the fastest measured for the size, symmetry and tracing),
            "dense", "chebyshev", "krylov", "symmetric", "meanfield".
        precision: "double" or "single" (complex64 states on the dense, Chebyshev and
            Krylov engines; `qbjax.precision`); None: the engine's own (double for a name).
            Results are float64 either way; `error_estimate` includes the rounding.
        memory: bytes the run may hold at once (default: the larger of 16 states and
            256 MiB, at most what is free; `qbjax.memory`). The Chebyshev and Krylov engines
            plan within it; a run that cannot fit is refused before it starts.
        shard: the state split over devices by its leading qubits (Chebyshev engine;
            `operators.sharding`): True over every device JAX sees (the global ones under
            `jax.distributed`), a power of two for that many, False for one device; None
            (default): over every device only when the state would not fit one accelerator.

    Returns:
        A `ChargeResult`; scalars have shape (), curves shape (len(times),).
    """
    engine, model = resolve(method, model, precision=precision, memory=memory, shard=shard)
    _checks.positive("t_max", t_max)
    if n_grid is not None:
        n_grid = check_grid(n_grid)
    if times is not None:
        _checks.time_grid("times", times)
    traced = _checks.is_traced((model, t_max))
    if traced:
        engine.require("differentiable", "to differentiate or batch `charge`")
    t_end = window_end(t_max, times)  # before `times` becomes an array (a tracer under jit)
    if not _checks.is_traced((model, t_end)):
        # half the engine's frequency bound: sum_k |c_k|, or its own sharper and cheaper
        # bound (the symmetric subspace never builds the N^2 Pauli terms of N = 2000)
        norm = 0.5 * float(engine.frequency_bound(model))
        _checks.charging_phase("t_max" if t_end == float(t_max) else "times", t_end, norm)
    if _exportable(engine, model, (t_max, times)):
        stored = _charge_from_programs(engine, model, t_end, t_max, times, n_grid)
        if stored is not None:
            return dataclasses.replace(stored, method=engine.name, shards=engine.state_shards())
    curve = prepare(engine, model, t_end, ergotropy=not traced or times is not None)
    t_max = jnp.asarray(t_max, dtype=jnp.result_type(float))
    times = None if times is None else _as_times(times)
    n_grid = grid_points(engine, model, curve, t_max, n_grid)
    result = _figures(curve, t_max, times, n_grid, with_ergotropy=not traced)
    return dataclasses.replace(result, method=engine.name, shards=engine.state_shards())


def resolve(
    method, model, *, precision: str | None = None, memory: int | None = None, shard=False
) -> tuple[AbstractEngine, object]:
    """The engine for `method`, checked against `model`; and the model to charge.

    A concrete SpinChain that starts from the ground state becomes its Battery here, once:
    the ground state is then found outside any compiled program (Lanczos beyond dense sizes)
    and a degenerate one is refused, instead of each engine step rebuilding it.
    """
    engine = engine_for(method, model, precision=precision, memory=memory, shard=shard)
    if isinstance(model, SpinChain) and model.initial == "ground" and not _checks.is_traced(model):
        model = model.battery()
    return engine, model


def _exportable(engine: AbstractEngine, model, inputs) -> bool:
    """Whether `program_cache` can serve this charge: the CLI turned it on, the inputs are
    concrete, and the engine prepares by one compiled program (no NumPy stage)."""
    concrete = not _checks.is_traced((model, inputs))
    one_device = engine.state_shards() == 1  # the cache keeps single-device programs
    cached = program_cache.enabled() and engine.compiled_prepare and one_device
    return cached and concrete and isinstance(model, SpinChain)


def _charge_from_programs(engine, model, t_end, t_max, times, n_grid) -> ChargeResult | None:
    """`charge` by the two stages kept in `program_cache` (traced only the first time);
    None when no cache key can be formed (the caller then traces as usual)."""
    engine = engine.plan(model, float(t_end))
    n_grid = grid_points(engine, model, None, t_max, n_grid)
    t_end = jnp.asarray(t_end, jnp.result_type(float))
    structure = {}

    def stage1():
        curve = engine.prepare(model, t_end)
        leaves, structure["curve"] = jax.tree_util.tree_flatten(curve)
        return tuple(leaves)

    def stage2(*leaves, t_max, times=None):
        curve = jax.tree_util.tree_unflatten(structure["curve"], leaves)
        result = _figures(curve, t_max, times, n_grid, with_ergotropy=True)
        return {k: v for k, v in vars(result).items() if v is not None and k not in _STATIC_FIELDS}

    arguments = {"t_max": jnp.asarray(t_max, jnp.result_type(float))}
    if times is not None:
        arguments["times"] = _as_times(times)
    key = ("charge", engine, model, float(t_end), n_grid, None if times is None else len(times))
    fields = program_cache.two_stage(key, stage1, stage2, arguments)
    return None if fields is None else ChargeResult(**fields)


def energy_curve(model, t_end, *, method="auto", precision: str | None = None) -> Curve:
    """The engine's energy curve <H0>_t of `model` on [0, t_end] (`engines.base.Curve`):
    `energy(times)`, `initial_energy()`, `ground_energy()`, `error_estimate()`."""
    engine, model = resolve(method, model, precision=precision)
    _checks.positive("t_end", t_end)
    return prepare(engine, model, t_end)


def work(model, times, *, method="auto") -> Float[Array, " T"]:
    """W(t) = <H0>_t - <H0>_0 on `times` (non-negative, sorted)."""
    return _work_and_power(model, times, method)[0]


def power(model, times, *, method="auto") -> Float[Array, " T"]:
    """P(t) = W(t)/t on `times`; at t = 0 its limit dW/dt(0)."""
    return _work_and_power(model, times, method)[1]


def _work_and_power(model, times, method):
    engine, model = resolve(method, model)
    _checks.time_grid("times", times)
    t_end = times[-1] if _checks.is_traced(times) else float(np.max(np.asarray(times)))
    curve = prepare(engine, model, t_end, ergotropy=False)
    times = _as_times(times)
    return _work_and_power_jit(curve, times)


@eqx.filter_jit
def _work_and_power_jit(curve: Curve, times):
    return work_and_power(curve, times)


def max_power(model, t_max, *, n_grid: int | None = None, method="auto") -> tuple[Array, Array]:
    """(P_max, T*) over (0, t_max]; differentiable in the battery's parameters and t_max."""
    result = charge(model, t_max, n_grid=n_grid, method=method)
    return result.max_power, result.t_max_power


def max_work(model, t_max, *, n_grid: int | None = None, method="auto") -> tuple[Array, Array]:
    """(W_max, time of W_max) over (0, t_max]."""
    result = charge(model, t_max, n_grid=n_grid, method=method)
    return result.max_work, result.t_max_work
