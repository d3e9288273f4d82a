"""Global maximum of a smooth function of time over (0, t_max]: grid, bisection, Newton.

Locating a maximum from function values alone resolves its position only to
sqrt(machine epsilon) ~ 1e-8, because f is flat there. Working on f'(t) (from
`jax.jvp`) resolves a simple root of f' to machine precision, so the argmax comes out
accurate to far better than 1e-9 relative: a few bisection steps on the sign of f'
shrink the grid's bracket into Newton's basin, then safeguarded Newton steps on f' = 0
(f'' from a second `jvp`) converge quadratically, staying inside the bracket. Everything
has a fixed length (top-k candidates, fixed step counts), so it runs under `jit` and
`vmap`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._checks import ArgumentError, integer_at_least

POINTS_PER_PERIOD = 8  # grid samples per period of the fastest frequency in W(t)
MIN_GRID = 400
GRID_WHEN_TRACED = 2048  # grid size when the coefficients have no concrete value yet
N_CANDIDATES = 3  # grid peaks refined; guards against two peaks of nearly equal height
# Largest grid: 2^20 samples (8 MiB of times) keep a window's search within memory and minutes.
MAX_GRID = 2**20
# Bisection to 2^-6 of a grid spacing (1/8 period): well inside Newton's basin; then Newton
# converges quadratically to float64 resolution (an error 1e-3 of a period needs 3 steps).
N_BISECTIONS = 6
N_NEWTON = 5


def argmax_refined(
    f: Callable[[Float[Array, " k"]], Float[Array, " k"]],
    grid: Float[Array, " n"],
    values: Float[Array, " n"],
) -> Float[Array, ""]:
    """The argmax of f over (0, grid[-1]], starting from samples `values = f(grid)`.

    Args:
        f: elementwise function of a vector of times (f(t)[i] depends on t[i] only).
        grid: increasing sample times, grid[0] > 0; grid[-1] is the end of the window.
        values: f on the grid.

    Returns:
        The refined argmax, with no gradient (use the envelope theorem: evaluate f there).
    """
    grid, values = jax.lax.stop_gradient((grid, values))
    n = grid.shape[0]
    below = jnp.full((1,), -jnp.inf, values.dtype)
    padded = jnp.concatenate([below, values, below])
    is_peak = (values >= padded[:-2]) & (values >= padded[2:])
    k = min(N_CANDIDATES, n)
    _, peaks = jax.lax.top_k(jnp.where(is_peak, values, -jnp.inf), k)
    lo = jnp.where(peaks > 0, grid[jnp.maximum(peaks - 1, 0)], 0.0)
    hi = grid[jnp.minimum(peaks + 1, n - 1)]

    def slope(t):
        return jax.jvp(f, (t,), (jnp.ones_like(t),))[1]

    def bisect(bracket, _):
        lo, hi = bracket
        mid = 0.5 * (lo + hi)
        rising = slope(mid) > 0
        return (jnp.where(rising, mid, lo), jnp.where(rising, hi, mid)), None

    def newton(state, _):
        t, lo, hi = state
        d1, d2 = jax.jvp(slope, (t,), (jnp.ones_like(t),))
        # the bracket keeps the sign change of f' from + to -
        rising = d1 > 0
        lo, hi = jnp.where(rising, t, lo), jnp.where(rising, hi, t)
        step = t - d1 / jnp.where(d2 < 0, d2, -1.0)
        inside = (d2 < 0) & (step >= lo) & (step <= hi)  # closed: a converged step stays
        return (jnp.where(inside, step, 0.5 * (lo + hi)), lo, hi), None

    (lo, hi), _ = jax.lax.scan(bisect, (lo, hi), None, length=N_BISECTIONS)
    (refined, _, _), _ = jax.lax.scan(newton, (0.5 * (lo + hi), lo, hi), None, length=N_NEWTON)
    # A peak at the window's end with f still rising is a boundary maximum.
    end_rising = slope(grid[-1:])[0] > 0
    refined = jnp.where((peaks == n - 1) & end_rising, grid[-1], refined)
    # Keep the best of the refined points and the best grid point: never worse than the grid.
    times = jnp.concatenate([refined, grid[jnp.argmax(values)][None]])
    scores = jnp.concatenate([f(refined), jnp.max(values)[None]])
    return jax.lax.stop_gradient(times[jnp.argmax(scores)])


def grid_size(bandwidth: float, t_max: float) -> int:
    """POINTS_PER_PERIOD samples per period of the fastest angular frequency `bandwidth` of W(t).

    Raises ArgumentError("t_max") when that exceeds MAX_GRID: such a window holds more than
    MAX_GRID / POINTS_PER_PERIOD oscillations, too many to search for the global maximum.
    """
    periods = bandwidth * t_max / (2 * math.pi)
    if not POINTS_PER_PERIOD * periods <= MAX_GRID:
        raise ArgumentError(
            "t_max",
            f"the window holds {periods:.3g} periods of W(t)'s fastest frequency ({bandwidth:.3g}); "
            f"at most {MAX_GRID // POINTS_PER_PERIOD} can be searched for the maxima: shorten t_max, or give "
            f"n_grid <= {MAX_GRID} (a coarser grid may miss the global maximum)",
        )
    return _bucket(max(MIN_GRID, math.ceil(POINTS_PER_PERIOD * periods)))


def _bucket(n: int) -> int:
    """n rounded up to k 2^j with 8 <= k < 16 (at most 12.5% more points): the grid size is a
    static shape, so nearby parameter values then share one compiled maxima program."""
    scale = 2 ** max(n.bit_length() - 4, 0)
    return min(-(-n // scale) * scale, MAX_GRID)


def check_grid(n_grid) -> int:
    """A user-given grid size: an integer in [2, MAX_GRID]."""
    n_grid = integer_at_least("n_grid", n_grid, 2)
    if n_grid > MAX_GRID:
        raise ArgumentError("n_grid", f"must be <= {MAX_GRID}, got {n_grid}")
    return n_grid


def window_maxima(curve, e0, t_max, n_grid: int, dtype, *, search=None):
    """(P_max, T*, W_max, T_W) over (0, t_max] for any engine's energy curve.

    Args:
        curve: a pytree with `curve.energy(times) -> <H0>_t` (differentiable).
        e0: <H0> at t = 0.
        t_max: end of the window; n_grid: samples before refinement.
        search: optionally a cheaper curve with the same values (no parameter
            gradients needed) to run the grid and the bisection on.

    The argmaxes are found on frozen data (no gradient); the work is then evaluated
    there with gradient (envelope theorem). A boundary maximum moves with t_max.
    """
    frozen, e0_frozen, t_end = jax.lax.stop_gradient((curve if search is None else search, e0, t_max))
    # t_end * (k / n): the last point is exactly t_end (k/n = 1), which boundary detection relies on
    grid = t_end * (jnp.arange(1, n_grid + 1, dtype=dtype) / n_grid)
    work_grid = frozen.energy(grid) - e0_frozen

    def work_fn(t):
        return frozen.energy(t) - e0_frozen

    t_power = argmax_refined(lambda t: work_fn(t) / t, grid, work_grid / grid)
    t_work = argmax_refined(work_fn, grid, work_grid)
    t_power = jnp.where(t_power == t_end, t_max, t_power)
    t_work = jnp.where(t_work == t_end, t_max, t_work)
    work = curve.energy(jnp.stack([t_power, t_work])) - e0
    return work[0] / t_power, t_power, work[1], t_work
