"""Optimal charging pulses within a field bound, against the best constant drive.

The drive is piecewise constant on K equal segments of [0, T] (`pulses`), each amplitude
bounded, |a_k| <= omega_max (and |b_k| <= omega_max for a second quadrature). At a fixed T
the objective is the power W(T)/T or the ergotropy of the charged state, <H0>_T - E_ground
(the same maximiser at fixed T); with T varied within bounds they differ.

The search (`box_search`) maps amplitudes (and T) onto the unit box: seeded multi-start
projected Adam, then projected Newton from the best start. The best constant drive within
the same bound and T is found first, by a grid over its one to three numbers followed by the
same search; it seeds one of the pulse starts, and a pulse that ends below it is replaced by
it, so the reported pulse is never worse than the best constant drive.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from .. import _checks
from ..kernels.ground_state import lowest_energy
from ..measures import qsl
from ..models.chain import SpinChain
from . import box_search, pulses

OBJECTIVES = ("power", "ergotropy")
MAX_SEGMENTS = 4096
CONSTANT_GRID = {1: 65, 2: 17, 3: 9}  # grid points per dimension for the best constant drive


@dataclasses.dataclass(frozen=True)
class ControlResult:
    """The optimised pulse and the best constant drive within the same bound.

    Attributes:
        pulse: (K, q) amplitudes (q = 1: along x; 2: x and y).
        t: the charging time T.
        work, power, ergotropy: W(T), W(T)/T and <H0>_T - E_ground after the pulse.
        constant: (q,) amplitudes of the best constant drive; constant_t its T.
        constant_work, constant_power, constant_ergotropy: its figures.
        qsl_bound: P_QSL = W Delta E_T / L of the pulse (power <= qsl_bound).
        converged: the Newton polish certified a local maximum (possibly on the bounds).
        finals: the objective at the end of every start.
    """

    pulse: np.ndarray
    t: float
    work: float
    power: float
    ergotropy: float
    constant: np.ndarray
    constant_t: float
    constant_work: float
    constant_power: float
    constant_ergotropy: float
    qsl_bound: float
    converged: bool
    finals: np.ndarray


class _Problem:
    """Amplitudes (and T) as a point of the unit box, and the objective there."""

    def __init__(self, battery, prop, segments, omega_max, t_bounds, objective, ground):
        self.battery, self.prop = battery, prop
        self.segments, self.omega_max = segments, omega_max
        self.t_lo, self.t_hi = t_bounds
        self.objective = objective
        self.ground = ground  # E_ground(H0), a concrete number
        self.e0 = float(pulses.energy(battery.energy, battery.psi0))

    @property
    def size(self) -> int:
        return self.segments * self.battery.quadratures + (self.t_hi > self.t_lo)

    def unpack(self, x):
        q = self.battery.quadratures
        pulse = self.omega_max * (2.0 * x[: self.segments * q] - 1.0)
        t = self.t_lo + (self.t_hi - self.t_lo) * x[-1] if self.t_hi > self.t_lo else jnp.asarray(self.t_lo)
        return pulse.reshape(self.segments, q), t

    def pack(self, pulse, t) -> np.ndarray:
        x = (np.asarray(pulse, float).ravel() / self.omega_max + 1.0) / 2.0
        if self.t_hi > self.t_lo:
            x = np.append(x, (t - self.t_lo) / (self.t_hi - self.t_lo))
        return np.clip(x, 0.0, 1.0)

    def value(self, x):
        pulse, t = self.unpack(x)
        w = pulses.work(self.battery, self.prop, pulse, t)
        return w / t if self.objective == "power" else w + self.e0 - self.ground


def _search(problem: _Problem, seeds: np.ndarray, steps: int, learning_rate: float):
    """Adam from every seed, Newton from the best; returns (x, converged, finals)."""
    x, values, _ = box_search.run_adam(problem.value, jnp.asarray(seeds), steps, learning_rate)
    best = int(np.argmax(values))
    x_best = x[best]
    if float(values[best]) < float(jax.jit(problem.value)(jnp.asarray(seeds[0]))):
        x_best = jnp.asarray(seeds[0])  # seed 0 is the incumbent: never end below it
    x_best, converged = box_search.polish(problem.value, x_best)
    return np.asarray(x_best), converged, np.asarray(values)


def _grid_seeds(problem: _Problem, starts: int) -> np.ndarray:
    """The best `starts` points of a grid over the unit box (a constant drive: 1 to 3 numbers)."""
    points = CONSTANT_GRID[problem.size]
    axes = [np.linspace(0.0, 1.0, points)] * problem.size
    grid = np.stack([a.ravel() for a in np.meshgrid(*axes, indexing="ij")], axis=1)
    values = np.asarray(jax.jit(jax.vmap(problem.value))(jnp.asarray(grid)))
    return grid[np.argsort(values)[::-1][:starts]]


def control(
    model: SpinChain,
    *,
    omega_max: float,
    segments: int,
    t: float | tuple[float, float],
    objective: str = "power",
    quadratures: int = 1,
    starts: int = 8,
    steps: int = 200,
    learning_rate: float = 0.05,
    seed: int = 0,
    method: str = "auto",
) -> ControlResult:
    """The pulse of largest power (or ergotropy) within |amplitudes| <= omega_max.

    Args:
        model: the chain; its `omega` is replaced by the pulse.
        omega_max: the field bound, > 0.
        segments: K >= 1 equal segments.
        t: the charging time T, or bounds (lo, hi) to optimise it too.
        objective: "power" (W(T)/T) or "ergotropy" (<H0>_T - E_ground).
        quadratures: 1 (drive along x) or 2 (x and y).
        starts, steps, learning_rate, seed: the multi-start search (as `optimize`).
        method: "auto", "dense" or "chebyshev" (`pulses`).
    """
    _checks.positive("omega_max", omega_max)
    segments = _checks.integer_in(
        "segments", segments, 1, MAX_SEGMENTS, "each is a free parameter of the pulse"
    )
    starts = _checks.integer_in("starts", starts, 1, _checks.MAX_STARTS)
    steps = _checks.integer_at_least("steps", steps, 1)
    _checks.integer_in("seed", seed, 0, _checks.MAX_SEED)
    _checks.one_of("objective", objective, OBJECTIVES)
    t_lo, t_hi = _time_bounds(t)
    battery = pulses.pulsed_battery(model, quadratures)
    pulse_prop = pulses.propagator(battery, omega_max, t_hi / segments, method)
    # the starts run at once, each in reverse mode through the whole pulse
    needed = starts * pulse_prop.gradient_bytes(battery.n_sites, segments)
    _checks.fits(
        "segments" if segments > starts else "starts", needed, f"{starts} starts of {segments} segments"
    )
    ground = _ground_energy(battery)

    def problem(k: int, prop) -> _Problem:
        return _Problem(battery, prop, k, float(omega_max), (t_lo, t_hi), objective, ground)

    constant_problem = problem(1, pulses.propagator(battery, omega_max, t_hi, method))
    x_constant, _, _ = _search(constant_problem, _grid_seeds(constant_problem, starts), steps, learning_rate)
    constant, constant_t = constant_problem.unpack(jnp.asarray(x_constant))

    pulse_problem = problem(segments, pulse_prop)
    incumbent = pulse_problem.pack(np.repeat(np.asarray(constant), segments, axis=0), float(constant_t))
    random = box_search.latin_hypercube(starts, pulse_problem.size, seed)
    seeds = np.concatenate([incumbent[None], random[: max(starts - 1, 0)]])
    x, converged, finals = _search(pulse_problem, seeds, steps, learning_rate)
    return _result(pulse_problem, x, constant_problem, x_constant, converged, finals)


def _result(problem, x, constant_problem, x_constant, converged, finals) -> ControlResult:
    pulse, t = problem.unpack(jnp.asarray(x))
    figures = _figures(problem, pulse, t)
    constant, constant_t = constant_problem.unpack(jnp.asarray(x_constant))
    constant_figures = _figures(constant_problem, constant, constant_t)
    return ControlResult(
        pulse=np.asarray(pulse),
        t=float(t),
        **figures,
        constant=np.asarray(constant)[0],
        constant_t=float(constant_t),
        **{f"constant_{key}": value for key, value in constant_figures.items() if key != "qsl_bound"},
        converged=bool(converged),
        finals=finals,
    )


def _figures(problem: _Problem, pulse, t) -> dict:
    psi, spread = pulses.final_state(problem.battery, problem.prop, pulse, t)
    work = float(pulses.energy(problem.battery.energy, psi)) - problem.e0
    overlap = abs(complex(jnp.vdot(problem.battery.psi0, psi)))
    return {
        "work": work,
        "power": work / float(t),
        "ergotropy": work + problem.e0 - problem.ground,
        "qsl_bound": qsl.power_bound(work, float(spread), overlap),
    }


def _time_bounds(t) -> tuple[float, float]:
    if np.ndim(t) == 0:
        _checks.positive("t", t)
        return float(t), float(t)
    try:
        lo, hi = (float(v) for v in t)
    except (TypeError, ValueError):
        raise _checks.ArgumentError("t", f"must be a time or bounds (lo, hi), got {t!r}") from None
    _checks.positive("t", lo)
    if not hi > lo:
        raise _checks.ArgumentError("t", f"bounds need lo < hi, got {lo}:{hi}")
    return lo, hi


def _ground_energy(battery: pulses.PulsedBattery) -> float:
    """E_ground(H0): dense for small chains, Lanczos beyond."""
    return float(lowest_energy(battery.energy))
