"""Charging figures from any energy curve <H0>_t: the engine-independent part of `merit`.

The symmetric-subspace and mean-field engines compute <H0>_t their own way; this module
turns such a curve into P_max, T*, W_max and the W(t), P(t), ergotropy(t) curves with the
same grid + bisection refinement as `merit` (`_maximize.argmax_refined`), so every engine
reaches the same accuracy. It sits in `propagate` (below `merit`) so that these engines
never import `merit`; every engine returns a `ChargeResult`.
"""

from __future__ import annotations

from typing import Protocol

import jax.numpy as jnp
from jaxtyping import Array, Float

from .. import _checks
from .._maximize import GRID_WHEN_TRACED, grid_size, window_maxima
from ..result import ChargeResult

__all__ = ["GRID_WHEN_TRACED", "grid_size"]  # the engines' grid rule, shared with merit


class EnergyCurve(Protocol):
    """What an engine provides: <H0>_t on any times, its value and slope at t = 0."""

    def energy(self, times: Float[Array, " T"]) -> Float[Array, " T"]: ...

    def initial_energy(self) -> Float[Array, ""]: ...

    def initial_rate(self) -> Float[Array, ""]: ...


def checked_inputs(t_max, times, n_grid):
    """Validate the window, the curve times and the grid size; returns (times as an array or None, n_grid)."""
    _checks.positive("t_max", t_max)
    if times is not None:
        _checks.time_grid("times", times)
        times = jnp.asarray(times, dtype=jnp.result_type(float))
    if n_grid is not None:
        n_grid = _checks.integer_at_least("n_grid", n_grid, 2)
    return times, n_grid


def maxima(c: EnergyCurve, t_max, n_grid: int, dtype) -> tuple[Array, Array, Array, Array]:
    """(P_max, T*, W_max, T_W) over (0, t_max], as `merit._maxima`."""
    return window_maxima(c, c.initial_energy(), t_max, n_grid, dtype)


def figures(c: EnergyCurve, t_max, n_grid: int, times, ground_energy, dtype) -> ChargeResult:
    """Maxima over (0, t_max], plus W, P and ergotropy on `times` when given."""
    p_max, t_p, w_max, t_w = maxima(c, t_max, n_grid, dtype)
    e0 = c.initial_energy()
    if times is None:
        return ChargeResult(p_max, t_p, w_max, t_w, e0)
    work = c.energy(times) - e0
    positive = times > 0
    power = jnp.where(positive, work / jnp.where(positive, times, 1.0), c.initial_rate())
    return ChargeResult(
        p_max, t_p, w_max, t_w, e0, ground_energy, times, work, power, work + e0 - ground_energy
    )
