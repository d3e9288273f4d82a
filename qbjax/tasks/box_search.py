"""Maximising a smooth function of a point x of the unit box [0, 1]^k, from several starts.

Shared by `optimize` (model parameters) and `control` (pulse amplitudes): the caller maps
its bounded parameters affinely onto the unit box, so bounds hold exactly, and an optimum on
a bound is reached exactly.

1. `latin_hypercube`: seeded starting points, one per stratum of every coordinate.
2. `run_adam`: projected Adam (cosine-decayed step) from every start at once, under `vmap`.
3. `polish`: projected Newton with backtracking from the best start, to a certified local
   maximum (a further step would gain less than GAIN_TOLERANCE relative).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

NEWTON_STEPS = 12  # projected Newton iterations that polish the best start
GAIN_TOLERANCE = 1e-12  # converged: a Newton step would gain less than this x |f|


def latin_hypercube(starts: int, k: int, seed: int) -> np.ndarray:
    """(starts, k) points of the unit box, one in each of `starts` strata of every coordinate."""
    rng = np.random.default_rng(seed)
    strata = np.stack([rng.permutation(starts) for _ in range(k)], axis=1)
    return (strata + rng.uniform(size=(starts, k))) / starts


def projected_gradient(x, grad):
    """The ascent direction that stays in the box: zero where a bound blocks it."""
    blocked = ((x <= 0) & (grad < 0)) | ((x >= 1) & (grad > 0))
    return jnp.where(blocked, 0.0, grad)


def run_adam(value_of, x0, steps: int, learning_rate: float):
    """Projected Adam ascent on `value_of` (x -> scalar) from every row of x0 at once.

    Returns (final points, final values, best value over the starts after each step).
    """
    import optax  # only optimisation needs it: keeps `import qbjax` light

    schedule = optax.cosine_decay_schedule(learning_rate, steps, alpha=1e-3)
    optimizer = optax.adam(schedule)
    value_and_grad = jax.vmap(jax.value_and_grad(value_of))

    @jax.jit
    def run(x0):
        def step(carry, _):
            x, state = carry
            value, grad = value_and_grad(x)
            # optax mixes its int32 step count with floats: allow that under strict promotion
            with jax.numpy_dtype_promotion("standard"):
                updates, state = optimizer.update(-grad, state, x)  # ascent
            x = optax.projections.projection_box(optax.apply_updates(x, updates), 0.0, 1.0)
            return (x, state), jnp.max(value)

        (x, _), history = jax.lax.scan(step, (x0, optimizer.init(x0)), None, length=steps)
        return x, jax.vmap(value_of)(x), history

    return run(x0)


def polish(value_of, x, *, gain_tolerance: float = GAIN_TOLERANCE, step: float = 1e-5):
    """Projected Newton with backtracking from x; returns (x, converged).

    `gain_tolerance`: converged when a step would gain less than this x |f| (raise it to the
    value's rounding, e.g. in single precision); `step`: the Hessian's difference step.

    Coordinates held on a bound by an outward gradient stay fixed; for the free ones the
    step solves H d = -g when H is negative definite (else it follows the gradient), halved
    until the value does not decrease. H comes from central differences of the exact
    gradient: autodiff of an envelope-theorem gradient (P_max) would miss the motion of the
    inner optimum and can even have the wrong sign.
    """
    value_jit = jax.jit(value_of)
    gradient_of = jax.jit(jax.grad(value_of))

    def hessian_of(x, h=step):
        columns = [(gradient_of(x + h * e) - gradient_of(x - h * e)) / (2 * h) for e in np.eye(x.shape[0])]
        hessian = np.stack([np.asarray(c) for c in columns], axis=1)
        return 0.5 * (hessian + hessian.T)

    value = float(value_jit(x))
    for _ in range(NEWTON_STEPS):
        grad = np.asarray(gradient_of(x))
        free = np.asarray(projected_gradient(x, grad)) != 0
        if not free.any():
            return x, True
        hessian = np.asarray(hessian_of(x))[np.ix_(free, free)]
        if np.all(np.linalg.eigvalsh(hessian) < 0):
            direction = -np.linalg.solve(hessian, grad[free])
        else:
            direction = grad[free] / max(np.max(np.abs(np.diag(hessian))), abs(value))
        gain = 0.5 * float(grad[free] @ direction)
        if gain <= gain_tolerance * abs(value):
            return x, True
        step = np.zeros_like(grad)
        for _ in range(30):
            step[free] = direction
            trial = jnp.clip(x + step, 0.0, 1.0)
            trial_value = float(value_jit(trial))
            if trial_value >= value:
                x, value = trial, trial_value
                break
            direction = direction / 2
        else:
            return x, False
    grad = np.asarray(projected_gradient(x, gradient_of(x)))
    return x, bool(np.max(np.abs(grad)) == 0)
