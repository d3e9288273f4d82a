"""Global maximum of a smooth function of time over (0, t_max]: grid, bisection, Newton.

Locating a maximum from function values alone resolves its position only to
sqrt(machine epsilon) ~ 1e-8, because f is flat there. Working on f'(t) (from
`jax.jvp`) resolves a simple root of f' to machine precision, so the argmax comes out
accurate to far better than 1e-9 relative: a few bisection steps on the sign of f'
shrink the grid's bracket into Newton's basin, then safeguarded Newton steps on f' = 0
(f'' from the curve's closed form, else a second `jvp`) converge quadratically, staying
inside the bracket. The searches for P_max and W_max run as one batch of candidates, so
each step evaluates the curve once. Everything has a fixed length (top-k candidates,
fixed step counts), so it runs under `jit` and `vmap`.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._checks import ArgumentError, integer_at_least

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


def _brackets(grid, values, k: int):
    """The k highest grid peaks of `values`: (peak index, bracket start, bracket end)."""
    n = grid.shape[0]
    below = jnp.full((1,), -jnp.inf, values.dtype)
    padded = jnp.concatenate([below, values, below])
    is_peak = (values >= padded[:-2]) & (values >= padded[2:])
    _, peaks = jax.lax.top_k(jnp.where(is_peak, values, -jnp.inf), k)
    lo = jnp.where(peaks > 0, grid[jnp.maximum(peaks - 1, 0)], 0.0)
    return peaks, lo, grid[jnp.minimum(peaks + 1, n - 1)]


def refined_argmaxes(curve, grid: Float[Array, " n"], work: Float[Array, " n"], e0) -> tuple[Array, Array]:
    """(T*, T_W): the argmaxes of P = W/t and of W over (0, grid[-1]], W = <H0>_t - e0.

    Both searches run as one batch of candidates (the N_CANDIDATES highest grid peaks of
    each), so every step evaluates the curve once. No gradient (envelope theorem: the
    caller evaluates W at the returned times).
    """
    curve, grid, work, e0 = jax.lax.stop_gradient((curve, grid, work, e0))
    n = grid.shape[0]
    k = min(N_CANDIDATES, n)
    power = work / grid
    peaks_p, lo_p, hi_p = _brackets(grid, power, k)
    peaks_w, lo_w, hi_w = _brackets(grid, work, k)
    is_power = jnp.arange(2 * k) < k
    tiny = grid[0] * jnp.finfo(grid.dtype).eps

    def objective(t):
        """(f, f', f'') at the candidates t and f' at the window's end, from W and its derivatives:
        P for the first k candidates, W for the rest (one curve evaluation, 2k + 1 times)."""
        t = jnp.maximum(jnp.concatenate([t, grid[-1:]]), tiny)
        w, w1, w2 = curve.energy_derivatives(t)
        w = w - e0
        p = w / t
        p1 = (w1 - p) / t
        p2 = (w2 - 2.0 * p1) / t
        pick = functools.partial(jnp.where, is_power)
        end_slope = pick(p1[-1], w1[-1])
        return pick(p[:-1], w[:-1]), pick(p1[:-1], w1[:-1]), pick(p2[:-1], w2[:-1]), end_slope

    def step(state, i):
        # bisection on the sign of f' for N_BISECTIONS steps, then safeguarded Newton on f' = 0;
        # each step also takes f' at the window's end, and the last step only evaluates
        t, lo, hi, _, _ = state
        f, d1, d2, end_slope = objective(t)
        rising = d1 > 0  # the bracket keeps the sign change of f' from + to -
        lo, hi = jnp.where(rising, t, lo), jnp.where(rising, hi, t)
        newton = t - d1 / jnp.where(d2 < 0, d2, -1.0)
        # closed bracket: a converged step stays
        use_newton = (i >= N_BISECTIONS) & (d2 < 0) & (newton >= lo) & (newton <= hi)
        return (jnp.where(use_newton, newton, 0.5 * (lo + hi)), lo, hi, (t, f), end_slope), None

    lo, hi = jnp.concatenate([lo_p, lo_w]), jnp.concatenate([hi_p, hi_w])
    steps = jnp.arange(N_BISECTIONS + N_NEWTON + 1)
    init = (0.5 * (lo + hi), lo, hi, (lo, lo), lo)
    (_, _, _, (refined, values), slopes), _ = jax.lax.scan(step, init, steps)
    # a peak at the window's end with f still rising is a boundary maximum
    at_end = (jnp.concatenate([peaks_p, peaks_w]) == n - 1) & (slopes > 0)
    refined = jnp.where(at_end, grid[-1], refined)
    values = jnp.where(at_end, jnp.where(is_power, power[-1], work[-1]), values)
    return _best(refined[:k], values[:k], grid, power), _best(refined[k:], values[k:], grid, work)


def _best(refined, values, grid, grid_values) -> Array:
    """The best of the refined points and the best grid point: never worse than the grid."""
    times = jnp.concatenate([refined, grid[jnp.argmax(grid_values)][None]])
    scores = jnp.concatenate([values, jnp.max(grid_values)[None]])
    return times[jnp.argmax(scores)]


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
        curve: an energy curve (`engines.base.Curve`: `energy`, `energy_derivatives`,
            `uniform_energy`).
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
    work_grid = frozen.uniform_energy(jnp.asarray(t_end, dtype), n_grid) - e0_frozen
    t_power, t_work = refined_argmaxes(frozen, grid, work_grid, e0_frozen)
    t_power = jnp.where(t_power == t_end, t_max, t_power)
    t_work = jnp.where(t_work == t_end, t_max, t_work)
    work = curve.energy(jnp.stack([t_power, t_work])) - e0
    return work[0] / t_power, t_power, work[1], t_work
