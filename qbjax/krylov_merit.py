"""Charging figures of merit of large chains with the matrix-free Krylov propagator.

Same quantities and same accuracy targets as `merit.charge` (PHYSICS.md section 1):

    W(t) = <H0>_t - <H0>_0,   P(t) = W(t) / t,   P_max = max_{0 < T <= t_max} P(T),  T* its argmax.

One march of equal Krylov blocks covers [0, max(t_max, times[-1])]; every block keeps
its tridiagonal T_b and the projection G_b of H0 on its basis, so <H0> at any time
(the grid of `merit.default_grid`, the bisection of T* on the sign of dP/dt, the W(t)
curve) is an m x m computation. P_max, W_max and the curves are differentiable in the
model parameters through the reversible-adjoint march (the envelope theorem at T*).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from . import _checks
from ._maximize import window_maxima
from .merit import _check_window
from .models import Battery
from .propagate.krylov import (
    DEFAULT_KRYLOV_DIM,
    KrylovConfig,
    _breakdown,
    _check_options,
    _plan,
    check_krylov_fits,
    ground_state_energy,
    march_blocks,
)
from .propagate.matfree import matfree
from .result import ChargeResult


class KrylovChargeResult(ChargeResult):
    """A `ChargeResult` plus the Krylov march's estimated state error (norm, summed over blocks)."""

    error_estimate: Float[Array, ""] | None = None


@eqx.filter_jit
def _charge(battery: Battery, t_max, t_end, times, n_grid: int, blocks: int, config: KrylovConfig, dtype):
    h, h0 = matfree(battery.charging), matfree(battery.energy)
    psi0 = battery.initial_state().astype(dtype)
    h0_psi0 = h0(psi0)
    e0 = jnp.real(jnp.vdot(psi0, h0_psi0))
    data, err = march_blocks(h, h0, psi0, t_end, blocks, config)

    p_max, t_power, w_max, t_work = window_maxima(data, e0, t_max, n_grid, jnp.result_type(float))
    result = KrylovChargeResult(p_max, t_power, w_max, t_work, e0, error_estimate=jax.lax.stop_gradient(err))
    if times is None:
        return result
    work = data.energy(times) - e0
    # dW/dt at t = 0 is -2 Im <H psi0 | H0 psi0>
    rate0 = -2.0 * jnp.imag(jnp.vdot(h(psi0), h0_psi0))
    positive = times > 0
    power = jnp.where(positive, work / jnp.where(positive, times, 1.0), rate0)
    e_ground = ground_state_energy(battery.energy)
    return eqx.tree_at(
        lambda r: (r.ground_energy, r.times, r.work, r.power, r.ergotropy),
        result,
        (e_ground, times, work, power, work + e0 - e_ground),
        is_leaf=lambda x: x is None,
    )


def charge_krylov(
    battery: Battery,
    t_max,
    *,
    times=None,
    n_grid: int | None = None,
    krylov_dim: int = DEFAULT_KRYLOV_DIM,
    tol: float | None = None,
    dtype=None,
    spectral_width: float | None = None,
) -> KrylovChargeResult:
    """`merit.charge` for large chains: P_max, T*, W_max and curves by matrix-free Krylov blocks.

    Args:
        battery: the battery; any N whose Krylov basis ((krylov_dim + 16) vectors of 2^N)
            fits in memory.
        t_max: end of the charging window, > 0 (concrete: it fixes the number of blocks).
        times: optional sorted non-negative times for W(t), P(t), ergotropy(t).
        n_grid: grid samples of the window before bisection (default as `merit.charge`).
        krylov_dim: Krylov dimension m of every block.
        tol: target for the summed state error over the march (sets the block length);
            default 1e-11 in complex128, 1e-5 in complex64.
        dtype: complex128 (default under x64) or complex64 (GPU speed; error ~1e-6).
        spectral_width: E_max - E_min of the charging Hamiltonian or an upper estimate;
            required when the battery's coefficients are traced (jit, grad, vmap).

    Returns:
        A `KrylovChargeResult`: the fields of `ChargeResult` plus `error_estimate`.
    """
    krylov_dim, tol, dtype = _check_options(krylov_dim, tol, dtype)
    check_krylov_fits(battery.n_sites, krylov_dim, dtype)
    n_grid = _check_window(battery, t_max, n_grid)
    if _checks.is_traced(t_max):
        raise _checks.ArgumentError("t_max", "must be a concrete number for the krylov method")
    t_end = float(t_max)
    if times is not None:
        _checks.time_grid("times", times)
        t_end = max(t_end, float(np.max(np.asarray(times))))
        times = jnp.asarray(times, dtype=jnp.result_type(float))
    width, blocks = _plan(battery.charging, t_end, krylov_dim, tol, spectral_width)
    config = KrylovConfig(krylov_dim, _breakdown(width, dtype), True)
    real = jnp.result_type(float)
    return _charge(
        battery, jnp.asarray(t_max, real), jnp.asarray(t_end, real), times, n_grid, blocks, config, dtype
    )


@eqx.filter_jit
def _work(battery: Battery, times, t_end, blocks: int, config: KrylovConfig, dtype):
    h, h0 = matfree(battery.charging), matfree(battery.energy)
    psi0 = battery.initial_state().astype(dtype)
    e0 = jnp.real(jnp.vdot(psi0, h0(psi0)))
    data, err = march_blocks(h, h0, psi0, t_end, blocks, config)
    return data.energy(times) - e0, err


def work_krylov(
    battery: Battery,
    times,
    *,
    krylov_dim: int = DEFAULT_KRYLOV_DIM,
    tol: float | None = None,
    dtype=None,
    spectral_width: float | None = None,
) -> tuple[Array, Array]:
    """W(t) = <H0>_t - <H0>_0 on sorted `times` by one Krylov march, and its error estimate.

    Options as `charge_krylov`. Returns (work of shape (T,), estimated state error).
    """
    krylov_dim, tol, dtype = _check_options(krylov_dim, tol, dtype)
    check_krylov_fits(battery.n_sites, krylov_dim, dtype)
    _checks.time_grid("times", times)
    t_end = float(np.max(np.asarray(times)))
    width, blocks = _plan(battery.charging, t_end, krylov_dim, tol, spectral_width)
    config = KrylovConfig(krylov_dim, _breakdown(width, dtype), True)
    real = jnp.result_type(float)
    return _work(battery, jnp.asarray(times, real), jnp.asarray(t_end, real), blocks, config, dtype)
