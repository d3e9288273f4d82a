"""Charging figures from any energy curve <H0>_t: the engine-independent part of `merit`.

The symmetric-subspace and mean-field engines compute <H0>_t their own way; this module
turns such a curve into P_max, T*, W_max and the W(t), P(t), ergotropy(t) curves with the
same grid + bisection refinement as `merit` (`_maximize.argmax_refined`), so every engine
reaches the same accuracy. It sits in `propagate` (below `merit`) so that these engines
never import `merit`; `methods` packs the result into a `merit.ChargeResult`.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Protocol

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._maximize import argmax_refined

POINTS_PER_PERIOD = 8  # grid samples per period of the fastest frequency in W(t) (as in merit)
MIN_GRID = 400
GRID_WHEN_TRACED = 2048  # grid size when the coefficients have no concrete value yet


class EnergyCurve(Protocol):
    """What an engine provides: <H0>_t on any times, its value and slope at t = 0."""

    def energy(self, times: Float[Array, " T"]) -> Float[Array, " T"]: ...

    def initial_energy(self) -> Float[Array, ""]: ...

    def initial_rate(self) -> Float[Array, ""]: ...


class ChargeFigures(NamedTuple):
    """The fields of `merit.ChargeResult`, in the same order and meaning."""

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


def grid_size(bandwidth: float, t_max: float) -> int:
    """POINTS_PER_PERIOD samples per period of the fastest angular frequency `bandwidth`."""
    return max(MIN_GRID, math.ceil(POINTS_PER_PERIOD * bandwidth * t_max / (2 * math.pi)))


def maxima(c: EnergyCurve, t_max, n_grid: int, dtype) -> tuple[Array, Array, Array, Array]:
    """(P_max, T*, W_max, T_W) over (0, t_max], as `merit._maxima`.

    The argmax carries no gradient; the values are evaluated there with gradient
    (envelope theorem), and a boundary maximum moves with t_max.
    """
    frozen = jax.lax.stop_gradient(c)
    t_end = jax.lax.stop_gradient(t_max)
    grid = t_end * (jnp.arange(1, n_grid + 1, dtype=dtype) / n_grid)
    e0 = frozen.initial_energy()
    work_grid = frozen.energy(grid) - e0

    def work_fn(t):
        return frozen.energy(t) - e0

    t_power = argmax_refined(lambda t: work_fn(t) / t, grid, work_grid / grid)
    t_work = argmax_refined(work_fn, grid, work_grid)
    t_power = jnp.where(t_power == t_end, t_max, t_power)
    t_work = jnp.where(t_work == t_end, t_max, t_work)
    work = c.energy(jnp.stack([t_power, t_work])) - c.initial_energy()
    return work[0] / t_power, t_power, work[1], t_work


def figures(c: EnergyCurve, t_max, n_grid: int, times, ground_energy, dtype) -> ChargeFigures:
    """Maxima over (0, t_max], plus W, P and ergotropy on `times` when given."""
    p_max, t_p, w_max, t_w = maxima(c, t_max, n_grid, dtype)
    e0 = c.initial_energy()
    if times is None:
        return ChargeFigures(p_max, t_p, w_max, t_w, e0)
    work = c.energy(times) - e0
    positive = times > 0
    power = jnp.where(positive, work / jnp.where(positive, times, 1.0), c.initial_rate())
    return ChargeFigures(
        p_max, t_p, w_max, t_w, e0, ground_energy, times, work, power, work + e0 - ground_energy
    )
