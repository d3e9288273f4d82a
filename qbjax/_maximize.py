"""Global maximum of a smooth function of time over (0, t_max]: grid, then bisection.

Locating a maximum from function values alone resolves its position only to
sqrt(machine epsilon) ~ 1e-8, because f is flat there. Bisection on the sign of
f'(t) (from `jax.jvp`) resolves a simple root of f' to machine precision, so the
argmax comes out accurate to far better than 1e-9 relative. Everything has a fixed
length (top-k candidates, a fixed number of bisection steps), so it runs under
`jit` and `vmap`.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

N_CANDIDATES = 3  # grid peaks refined; guards against two peaks of nearly equal height
N_BISECTIONS = 60  # 2^-60 of a grid spacing: below float64 resolution


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

    (lo, hi), _ = jax.lax.scan(bisect, (lo, hi), None, length=N_BISECTIONS)
    refined = 0.5 * (lo + hi)
    # A peak at the window's end with f still rising is a boundary maximum.
    end_rising = slope(grid[-1:])[0] > 0
    refined = jnp.where((peaks == n - 1) & end_rising, grid[-1], refined)
    # Keep the best of the refined points and the best grid point: never worse than the grid.
    times = jnp.concatenate([refined, grid[jnp.argmax(values)][None]])
    scores = jnp.concatenate([f(refined), jnp.max(values)[None]])
    return jax.lax.stop_gradient(times[jnp.argmax(scores)])
